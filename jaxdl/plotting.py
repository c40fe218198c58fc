"""Figures for the experiments and benchmarks (PNG, matplotlib's Agg backend).
"""

from jaxdl._plotting import save_figure as save_figure
from jaxdl._plotting import plot_decision_regions as plot_decision_regions
from jaxdl._plotting import plot_history as plot_history
from jaxdl._plotting import plot_bands as plot_bands
from jaxdl._plotting import plot_confusion_matrix as plot_confusion_matrix
from jaxdl._plotting import plot_examples as plot_examples
from jaxdl._landscape_plotting import plot_surface as plot_surface
from jaxdl._landscape_plotting import plot_curves as plot_curves
from jaxdl._landscape_plotting import plot_spectral_density as plot_spectral_density
from jaxdl._robust_plotting import plot_adversarial_examples as plot_adversarial_examples
from jaxdl._vis_plotting import plot_attributions as plot_attributions
from jaxdl._vis_plotting import plot_filters as plot_filters
from jaxdl._vis_plotting import plot_image_grid as plot_image_grid
from jaxdl._tensorboard import write_figures as write_figures

__all__ = [
    "save_figure",
    "plot_decision_regions",
    "plot_history",
    "plot_bands",
    "plot_confusion_matrix",
    "plot_examples",
    "plot_surface",
    "plot_curves",
    "plot_spectral_density",
    "plot_adversarial_examples",
    "plot_attributions",
    "plot_filters",
    "plot_image_grid",
    "write_figures",
]
