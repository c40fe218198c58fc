"""Mixed precision: matmuls and convolutions in bfloat16 with float32 accumulation, everything
else in float32, for any JAX function (every jaxdl model and any Flax model's ``apply``).

The policy is jmp's (DeepMind's mixed-precision library): parameters float32, compute in a
half type, outputs float32. The mechanism is PyTorch's ``torch.autocast``: the function is
traced once and its ``dot_general`` / ``conv_general_dilated`` operations are replaced by ones
whose inputs are cast to bfloat16 and whose results are accumulated and returned in float32
(``preferred_element_type=float32``), in the forward pass and in the backward pass (the
cotangent is cast to bfloat16 too, so all three matmuls of a dense layer take the bf16 x bf16
-> f32 path: AMX on a recent Intel CPU, tensor cores on a GPU). Activations between layers,
losses, batch-norm statistics, optimizer states and checkpoints stay float32, so a bf16 run's
checkpoint restores into a float32 model and the reverse.

Loss scaling is not needed for bfloat16: it has float32's 8-bit exponent, so gradients do not
underflow as they do in float16 (Micikevicius et al. 2018, who introduced loss scaling for
float16; Kalamkar et al. 2019 for bfloat16 training without it). float16 is refused.

Reverse-mode autodiff only: the replaced operations have custom VJPs, so forward-mode
(``jax.jvp``, Hessian-vector products) needs the float32 function. Operations inside loops
(``lax.scan``, ``while``: e.g. a GRU's recurrence) run as written, in float32.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Literal

__all__ = ["PRECISIONS", "compute_dtype", "mixed_precision", "mixed_dot_general", "mixed_conv"]

PRECISIONS = ("float32", "bf16")
_NAMES = {"float32": None, "fp32": None, "f32": None, "bf16": jnp.bfloat16, "bfloat16": jnp.bfloat16}
_FLOAT16 = ("float16", "fp16", "f16", "half")
# Higher-order primitives whose body is inlined, so that the matmuls inside are replaced too.
_CALLS = ("pjit", "jit", "closed_call", "core_call", "remat", "checkpoint")


def compute_dtype(precision: str):
    """``jnp.bfloat16`` for ``"bf16"``, ``None`` (plain float32) for ``"float32"``; float16
    and unknown names raise a ``ValueError`` that says why."""
    if not isinstance(precision, str) or precision.lower() not in (*_NAMES, *_FLOAT16):
        raise ValueError(f"unknown precision {precision!r}; use one of {PRECISIONS}.")
    if precision.lower() in _FLOAT16:
        raise ValueError(f"precision {precision!r}: float16 compute needs loss scaling (its 5-bit exponent "
                         "underflows small gradients), which jaxdl does not implement; use 'bf16', which has "
                         "float32's range and needs none.")
    return _NAMES[precision.lower()]


def mixed_precision(fn: Callable, precision: str = "bf16") -> Callable:
    """``fn`` with its matmuls and convolutions computed as bf16 x bf16 -> float32.

    ``fn`` is any function of arrays (and pytrees of them, plus static Python values such as
    ``train=True``); e.g. ``mixed_precision(model.apply)``. It is traced once per call
    signature (under ``jax.jit``: once per compile), its float32 ``dot_general`` and
    ``conv_general_dilated`` operations are replaced by ``mixed_dot_general`` /
    ``mixed_conv``, every other operation runs as it was written (in float32). With
    ``precision="float32"`` it returns ``fn`` itself.
    """
    dtype = compute_dtype(precision)
    return fn if dtype is None else _MixedPrecision(fn, dtype)


class _MixedPrecision:
    """``mixed_precision(fn)``: equal (and hashing equal) for equal ``fn`` and dtype, so that a
    train state holding it as its ``apply_fn`` (a static field) does not recompile its step."""

    def __init__(self, fn: Callable, dtype):
        self.fn, self.dtype = fn, jnp.dtype(dtype)
        functools.update_wrapper(self, fn)

    def __eq__(self, other):
        return isinstance(other, _MixedPrecision) and (self.fn, self.dtype) == (other.fn, other.dtype)

    def __hash__(self):
        return hash((self.fn, self.dtype))

    def __repr__(self):
        return f"mixed_precision({self.fn!r}, {self.dtype.name})"

    def __call__(self, *args, **kwargs):
        leaves, tree = jax.tree.flatten((args, kwargs))
        dynamic = [isinstance(leaf, (jax.Array, np.ndarray, np.generic)) for leaf in leaves]

        def flat_fn(*arrays):
            it = iter(arrays)
            a, k = jax.tree.unflatten(tree, [next(it) if d else leaf for leaf, d in zip(leaves, dynamic)])
            return self.fn(*a, **k)

        arrays = [leaf for leaf, d in zip(leaves, dynamic) if d]
        closed, shapes = jax.make_jaxpr(flat_fn, return_shape=True)(*arrays)
        outs = _evaluate(closed.jaxpr, closed.consts, arrays, self.dtype)
        return jax.tree.unflatten(jax.tree.structure(shapes), outs)


def _evaluate(jaxpr, consts, args, dtype) -> list:
    """Run ``jaxpr`` op by op (as ``jax.core.eval_jaxpr``), replacing float32 matmuls and
    convolutions, inlining calls so that theirs are replaced too."""
    env: dict[Any, Any] = {}

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        outs = _replaced(eqn, invals, dtype)
        if outs is None:
            bound = eqn.primitive.get_bind_params(eqn.params)
            # jax >= 0.5 returns the params; older releases (subfuns, params).
            subfuns, params = bound if isinstance(bound, tuple) else ((), bound)
            with getattr(getattr(eqn, "ctx", None), "manager", contextlib.nullcontext()):
                outs = eqn.primitive.bind(*subfuns, *invals, **params)
            outs = outs if eqn.primitive.multiple_results else [outs]
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in jaxpr.outvars]


def _replaced(eqn, invals, dtype) -> list | None:
    name, params = eqn.primitive.name, eqn.params
    if name in _CALLS and "jaxpr" in params:
        inner = params["jaxpr"]
        return _evaluate(getattr(inner, "jaxpr", inner), getattr(inner, "consts", ()), invals, dtype)
    if name == "cond":  # e.g. Conv2D's per-backend choice (lax.platform_dependent): each branch replaced
        branches = [functools.partial(_evaluate, b.jaxpr, b.consts, dtype=dtype) for b in params["branches"]]
        return list(lax.switch(invals[0], [lambda *ops, f=f: tuple(f(list(ops))) for f in branches], *invals[1:]))
    float32 = len(invals) == 2 and all(jnp.result_type(v) == jnp.float32 for v in invals)
    if not float32 or params.get("preferred_element_type") not in (None, jnp.float32, np.dtype("float32")):
        return None
    if name == "dot_general":
        return [mixed_dot_general(*invals, params["dimension_numbers"], dtype)]
    if name == "conv_general_dilated":
        conv = {k: params[k] for k in ("window_strides", "padding", "lhs_dilation", "rhs_dilation",
                                       "dimension_numbers", "feature_group_count", "batch_group_count")}
        return [mixed_conv(*invals, tuple(sorted(conv.items())), dtype)]
    return None


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def mixed_dot_general(x, y, dimension_numbers, dtype=jnp.bfloat16):
    """``lax.dot_general(x, y, dimension_numbers)`` with ``x`` and ``y`` cast to ``dtype`` and
    the products accumulated and returned in float32; its gradient's two dot_generals take the
    same path (the float32 cotangent cast to ``dtype``), and the gradients are float32."""
    return _dot(x.astype(dtype), y.astype(dtype), dimension_numbers)


def _dot(x, y, dimension_numbers):
    """``dot_general`` with float32 results. XLA:CPU runs bf16 x bf16 -> f32 dots of one
    contracted axis and leading batch axes as they are (the fastest form); others are written
    as one batched matmul ``[B, M, K] x [B, K, N]`` (transposes and reshapes around it), the
    form it supports for any dimension numbers."""
    (lc, rc), (lb, rb) = dimension_numbers
    nb = len(lb)
    if len(lc) <= 1 and tuple(lb) == tuple(rb) == tuple(range(nb)):
        if nb == 0 and lc and lc[0] != x.ndim - 1:
            x, lc = _contracted_last(x, lc[0]), (x.ndim - 1,)
        return lax.dot_general(x, y, ((lc, rc), (lb, rb)), preferred_element_type=jnp.float32)
    x_free, y_free = _free_axes(x.ndim, lc, lb), _free_axes(y.ndim, rc, rb)
    batch = [x.shape[a] for a in lb]
    m, n = [x.shape[a] for a in x_free], [y.shape[a] for a in y_free]
    k = int(np.prod([x.shape[a] for a in lc], dtype=int))
    b = int(np.prod(batch, dtype=int))
    xm = jnp.transpose(x, [*lb, *x_free, *lc]).reshape(b, -1, k)
    ym = jnp.transpose(y, [*rb, *rc, *y_free]).reshape(b, k, -1)
    out = lax.dot_general(xm, ym, (((2,), (1,)), ((0,), (0,))), preferred_element_type=jnp.float32)
    return out.reshape(*batch, *m, *n)


def _free_axes(ndim: int, contracting, batch) -> list[int]:
    """An operand's axes that are neither contracted nor batch axes, in order."""
    return [a for a in range(ndim) if a not in contracting and a not in batch]


