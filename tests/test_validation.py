"""Bad input gets a clear error naming the problem, before any training step runs."""

import jax
import numpy as np
import optax
import pytest

import jaxdl

CE = jaxdl.softmax_cross_entropy


def _arrays(n=20, d=3, classes=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, classes, n).astype(np.int32)


def _dataset(**overrides):
    x, y = _arrays()
    fields = dict(x_train=x, y_train=y, x_test=x[:5], y_test=y[:5], num_classes=3, name="toy")
    fields.update(overrides)
    return jaxdl.Dataset(**fields)


def _nan_inputs():
    x, _ = _arrays()
    x[4, 1] = np.nan
    return x


def _inf_inputs():
    x, _ = _arrays()
    x[2, 0] = np.inf
    return x


BAD_DATASETS = [
    ("labels_out_of_range", dict(y_train=np.array([0, 1, 3] * 6 + [0, 0], np.int32)), ValueError, r"labels in \[0, 3\]"),
    ("negative_labels", dict(y_test=np.array([0, -1, 0, 0, 0], np.int32)), ValueError, r"labels in \[-1, 0\]"),
    ("nan_inputs", dict(x_train=_nan_inputs()), ValueError, "NaN/inf values .*example 4"),
    ("inf_inputs", dict(x_train=_inf_inputs()), ValueError, "NaN/inf values .*example 2"),
    ("empty_train", dict(x_train=np.zeros((0, 3)), y_train=np.zeros(0, np.int32)), ValueError, "is empty"),
    ("length_mismatch", dict(y_train=np.zeros(7, np.int32)), ValueError, "has 20 examples"),
    ("feature_mismatch", dict(x_test=np.zeros((5, 4))), ValueError, "feature shape"),
    ("rank_1_inputs", dict(x_train=np.zeros(20)), ValueError, "rank >= 2"),
    ("float_labels", dict(y_train=np.zeros(20, np.float32)), TypeError, "integer class labels"),
    ("string_inputs", dict(x_train=np.array([["a"] * 3] * 20)), TypeError, "must be numeric"),
    ("bad_num_classes", dict(num_classes=0), ValueError, "num_classes"),
]


@pytest.mark.parametrize("name,overrides,error,match", BAD_DATASETS, ids=[b[0] for b in BAD_DATASETS])
def test_bad_datasets_are_rejected(name, overrides, error, match):
    with pytest.raises(error, match=match):
        _dataset(**overrides)


def _state(key, features=(8, 3), input_shape=(3,)):
    return jaxdl.create_train_state(jaxdl.MLP(features=features), optax.sgd(0.1), key=key, input_shape=input_shape)


BAD_FITS = [
    ("wrong_feature_dimension", dict(state_kwargs={"input_shape": (4,)}), ValueError, r"built for inputs of shape \(4,\)"),
    ("too_few_logits", dict(state_kwargs={"features": (8, 2)}), ValueError, "outputs only 2 logits"),
    ("batch_larger_than_data", dict(batch_size=21), ValueError, "larger than the 20 training examples"),
    ("zero_batch", dict(batch_size=0), ValueError, "batch_size must be >= 1"),
    ("float_batch", dict(batch_size=2.5), TypeError, "batch_size must be an int"),
    ("negative_steps", dict(num_steps=-1), ValueError, "num_steps must be a non-negative int"),
    ("not_a_dataset", dict(data=(np.zeros((3, 3)), np.zeros(3))), TypeError, "expects a jaxdl Dataset"),
    ("stacked_flag_on_single_state", dict(stacked=True), ValueError, "stacked=True needs a stack"),
]


@pytest.mark.parametrize("name,case,error,match", BAD_FITS, ids=[b[0] for b in BAD_FITS])
def test_bad_fit_calls_are_rejected_before_training(name, case, error, match, key):
    state = _state(key, **case.get("state_kwargs", {}))
    step_calls = []

    def step(state, batch, rng):
        step_calls.append(1)
        return jaxdl.make_train_step(CE)(state, batch, rng)

    with pytest.raises(error, match=match):
        jaxdl.fit(state, case.get("data", _dataset()), step, key=key, num_steps=case.get("num_steps", 3),
                  batch_size=case.get("batch_size", 5), stacked=case.get("stacked", False), progress=False)
    assert not step_calls


