"""Data loading from the offline folder, subsets, padding and shifts."""
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnncourse import config, data


@pytest.fixture
def fresh_cache():
    data._mnist_uint8.cache_clear()
    data._cifar10_uint8.cache_clear()
    yield
    data._mnist_uint8.cache_clear()
    data._cifar10_uint8.cache_clear()


@pytest.fixture
def real_data():
    if config.data_dir() is None:
        pytest.fail("set CNNCOURSE_DATA to the offline datasets folder (.ci/run does)")
    return config.data_dir()


def test_mnist_full_is_real_mnist(real_data, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    (xtr, ytr), (xte, yte) = data.load_mnist()
    assert xtr.shape == (60000, 28, 28, 1) and xte.shape == (10000, 28, 28, 1)
    assert xtr.dtype == np.float32 and 0.0 == xtr.min() and xtr.max() == 1.0
    # published statistics of MNIST
    assert abs(xtr.mean() - 0.1307) < 1e-3 and abs(xtr.std() - 0.3081) < 1e-3
    assert np.bincount(ytr).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yte).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_fast_mode_uses_budget_and_is_reproducible(real_data, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_FAST", "1")
    (a, ya), (b, yb) = data.load_mnist()
    assert len(a) == config.budget("mnist_train") and len(b) == config.budget("mnist_test")
    (a2, ya2), _ = data.load_mnist()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(ya, ya2)
    (a3, _), _ = data.load_mnist(seed=1)
    assert not np.array_equal(a, a3)
    # stratified: every digit present in roughly its share
    counts = np.bincount(ya, minlength=10)
    assert counts.min() >= 0.08 * len(ya)


def test_mnist_pad_to_32(real_data):
    (x, _), (xt, _) = data.load_mnist(pad=True, n_train=50, n_test=5)
    assert x.shape == (50, 32, 32, 1) and xt.shape == (5, 32, 32, 1)
    assert np.all(x[:, :2] == 0) and np.all(x[:, :, -2:] == 0)
    (u, _), _ = data.load_mnist(n_train=50, n_test=5)
    np.testing.assert_array_equal(x[:, 2:30, 2:30], u)


def test_cifar10(real_data):
    (x, y), (xt, yt) = data.load_cifar10(n_train=200, n_test=100)
    assert x.shape == (200, 32, 32, 3) and xt.shape == (100, 32, 32, 3)
    assert x.dtype == np.float32 and x.max() <= 1.0 and x.min() >= 0.0
    assert set(np.unique(y)) <= set(range(10)) and len(np.unique(y)) == 10
    assert len(data.CIFAR10_CLASSES) == 10


def test_cifar10_matches_published_channel_means(real_data, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    (x, y), (xt, _) = data.load_cifar10()
    assert x.shape == (50000, 32, 32, 3) and xt.shape == (10000, 32, 32, 3)
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), [0.4914, 0.4822, 0.4465], atol=1e-3)
    assert np.bincount(y).tolist() == [5000] * 10


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 0}, "n_train must be a whole number >= 1"),
    ({"n_train": 70000}, "n_train=70000 is larger than the data"),
    ({"n_test": 2.5}, "n_test must be a whole number"),
    ({"pad": "yes"}, "pad must be True or False"),
])
def test_mnist_bad_arguments(real_data, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        data.load_mnist(**kwargs)


def test_missing_file_names_it(tmp_path, monkeypatch, fresh_cache):
    (tmp_path / "mnist").mkdir()
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    with pytest.raises(data.DataUnavailableError, match="train-images-idx3-ubyte.gz"):
        data.load_mnist()
    with pytest.raises(data.DataUnavailableError, match="cifar-10-python.tar.gz"):
        data.load_cifar10()


def test_truncated_file_names_it(tmp_path, monkeypatch, fresh_cache, real_data):
    src = real_data / "mnist"
    (tmp_path / "mnist").mkdir()
    for name in data.MNIST_FILES.values():
        shutil.copy(src / name, tmp_path / "mnist" / name)
    target = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:5000])  # cut the gzip stream
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    with pytest.raises(data.DataUnavailableError, match="t10k-images-idx3-ubyte.gz.*(damaged|truncated)"):
        data.load_mnist()
    # a complete gzip stream whose IDX body is short is caught too
    with gzip.open(src / "t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()
    with gzip.open(target, "wb") as f:
        f.write(raw[:-100])
    data._mnist_uint8.cache_clear()
    with pytest.raises(data.DataUnavailableError, match="t10k-images-idx3-ubyte.gz is truncated"):
        data.load_mnist()


def test_damaged_cifar_archive_names_it(tmp_path, monkeypatch, fresh_cache, real_data):
    with open(real_data / data.CIFAR10_ARCHIVE, "rb") as f:
        head = f.read(1_000_000)
    (tmp_path / data.CIFAR10_ARCHIVE).write_bytes(head)
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    with pytest.raises(data.DataUnavailableError, match="cifar-10-python.tar.gz"):
        data.load_cifar10()


def test_data_folder_that_does_not_exist(monkeypatch, fresh_cache):
    monkeypatch.setenv("CNNCOURSE_DATA", "/no/such/folder")
    with pytest.raises(FileNotFoundError, match="CNNCOURSE_DATA='/no/such/folder' is not a folder"):
        data.load_mnist()


def test_no_folder_and_no_download_names_both_fixes(monkeypatch, fresh_cache):
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    import keras
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_mnist()
    message = str(info.value)
    assert "CNNCOURSE_DATA" in message and "internet" in message and "network is unreachable" in message


def test_take_subset_is_stratified_and_checks_arguments():
    y = np.repeat(np.arange(10), [100, 200, 50, 50, 50, 50, 100, 100, 150, 150])
    x = np.arange(len(y))
    xs, ys = data.take_subset(x, y, 100, seed=3)
    np.testing.assert_array_equal(np.bincount(ys), [10, 20, 5, 5, 5, 5, 10, 10, 15, 15])
    assert len(set(xs.tolist())) == 100 and np.array_equal(y[xs], ys)
    with pytest.raises(ValueError, match="x and y must have the same length"):
        data.take_subset(x, y[:-1], 10)
    with pytest.raises(ValueError, match="larger than the data"):
        data.take_subset(x, y, len(y) + 1)


def test_shift_images_moves_without_wrapping():
    img = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5, 1)
    right = data.shift_images(img, 2, 0)[0, :, :, 0]
    np.testing.assert_array_equal(right[:, :2], 0)
    np.testing.assert_array_equal(right[:, 2:], img[0, :, :3, 0])
    up = data.shift_images(img, 0, -1)[0, :, :, 0]
    np.testing.assert_array_equal(up[:4], img[0, 1:, :, 0])
    np.testing.assert_array_equal(up[4], 0)
    both = data.shift_images(img, -1, 1)[0, :, :, 0]
    np.testing.assert_array_equal(both[1:, :4], img[0, :4, 1:, 0])
    assert both[0].sum() == 0 and both[:, 4].sum() == 0
    np.testing.assert_array_equal(data.shift_images(img, 0, 0), img)
    single = data.shift_images(img[0], 1, 1)
    assert single.shape == (5, 5, 1)


@pytest.mark.parametrize("dx, dy, match", [
    (5, 0, "dx=5 would move the image out of the frame"),
    (0, -7, "dy=-7 would move the image out of the frame"),
    (1.5, 0, "dx must be a whole number"),
])
def test_shift_images_bad_arguments(dx, dy, match):
    with pytest.raises((ValueError, TypeError), match=match):
        data.shift_images(np.zeros((2, 5, 5, 1)), dx, dy)
    with pytest.raises(ValueError, match="images must be a batch"):
        data.shift_images(np.zeros((5, 5)), 1, 1)
