"""Mixed precision (issue 36): bf16 x bf16 -> float32 matmuls and convolutions in the forward
and backward passes, everything else float32, on every model."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax import lax

import jaxdl
from test_models import MODELS

DOTS = [  # (x shape, y shape, dimension numbers)
    ((4, 3), (3, 5), (((1,), (0,)), ((), ()))),  # x @ W
    ((2, 4, 3), (2, 3, 5), (((2,), (1,)), ((0,), (0,)))),  # batched (a vmapped dense layer)
    ((3, 4), (5, 3), (((0,), (1,)), ((), ()))),  # transposed operands
    ((2, 3, 4, 6), (4, 2, 5, 3), (((1, 2), (3, 0)), ((0,), (1,)))),  # two contracted axes, batch inside
    ((6, 2, 7), (2, 6, 5), (((0,), (1,)), ((1,), (0,)))),
]


def _relative(a, b):
    return float(jnp.abs(a - b).max() / (jnp.abs(b).max() + 1e-12))


@pytest.mark.parametrize("xs,ys,dims", DOTS)
def test_mixed_dot_general_is_the_float32_one_to_bf16_rounding(xs, ys, dims):
    x, y = jax.random.normal(jax.random.key(0), xs), jax.random.normal(jax.random.key(1), ys)
    ref = lambda a, b: lax.dot_general(a, b, dims)  # noqa: E731
    mixed = lambda a, b: jaxdl.mixed_dot_general(a, b, dims)  # noqa: E731
    out = mixed(x, y)
    assert out.dtype == jnp.float32 and out.shape == ref(x, y).shape
    assert _relative(out, ref(x, y)) < 1e-2  # bf16 keeps 8 significant bits: ~0.4% per input
    assert _relative(out, ref(x.astype(jnp.bfloat16).astype(jnp.float32), y.astype(jnp.bfloat16).astype(
        jnp.float32))) < 1e-5  # exactly the products of the rounded inputs, summed in float32
    g = jax.random.normal(jax.random.key(2), out.shape)
    for a, b in zip(jax.vjp(mixed, x, y)[1](g), jax.vjp(ref, x, y)[1](g), strict=True):
        assert a.dtype == jnp.float32 and a.shape == b.shape
        assert _relative(a, b) < 2e-2


def test_mixed_conv_is_the_float32_one_to_bf16_rounding():
    x, k = jax.random.normal(jax.random.key(0), (2, 9, 9, 3)), jax.random.normal(jax.random.key(1), (3, 3, 3, 4))
    params = dict(window_strides=(2, 2), padding=((1, 1), (1, 1)), lhs_dilation=(1, 1), rhs_dilation=(1, 1),
                  dimension_numbers=lax.conv_dimension_numbers(x.shape, k.shape, ("NHWC", "HWIO", "NHWC")),
                  feature_group_count=1, batch_group_count=1)
    ref = lambda a, b: lax.conv_general_dilated(a, b, **params)  # noqa: E731
    mixed = lambda a, b: jaxdl.mixed_conv(a, b, tuple(sorted(params.items())))  # noqa: E731
    assert _relative(mixed(x, k), ref(x, k)) < 1e-2
    g = jax.random.normal(jax.random.key(2), ref(x, k).shape)
    for a, b in zip(jax.vjp(mixed, x, k)[1](g), jax.vjp(ref, x, k)[1](g), strict=True):
        assert a.dtype == jnp.float32 and _relative(a, b) < 2e-2


@pytest.mark.parametrize("name,model,input_shape,output_shape,count", MODELS, ids=[m[0] for m in MODELS])
def test_every_model_in_bf16_is_its_float32_self_within_tolerance(name, model, input_shape, output_shape, count):
    """Stated tolerance: the largest difference of the outputs is below 5% of their largest
    magnitude (bf16 rounds each matmul input to 8 significant bits)."""
    x = jax.random.normal(jax.random.key(1), (4, *input_shape))
    variables = model.init(jax.random.key(0), x)
    f32 = jax.jit(model.apply)(variables, x)
    bf16 = jax.jit(jaxdl.mixed_precision(model.apply))(variables, x)
    assert bf16.dtype == f32.dtype == jnp.float32 and bf16.shape == f32.shape
    assert _relative(bf16, f32) < 5e-2, name


def _dot_input_dtypes(jaxpr) -> list[tuple[str, str]]:
    """The operand dtypes of every dot_general in ``jaxpr`` and in the jaxprs its equations hold."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            found.append(tuple(str(v.aval.dtype) for v in eqn.invars))
        for value in eqn.params.values():
            for item in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(item, "jaxpr", item)
                if hasattr(inner, "eqns"):
                    found += _dot_input_dtypes(inner)
    return found


