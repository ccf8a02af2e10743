"""MNIST and CIFAR-10 as float32 arrays in [0, 1] with a channel axis, and image shifts.

Where the data comes from, in this order:

1. ``CNNCOURSE_DATA=DIR`` (see :mod:`cnncourse.config`): the canonical files are
   read from ``DIR`` — ``DIR/mnist/`` with LeCun's four IDX ``.gz`` files and
   ``DIR/cifar-10-python.tar.gz``, the archive CIFAR-10's publisher distributes,
   read without unpacking it to disk. This is how a classroom without internet,
   and our CI, work.
2. Otherwise ``keras.datasets`` downloads and caches them (Colab, a laptop).

Example
-------
>>> (x_train, y_train), (x_test, y_test) = load_mnist(n_train=100, n_test=10)
>>> x_train.shape, x_train.dtype, y_train.shape
((100, 28, 28, 1), dtype('float32'), (100,))
"""
from __future__ import annotations

import functools
import gzip
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from cnncourse import config
from cnncourse.checks import check_batch, check_bool, check_whole, is_whole

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)


class DataUnavailableError(RuntimeError):
    """A dataset could be neither read from ``CNNCOURSE_DATA`` nor downloaded."""


# --------------------------------------------------------------------------- public API

def load_mnist(pad=False, n_train=None, n_test=None, seed=0):
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``.

    Parameters
    ----------
    pad : bool
        Zero-pad each 28x28 digit by 2 pixels on every side to 32x32, the input
        size LeNet-5 was designed for.
    n_train, n_test : int or None
        How many images to keep, drawn reproducibly (see :func:`take_subset`).
        ``None`` means the mode's default: all of them in full mode,
        ``budget("mnist_train")`` / ``budget("mnist_test")`` in fast mode.
    seed : int
        Seed of the subset draw.

    Returns
    -------
    x : float32 array, shape (n, 28, 28, 1) — or (n, 32, 32, 1) with ``pad`` — values in [0, 1]
    y : int64 array, shape (n,), digits 0-9
    """
    check_bool(pad, "pad")
    (xtr, ytr), (xte, yte) = _mnist_uint8()
    train = _prepare(xtr, ytr, n_train, "mnist_train", seed, "n_train")
    test = _prepare(xte, yte, n_test, "mnist_test", seed, "n_test")
    if pad:
        train = (pad_images(train[0], 2), train[1])
        test = (pad_images(test[0], 2), test[1])
    return train, test


def load_cifar10(n_train=None, n_test=None, seed=0):
    """Load CIFAR-10 as ``((x_train, y_train), (x_test, y_test))``.

    Parameters are those of :func:`load_mnist` (defaults ``budget("cifar10_train")``
    and ``budget("cifar10_test")`` in fast mode). Class names are in
    :data:`CIFAR10_CLASSES`.

    Returns
    -------
    x : float32 array, shape (n, 32, 32, 3), RGB values in [0, 1]
    y : int64 array, shape (n,), classes 0-9
    """
    (xtr, ytr), (xte, yte) = _cifar10_uint8()
    train = _prepare(xtr, ytr, n_train, "cifar10_train", seed, "n_train")
    test = _prepare(xte, yte, n_test, "cifar10_test", seed, "n_test")
    return train, test


def take_subset(x, y, n, seed=0):
    """``n`` examples of ``(x, y)`` drawn without replacement, the same ones for the same seed.

    The draw is stratified: every class keeps its share (up to rounding), so a
    small fast-mode subset still holds every digit.

    >>> x, y = np.arange(10)[:, None], np.array([0, 1] * 5)
    >>> xs, ys = take_subset(x, y, 4, seed=1)
    >>> sorted(ys.tolist())
    [0, 0, 1, 1]
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    n = _check_count(n, "n", len(x))
    if n == len(x):
        return x, y
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    # largest-remainder allocation of n over the classes
    share = counts * n / len(y)
    take = np.floor(share).astype(int)
    for i in np.argsort(share - take)[::-1][: n - take.sum()]:
        take[i] += 1
    chosen = np.concatenate([
        rng.choice(np.flatnonzero(y == c), size=k, replace=False)
        for c, k in zip(classes, take)
    ])
    chosen = rng.permutation(chosen)
    return x[chosen], y[chosen]


def pad_images(images, pad):
    """Zero-pad a batch of images ``(n, h, w, c)`` by ``pad`` pixels on each side."""
    images = check_batch(images, "images")
    pad = check_whole(pad, "pad", 0)
    return np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def shift_images(images, dx, dy):
    """Move images ``dx`` pixels right and ``dy`` pixels down, filling with zeros.

    Nothing wraps around: what leaves the frame is lost, what enters is black.
    Negative values move left / up.

    Parameters
    ----------
    images : array, shape (n, h, w, c) or (h, w, c)
    dx, dy : int, with ``|dx| < w`` and ``|dy| < h``

    Returns
    -------
    array of the same shape and dtype

    >>> img = np.zeros((1, 3, 3, 1)); img[0, 1, 1, 0] = 1
    >>> shift_images(img, 1, 0)[0, :, :, 0]
    array([[0., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]])
    """
    arr = np.asarray(images)
    single = arr.ndim == 3
    batch = check_batch(arr[None] if single else arr, "images")
    h, w = batch.shape[1:3]
    for name, value, size, axis in (("dx", dx, w, "width"), ("dy", dy, h, "height")):
        if not is_whole(value):
            raise TypeError(f"{name} must be a whole number of pixels, got {value!r}")
        if abs(value) >= size:
            raise ValueError(
                f"{name}={value} would move the image out of the frame: "
                f"|{name}| must be smaller than the image {axis} ({size})"
            )
    out = np.zeros_like(batch)
    src_y = slice(max(0, -dy), h - max(0, dy))
    dst_y = slice(max(0, dy), h - max(0, -dy))
    src_x = slice(max(0, -dx), w - max(0, dx))
    dst_x = slice(max(0, dx), w - max(0, -dx))
    out[:, dst_y, dst_x, :] = batch[:, src_y, src_x, :]
    return out[0] if single else out


