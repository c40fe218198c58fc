"""Attribution and feature visualisation (jaxdl/analysis/_attribution.py, _feature_vis.py):
closed forms on linear scores, IG completeness, Grad-CAM = CAM for global average pooling,
layer reading, and activation maximisation."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl
from jaxdl.analysis import channel_score, class_score, deepdream_score

W = jax.random.normal(jax.random.key(0), (6, 6, 1))


def linear_score(x):
    return jnp.sum(x * W[None], axis=(1, 2, 3))


X = jax.random.uniform(jax.random.key(1), (4, 6, 6, 1))


def test_saliency_and_smoothgrad_of_a_linear_score_are_its_weights():
    np.testing.assert_allclose(jaxdl.saliency(linear_score, X), jnp.broadcast_to(W, X.shape), rtol=1e-6)
    np.testing.assert_allclose(jaxdl.smoothgrad(linear_score, X, key=jax.random.key(2), samples=5),
                               jnp.broadcast_to(W, X.shape), rtol=1e-5)
    np.testing.assert_allclose(jaxdl.smoothgrad(linear_score, X, key=jax.random.key(2), samples=5, squared=True),
                               jnp.broadcast_to(W ** 2, X.shape), rtol=1e-5)


def test_smoothgrad_averages_the_gradient_over_noise_of_the_stated_size():
    """For ``score = sum x^3`` the mean gradient over ``x + e`` is ``3 (x^2 + sigma^2)``, with
    ``sigma = noise * (max - min)`` of each example."""
    cube = lambda x: jnp.sum(x ** 3, axis=(1, 2, 3))
    got = jaxdl.smoothgrad(cube, X, key=jax.random.key(3), samples=4000, noise=0.2)
    sigma = 0.2 * (X.max(axis=(1, 2, 3)) - X.min(axis=(1, 2, 3)))
    # Monte Carlo error of each entry: 6 x sigma / sqrt(4000) <= 0.02; 0.1 is five of those.
    np.testing.assert_allclose(got, 3 * (X ** 2 + sigma[:, None, None, None] ** 2), atol=0.1)
    assert float(jnp.abs(got - 3 * X ** 2).mean()) > 0.5 * float(3 * (sigma ** 2).mean())  # the sigma^2 term shows


def test_integrated_gradients_closed_form_and_completeness():
    baseline = jnp.full_like(X, 0.3)
    np.testing.assert_allclose(jaxdl.integrated_gradients(linear_score, X, baseline=baseline, steps=3),
                               (X - baseline) * W[None], rtol=1e-5, atol=1e-6)
    model = jaxdl.MLP(features=(32, 32, 3), activation="tanh")
    params = model.init(jax.random.key(4), jnp.zeros((1, 36)))
    score = class_score(lambda x: model.apply(params, x.reshape(x.shape[0], -1)), jnp.array([0, 1, 2, 0]))
    ig = jaxdl.integrated_gradients(score, X, steps=256)
    np.testing.assert_allclose(ig.sum(axis=(1, 2, 3)), score(X) - score(jnp.zeros_like(X)), rtol=1e-4, atol=1e-5)


class _GapNet(nn.Module):
    """conv -> relu -> global average pool -> dense: Zhou et al.'s (2016) CAM architecture."""
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(5, (3, 3), name="features")(x))
        return nn.Dense(3, name="head")(a.mean(axis=(1, 2)))


