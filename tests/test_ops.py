"""The NumPy reference operations against Keras' own layers, with the same weights.

Every combination of kernel size 1-5, stride 1-3, 'valid' / 'same' padding, odd,
even and non-square images, 1 and 3 input channels: a wrong stride, a padding put
on the wrong side or a pooling window that counts padded cells fails here.
"""
import itertools

import keras
import numpy as np
import pytest

from cnncourse import ops
from cnncourse.ops import conv_output_size, count_macs, macs_by_layer, params_by_layer, receptive_field

RNG = np.random.default_rng(0)
SIZES = [(6, 6), (7, 7), (5, 8)]          # even, odd, non-square (odd x even)
KERNELS = [1, 2, 3, 4, 5]
STRIDES = [1, 2, 3]
PADDINGS = ["valid", "same"]
CHANNELS = [1, 3]
TOL = dict(rtol=1e-4, atol=1e-5)


def _keras_conv(x, w, b, stride, padding):
    kh, kw, c_in, c_out = w.shape
    layers = []
    if not isinstance(padding, str):
        layers.append(keras.layers.ZeroPadding2D(padding))
        padding = "valid"
    layers.append(keras.layers.Conv2D(c_out, (kh, kw), strides=stride, padding=padding))
    model = keras.Sequential([keras.Input(x.shape[1:])] + layers)
    model.layers[-1].set_weights([w.astype("float32"), b.astype("float32")])
    return keras.ops.convert_to_numpy(model(x.astype("float32")))


#: A known difference between Keras's backends, reported as an expected failure where it shows.
TORCH_SAME_AVERAGE = ("Keras on PyTorch pads the input with zeros for 'same' average pooling and averages "
                      "them into the border windows; TensorFlow and JAX leave the padding out, as ops.avg_pool2d does")


def _assert_pool_equal(got, expected, kind, padding):
    if (kind == "avg" and padding == "same" and keras.backend.backend() == "torch"
            and not np.allclose(got, expected, **TOL)):
        pytest.xfail(TORCH_SAME_AVERAGE)
    np.testing.assert_allclose(got, expected, **TOL)


def _keras_pool(x, kind, pool, stride, padding):
    cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
    layer = cls(pool_size=pool, strides=stride, padding=padding)
    return keras.ops.convert_to_numpy(layer(x.astype("float32")))


# --------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("c_in", CHANNELS)
def test_conv2d_equals_keras_conv2d(size, kernel, stride, padding, c_in):
    filters = 1 + (kernel + stride) % 4               # 1 to 4 filters across the grid
    x = RNG.normal(size=(2, *size, c_in))
    w = RNG.normal(size=(kernel, kernel, c_in, filters))
    b = RNG.normal(size=filters)
    expected = _keras_conv(x, w, b, stride, padding)
    got = ops.conv2d(x, w, b, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)
    np.testing.assert_allclose(ops.conv2d_fast(x, w, b, stride=stride, padding=padding), expected, **TOL)


@pytest.mark.parametrize("padding", [1, 2, (0, 2), (2, 1)])
@pytest.mark.parametrize("stride", [1, 2, (1, 3), (3, 2)])
def test_conv2d_explicit_zero_padding_equals_zeropadding_then_valid_conv(padding, stride):
    x = RNG.normal(size=(2, 7, 6, 3))
    w = RNG.normal(size=(3, 4, 3, 2))                 # non-square kernel too
    b = RNG.normal(size=2)
    expected = _keras_conv(x, w, b, stride, padding)
    for fn in (ops.conv2d, ops.conv2d_fast):
        got = fn(x, w, b, stride=stride, padding=padding)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOL)


