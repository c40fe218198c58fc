"""XLA:CPU machinery, kept off the top level: compiler options, convolutions as matmuls and
the rule that picks a convolution's formulation on a CPU (``cpu_conv2d``, behind every jaxdl
CNN's default ``Conv2D(impl="auto")``).

Nothing here changes what a program computes, only how XLA:CPU compiles or lays it out; on
other backends the option functions return ``None`` (plain ``jax.jit``). Models and the engine
import what they choose from here; a user rarely needs to. Measured effects of each choice
are in ``benchmarks/REPORT.md``.
"""

from jaxdl.cpu._compile import jit_once as jit_once
from jaxdl.cpu._compile import legacy_emitters as legacy_emitters
from jaxdl.cpu._compile import matmul_conv_options as matmul_conv_options
from jaxdl.cpu._conv import blocked_conv2d as blocked_conv2d
from jaxdl.cpu._conv import depth_to_space as depth_to_space
from jaxdl.cpu._conv import s2d_conv2d_maxpool as s2d_conv2d_maxpool
from jaxdl.cpu._conv import s2d_conv2d_windows as s2d_conv2d_windows
from jaxdl.cpu._conv import space_to_depth as space_to_depth
from jaxdl.cpu._policy import CPU_CONV_FORMULATIONS as CPU_CONV_FORMULATIONS
from jaxdl.cpu._policy import cpu_conv2d as cpu_conv2d
from jaxdl.cpu._policy import cpu_conv_formulation as cpu_conv_formulation
from jaxdl.cpu._policy import xla_conv2d as xla_conv2d

__all__ = ["jit_once", "legacy_emitters", "matmul_conv_options", "space_to_depth", "depth_to_space",
           "s2d_conv2d_windows", "s2d_conv2d_maxpool", "blocked_conv2d", "cpu_conv2d", "cpu_conv_formulation",
           "xla_conv2d", "CPU_CONV_FORMULATIONS"]