def test_grad_cam_equals_cam_for_global_average_pooling():
    """Grad-CAM's weights for a GAP network are ``W_kc / (h w)`` at the conv output (before
    the ReLU, which Grad-CAM's gradient passes where active), so the heatmap is CAM's."""
    model = _GapNet()
    variables = model.init(jax.random.key(5), X[:1])
    targets = jnp.array([0, 1, 2, 1])
    cam = jaxdl.grad_cam(model, variables, "features", X, targets)
    a = jaxdl.layer_activation(model, variables, "features")(X)  # the conv output, before the ReLU
    head = variables["params"]["head"]["kernel"]  # [K, C]
    expected_w = (jnp.where(a > 0, 1.0, 0.0) * head[:, targets].T[:, None, None, :]).mean(axis=(1, 2)) / (6 * 6)
    np.testing.assert_allclose(cam.weights, expected_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(cam.heatmap, jax.nn.relu(jnp.einsum("bijk,bk->bij", a, expected_w)), rtol=1e-5,
                               atol=1e-7)
    assert cam.upsampled.shape == (4, 6, 6) and float(cam.heatmap.min()) >= 0


def test_layer_activation_reads_the_named_layer_and_names_the_others():
    model = jaxdl.LeNet5()
    variables = model.init(jax.random.key(6), jnp.zeros((1, 28, 28, 1)))
    x = jax.random.uniform(jax.random.key(7), (2, 28, 28, 1))
    _, state = model.apply(variables, x, capture_intermediates=True, mutable=["intermediates"])
    np.testing.assert_array_equal(jaxdl.layer_activation(model, variables, "c3")(x),
                                  state["intermediates"]["c3"]["__call__"][0])
    with pytest.raises(ValueError, match=r"LeNet5 has no layer 'c9'; its layers are \['c1', 'c3', 'f5', 'f6', 'output'\]"):
        jaxdl.layer_activation(model, variables, "c9")(x)
    with pytest.raises(ValueError, match="Grad-CAM needs a convolutional"):
        jaxdl.grad_cam(model, variables, "f5", x, jnp.array([0, 1]))


def test_objectives_closed_forms():
    act = lambda x: x * 2.0  # a "layer" [B, H, W, K]
    x = jax.random.normal(jax.random.key(8), (3, 4, 4, 3))
    np.testing.assert_allclose(channel_score(act, [2, 0, 1])(x), [2 * x[0, ..., 2].mean(), 2 * x[1, ..., 0].mean(),
                                                                  2 * x[2, ..., 1].mean()], rtol=1e-6)
    np.testing.assert_allclose(deepdream_score(act)(x), (4 * x ** 2).mean(axis=(1, 2, 3)), rtol=1e-6)
    logits = lambda v: v.reshape(v.shape[0], -1)[:, :5]
    np.testing.assert_allclose(class_score(logits, [4, 0, 2])(x), [logits(x)[0, 4], logits(x)[1, 0], logits(x)[2, 2]])


def test_a_maximised_linear_score_under_l2_points_along_the_weights():
    """``argmax w.x - l2 ||x||^2 = w / (2 l2)``."""
    w = jax.random.normal(jax.random.key(9), (3, 10))
    x = jaxdl.maximize_activation(lambda v: jnp.sum(v * w, axis=1), jnp.zeros((3, 10)), steps=600,
                                  learning_rate=0.05, l2=0.5, clip=None)
    np.testing.assert_allclose(x, w, atol=0.03)


def test_rows_follow_their_own_objective_as_if_alone():
    model = jaxdl.LeNet5()
    variables = model.init(jax.random.key(6), jnp.zeros((1, 28, 28, 1)))
    logits_fn = lambda v: model.apply(variables, v)
    x0 = jnp.full((3, 28, 28, 1), 0.5) + 0.01 * jax.random.normal(jax.random.key(10), (3, 28, 28, 1))
    kw = dict(steps=20, jitter=2, scale=(0.9, 1.1), rotate=10.0, key=jax.random.key(11), tv=1e-3)
    together = jaxdl.maximize_activation(class_score(logits_fn, [3, 5, 7]), x0, **kw)
    for i, c in enumerate((3, 5, 7)):
        alone = jaxdl.maximize_activation(class_score(logits_fn, [c]), x0[i:i + 1], **kw)
        np.testing.assert_allclose(together[i], alone[0], atol=1e-5)
    score = class_score(logits_fn, [3, 5, 7])
    assert bool(jnp.all(score(together) > score(x0)))
    assert float(together.min()) >= 0.0 and float(together.max()) <= 1.0


@pytest.mark.parametrize("decorrelate,channels", [(False, 1), (True, 3)])
def test_the_fourier_parameterisation_starts_at_x0_and_stays_in_the_box(decorrelate, channels):
    x0 = jax.random.uniform(jax.random.key(12), (2, 8, 10, channels), minval=0.1, maxval=0.9)
    score = lambda v: v.mean(axis=(1, 2, 3))
    start = jaxdl.maximize_activation(score, x0, steps=1, learning_rate=0.0, parameterization="fourier",
                                      decorrelate=decorrelate)
    np.testing.assert_allclose(start, x0, atol=1e-5)
    moved = jaxdl.maximize_activation(score, x0, steps=30, parameterization="fourier", decorrelate=decorrelate)
    assert bool(jnp.all(score(moved) > score(x0))) and float(moved.min()) >= 0 and float(moved.max()) <= 1


IMG = jnp.full((2, 8, 8, 1), 0.5)
MEAN = lambda v: v.reshape(v.shape[0], -1).mean(axis=1)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: jaxdl.maximize_activation(MEAN, IMG, parameterization="wavelet"), "unknown parameterization 'wavelet'"),
    (lambda: jaxdl.maximize_activation(MEAN, IMG, parameterization="fourier", clip=None), "clip=None is not possible"),
    (lambda: jaxdl.maximize_activation(MEAN, IMG, parameterization="fourier", decorrelate=True),
     "decorrelate=True needs parameterization='fourier' and 3 colour channels"),
    (lambda: jaxdl.maximize_activation(MEAN, IMG, jitter=2), r"random transforms .* need key="),
    (lambda: jaxdl.maximize_activation(MEAN, jnp.zeros((2, 5)), jitter=2, key=jax.random.key(0)),
     r"need images \[B, H, W, C\]"),
    (lambda: jaxdl.maximize_activation(MEAN, IMG, steps=0), "steps must be >= 1"),
    (lambda: jaxdl.maximize_activation(MEAN, IMG.astype(jnp.int32)), "x0 must be floating point"),
    (lambda: jaxdl.saliency(lambda v: v.sum(), IMG), r"one score per example \[B\]; .* returned \(\)"),
    (lambda: jaxdl.integrated_gradients(MEAN, IMG.astype(jnp.uint8)), "inputs must be floating point"),
    (lambda: jaxdl.smoothgrad(MEAN, IMG, key=jax.random.key(0), samples=0), "samples must be >= 1"),
])
def test_bad_arguments_get_named_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_deletion_removes_the_top_ranked_pixels_first():
    """A 'classifier' that reads pixel (0, 0) against pixel (1, 1): deleting the top 1 of 36
    pixels ranked by an attribution that puts (0, 0) first flips it, a ranking that puts it last
    does not until everything is gone."""
    x = jnp.zeros((2, 6, 6, 1)).at[:, 0, 0, 0].set(1.0)
    logits_fn = lambda v: jnp.stack([v[:, 1, 1, 0], v[:, 0, 0, 0]], axis=-1)
    y = jnp.array([1, 1])
    first = jnp.zeros((2, 6, 6)).at[:, 0, 0].set(1.0)
    last = jnp.ones((2, 6, 6)).at[:, 0, 0].set(0.0)
    np.testing.assert_array_equal(jaxdl.analysis.deletion_accuracy(logits_fn, x, y, first, [0.0, 1 / 36, 0.5]),
                                  [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(jaxdl.analysis.deletion_accuracy(logits_fn, x, y, last, [0.0, 1 / 36, 35 / 36, 1.0]),
                                  [1.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="do not match images"):
        jaxdl.analysis.deletion_accuracy(logits_fn, x, y, first[:, :5], [0.1])