def test_same_padding_puts_the_odd_zero_at_the_bottom_right():
    # a 4x4 image, 2x2 kernel, stride 1: Keras adds one row/column at the END only.
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    w = np.zeros((2, 2, 1, 1))
    w[0, 0] = 1.0                                      # picks the window's top-left cell
    out = ops.conv2d(x, w, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(out, x[0, :, :, 0])  # padding at the top/left would shift it
    assert ops.same_padding(4, 2) == (0, 1)
    assert ops.same_padding(7, 4, 3) == (1, 2)        # total 3 -> 1 before, 2 after
    assert ops.same_padding(6, 1, 3) == (0, 0)


def test_conv2d_is_cross_correlation_not_flipped_convolution():
    from scipy import signal

    img = RNG.normal(size=(7, 9))
    k = RNG.normal(size=(3, 2))
    got = ops.conv2d(img[None, :, :, None], k[:, :, None, None])[0, :, :, 0]
    np.testing.assert_allclose(got, signal.correlate2d(img, k, mode="valid"))
    assert not np.allclose(got, signal.convolve2d(img, k, mode="valid"))


def test_conv2d_sums_over_channels_and_adds_bias():
    x = RNG.normal(size=(1, 5, 5, 3))
    w = RNG.normal(size=(3, 3, 3, 1))
    per_channel = sum(ops.conv2d(x[..., c:c + 1], w[:, :, c:c + 1]) for c in range(3))
    np.testing.assert_allclose(ops.conv2d(x, w, [0.5]), per_channel + 0.5)


def test_conv2d_without_bias_and_integer_input():
    x = np.arange(25).reshape(1, 5, 5, 1)             # ints are accepted, output is float
    w = np.ones((3, 3, 1, 1), dtype=int)
    out = ops.conv2d(x, w)
    assert out.dtype.kind == "f"
    assert out[0, 0, 0, 0] == sum(range(0, 3)) + sum(range(5, 8)) + sum(range(10, 13))


# --------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("pool", [1, 2, 3, 4])
@pytest.mark.parametrize("stride", [None, 1, 2, 3])
@pytest.mark.parametrize("padding", PADDINGS)
def test_pooling_equals_keras(kind, size, pool, stride, padding):
    # negative values: a max pool that pads with zeros, or an average that counts the
    # padded cells, gives a different border than Keras.
    x = RNG.normal(size=(2, *size, 3)) - 1.0
    fn = ops.max_pool2d if kind == "max" else ops.avg_pool2d
    expected = _keras_pool(x, kind, pool, stride, padding)
    got = fn(x, pool, stride=stride, padding=padding)
    assert got.shape == expected.shape
    _assert_pool_equal(got, expected, kind, padding)


def test_pooling_non_square_pool_and_stride():
    x = RNG.normal(size=(1, 7, 8, 2))
    for kind, fn in (("max", ops.max_pool2d), ("avg", ops.avg_pool2d)):
        for padding in PADDINGS:
            expected = _keras_pool(x, kind, (2, 3), (1, 2), padding)
            if not (kind == "avg" and padding == "same"):
                _assert_pool_equal(fn(x, (2, 3), (1, 2), padding), expected, kind, padding)
    # the one case PyTorch's Keras may differ on, last, so that it cannot hide the others
    expected = _keras_pool(x, "avg", (2, 3), (1, 2), "same")
    _assert_pool_equal(ops.avg_pool2d(x, (2, 3), (1, 2), "same"), expected, "avg", "same")


def test_pooling_default_stride_is_the_pool_size():
    x = RNG.normal(size=(1, 6, 6, 1))
    assert ops.max_pool2d(x, 3).shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(ops.max_pool2d(x, 3), ops.max_pool2d(x, 3, stride=3))


# --------------------------------------------------------------------------- sizes and counts

def test_output_size_formula_matches_keras_output_shapes():
    checked = 0
    for n, f, s in itertools.product(range(1, 13), range(1, 6), range(1, 4)):
        for padding in ["valid", "same", 1, 2]:
            if padding == "valid" and f > n or isinstance(padding, int) and f > n + 2 * padding:
                with pytest.raises(ValueError, match="kernel_size"):
                    ops.conv_output_size(n, f, s, padding)
                continue
            if isinstance(padding, int):
                padded = keras.layers.ZeroPadding2D(padding).compute_output_shape((None, n, n + 1, 1))
                shape = keras.layers.Conv2D(1, f, strides=s).compute_output_shape(padded)
            else:
                shape = keras.layers.Conv2D(1, f, strides=s, padding=padding).compute_output_shape((None, n, n + 1, 1))
            assert shape[1] == ops.conv_output_size(n, f, s, padding), (n, f, s, padding)
            assert shape[2] == ops.conv_output_size(n + 1, f, s, padding), (n + 1, f, s, padding)
            checked += 1
    assert checked > 600


def test_output_size_known_architectures():
    assert ops.conv_output_size(32, 5) == 28                       # LeNet-5 C1
    assert ops.conv_output_size(224, 11, 4, 2) == 55               # AlexNet conv1 (as usually built)
    assert ops.conv_output_size(55, 3, 2) == 27                    # AlexNet overlapping max pool
    assert ops.conv_output_size(224, 3, 1, "same") == 224          # VGG-16 convs


def test_conv2d_params_matches_keras_and_not_the_image_size():
    for size in (8, 32, 100):
        for f, c_in, c_out, use_bias in [(3, 3, 64, True), (5, 1, 6, True), ((1, 7), 16, 8, False)]:
            model = keras.Sequential([keras.Input((size, size, c_in)),
                                      keras.layers.Conv2D(c_out, f, use_bias=use_bias)])
            assert ops.conv2d_params(f, c_in, c_out, use_bias) == model.count_params()


def test_conv2d_macs_counts_one_multiply_add_per_kernel_weight_per_output():
    for shape, f, filters, s, padding in [((32, 32, 64), 3, 128, 1, "same"), ((7, 9, 3), (2, 3), 5, 2, "valid"),
                                          ((10, 10, 2), 3, 4, (2, 1), 1)]:
        w = np.zeros((*((f, f) if isinstance(f, int) else f), shape[2], filters))
        out = ops.conv2d_fast(np.zeros((1, *shape)), w, stride=s, padding=padding)
        assert ops.conv2d_macs(shape, f, filters, s, padding) == out[0].size * w[..., 0].size
    assert ops.conv2d_macs((32, 32, 64), 3, 128, padding="same") == 4 * ops.conv2d_macs((16, 16, 64), 3, 128,
                                                                                        padding="same")


# --------------------------------------------------------------------------- bad arguments

def test_bad_arguments_raise_clear_errors():
    x = np.zeros((1, 5, 5, 3))
    w = np.zeros((3, 3, 3, 2))
    with pytest.raises(ValueError, match="larger than the padded image"):
        ops.conv2d(x, np.zeros((6, 6, 3, 1)))
    with pytest.raises(ValueError, match="larger than the padded image"):
        ops.conv2d_fast(x, np.zeros((8, 3, 3, 1)), padding=1)
    ops.conv2d(x, np.zeros((7, 7, 3, 1)), padding=1)                # fits once padded: no error
    with pytest.raises(ValueError, match="stride"):
        ops.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="stride"):
        ops.conv2d(x, w, stride=(1, 0))
    with pytest.raises(ValueError, match="mismatched channels"):
        ops.conv2d(x, np.zeros((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="bias"):
        ops.conv2d(x, w, bias=np.zeros(3))
    with pytest.raises(ValueError, match="padding"):
        ops.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="padding"):
        ops.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        ops.conv2d(np.zeros((5, 5)), w)
    with pytest.raises(ValueError, match="kernels"):
        ops.conv2d(x, np.zeros((3, 3)))
    with pytest.raises(TypeError, match="stride"):
        ops.conv2d(x, w, stride=1.5)
    with pytest.raises(TypeError, match="x must hold real numbers"):
        ops.conv2d(np.full((1, 3, 3, 1), "a"), np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="pool_size"):
        ops.max_pool2d(x, 6)
    with pytest.raises(ValueError, match="pool_size"):
        ops.avg_pool2d(x, 0)
    with pytest.raises(ValueError, match="stride"):
        ops.max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match="padding"):
        ops.max_pool2d(x, 2, padding=1)
    with pytest.raises(ValueError, match="stride"):
        ops.conv_output_size(5, 3, 0)
    with pytest.raises(ValueError, match="n must"):
        ops.conv_output_size(0, 3)
    with pytest.raises(TypeError, match="padding"):                 # a pair is a wrong type along one axis
        ops.conv_output_size(5, 3, 1, (1, 1))
    with pytest.raises(ValueError, match="input_shape"):
        ops.conv2d_macs((5, 5), 3, 1)
    with pytest.raises(TypeError, match="input_shape"):
        ops.conv2d_macs(5, 3, 1)
    with pytest.raises(TypeError, match="use_bias"):
        ops.conv2d_params(3, 1, 1, use_bias="yes")


