"""jaxdl: a JAX functional deep-learning toolkit.

Pure-function Flax (linen) models and optax optimizers, combined by jit-compiled, vmap- and
pmap-friendly train steps. The top level holds what a researcher uses: ``jaxdl.MLP``,
``jaxdl.softmax_cross_entropy``, ``jaxdl.make_train_step``, ``jaxdl.fit``, ... Namespaces:
``jaxdl.models``, ``jaxdl.data``, ``jaxdl.optim``, ``jaxdl.sweep``, ``jaxdl.analysis``,
``jaxdl.plotting``, ``jaxdl.robust``, and ``jaxdl.cpu`` (XLA:CPU compiler options and kernels, off the top level).

Implementation lives in private modules (``jaxdl/_*.py``); every public name is re-exported
here or in its namespace's ``__init__``.
"""

from jaxdl import analysis as analysis
from jaxdl import cpu as cpu
from jaxdl import data as data
from jaxdl import models as models
from jaxdl import optim as optim
from jaxdl import robust as robust
from jaxdl import sweep as sweep
from jaxdl import bench as bench
from jaxdl import tune as tune
# analysis
from jaxdl.analysis import check_gradients as check_gradients
from jaxdl.analysis import dataset_loss as dataset_loss
from jaxdl.analysis import deep_param_count as deep_param_count
from jaxdl.analysis import hessian_density as hessian_density
from jaxdl.analysis import hessian_eigenvalues as hessian_eigenvalues
from jaxdl.analysis import hessian_trace as hessian_trace
from jaxdl.analysis import grad_cam as grad_cam
from jaxdl.analysis import integrated_gradients as integrated_gradients
from jaxdl.analysis import interpolate as interpolate
from jaxdl.analysis import layer_activation as layer_activation
from jaxdl.analysis import maximize_activation as maximize_activation
from jaxdl.analysis import saliency as saliency
from jaxdl.analysis import smoothgrad as smoothgrad
from jaxdl.analysis import loss_surface as loss_surface
from jaxdl.analysis import random_direction as random_direction
from jaxdl.analysis import trajectory_pca as trajectory_pca
from jaxdl.analysis import mlp_param_count as mlp_param_count
from jaxdl.analysis import regions_along_line as regions_along_line
from jaxdl.analysis import regions_on_grid as regions_on_grid
from jaxdl.analysis import shallow_param_count as shallow_param_count
# data
from jaxdl.data import Dataset as Dataset
from jaxdl._batching import batch_schedule as batch_schedule
from jaxdl._batching import iterate_batches as iterate_batches
# engine: state, steps, loop, checkpoints, devices
from jaxdl._checkpoint import Checkpointer as Checkpointer
from jaxdl._fit import FitResult as FitResult
from jaxdl._fit import fit as fit
from jaxdl._inference import evaluate as evaluate
from jaxdl._inference import predict as predict
from jaxdl._parallel import DATA_AXIS as DATA_AXIS
from jaxdl._parallel import batch_sharding as batch_sharding
from jaxdl._parallel import data_mesh as data_mesh
from jaxdl._parallel import replicate as replicate
from jaxdl._parallel import replicated as replicated
from jaxdl._parallel import shard_batch as shard_batch
from jaxdl._resume import read_history as read_history
from jaxdl._runner import train_seeds as train_seeds
from jaxdl._state import TrainState as TrainState
from jaxdl._state import create_train_state as create_train_state
from jaxdl._state import create_train_states as create_train_states
from jaxdl._state import set_hyperparams as set_hyperparams
from jaxdl._step import Gradients as Gradients
from jaxdl._step import across_devices as across_devices
from jaxdl._step import gradient_step as gradient_step
from jaxdl._step import loss_gradients as loss_gradients
from jaxdl._step import make_eval_step as make_eval_step
from jaxdl._step import make_train_step as make_train_step
from jaxdl._step import microbatched as microbatched
from jaxdl._step import penalized as penalized
# losses and metrics
from jaxdl._losses import binary_cross_entropy as binary_cross_entropy
from jaxdl._losses import gaussian_nll as gaussian_nll
from jaxdl._losses import heaviside as heaviside
from jaxdl._losses import l1_penalty as l1_penalty
from jaxdl._losses import l2_penalty as l2_penalty
from jaxdl._losses import mae as mae
from jaxdl._losses import mse as mse
from jaxdl._losses import perceptron_loss as perceptron_loss
from jaxdl._losses import poisson_nll as poisson_nll
from jaxdl._losses import softmax_cross_entropy as softmax_cross_entropy
from jaxdl._metrics import accuracy as accuracy
from jaxdl._metrics import confusion_matrix as confusion_matrix
from jaxdl._precision import PRECISIONS as PRECISIONS
from jaxdl._precision import mixed_conv as mixed_conv
from jaxdl._precision import mixed_dot_general as mixed_dot_general
from jaxdl._precision import mixed_precision as mixed_precision
from jaxdl._pytrees import near_zero_fraction as near_zero_fraction
from jaxdl._pytrees import param_count as param_count
# robustness
from jaxdl.robust import adversarial as adversarial
from jaxdl.robust import fgsm as fgsm
from jaxdl.robust import margin_loss as margin_loss
from jaxdl.robust import pgd as pgd
from jaxdl.robust import robust_accuracy as robust_accuracy
# models
from jaxdl.models import ACTIVATIONS as ACTIVATIONS
from jaxdl.models import KERNEL_INITS as KERNEL_INITS
from jaxdl.models import CNN1D as CNN1D
from jaxdl.models import MLP as MLP
from jaxdl.models import VGG as VGG
from jaxdl.models import AlexNet as AlexNet
from jaxdl.models import BasicBlock as BasicBlock
from jaxdl.models import BiGRU as BiGRU
from jaxdl.models import Conv2D as Conv2D
from jaxdl.models import GRUCell as GRUCell
from jaxdl.models import InceptionModule as InceptionModule
from jaxdl.models import InceptionNet as InceptionNet
from jaxdl.models import LeNet5 as LeNet5
from jaxdl.models import LinearRegression as LinearRegression
from jaxdl.models import LogisticRegression as LogisticRegression
from jaxdl.models import Perceptron as Perceptron
from jaxdl.models import ResNet as ResNet
from jaxdl.models import ResidualMLP as ResidualMLP
from jaxdl.models import ShallowNet as ShallowNet
from jaxdl.models import SmallCNN as SmallCNN
from jaxdl.models import batch_norm as batch_norm
from jaxdl.models import conv_output_size as conv_output_size
from jaxdl.models import get_activation as get_activation
from jaxdl.models import get_kernel_init as get_kernel_init
from jaxdl.models import least_squares as least_squares
from jaxdl.models import pool2d as pool2d
from jaxdl.models import resnet20 as resnet20
from jaxdl.models import resnet56 as resnet56
from jaxdl.models import same_padding as same_padding

