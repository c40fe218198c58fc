"""The IDX file format of MNIST (LeCun et al.), read with checks, from ``.gz`` or raw files."""

from __future__ import annotations

import gzip
import os

import numpy as np

from jaxdl.data._container import Dataset

__all__ = ["read_idx", "mnist_idx"]

# IDX type codes (third header byte) -> big-endian NumPy dtypes
_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file: magic ``0x00 0x00 TYPE NDIM``, ``NDIM`` big-endian uint32 sizes, data.

    Args:
      path: an IDX file, gzip-compressed if it ends in ``.gz``.

    Returns:
      the array, shape given by the header (``[N, 28, 28]`` uint8 for MNIST images, ``[N]``
      for labels), in native byte order.

    Raises:
      ValueError: a bad magic number, an unknown type code, or a data size that does not
        match the header (a truncated or padded file), each naming the file.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # includes a truncated gzip stream
        raise ValueError(f"{path}: cannot read IDX file ({e}).") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; expected 0000TTNN).")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02x}.")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header truncated ({len(raw)} bytes for {ndim} dimensions).")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - 4 - 4 * ndim
    if actual != expected:
        raise ValueError(
            f"{path}: header says shape {shape} ({expected} bytes of data) but the file holds {actual} bytes; "
            f"the file is {'truncated' if actual < expected else 'longer than its header'}."
        )
    return np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory: str, stem: str) -> str | None:
    for name in (stem, stem + ".gz"):
        candidate = os.path.join(directory, name)
        if os.path.exists(candidate):
            return candidate
    return None


def _read_pair(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        path = _find(directory, f"{split}-{kind}")
        if path is None:
            raise ValueError(f"{directory}: no {split}-{kind} or {split}-{kind}.gz found.")
        arrays.append(read_idx(path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(f"{directory}: expected {split} images [N, rows, cols] and labels [N]; "
                         f"got {images.shape}, {labels.shape}.")
    if len(images) != len(labels):
        raise ValueError(f"{directory}: {len(images)} {split} images but {len(labels)} labels.")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{directory}: {split} labels must be digits 0..9, found {labels.min()}..{labels.max()}.")
    return images, labels.astype(np.int32)


def mnist_idx(directory: str | os.PathLike, *, split: str = "auto", train_count: int | None = None,
              flatten: bool = False) -> Dataset:
    """MNIST from a directory of IDX files, pixels scaled to ``[0, 1]``.

    Args:
      directory: holds ``{split}-images-idx3-ubyte[.gz]`` and ``{split}-labels-idx1-ubyte[.gz]``.
      split: ``"t10k"`` (10,000 test images) or ``"train"`` (60,000): that file pair alone,
        cut into a training and a test part at ``train_count``. ``"standard"``: train on
        ``train`` (its first ``train_count`` images if given), test on ``t10k``. ``"auto"``:
        ``"standard"`` when both pairs are present, else the one that is.
      train_count: for a single pair, the first ``train_count`` images train and the rest
        test (e.g. 8,000 / 2,000 of the 10,000 test images); default: 80%.
      flatten: ``x`` as ``[N, 784]`` instead of ``[N, 28, 28, 1]`` (NHWC).

    Returns:
      ``Dataset`` with ``y: [N]`` int32 in ``[0, 10)``.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{directory}: not a directory of MNIST IDX files.")
    if split == "auto":
        present = [s for s in ("train", "t10k") if _find(directory, f"{s}-images-idx3-ubyte")]
        split = "standard" if len(present) == 2 else (present[0] if present else "t10k")
    if split not in ("train", "t10k", "standard"):
        raise ValueError(f"unknown MNIST split {split!r}; use 'auto', 'standard', 'train' or 't10k'.")

    def prepare(images):
        x = images.astype(np.float32) / 255.0
        return x.reshape(len(x), -1) if flatten else x[..., None]

    if split == "standard":
        x_train, y_train = _read_pair(directory, "train")
        x_test, y_test = _read_pair(directory, "t10k")
        if train_count is not None:
            if not 0 < int(train_count) <= len(x_train):
                raise ValueError(f"train_count must be in (0, {len(x_train)}], got {train_count}.")
            x_train, y_train = x_train[:int(train_count)], y_train[:int(train_count)]
        return Dataset(prepare(x_train), y_train, prepare(x_test), y_test, num_classes=10, name="mnist",
                       info={"source": directory, "split": "standard", "train_count": len(x_train)})
    images, labels = _read_pair(directory, split)
    n = len(images)
    train_count = int(0.8 * n) if train_count is None else int(train_count)
    if not 0 < train_count < n:
        raise ValueError(f"train_count must be in (0, {n}), got {train_count}.")
    x = prepare(images)
    return Dataset(x[:train_count], labels[:train_count], x[train_count:], labels[train_count:], num_classes=10,
                   name=f"mnist-{split}", info={"source": directory, "split": split, "train_count": train_count})
