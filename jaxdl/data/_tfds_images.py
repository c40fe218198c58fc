"""Image classification sets from TensorFlow Datasets, without TensorFlow.

``tfds.data_source`` reads the ``array_record`` files that ``tfds`` prepares (random access,
NumPy records, no ``tf.data``). With network access and ``download=True`` it fetches and
prepares the set once into ``data_dir``; afterwards, and on machines without network, it
reads the prepared files. Tests run the same code under ``tfds.testing.mock_data``.
"""

from __future__ import annotations

import os

import numpy as np

from jaxdl.data._container import Dataset

__all__ = ["TFDS_IMAGE_SETS", "tfds_images"]

# name -> (image shape, number of classes)
TFDS_IMAGE_SETS = {
    "mnist": ((28, 28, 1), 10),
    "fashion_mnist": ((28, 28, 1), 10),
    "cifar10": ((32, 32, 3), 10),
}


def _read_split(source, name: str, split: str, count: int | None) -> tuple[np.ndarray, np.ndarray]:
    n = len(source) if count is None else min(int(count), len(source))
    if n < 1:
        raise ValueError(f"tfds {name!r} split {split!r} is empty.")
    shape, _ = TFDS_IMAGE_SETS[name]
    images = np.empty((n, *shape), np.uint8)
    labels = np.empty((n,), np.int32)
    for i in range(n):  # random access by index: one record each, no tf.data pipeline
        record = source[i]
        image = np.asarray(record["image"])
        if image.shape != shape:
            raise ValueError(f"tfds {name!r} {split}[{i}] has an image of shape {image.shape}, expected {shape}.")
        images[i], labels[i] = image, int(record["label"])
    return images, labels


def tfds_images(name: str, *, data_dir: str | os.PathLike | None = None, download: bool = False,
                train_split: str = "train", test_split: str = "test", train_count: int | None = None,
                test_count: int | None = None, standardize: bool = False) -> Dataset:
    """``mnist``, ``fashion_mnist`` or ``cifar10`` through ``tfds.data_source``.

    Args:
      name: one of ``TFDS_IMAGE_SETS``.
      data_dir: where ``tfds`` keeps prepared sets (default: ``~/tensorflow_datasets`` or
        ``$TFDS_DATA_DIR``).
      download: fetch and prepare the set if it is not in ``data_dir`` (needs network).
      train_split, test_split: ``tfds`` split names (slicing such as ``"train[:8000]"`` works).
      train_count, test_count: keep only the first so many examples of each split.
      standardize: subtract the per-channel mean and divide by the per-channel standard
        deviation of the *training* pixels (kept in ``info``); otherwise pixels are in
        ``[0, 1]``.

    Returns:
      ``Dataset`` with ``x: [N, H, W, C]`` float32 (NHWC) and ``y: [N]`` int32.

    Raises:
      ValueError: an unknown name, or a set that is not prepared in ``data_dir`` and may not
        be downloaded (the message says how to get it).
    """
    if name not in TFDS_IMAGE_SETS:
        raise ValueError(f"unknown tfds image set {name!r}; known: {sorted(TFDS_IMAGE_SETS)}.")
    import tensorflow_datasets as tfds  # imported here: it is slow to import and only this needs it

    data_dir = os.fspath(data_dir) if data_dir is not None else None
    try:
        train = tfds.data_source(name, split=train_split, data_dir=data_dir, download=download)
        test = tfds.data_source(name, split=test_split, data_dir=data_dir, download=download)
    except (AssertionError, NotImplementedError, FileNotFoundError, OSError,
            tfds.core.registered.DatasetNotFoundError) as e:
        where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        raise ValueError(
            f"tfds set {name!r} is not prepared in {where} ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
            f"Prepare it once with network access (tfds_images({name!r}, download=True), or `tfds build {name} --file_format=array_record`), "
            f"or read MNIST from IDX files with jaxdl.data.mnist_idx."
        ) from None
    x_train, y_train = _read_split(train, name, train_split, train_count)
    x_test, y_test = _read_split(test, name, test_split, test_count)
    x_train = x_train.astype(np.float32) / 255.0
    x_test = x_test.astype(np.float32) / 255.0
    info = {"source": f"tfds.data_source({name!r})", "train_split": train_split, "test_split": test_split}
    if standardize:
        mean = x_train.mean(axis=(0, 1, 2))
        std = np.maximum(x_train.std(axis=(0, 1, 2)), 1e-6)
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
        info.update(channel_mean=mean.tolist(), channel_std=std.tolist())
    _, num_classes = TFDS_IMAGE_SETS[name]
    return Dataset(x_train, y_train, x_test, y_test, num_classes=num_classes, name=name, info=info)