# --------------------------------------------------------------------------- sizes and counts (their one home)

def test_conv_output_size():
    assert conv_output_size(227, 11, 4) == 55
    assert conv_output_size(224, 11, 4) == 54
    assert conv_output_size(224, 11, 4, padding=2) == 55     # torchvision's AlexNet pads by 2
    assert conv_output_size(55, 3, 2) == 27
    assert conv_output_size(32, 5, 2, "same") == 16
    with pytest.raises(ValueError, match="does not fit even once"):   # no output of size 0
        conv_output_size(3, 5)
    for bad, error, match in [(dict(n=0), ValueError, "n must be"),
                              (dict(kernel_size=2.5), TypeError, "kernel_size must be"),
                              (dict(stride=0), ValueError, "stride must be"),
                              (dict(padding="full"), ValueError, "padding must be"),
                              (dict(padding=-1), ValueError, "padding must be")]:
        args = dict(n=10, kernel_size=3, stride=1, padding="valid")
        args.update(bad)
        with pytest.raises(error, match=match):
            conv_output_size(**args)


def test_conv_output_size_matches_keras():
    for size, kernel, stride, padding in [(227, 11, 4, "valid"), (30, 3, 2, "same"), (31, 3, 2, "valid"),
                                          (13, 3, 1, "same"), (17, 4, 3, "valid")]:
        layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)
        shape = layer.compute_output_shape((None, size, size, 1))
        assert shape[1] == conv_output_size(size, kernel, stride, padding)


