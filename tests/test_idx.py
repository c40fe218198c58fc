"""The IDX reader on synthetic bytes always, and on the real MNIST test set when it is present."""

import gzip
import os
import struct

import numpy as np
import pytest

from jaxdl.data import mnist_idx, read_idx

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "datasets",
                      "mnist-t10k")


def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_pair(directory, images, labels, gz=True):
    suffix = ".gz" if gz else ""
    for stem, arr in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        data = _idx_bytes(arr)
        with (gzip.open if gz else open)(directory / (stem + suffix), "wb") as f:
            f.write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 12, dtype=np.uint8)
    _write_pair(tmp_path, images, labels, gz=gz)
    ds = mnist_idx(tmp_path, train_count=9)
    assert ds.x_train.shape == (9, 28, 28, 1) and ds.x_test.shape == (3, 28, 28, 1)
    np.testing.assert_allclose(ds.x_train[..., 0], images[:9] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, labels[9:])


def test_other_types(tmp_path):
    values = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    (tmp_path / "a.idx").write_bytes(_idx_bytes(values, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), values)


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b[:-5], "truncated"),
    (lambda b: b + b"\0\0", "longer than its header"),
    (lambda b: b"\x01" + b[1:], "not an IDX file"),
    (lambda b: b[:2] + b"\x42" + b[3:], "unknown IDX type code"),
    (lambda b: b[:6], "header truncated"),
])
def test_bad_files_are_named(tmp_path, mutate, match):
    good = _idx_bytes(np.zeros((3, 4, 4), np.uint8))
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(mutate(good))
    with pytest.raises(ValueError, match=match) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_mismatched_pair(tmp_path):
    _write_pair(tmp_path, np.zeros((5, 28, 28), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 t10k images but 4 labels"):
        mnist_idx(tmp_path)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(_idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot read IDX file"):
        read_idx(tmp_path / "x-idx3-ubyte.gz")


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="real MNIST test set (../shared/datasets/mnist-t10k) absent")
def test_real_mnist_test_set():
    ds = mnist_idx(SHARED, train_count=8000)
    assert (ds.num_train, ds.num_test, ds.input_shape) == (8000, 2000, (28, 28, 1))
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert 0.12 < float(ds.x_train.mean()) < 0.14  # MNIST's mean pixel is about 0.13
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=10)
    assert counts.sum() == 10_000 and counts.min() > 850
