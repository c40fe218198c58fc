"""Analysis tools: the lectures' theory as functions (parameter counts, linear regions,
backpropagation by hand, the maximum-likelihood table), loss landscapes and Hessian
curvature, attribution (saliency, SmoothGrad, Integrated Gradients, Grad-CAM) and feature
visualisation, and optimisation test functions."""

from jaxdl.analysis._backprop import (
    Box,
    GradCheck,
    backward,
    check_gradients,
    dropout_box,
    dropout_mask,
    forward,
    linear_box,
    loss_and_grad,
    mlp_boxes,
    relu_box,
    sigmoid_box,
    softmax_cross_entropy_box,
    tanh_box,
)
from jaxdl.analysis._approximation import fit_shallow, relu_interpolant
from jaxdl.analysis._attribution import (
    GradCam,
    deletion_accuracy,
    grad_cam,
    integrated_gradients,
    layer_activation,
    saliency,
    smoothgrad,
)
from jaxdl.analysis._feature_vis import (
    PARAMETERIZATIONS,
    channel_score,
    class_score,
    deepdream_score,
    maximize_activation,
)
from jaxdl.analysis._hessian import (
    SpectralDensity,
    TraceEstimate,
    hessian_density,
    hessian_eigenvalues,
    hessian_trace,
    hvp,
)
from jaxdl.analysis._landscape import (
    TrajectoryPCA,
    dataset_loss,
    interpolate,
    loss_surface,
    random_direction,
    trajectory_pca,
)
from jaxdl.analysis._generalisation import (
    BiasVariance,
    bias_variance,
    distance_spread,
    hinge_features,
    hinge_regression,
    unit_ball_volume,
)
from jaxdl.analysis._likelihood import RECIPES, Recipe
from jaxdl.analysis._shattered import autocorrelation, correlation_length, input_gradients
from jaxdl.analysis._line_search import LineSearch, gradient_descent_line_search, line_search
from jaxdl.analysis._param_counts import deep_param_count, mlp_param_count, shallow_param_count
from jaxdl.analysis._regions import (
    GridRegions,
    LineRegions,
    activation_patterns,
    deep_region_lower_bound,
    deep_region_upper_bound,
    dense_layers,
    regions_along_line,
    regions_on_grid,
    shallow_region_bound,
    shallow_regions_in_box,
    zigzag_layers,
    random_dense_layers,
    compose,
    evaluate_layers,
    shallow_units,
)
from jaxdl.analysis._perceptron import (
    MCCULLOCH_PITTS_BIAS,
    MCCULLOCH_PITTS_WEIGHTS,
    mcculloch_pitts_target,
    sign_unit,
    truth_table,
)
from jaxdl.analysis._sgd_noise import descend, double_well_offsets, tilted_double_well
from jaxdl.analysis._signal import distinct_units, signal_propagation
from jaxdl.analysis._test_functions import TEST_FUNCTIONS, TestFunction, beale, iterates, rastrigin, rosenbrock, trajectory

__all__ = [
    "Box", "GradCheck", "backward", "check_gradients", "dropout_box", "dropout_mask", "forward", "linear_box",
    "loss_and_grad", "mlp_boxes", "relu_box", "sigmoid_box", "softmax_cross_entropy_box", "tanh_box",
    "BiasVariance", "bias_variance", "distance_spread", "hinge_features", "hinge_regression", "unit_ball_volume",
    "autocorrelation", "correlation_length", "input_gradients",
    "RECIPES", "Recipe", "LineSearch", "gradient_descent_line_search", "line_search",
    "SpectralDensity", "TraceEstimate", "hessian_density", "hessian_eigenvalues", "hessian_trace", "hvp",
    "GradCam", "deletion_accuracy", "grad_cam", "integrated_gradients", "layer_activation", "saliency", "smoothgrad",
    "PARAMETERIZATIONS", "channel_score", "class_score", "deepdream_score", "maximize_activation",
    "TrajectoryPCA", "dataset_loss", "interpolate", "loss_surface", "random_direction", "trajectory_pca",
    "deep_param_count", "mlp_param_count", "shallow_param_count",
    "GridRegions", "LineRegions", "activation_patterns", "deep_region_lower_bound", "deep_region_upper_bound",
    "dense_layers", "regions_along_line", "regions_on_grid", "shallow_region_bound", "shallow_regions_in_box",
    "zigzag_layers", "random_dense_layers", "compose", "evaluate_layers", "shallow_units",
    "fit_shallow", "relu_interpolant",
    "MCCULLOCH_PITTS_BIAS", "MCCULLOCH_PITTS_WEIGHTS", "mcculloch_pitts_target", "sign_unit", "truth_table",
    "descend", "double_well_offsets", "tilted_double_well",
    "distinct_units", "signal_propagation",
    "TEST_FUNCTIONS", "TestFunction", "beale", "iterates", "rastrigin", "rosenbrock", "trajectory",
]