# --------------------------------------------------------------------------- helpers

def _check_count(n, name, available):
    if not is_whole(n):
        raise TypeError(f"{name} must be a whole number >= 1 or None, got {n!r}")
    n = check_whole(n, name, 1)
    if n > available:
        raise ValueError(f"{name}={n} is larger than the data: only {available} examples are available")
    return int(n)


def _prepare(x_uint8, y, n, budget_name, seed, arg_name):
    if n is None:
        n = min(config.budget(budget_name), len(x_uint8))
    x_uint8, y = take_subset(x_uint8, y, _check_count(n, arg_name, len(x_uint8)), seed)
    x = x_uint8.astype("float32") / 255.0
    if x.ndim == 3:
        x = x[..., None]
    return x, y.astype("int64")


@functools.lru_cache(maxsize=1)
def _mnist_uint8():
    folder = config.data_dir()
    if folder is not None:
        mnist = folder / "mnist"
        return (
            (_read_idx(mnist / MNIST_FILES["train_images"], 3), _read_idx(mnist / MNIST_FILES["train_labels"], 1)),
            (_read_idx(mnist / MNIST_FILES["test_images"], 3), _read_idx(mnist / MNIST_FILES["test_labels"], 1)),
        )
    return _download("mnist")


@functools.lru_cache(maxsize=1)
def _cifar10_uint8():
    folder = config.data_dir()
    if folder is not None:
        return _read_cifar10_archive(folder / CIFAR10_ARCHIVE)
    (xtr, ytr), (xte, yte) = _download("cifar10")
    return (xtr, ytr.reshape(-1)), (xte, yte.reshape(-1))


def _download(name):
    try:
        import keras

        loader = getattr(keras.datasets, name)
        return loader.load_data()
    except Exception as exc:  # network down, certificate, disk full, ...
        raise DataUnavailableError(
            f"Could not load {name}: {config.DATA_VAR} is not set, and downloading it with "
            f"keras.datasets.{name}.load_data() failed ({type(exc).__name__}: {exc}).\n"
            "Fix it either way:\n"
            "  1. connect to the internet and run again (Keras caches the download in ~/.keras/datasets), or\n"
            f"  2. set {config.DATA_VAR} to a folder holding mnist/ with the four IDX .gz files "
            f"and {CIFAR10_ARCHIVE}."
        ) from exc


def _read_idx(path: Path, ndim: int):
    """Read one gzip-compressed IDX file (LeCun's format: big-endian header, then uint8)."""
    if not path.is_file():
        raise DataUnavailableError(
            f"MNIST file missing: {path}. {config.DATA_VAR} must name a folder whose mnist/ "
            f"holds {', '.join(MNIST_FILES.values())}."
        )
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataUnavailableError(f"MNIST file {path} is damaged or truncated ({exc}); replace it.") from exc
    header = 4 + 4 * ndim
    expected_magic = 0x0800 + ndim
    if len(raw) < header or int.from_bytes(raw[:4], "big") != expected_magic:
        raise DataUnavailableError(f"MNIST file {path} is not an IDX file of {ndim} dimension(s).")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if len(raw) - header != int(np.prod(dims)):
        raise DataUnavailableError(
            f"MNIST file {path} is truncated: its header promises {dims} values, "
            f"it holds {len(raw) - header} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_cifar10_archive(path: Path):
    if not path.is_file():
        raise DataUnavailableError(
            f"CIFAR-10 archive missing: {path}. {config.DATA_VAR} must name a folder holding "
            f"{CIFAR10_ARCHIVE} (the 'python version' from the publisher)."
        )
    batches = {}
    wanted = {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if base in wanted and member.isfile():
                    batch = pickle.load(tar.extractfile(member), encoding="bytes")
                    data = np.asarray(batch[b"data"], dtype=np.uint8)
                    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
                    batches[base] = (images, np.asarray(batch[b"labels"], dtype=np.int64))
    except (OSError, EOFError, zlib.error, tarfile.TarError, pickle.UnpicklingError, KeyError, ValueError) as exc:
        raise DataUnavailableError(f"CIFAR-10 archive {path} is damaged or truncated ({type(exc).__name__}: {exc}).") from exc
    missing = sorted(wanted - set(batches))
    if missing:
        raise DataUnavailableError(f"CIFAR-10 archive {path} lacks {', '.join(missing)}; it is incomplete.")
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    x_train = np.concatenate([b[0] for b in train])
    y_train = np.concatenate([b[1] for b in train])
    return (x_train, y_train), batches["test_batch"]
