"""Data sets generated offline, the Dataset container, and standardisation."""

import random

import jax
import numpy as np
import pytest

import jaxdl
from jaxdl import data as D

CLASSIFICATION = [
    ("moons", D.moons, 2), ("circles", D.circles, 2), ("xor", D.xor, 2),
    ("spirals", D.spirals, 2), ("blobs", D.blobs, 3),
]
REGRESSION = [("sine_1d", D.sine_1d), ("linear_1d", D.linear_1d)]


@pytest.mark.parametrize("name,make,classes", CLASSIFICATION, ids=[c[0] for c in CLASSIFICATION])
def test_2d_classification_sets(name, make, classes, key):
    ds = make(key=key, num_train=90, num_test=60)
    assert ds.x_train.shape == (90, 2) and ds.x_test.shape == (60, 2)
    assert ds.y_train.dtype == np.int32 and ds.num_classes == classes
    for y in (ds.y_train, ds.y_test):  # shuffled before the split: every class in both
        assert set(np.unique(y)) == set(range(classes))
    again, other = make(key=key, num_train=90, num_test=60), make(key=jax.random.key(1), num_train=90, num_test=60)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    assert not np.array_equal(ds.x_train, other.x_train)


@pytest.mark.parametrize("name,make", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_1d_regression_sets(name, make, key):
    ds = make(key=key, num_train=30, num_test=50)
    assert ds.x_train.shape == (30, 1) and ds.y_train.shape == (30, 1) and ds.y_test.shape == (50, 1)
    assert ds.num_classes is None and not ds.is_classification


def test_xor_labels_follow_the_quadrants(key):
    ds = D.xor(key=key)
    np.testing.assert_array_equal(ds.y_train, (ds.x_train[:, 0] * ds.x_train[:, 1] > 0).astype(np.int32))


def test_sine_noise_level(key):
    ds = D.sine_1d(key=key, num_train=4000, num_test=10, noise=0.1)
    residual = ds.y_train[:, 0] - np.sin(2 * np.pi * ds.x_train[:, 0])
    np.testing.assert_allclose(residual.std(), 0.1, rtol=0.05)


def test_mnist1d_is_generated_offline_and_restores_global_rng():
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    ds = D.mnist1d(num_samples=500)
    assert (np.random.rand(), random.random()) == (expected_np, expected_py)
    assert ds.x_train.shape == (400, 40) and ds.x_test.shape == (100, 40)
    assert ds.num_classes == 10 and set(np.unique(ds.y_train)) == set(range(10))
    np.testing.assert_array_equal(D.mnist1d(num_samples=500).x_train, ds.x_train)


def test_mnist1d_default_split():
    ds = D.mnist1d()
    assert (ds.num_train, ds.num_test, ds.input_shape) == (4000, 1000, (40,))


def test_digits(key):
    ds = D.digits(key=key)
    assert ds.num_train + ds.num_test == 1797 and ds.input_shape == (64,)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    images = D.digits(key=key, flatten=False)
    assert images.input_shape == (8, 8, 1)
    np.testing.assert_array_equal(images.x_train.reshape(ds.num_train, -1), ds.x_train)


def test_standardize_uses_training_statistics_only(key):
    ds = D.blobs(key=key, num_train=200, num_test=100)
    ds = jaxdl.Dataset(ds.x_train * 5 + 3, ds.y_train, ds.x_test * 5 + 30, ds.y_test, num_classes=3)
    st = ds.standardized()
    np.testing.assert_allclose(st.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(st.x_train.std(0), 1, rtol=1e-4)
    mean, std = ds.x_train.mean(0), ds.x_train.std(0)
    np.testing.assert_allclose(st.x_test, (ds.x_test - mean) / std, rtol=1e-5)
    assert abs(st.x_test.mean()) > 1  # the shifted test set is not re-centred on itself
    constant = jaxdl.Dataset(np.ones((4, 2)), np.zeros(4, np.int32), np.ones((2, 2)), np.zeros(2, np.int32), 1)
    assert np.all(np.isfinite(constant.standardized().x_train))


def test_generators_reject_bad_sizes(key):
    with pytest.raises(ValueError, match="num_train must be a positive int"):
        D.moons(key=key, num_train=0)
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        D.spirals(key=key, num_classes=1)


# Every generator with a noise scale: a negative standard deviation would silently act as its
# absolute value, NaN would poison every point.
NOISY = [(D.sine_1d, "noise"), (D.linear_1d, "noise"), (D.moons, "noise"), (D.circles, "noise"), (D.xor, "noise"),
         (D.spirals, "noise"), (D.blobs, "std")]


@pytest.mark.parametrize("make,scale", NOISY, ids=[m.__name__ for m, _ in NOISY])
@pytest.mark.parametrize("value", [-0.1, float("nan"), "0.1"])
def test_generators_reject_bad_noise_scales(make, scale, value, key):
    with pytest.raises(ValueError, match=f"{make.__name__}: {scale} must be a finite number >= 0"):
        make(key=key, **{scale: value})
    assert np.isfinite(make(key=key, **{scale: 0.0}).x_train).all()  # no noise is fine


@pytest.mark.parametrize("make", [m for m, _ in NOISY] + [D.binary_1d, D.digits], ids=lambda m: m.__name__)
def test_generators_name_a_seed_given_as_key(make, key):
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        make(key=0)
    # a legacy uint32[2] key still works, and draws the same data as the typed key
    legacy = make(key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(legacy.x_train, make(key=jax.random.key(3)).x_train)


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5, -0.5])
def test_circles_inner_radius_must_be_inside(factor, key):
    with pytest.raises(ValueError, match="factor"):
        D.circles(key=key, factor=factor)