BAD_PREDICTS = [
    ("one_example_without_batch_axis", dict(x=np.zeros(3)), ValueError,
     r"built for examples of shape \(3,\), but x has shape \(3,\)"),
    ("wrong_feature_dimension", dict(x=np.zeros((5, 4))), ValueError,
     r"built for examples of shape \(3,\) and failed on examples of shape \(4,\) \(ScopeParamShapeError"),
    ("no_examples", dict(x=np.zeros((0, 3))), ValueError, "no examples"),
    ("zero_batch", dict(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    ("float_batch", dict(batch_size=2.5), TypeError, "batch_size must be an int, got float 2.5"),
    ("labels_of_another_length", dict(y=np.zeros(4, np.int32)), ValueError, r"x has 5 examples but y has shape \(4,\)"),
]


PREDICT_CASES = [(fn, *row) for fn in ("predict", "evaluate") for row in BAD_PREDICTS
                 if fn == "evaluate" or "y" not in row[1]]  # predict takes no labels


@pytest.mark.parametrize("fn,name,case,error_type,match", PREDICT_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in PREDICT_CASES])
def test_bad_predict_and_evaluate_calls_name_the_problem(fn, name, case, error_type, match, key):
    state = _state(key)
    x, batch_size = case.get("x", np.zeros((5, 3), np.float32)), case.get("batch_size", 2)
    with pytest.raises(error_type, match=match) as error:
        if fn == "predict":
            jaxdl.predict(state, x, batch_size=batch_size)
        else:
            jaxdl.evaluate(jax.jit(jaxdl.make_eval_step(CE)), state, x, case.get("y", np.zeros(len(x), np.int32)),
                           batch_size=batch_size)
    assert str(error.value).startswith(f"{fn}: ")


def test_stacked_state_needs_one_key_per_member(key):
    states = jax.vmap(lambda k: _state(k))(jax.random.split(key, 2))
    with pytest.raises(ValueError, match="needs 2 keys"):
        jaxdl.fit(states, _dataset(), jaxdl.make_train_step(CE), key=key, num_steps=1, batch_size=5,
                  stacked=True, progress=False)
    with pytest.raises(ValueError, match="pass stacked=True"):
        jaxdl.fit(states, _dataset(), jaxdl.make_train_step(CE), key=key, num_steps=1, batch_size=5, progress=False)


@pytest.mark.parametrize("seeds", [[], [0.5, 1.5], [[0, 1]]], ids=["none", "floats", "nested"])
def test_train_seeds_needs_a_list_of_int_seeds(seeds):
    with pytest.raises(ValueError, match="non-empty list of int seeds"):
        jaxdl.train_seeds(jaxdl.MLP(features=(8, 3)), optax.sgd(0.1), _dataset(), loss=CE, seeds=seeds,
                          num_steps=1, batch_size=5, progress=False)


def test_create_train_state_names_a_bad_key_and_takes_legacy_keys():
    model = jaxdl.MLP(features=(4, 3))
    with pytest.raises(TypeError, match="key must be a JAX random key .* got int 0"):
        jaxdl.create_train_state(model, optax.sgd(0.1), key=0, input_shape=(3,))
    typed = jaxdl.create_train_state(model, optax.sgd(0.1), key=jax.random.key(7), input_shape=(3,))
    legacy = jaxdl.create_train_state(model, optax.sgd(0.1), key=jax.random.PRNGKey(7), input_shape=(3,))
    for a, b in zip(jax.tree.leaves(typed.params), jax.tree.leaves(legacy.params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_and_evaluate_take_other_image_sizes_the_model_accepts(key):
    # A ResNet ends in global average pooling: built at 8x8, it applies to 16x16 images too.
    model = jaxdl.ResNet(depth=8, width=4)
    state = jaxdl.create_train_state(model, optax.sgd(0.1), key=key, input_shape=(8, 8, 3))
    x = np.asarray(jax.random.normal(key, (3, 16, 16, 3)))
    variables = {"params": state.params, **state.model_state}
    np.testing.assert_allclose(jaxdl.predict(state, x), model.apply(variables, x, train=False), rtol=1e-5, atol=1e-6)
    metrics = jaxdl.evaluate(jax.jit(jaxdl.make_eval_step(CE)), state, x, np.zeros(3, np.int32))
    assert np.isfinite(metrics["eval_loss"])