def _contracted_last(x, axis: int):
    """``x`` with ``axis`` moved last, as a row-major copy. XLA:CPU's bf16 dot is much slower
    when the left operand's contracted axis is not its innermost (a dense layer's kernel
    gradient ``x^T g``; measured in ``benchmarks/REPORT.md`` section 16); left to itself XLA
    folds a transpose back into the dot, so the flattened copy passes an optimization barrier."""
    moved = jnp.moveaxis(x, axis, -1)
    return lax.optimization_barrier(moved.reshape(-1)).reshape(moved.shape)


def _dot_fwd(x, y, dimension_numbers, dtype):
    xb, yb = x.astype(dtype), y.astype(dtype)  # the residuals are kept in bf16: half the memory
    return _dot(xb, yb, dimension_numbers), (xb, yb)


def _dot_bwd(dimension_numbers, dtype, residuals, g):
    """Both gradients as bf16 x bf16 -> f32 dots laid out so that, for a dense layer, no
    transpose is left: ``dx = g . y`` over y's free axes, ``dy = x . g`` over x's free axes."""
    xb, yb = residuals
    gb = g.astype(dtype)
    (lc, rc), (lb, rb) = dimension_numbers
    nb = len(lb)
    x_free, y_free = _free_axes(xb.ndim, lc, lb), _free_axes(yb.ndim, rc, rb)
    g_x = tuple(range(nb, nb + len(x_free)))  # g's axes: batch, x's free axes, y's free axes
    g_y = tuple(range(nb + len(x_free), gb.ndim))
    # dx [batch, x free, y's contracted axes in increasing order] -> x's axis order
    dx = _dot(gb, yb, ((g_y, tuple(y_free)), (tuple(range(nb)), tuple(rb))))
    dx_axes = [*lb, *x_free, *(lc[list(rc).index(a)] for a in sorted(rc))]
    # dy [batch, x's contracted axes in increasing order, y free] -> y's axis order
    dy = _dot(xb, gb, ((tuple(x_free), g_x), (tuple(lb), tuple(range(nb)))))
    dy_axes = [*rb, *(rc[list(lc).index(a)] for a in sorted(lc)), *y_free]
    return _to_order(dx, dx_axes), _to_order(dy, dy_axes)


