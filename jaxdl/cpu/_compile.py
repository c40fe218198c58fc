"""Compile options: programs that run once, and XLA:CPU's loop-fusion emitters.

XLA spends most of its compile time in LLVM's optimisation passes. For a training step that
pays off thousands of times; for an initialiser that runs once it does not. ``jit_once`` is
``jax.jit`` without LLVM optimisation, with the program's machine code emitted as one LLVM
module rather than split into parts for parallel code generation (without optimisation the
parts' fixed costs outweigh the gain): a shorter compile for a slower run, the same bits.

XLA:CPU also has two code generators for loop fusions (the elementwise, slicing, padding and
reducing kernels between matmuls): the MLIR "fusion emitters" (the default in jax 0.10) and
the older LLVM IR emitters, chosen per program by ``legacy_emitters()``. The older ones
compile faster; at run time they are faster for steps full of data movement (LeNet-5 with
convolutions as matmuls) and slower for steps of small matmuls and elementwise updates (an MLP
sweep). So they are an option, not a default, except in ``jit_once``, where only compile time
counts. ``benchmarks/REPORT.md`` has the measurements.

Why they lose on elementwise updates: a kernel that writes its result over one of its inputs
(every optimizer update inside a training loop, any donated argument) is vectorised by LLVM
behind a run-time check that the two buffers do not overlap, and the check fails when they
are the same buffer, so the kernel runs as a scalar loop. The fusion emitters do not have
this problem; the older emitters' LLVM IR for the same kernel writing into a fresh buffer has
no such check.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import numpy as np

__all__ = ["jit_once", "legacy_emitters", "matmul_conv_options"]

_LEGACY = {"xla_cpu_use_fusion_emitters": False}
# YNNPACK takes only reductions; dots go to XLA:CPU's own dot emitter (see matmul_conv_options).
_XLA_DOTS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}
# xla_backend_optimization_level is a DebugOptions field that XLA:CPU maps to LLVM's -O level.
_LEVEL_0 = {"xla_backend_optimization_level": 0}
_ONCE = {**_LEVEL_0, "xla_cpu_parallel_codegen_split_count": 1}


def _options_supported(backend: str, options: dict[str, Any]) -> bool:
    return _supported(backend, tuple(sorted(options.items())))


@functools.cache
def _supported(backend: str, options: tuple) -> bool:
    if backend != "cpu":
        return False
    # One trivial compile (once per process and option set): a later jaxlib may drop
    # an option, and then programs should compile as usual rather than fail. Every option
    # here is probed at once first, so that a cold process pays for one probe, not two.
    every = tuple(sorted({**_ONCE, **_LEGACY, **_XLA_DOTS}.items()))
    if options != every and set(options) <= set(every) and _supported(backend, every):
        return True
    try:
        jax.jit(lambda x: x + 1, compiler_options=dict(options)).lower(np.float32(0)).compile()
    except Exception:  # noqa: BLE001 - XLA reports an unknown option as a runtime error
        return False
    return True


def legacy_emitters() -> dict[str, Any] | None:
    """``compiler_options`` for ``jax.jit`` that make XLA:CPU emit loop fusions with its older
    LLVM IR emitters instead of the MLIR fusion emitters; ``None`` on other backends (and
    where this jaxlib no longer has the option), which ``jax.jit`` takes as "no options".

    Compile time falls for every step measured; run time falls for steps full of slicing,
    padding and pooling fusions (LeNet-5 with its convolutions as matmuls), is unchanged for XLA-convolution
    networks and rises for an MLP sweep (its in-place updates run as scalar loops: see the
    module docstring); figures in ``benchmarks/REPORT.md``. Results are the same up to float
    rounding.

    Example::

        step = jax.jit(train_step, donate_argnums=0, compiler_options=jaxdl.legacy_emitters())
    """
    return dict(_LEGACY) if _options_supported(jax.default_backend(), _LEGACY) else None


def matmul_conv_options() -> dict[str, Any] | None:
    """``compiler_options`` for training steps whose convolutions are matmuls
    (``LeNet5(conv_impl="s2d")``) on XLA:CPU: ``legacy_emitters()``, and the
    dots compiled by XLA's own dot emitter instead of YNNPACK (which keeps the reductions, such
    as the pools' maxima). ``None`` on other backends; only ``legacy_emitters()`` where this
    jaxlib lacks the (experimental) YNNPACK option.

    Why: the blocked LeNet-5 step has two dozen dots, most of them small (the dense layers'
    ``[128, 84] x [84, 10]`` and their gradients, the kernels' selector products); in the
    step, XLA's own dots ran faster (paired rounds, ``benchmarks/REPORT.md``), although alone
    neither wins everywhere. The results are the same up to float rounding.
    """
    legacy = legacy_emitters()
    if legacy is None:
        return None
    both = {**legacy, **_XLA_DOTS}
    return both if _options_supported(jax.default_backend(), both) else legacy


def jit_once(fn: Callable, **jit_kwargs) -> jax.stages.Wrapped:
    """``jax.jit(fn, **jit_kwargs)``, compiled for a short compile rather than a fast run on
    XLA:CPU (no LLVM optimisation, one LLVM module, the older loop emitters, which compile
    faster); plain ``jax.jit`` on other backends.

    Integer work (keys, permutations) gives the same bits either way; floating-point results
    can differ from a default-level compile in the last bit (e.g. an orthogonal initialiser's
    QR), never more.
    """
    if jax.default_backend() != "cpu":
        return jax.jit(fn, **jit_kwargs)
    once = _ONCE if _options_supported("cpu", _ONCE) else _LEVEL_0
    options = {**once, **(legacy_emitters() or {})}
    return jax.jit(fn, compiler_options=options, **jit_kwargs)