def test_receptive_field():
    assert receptive_field([(3, 1)]) == 3
    assert receptive_field([(3, 1)] * 2) == 5
    assert receptive_field([(3, 1)] * 3) == 7
    assert receptive_field([(11, 4), (3, 2)]) == 19
    assert receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)]) == 10
    with pytest.raises(ValueError, match="at least one"):
        receptive_field([])
    with pytest.raises(ValueError, match=r"layers\[1\] must be a \(kernel, stride\) pair"):
        receptive_field([(3, 1), (3,)])
    with pytest.raises(ValueError, match=r"layers\[0\] stride"):
        receptive_field([(3, 0)])
    with pytest.raises(TypeError, match="sequence of"):             # not a sequence: a wrong type
        receptive_field(3)


def test_receptive_field_by_impulse():
    """The field computed by the formula is where an impulse's gradient reaches, in a real stack."""
    stack = keras.Sequential([keras.Input((15, 15, 1)),
                              keras.layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones"),
                              keras.layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones"),
                              keras.layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones")])
    x = np.zeros((1, 15, 15, 1), "float32")
    x[0, 7, 7, 0] = 1.0
    out = keras.ops.convert_to_numpy(stack(x))[0, :, :, 0]
    rows, cols = np.nonzero(out)
    assert rows.max() - rows.min() + 1 == receptive_field([(3, 1)] * 3) == 7
    assert cols.max() - cols.min() + 1 == 7


def test_count_macs_small_model_and_errors():
    model = keras.Sequential([keras.Input((8, 8, 3)),
                              keras.Sequential([keras.layers.Identity()], name="inner"),
                              keras.layers.Conv2D(4, 3, name="c"),
                              keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw"),
                              keras.layers.MaxPooling2D(name="p"),
                              keras.layers.Dense(5, name="pointwise"),
                              keras.layers.Flatten(), keras.layers.Dense(2, name="d")])
    macs = macs_by_layer(model)
    assert macs["c"] == 6 * 6 * 3 * 3 * 3 * 4
    assert macs["dw"] == 4 * 4 * 3 * 3 * 4 * 2
    assert macs["pointwise"] == 2 * 2 * 8 * 5
    assert macs["d"] == 20 * 2
    assert "p" not in macs
    assert count_macs(model) == sum(macs.values())
    with pytest.raises(TypeError, match="model must be a built keras.Model"):
        count_macs("alexnet")
    with pytest.raises(TypeError, match="model must be a built keras.Model"):
        params_by_layer(None)


def test_importing_ops_does_not_import_keras():
    """The NumPy functions stay light: Keras is imported only by the counting functions."""
    import subprocess
    import sys

    code = "import sys, cnncourse.ops; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