def test_every_matmul_of_a_bf16_train_step_takes_the_fast_path():
    """The MLP's three layers: forward, input gradient and kernel gradient, 9 matmuls, all with
    bf16 operands and float32 results; the float32 step has none."""
    model = jaxdl.MLP(features=(16, 16, 10))
    batch = {"x": jax.random.normal(jax.random.key(1), (8, 5)), "y": jnp.arange(8) % 10}
    step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy)
    for precision, expected in (("bf16", ("bfloat16", "bfloat16")), ("float32", ("float32", "float32"))):
        state = jaxdl.create_train_state(model, optax.adam(1e-3), key=jax.random.key(0), input_shape=(5,),
                                         precision=precision)
        dots = _dot_input_dtypes(jax.make_jaxpr(step)(state, batch, jax.random.key(2)).jaxpr)
        assert len(dots) >= 8 and set(dots) == {expected}, (precision, dots)


def test_bf16_training_keeps_parameters_statistics_and_optimizer_state_float32_and_resumes(tmp_path):
    model = jaxdl.ResNet(depth=8, width=4)  # batch norm: running statistics in model_state
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=jax.random.key(0), input_shape=(32, 32, 3),
                                     precision="bf16")
    step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy))
    batch = {"x": jax.random.normal(jax.random.key(0), (16, 32, 32, 3)), "y": jnp.arange(16) % 10}
    for i in range(3):
        state, metrics = step(state, batch, jax.random.key(i))
    floats = [leaf for leaf in jax.tree.leaves((state.params, state.opt_state, state.model_state))
              if jnp.issubdtype(leaf.dtype, jnp.floating)]
    assert floats and all(leaf.dtype == jnp.float32 for leaf in floats)
    assert metrics["train_loss"].dtype == jnp.float32 and np.isfinite(float(metrics["train_loss"]))
    # The checkpoint holds float32 arrays: it restores into a float32 state of the same model.
    ckpt = jaxdl.Checkpointer(tmp_path / "ckpt")
    assert ckpt.save(3, state, {"precision": "bf16"})
    f32 = jaxdl.create_train_state(model, optax.adam(1e-3), key=jax.random.key(5), input_shape=(32, 32, 3))
    restored, meta = jaxdl.Checkpointer(tmp_path / "ckpt").restore(f32)
    assert meta == {"precision": "bf16"} and int(restored.step) == 3
    for a, b in zip(jax.tree.leaves((restored.params, restored.opt_state, restored.model_state)),
                    jax.tree.leaves((state.params, state.opt_state, state.model_state)), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert restored.apply_fn == model.apply  # the float32 model, holding the bf16 run's numbers


def test_mixed_precision_composes_with_jit_and_vmap():
    model = jaxdl.MLP(features=(8, 3))
    x = jax.random.normal(jax.random.key(0), (5, 4))
    params = jax.vmap(lambda k: model.init(k, x))(jax.random.split(jax.random.key(1), 3))
    apply = jaxdl.mixed_precision(model.apply)
    grads = jax.jit(jax.vmap(jax.grad(lambda v: apply(v, x).sum())))(params)
    ref = jax.vmap(jax.grad(lambda v: model.apply(v, x).sum()))(params)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(ref), strict=True):
        assert a.shape == b.shape and _relative(a, b) < 2e-2
    assert jaxdl.mixed_precision(model.apply) == apply and hash(jaxdl.mixed_precision(model.apply)) == hash(apply)
    assert jaxdl.mixed_precision(model.apply, "float32") == model.apply  # float32: the function itself


@pytest.mark.parametrize("name,message", [("float16", "float16 compute needs loss scaling"),
                                          ("fp16", "float16 compute needs loss scaling"),
                                          ("int8", "unknown precision 'int8'")])
def test_float16_and_unknown_precisions_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        jaxdl.create_train_state(jaxdl.MLP(features=(2,)), optax.sgd(0.1), key=jax.random.key(0), input_shape=(3,),
                                 precision=name)


def test_precision_flags_of_the_main_job_and_the_suite(tmp_path):
    from test_experiments import _run

    stdout = _run("experiments/train.py", "--quick", "--no-progress", "--precision", "bf16", "--out", tmp_path / "t")
    assert "test accuracy" in stdout
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert metrics["config"]["precision"] == "bf16"
    _run("jaxdl/bench/__main__.py", "--quick", "--no-progress", "--problems",
         "quadratic_deep", "--optimizers", "sgd", "--precision", "bf16", "--out", tmp_path / "b")
    runs = jaxdl.bench.load_runs(str(tmp_path / "b" / "deepobs_bf16"))
    assert runs and {r["precision"] for r in runs} == {"bf16"}