__version__ = "0.1.0"

__all__ = [
    # namespaces
    "analysis", "cpu", "data", "models", "optim", "sweep",
    # analysis
    "check_gradients", "deep_param_count", "mlp_param_count", "regions_along_line", "regions_on_grid",
    "dataset_loss", "hessian_density", "hessian_eigenvalues", "hessian_trace", "interpolate", "loss_surface",
    "random_direction", "trajectory_pca",
    "shallow_param_count",
    # data
    "Dataset", "batch_schedule", "iterate_batches",
    # engine
    "Checkpointer", "FitResult", "fit", "evaluate", "predict", "read_history", "train_seeds",
    "DATA_AXIS", "batch_sharding", "data_mesh", "replicate", "replicated", "shard_batch",
    "TrainState", "create_train_state", "create_train_states", "set_hyperparams",
    "Gradients", "loss_gradients", "microbatched", "across_devices", "penalized", "gradient_step",
    "make_train_step", "make_eval_step",
    # mixed precision
    "PRECISIONS", "mixed_precision", "mixed_dot_general", "mixed_conv",
    # losses and metrics
    "binary_cross_entropy", "gaussian_nll", "heaviside", "l1_penalty", "l2_penalty", "mae", "mse",
    "perceptron_loss", "poisson_nll", "softmax_cross_entropy", "accuracy", "confusion_matrix",
    "near_zero_fraction", "param_count",
    # models
    "ACTIVATIONS", "KERNEL_INITS", "CNN1D", "MLP", "VGG", "AlexNet", "BasicBlock", "BiGRU", "Conv2D", "GRUCell",
    "InceptionModule", "InceptionNet", "LeNet5", "LinearRegression", "LogisticRegression", "Perceptron", "ResNet", "ResidualMLP",
    "ShallowNet", "SmallCNN", "batch_norm", "conv_output_size", "get_activation", "get_kernel_init",
    "least_squares", "pool2d", "resnet20", "resnet56", "same_padding",
]