def _to_order(array, axes):
    """``array`` whose axis ``i`` is the operand's axis ``axes[i]``, in the operand's order."""
    order = np.argsort(axes)
    return array if list(order) == list(range(array.ndim)) else jnp.transpose(array, order)


mixed_dot_general.defvjp(_dot_fwd, _dot_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def mixed_conv(x, kernel, conv_params, dtype=jnp.bfloat16):
    """``lax.conv_general_dilated(x, kernel, **dict(conv_params))`` with both inputs cast to
    ``dtype`` and float32 accumulation and output; the gradients convolve the cotangent cast to
    ``dtype`` and are returned in float32."""
    return _conv(x.astype(dtype), kernel.astype(dtype), conv_params)


def _conv(x, kernel, conv_params):
    return lax.conv_general_dilated(x, kernel, **dict(conv_params), preferred_element_type=jnp.float32)


def _conv_fwd(x, kernel, conv_params, dtype):
    xb, kb = x.astype(dtype), kernel.astype(dtype)
    return _conv(xb, kb, conv_params), (xb, kb)


def _conv_bwd(conv_params, dtype, residuals, g):
    xb, kb = residuals
    # jax's transpose rules for the convolution, run on bf16 operands (their outputs follow the
    # operands' type), then widened: the arithmetic is bf16 x bf16 with float32 accumulation.
    _, vjp = jax.vjp(lambda a, b: lax.conv_general_dilated(a, b, **dict(conv_params)), xb, kb)
    dx, dk = vjp(g.astype(dtype))
    return dx.astype(jnp.float32), dk.astype(jnp.float32)


mixed_conv.defvjp(_conv_fwd, _conv_bwd)
