"""Every loss against optax (where optax has it) and against -log p from jax.scipy.stats."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl.analysis import RECIPES

B, D, C = 6, 3, 5


def _regression(key):
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (B, D)), jax.random.normal(k2, (B, D))


def _binary(key):
    k1, k2 = jax.random.split(key)
    return 3 * jax.random.normal(k1, (B,)), jax.random.bernoulli(k2, 0.5, (B,)).astype(jnp.int32)


def _categorical(key):
    k1, k2 = jax.random.split(key)
    return 3 * jax.random.normal(k1, (B, C)), jax.random.randint(k2, (B,), 0, C)


def _gaussian(key):
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (B, 2 * D)), jax.random.normal(k2, (B, D))


def _counts(key):
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (B, D)), jax.random.poisson(k2, 3.0, (B, D))


# (loss, data maker, optax reference or None, row of the maximum-likelihood table). The table
# computes -log p with jax.scipy.stats and states the constant each loss drops.
LOSSES = [
    ("mse", jaxdl.mse, _regression, lambda f, y: optax.squared_error(f, y).mean(-1), "normal"),
    ("mae", jaxdl.mae, _regression, None, "laplace"),
    ("binary_cross_entropy", jaxdl.binary_cross_entropy, _binary,
     lambda s, y: optax.sigmoid_binary_cross_entropy(s, y.astype(jnp.float32)), "bernoulli"),
    ("softmax_cross_entropy", jaxdl.softmax_cross_entropy, _categorical,
     optax.softmax_cross_entropy_with_integer_labels, "categorical"),
    ("gaussian_nll", jaxdl.gaussian_nll, _gaussian, None, "normal_predicted_variance"),
    ("poisson_nll", jaxdl.poisson_nll, _counts, None, "poisson"),
]
IDS = [row[0] for row in LOSSES]


@pytest.mark.parametrize("name,loss,make,optax_ref,recipe", LOSSES, ids=IDS)
def test_loss_is_the_negative_log_likelihood(name, loss, make, optax_ref, recipe, key):
    row = RECIPES[recipe]
    assert row.loss is loss
    outputs, targets = make(key)
    value = loss(outputs, targets)
    assert value.shape == (B,)
    nll = row.neg_log_likelihood(outputs, targets)
    np.testing.assert_allclose(value, row.loss_from_nll(nll, targets), rtol=1e-5, atol=1e-5)
    if optax_ref is not None:
        np.testing.assert_allclose(value, optax_ref(outputs, targets), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,loss,make", [
    ("binary_cross_entropy", jaxdl.binary_cross_entropy, _binary),
    ("softmax_cross_entropy", jaxdl.softmax_cross_entropy, _categorical),
    ("perceptron_loss", jaxdl.perceptron_loss, _binary),
])
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_stable_at_extreme_logits(name, loss, make, scale, key):
    outputs, labels = make(key)
    outputs = scale * jnp.sign(outputs)

    value, grad = jax.value_and_grad(lambda o: loss(o, labels).mean())(outputs)
    assert jnp.all(jnp.isfinite(value)) and jnp.all(jnp.isfinite(grad))
    assert float(value) <= 2e4 + 1  # the loss is at most |logit|-sized, never inf


def test_softmax_cross_entropy_gradient_and_dtype_match_optax(key):
    logits, labels = _categorical(key)
    ours = jax.grad(lambda s: jaxdl.softmax_cross_entropy(s, labels).sum())(logits)
    ref = jax.grad(lambda s: optax.softmax_cross_entropy_with_integer_labels(s, labels).sum())(logits)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)
    assert jaxdl.softmax_cross_entropy(logits.astype(jnp.bfloat16), labels).dtype == jnp.bfloat16


# (loss, data maker, [(index, target outside the support)]): neither value may be read as
# another valid target (label -1 used to wrap around to class C - 1 in the gather).
OUTSIDE_SUPPORT = [
    ("softmax_cross_entropy", jaxdl.softmax_cross_entropy, _categorical, [(1, C), (4, -1)]),
    ("binary_cross_entropy", jaxdl.binary_cross_entropy, _binary, [(1, 2), (4, -1)]),
    ("perceptron_loss", jaxdl.perceptron_loss, _binary, [(1, -1), (4, 2)]),
    ("poisson_nll", jaxdl.poisson_nll, _counts, [((1, 0), -1), ((4, 2), -3)]),
]


@pytest.mark.parametrize("name,loss,make,bad", OUTSIDE_SUPPORT, ids=[row[0] for row in OUTSIDE_SUPPORT])
def test_targets_outside_the_support_raise_or_give_nan(name, loss, make, bad, key):
    outputs, targets = make(key)
    corrupted = targets
    for index, value in bad:
        corrupted = corrupted.at[index].set(value)
    # Concrete targets: an error naming the first bad one.
    first_index, first_value = bad[0]
    with pytest.raises(ValueError, match=rf"{name}: targets must be .*2 are not \(the first, {first_value}\b"):
        loss(outputs, corrupted)
    # Under jit the values are not visible: NaN for exactly those examples, the rest unchanged.
    value = np.asarray(jax.jit(loss)(outputs, corrupted))
    rows = sorted({index[0] if isinstance(index, tuple) else index for index, _ in bad})
    assert np.isnan(value[rows]).all()
    keep = np.setdiff1d(np.arange(B), rows)
    np.testing.assert_array_equal(value[keep], np.asarray(jax.jit(loss)(outputs, targets))[keep])
    grad = jax.jit(jax.grad(lambda o: loss(o, corrupted)[keep].sum()))(outputs)
    assert np.isfinite(grad).all()


def test_binary_cross_entropy_accepts_one_unit_logits(key):
    logits, labels = _binary(key)
    np.testing.assert_allclose(jaxdl.binary_cross_entropy(logits[:, None], labels),
                               jaxdl.binary_cross_entropy(logits, labels))


# Each message starts with the loss's name: a user with several losses sees which one.
@pytest.mark.parametrize("loss,outputs,targets,match", [
    (jaxdl.mse, jnp.ones((4, 1)), jnp.ones(4), "^mse: .*must match exactly"),
    (jaxdl.mae, jnp.ones((4, 2)), jnp.ones((4, 3)), "^mae: .*must match exactly"),
    (jaxdl.binary_cross_entropy, jnp.ones((4, 2)), jnp.ones(4), "^binary_cross_entropy: .*must match exactly"),
    (jaxdl.binary_cross_entropy, jnp.ones((4, 3, 1)), jnp.ones((4, 2)), "^binary_cross_entropy: .*must match exactly"),
    (jaxdl.perceptron_loss, jnp.ones((4, 2)), jnp.ones(4), "^perceptron_loss: .*must match exactly"),
    (jaxdl.softmax_cross_entropy, jnp.ones((4, 3)), jnp.ones((4, 1), jnp.int32), "integer labels of shape"),
    (jaxdl.softmax_cross_entropy, jnp.ones((4, 3)), jnp.ones(4), "integer class indices"),
    (jaxdl.softmax_cross_entropy, jnp.ones((4, 3)), jnp.ones(5, jnp.int32), r"integer labels of shape \(4,\), got \(5,\)"),
    (jaxdl.softmax_cross_entropy, jnp.ones((4, 2, 3)), jnp.ones((4, 3), jnp.int32),
     r"integer labels of shape \(4, 2\), got \(4, 3\)"),
    (jaxdl.gaussian_nll, jnp.ones((4, 3)), jnp.ones((4, 2)), "^gaussian_nll: .*mean and log-variance"),
    (jaxdl.gaussian_nll, jnp.ones((4, 3, 4)), jnp.ones((4, 2, 2)), r"^gaussian_nll: .*got outputs \(4, 3, 4\)"),
    (jaxdl.gaussian_nll, jnp.ones((4, 3, 4)), jnp.ones((4, 3, 4)), r"^gaussian_nll: .*\[\.\.\., 2d\]"),
    (jaxdl.gaussian_nll, jnp.ones((4, 3, 5)), jnp.ones((3, 4, 2)), r"^gaussian_nll: "),
    (jaxdl.poisson_nll, jnp.ones((4, 1)), jnp.ones(4), "^poisson_nll: .*must match exactly"),
    (jaxdl.mse, jnp.float32(1.0), jnp.float32(1.0), "^mse: expected a batch of predictions, got a scalar"),
])
def test_shape_and_dtype_errors_name_the_problem(loss, outputs, targets, match):
    with pytest.raises(ValueError, match=match):
        loss(outputs, targets)


@pytest.mark.parametrize("loss,support,targets", [
    (jaxdl.binary_cross_entropy, r"in \[0, 1\]", jnp.array([0, 1, 2, 1])),
    (jaxdl.perceptron_loss, "0 or 1", jnp.array([0, 1, -1, 1])),
    (jaxdl.poisson_nll, "non-negative counts", jnp.array([0, 1, -1, 1])),
    (jaxdl.softmax_cross_entropy, r"class labels in \[0, 4\) for 4 logits", jnp.array([0, 1, -1, 1])),
])
def test_support_errors_say_what_the_support_is(loss, support, targets):
    outputs = jnp.zeros((4, 4)) if loss is jaxdl.softmax_cross_entropy else jnp.zeros(4)
    message = rf"^{loss.__name__}: targets must be {support}, but 1 is not \(the first, -?\d(\.0)?, at index 2\)\.$"
    with pytest.raises(ValueError, match=message):
        loss(outputs, targets)


def test_support_errors_locate_a_target_in_a_sequence():
    counts = jnp.zeros((3, 4)).at[1, 2].set(-2.0).at[2, 0].set(-1.0)
    with pytest.raises(ValueError, match=r"but 2 are not \(the first, -2\.0, at index \(1, 2\)\)\.$"):
        jaxdl.poisson_nll(jnp.zeros((3, 4)), counts)
    # Classes are the last axis, not the second: 5 time steps, 3 classes, label 3 is outside.
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\) for 3 logits, but 1 is not \(the first, 3, at index \(1, 4\)\)\.$"):
        jaxdl.softmax_cross_entropy(jnp.zeros((2, 5, 3)), jnp.zeros((2, 5), jnp.int32).at[1, 4].set(3))


def test_heaviside_and_the_perceptron_loss_closed_form():
    """Rosenblatt's rule as a loss: ``(H(s) - y) s`` with the error held fixed, so its
    gradient in ``s`` is ``H(s) - y`` (0 when right, +-1 when wrong); ``H(0) = 1`` (the UDL
    book's convention), ``at_zero`` for the others."""
    s = jnp.array([-2.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    y = jnp.array([1, 0, 0, 1, 0, 0])
    h = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(jaxdl.heaviside(s), h)
    np.testing.assert_array_equal(jaxdl.heaviside(s, at_zero=0.0), [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(jaxdl.heaviside(s, at_zero=0.5), [0, 0, 0.5, 1, 1, 1])
    strict = jax.grad(lambda s: jaxdl.perceptron_loss(s, y, at_zero=0.0).sum())(s)  # H(0) = 0: s = 0 is class 0, right for y = 0
    np.testing.assert_allclose(strict, np.array([0, 0, 0, 1, 1, 1]) - np.asarray(y))
    np.testing.assert_allclose(jaxdl.perceptron_loss(s, y), (h - np.asarray(y)) * np.asarray(s))
    np.testing.assert_allclose(jax.grad(lambda s: jaxdl.perceptron_loss(s, y).sum())(s), h - np.asarray(y))
    assert jnp.all(jaxdl.perceptron_loss(s, y) >= 0)


def test_zero_counts_are_in_the_poisson_support():
    """``-log p(0 | rate) = rate``: zero counts are valid and give exactly ``exp(log_rate)``."""
    log_rates = jnp.array([[-1.0, 0.0], [0.5, 2.0]])
    np.testing.assert_allclose(jaxdl.poisson_nll(log_rates, jnp.zeros((2, 2))), jnp.exp(log_rates).sum(-1), rtol=1e-6)


@pytest.mark.parametrize("loss,make", [(jaxdl.binary_cross_entropy, _binary), (jaxdl.perceptron_loss, _binary),
                                        (jaxdl.poisson_nll, _counts)],
                         ids=["binary_cross_entropy", "perceptron_loss", "poisson_nll"])
def test_integer_targets_take_the_outputs_low_precision_dtype(loss, make, key):
    outputs, targets = make(key)
    assert loss(outputs.astype(jnp.bfloat16), targets).dtype == jnp.bfloat16


def test_softmax_cross_entropy_over_a_sequence_equals_optax(key):
    """Logits ``[B, T, C]`` for labels ``[B, T]``: the classes are the last axis, not the second."""
    logits, labels = 3 * jax.random.normal(key, (4, 5, 3)), jax.random.randint(key, (4, 5), 0, 3)
    np.testing.assert_allclose(jaxdl.softmax_cross_entropy(logits, labels),
                               optax.softmax_cross_entropy_with_integer_labels(logits, labels), rtol=1e-6)


def test_sequences_of_binary_logits_and_gaussian_heads(key):
    """Trailing axes beyond the batch: a ``[B, T, 1]`` logit per label ``[B, T]``; Gaussian
    heads ``[B, T, 2d]`` for targets ``[B, T, d]`` equal the flattened ``[B * T, 2d]`` case summed."""
    logits, labels = jax.random.normal(key, (4, 3, 1)), jax.random.bernoulli(key, 0.5, (4, 3)).astype(jnp.int32)
    np.testing.assert_allclose(jaxdl.binary_cross_entropy(logits, labels),
                               jaxdl.binary_cross_entropy(logits[..., 0], labels), rtol=1e-6)
    heads, targets = jax.random.normal(key, (4, 3, 4)), jax.random.normal(jax.random.key(1), (4, 3, 2))
    per_step = jaxdl.gaussian_nll(heads.reshape(12, 4), targets.reshape(12, 2)).reshape(4, 3)
    np.testing.assert_allclose(jaxdl.gaussian_nll(heads, targets), per_step.sum(-1), rtol=1e-5)


def test_penalties_skip_biases(key):
    params = jaxdl.MLP(features=(4, 2)).init(key, jnp.ones((1, 3)))["params"]
    params = jax.tree.map(lambda p: p + 0.5, params)  # non-zero biases
    kernels = [params["dense_0"]["kernel"], params["dense_1"]["kernel"]]
    np.testing.assert_allclose(jaxdl.l2_penalty(params), sum(jnp.sum(k**2) for k in kernels), rtol=1e-6)
    np.testing.assert_allclose(jaxdl.l1_penalty(params), sum(jnp.sum(jnp.abs(k)) for k in kernels), rtol=1e-6)
    bias_grads = jax.grad(jaxdl.l2_penalty)(params)["dense_0"]["bias"]
    assert float(jnp.abs(bias_grads).max()) == 0.0


@pytest.mark.parametrize("penalty", [jaxdl.l1_penalty, jaxdl.l2_penalty], ids=["l1", "l2"])
@pytest.mark.parametrize("tree", [3.0, jnp.ones((2, 2)), {"w": jnp.ones(2), "b": jnp.ones(1)}],
                         ids=["scalar", "bare_array", "other_names"])
def test_penalties_refuse_trees_without_kernels(penalty, tree):
    # A penalty of 0 would silently regularise nothing.
    with pytest.raises(ValueError, match="no leaves named 'kernel'"):
        penalty(tree)


def test_accuracy(key):
    logits = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(jaxdl.accuracy(logits, jnp.array([0, 1])), [1.0, 0.0])
    np.testing.assert_array_equal(jaxdl.accuracy(jnp.array([[0.3], [-2.0]]), jnp.array([1, 1])), [1.0, 0.0])
    with pytest.raises(ValueError, match="do not match"):
        jaxdl.accuracy(logits, jnp.array([0, 1, 2]))


def test_every_recipe_has_a_loss_row():
    assert sorted(row[-1] for row in LOSSES) == sorted(RECIPES)


def test_poisson_nll_is_minimised_at_the_log_count(key):
    counts = jax.random.poisson(key, 4.0, (B, D)).astype(jnp.float32) + 1.0
    grad = jax.grad(lambda s: jaxdl.poisson_nll(s, counts).sum())(jnp.log(counts))
    np.testing.assert_allclose(grad, 0.0, atol=1e-5)
