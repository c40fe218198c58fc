"""Image data: tfds data_source under mock_data, IDX splits, augmentation."""

import gzip
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl
from jaxdl.data import TFDS_IMAGE_SETS, mnist_idx, tfds_images

try:  # only the tfds tests need it: the IDX and augmentation tests run without it
    import tensorflow_datasets as tfds
except ImportError:
    tfds = None
needs_tfds = pytest.mark.skipif(tfds is None, reason="tensorflow_datasets is not installed")


@needs_tfds
@pytest.mark.parametrize("name", sorted(TFDS_IMAGE_SETS))
def test_tfds_data_source_under_mock_data(name):
    shape, classes = TFDS_IMAGE_SETS[name]
    with tfds.testing.mock_data(num_examples=12):
        ds = tfds_images(name, train_count=10, test_count=5)
    assert (ds.num_train, ds.num_test, ds.input_shape) == (10, 5, shape)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0 and ds.x_train.max() > 0.5
    assert ds.num_classes == classes and 0 <= ds.y_train.min() and ds.y_train.max() < classes


@needs_tfds
def test_tfds_standardize_uses_training_statistics():
    with tfds.testing.mock_data(num_examples=16):
        raw = tfds_images("cifar10")
        ds = tfds_images("cifar10", standardize=True)
    np.testing.assert_allclose(ds.x_train.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(ds.x_train.std(axis=(0, 1, 2)), 1.0, atol=1e-3)
    mean, std = np.asarray(ds.info["channel_mean"]), np.asarray(ds.info["channel_std"])
    np.testing.assert_allclose(ds.x_test, (raw.x_test - mean) / std, rtol=1e-5, atol=1e-5)


@needs_tfds
def test_tfds_unknown_and_unprepared_sets_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown tfds image set 'cifar100'"):
        tfds_images("cifar100")
    with pytest.raises(ValueError, match="not prepared in") as err:
        tfds_images("mnist", data_dir=tmp_path / "empty")
    assert "download=True" in str(err.value)


def _write(directory, split, images, labels):
    for stem, arr in ((f"{split}-images-idx3-ubyte.gz", images), (f"{split}-labels-idx1-ubyte.gz", labels)):
        header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
        with gzip.open(directory / stem, "wb") as f:
            f.write(header + arr.astype(np.uint8).tobytes())


def test_idx_standard_split_trains_on_train_and_tests_on_t10k(tmp_path):
    rng = np.random.default_rng(1)
    train_images, t10k_images = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (6, 28, 28))
    _write(tmp_path, "train", train_images, rng.integers(0, 10, 20))
    _write(tmp_path, "t10k", t10k_images, rng.integers(0, 10, 6))
    ds = mnist_idx(tmp_path)  # auto: both pairs present
    assert (ds.num_train, ds.num_test) == (20, 6)
    np.testing.assert_allclose(ds.x_test[..., 0], t10k_images / 255.0, rtol=1e-6)
    assert mnist_idx(tmp_path, train_count=8).num_train == 8
    assert mnist_idx(tmp_path, split="t10k", train_count=4).num_test == 2
    with pytest.raises(ValueError, match="unknown MNIST split"):
        mnist_idx(tmp_path, split="validation")


def test_idx_rejects_labels_that_are_not_digits(tmp_path):
    _write(tmp_path, "t10k", np.zeros((4, 28, 28)), np.array([0, 1, 12, 3]))
    with pytest.raises(ValueError, match="digits 0..9"):
        mnist_idx(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        mnist_idx(tmp_path / "missing")


def test_random_crop_is_a_window_of_the_padded_image(key):
    images = jax.random.normal(key, (6, 5, 5, 2))
    out = jaxdl.data.random_crop(jax.random.key(3), images, padding=2)
    padded = np.pad(np.asarray(images), ((0, 0), (2, 2), (2, 2), (0, 0)))
    for i in range(6):
        windows = [padded[i, a:a + 5, b:b + 5] for a in range(5) for b in range(5)]
        assert any(np.array_equal(out[i], w) for w in windows)
    np.testing.assert_array_equal(jaxdl.data.random_crop(key, images, padding=0), images)
    np.testing.assert_array_equal(out, jaxdl.data.random_crop(jax.random.key(3), images, padding=2))
    shifted = [not np.array_equal(out[i], images[i]) for i in range(6)]
    assert any(shifted)


def test_random_flip_mirrors_about_half(key):
    images = jax.random.normal(key, (400, 3, 4, 1))
    out = jaxdl.data.random_flip(jax.random.key(5), images)
    flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(np.asarray(out), np.asarray(images))])
    same = np.array([np.array_equal(o, i) for o, i in zip(np.asarray(out), np.asarray(images))])
    assert np.all(flipped | same)
    assert 0.4 < flipped.mean() < 0.6


def test_augmentation_rejects_non_images(key):
    with pytest.raises(ValueError, match="expects images"):
        jaxdl.data.random_flip(key, jnp.zeros((3, 4)))
    for probability in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"probability must lie in \[0, 1\]"):
            jaxdl.data.random_flip(key, jnp.zeros((3, 4, 4, 1)), probability=probability)
    with pytest.raises(TypeError, match="compose: augmentation 1 must be a function"):
        jaxdl.data.compose(jaxdl.data.random_flip, "crop")


def test_with_augmentation_feeds_the_step_augmented_batches(key):
    seen = []

    def fake_step(state, batch, rng):
        seen.append(batch["x"])
        return state, {}

    class State:
        step = jnp.array(3)

    images = jax.random.normal(key, (8, 6, 6, 1))
    augment = jaxdl.data.compose(jaxdl.data.random_crop, jaxdl.data.random_flip)
    jaxdl.data.with_augmentation(fake_step, augment)(State(), {"x": images, "y": jnp.zeros(8)}, key)
    expected = augment(jax.random.fold_in(jax.random.fold_in(key, 3), 1), images)
    np.testing.assert_array_equal(seen[0], expected)
    assert not np.array_equal(seen[0], images)
