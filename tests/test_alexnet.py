"""AlexNet builders, the layers they use (cnncourse.layers), the size arithmetic they rest on
(cnncourse.ops) and the SGD training set-up of notebooks 06 and 07 (cnncourse.train, cnncourse.device)."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)

from cnncourse import device  # noqa: E402
from cnncourse.device import gpu_available, gpu_compute_capability, use_mixed_precision  # noqa: E402
from cnncourse.layers import LocalResponseNormalization, RandomShift, augmentation  # noqa: E402
from cnncourse.models import alexnet, alexnet_cifar  # noqa: E402
from cnncourse.models.alexnets import FULL_MIN_SIDE, PARAMS, TOTAL_PARAMS  # noqa: E402
from cnncourse.ops import (conv_output_size, count_macs, macs_by_layer, params_by_layer,  # noqa: E402
                           receptive_field)
from cnncourse.train import EpochTimer, compile_sgd, one_cycle_schedule  # noqa: E402


def conv_params(k, c_in, c_out, groups=1):
    return k * k * (c_in // groups) * c_out + c_out


@pytest.fixture(scope="module")
def full():
    return alexnet()


# ----------------------------------------------------------------- full-size AlexNet

def test_parameters_layer_by_layer(full):
    expected = {
        "conv1": conv_params(11, 3, 96), "conv2": conv_params(5, 96, 256),
        "conv3": conv_params(3, 256, 384), "conv4": conv_params(3, 384, 384),
        "conv5": conv_params(3, 384, 256),
        "fc6": 6 * 6 * 256 * 4096 + 4096, "fc7": 4096 * 4096 + 4096, "fc8": 4096 * 1000 + 1000,
    }
    assert dict(params_by_layer(full)) == expected == PARAMS
    assert full.count_params() == sum(expected.values()) == TOTAL_PARAMS[1] == 62_378_344


def test_two_gpu_layout_explains_the_papers_60_million():
    two = alexnet(groups=2)
    counts = params_by_layer(two)
    assert counts["conv2"] == conv_params(5, 96, 256, groups=2) == 307_456
    assert counts["conv4"] == conv_params(3, 384, 384, groups=2) == 663_936
    assert counts["conv5"] == conv_params(3, 384, 256, groups=2) == 442_624
    assert counts["conv3"] == PARAMS["conv3"]          # conv3 sees both GPUs
    assert two.count_params() == TOTAL_PARAMS[2] == 60_965_224
    assert TOTAL_PARAMS[1] - TOTAL_PARAMS[2] == 1_413_120


def test_shapes_227_and_224(full):
    assert full.get_layer("conv1").output.shape == (None, 55, 55, 96)
    assert full.get_layer("pool1").output.shape == (None, 27, 27, 96)
    assert full.get_layer("pool2").output.shape == (None, 13, 13, 256)
    assert full.get_layer("pool5").output.shape == (None, 6, 6, 256)
    assert full.output.shape == (None, 1000)
    small = alexnet(input_shape=(224, 224, 3))
    assert small.get_layer("conv1").output.shape == (None, 54, 54, 96)
    assert small.get_layer("pool5").output.shape == (None, 5, 5, 256)
    assert small.get_layer("fc6").count_params() == 5 * 5 * 256 * 4096 + 4096


def test_lrn_option_adds_parameter_free_layers():
    model = alexnet(lrn=True, dropout=0.0)
    names = [layer.name for layer in model.layers]
    assert names.index("conv1") < names.index("lrn1") < names.index("pool1")
    assert names.index("conv2") < names.index("lrn2") < names.index("pool2")
    assert model.count_params() == TOTAL_PARAMS[1]
    assert not any(isinstance(layer, keras.layers.Dropout) and layer.rate for layer in model.layers)


def test_full_macs(full):
    macs = macs_by_layer(full)
    assert macs["conv1"] == 55 * 55 * 11 * 11 * 3 * 96
    assert macs["conv2"] == 27 * 27 * 5 * 5 * 96 * 256
    assert macs["conv5"] == 13 * 13 * 3 * 3 * 384 * 256
    assert macs["fc6"] == 9216 * 4096
    assert macs["conv2"] // 2 == macs_by_layer(alexnet(groups=2))["conv2"]
    assert count_macs(full) == sum(macs.values())
    assert 1.0e9 < count_macs(full) < 1.2e9


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(input_shape=(66, 66, 3)), ValueError, r"input_shape must be .* >= 67"),
    (dict(input_shape=(227, 227)), ValueError, "input_shape must be"),
    (dict(input_shape="227"), TypeError, "input_shape must be"),
    (dict(input_shape=(227.0, 227, 3)), TypeError, "input_shape must be"),
    (dict(num_classes=1), ValueError, "num_classes must be a whole number >= 2"),
    (dict(groups=3), ValueError, "groups must be 1 .* or 2"),
    (dict(groups=True), ValueError, "groups must be 1"),
    (dict(lrn="yes"), TypeError, "lrn must be True or False"),
    (dict(dropout=1.0), ValueError, r"dropout must be a number in \[0, 1\)"),
    (dict(dropout="half"), TypeError, "dropout must be a number"),
])
def test_full_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        alexnet(**kwargs)


def test_smallest_input_is_accepted():
    assert FULL_MIN_SIDE == 67
    assert alexnet(input_shape=(67, 67, 3)).get_layer("pool5").output.shape == (None, 1, 1, 256)


# ----------------------------------------------------------------- CIFAR-10 variant

def test_cifar_variant_shapes_and_output():
    model = alexnet_cifar()
    assert model.get_layer("conv1").output.shape == (None, 16, 16, 96)
    assert model.get_layer("conv1").kernel_size == (5, 5)
    assert model.get_layer("pool1").pool_size == (3, 3) and model.get_layer("pool1").strides == (2, 2)
    assert model.get_layer("pool5").output.shape == (None, 2, 2, 256)
    assert [model.get_layer(f"conv{i}").filters for i in range(1, 6)] == [96, 256, 384, 384, 256]
    x = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    assert probs.shape == (4, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    train = keras.ops.convert_to_numpy(model(x, training=True))
    assert train.shape == (4, 10) and np.isfinite(train).all()


def test_cifar_variant_options():
    bn = alexnet_cifar(batch_norm=True, lrn=True, augment=False, dense_units=64, num_classes=5)
    names = [layer.name for layer in bn.layers]
    assert "conv3_bn" in names and "lrn1" in names and "augment" not in names
    assert bn.get_layer("conv3").use_bias is False
    assert bn.get_layer("fc6").units == 64 and bn.output.shape == (None, 5)
    assert alexnet_cifar().get_layer("augment") is not None


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(input_shape=(8, 8, 3)), ValueError, r"input_shape must be .* >= 9"),
    (dict(batch_norm=1), TypeError, "batch_norm must be True or False"),
    (dict(augment=None), TypeError, "augment must be True or False"),
    (dict(dense_units=0), ValueError, "dense_units must be a whole number >= 1"),
    (dict(dense_units=1.5), TypeError, "dense_units must be a whole number >= 1"),
    (dict(num_classes=10.5), TypeError, "num_classes"),
])
def test_cifar_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        alexnet_cifar(**kwargs)


def test_cifar_variant_takes_numpy_integers_like_vgg_cifar():
    """dense_units and num_classes accept NumPy integers, as in vgg_cifar (one checker for both)."""
    model = alexnet_cifar(dense_units=np.int64(16), num_classes=np.int32(3), augment=False)
    assert model.get_layer("fc6").units == 16 and model.output.shape == (None, 3)


# ----------------------------------------------------------------- local response normalization

def test_lrn_matches_its_formula_and_tensorflow():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 7)).astype("float32") * 3
    layer = LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75)
    got = keras.ops.convert_to_numpy(layer(x))
    # the paper's formula, written with loops
    expected = np.empty_like(x)
    for c in range(7):
        lo, hi = max(0, c - 2), min(6, c + 2)
        expected[..., c] = x[..., c] / (2.0 + 1e-2 * (x[..., lo:hi + 1] ** 2).sum(-1)) ** 0.75
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    import tensorflow as tf  # the reference implementation (TensorFlow is in requirements.txt)
    reference = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75)
    np.testing.assert_allclose(got, reference.numpy(), rtol=1e-5)


def test_lrn_config_round_trip_and_errors():
    layer = LocalResponseNormalization(depth_radius=1, bias=1.0, alpha=0.5, beta=0.5, name="n")
    clone = LocalResponseNormalization.from_config(layer.get_config())
    assert (clone.depth_radius, clone.bias, clone.alpha, clone.beta) == (1, 1.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="depth_radius must be a whole number >= 0"):
        LocalResponseNormalization(depth_radius=-1)
    with pytest.raises(TypeError, match="beta must be a number >= 0"):
        LocalResponseNormalization(beta="big")
    with pytest.raises(ValueError, match="beta must be a number >= 0"):
        LocalResponseNormalization(beta=-1.0)


# ----------------------------------------------------------------- arithmetic helpers

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
    with pytest.raises(ValueError, match="sequence of"):
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


# ----------------------------------------------------------------- augmentation and training

def test_augmentation_is_a_flip_and_whole_pixel_shift():
    rng = np.random.default_rng(2)
    x = rng.random((16, 12, 12, 1)).astype("float32") + 1.0     # > 0 so zero fill is visible
    aug = augmentation(shift=2, image_size=12)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    out = keras.ops.convert_to_numpy(aug(x, training=True))
    found_shift = False
    for img, res in zip(x, out):
        matches = []
        for flipped in (img, img[:, ::-1]):
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    moved = np.zeros_like(flipped)
                    moved[max(0, dy):12 + min(0, dy), max(0, dx):12 + min(0, dx)] = \
                        flipped[max(0, -dy):12 - max(0, dy), max(0, -dx):12 - max(0, dx)]
                    if np.allclose(moved, res):
                        matches.append((dy, dx))
        assert matches, "an augmented image is not a flipped and shifted copy of its original"
        found_shift |= any(m != (0, 0) for m in matches)
    assert found_shift
    assert [type(layer).__name__ for layer in augmentation(flip=False).layers] == ["RandomShift"]
    with pytest.raises(ValueError, match="shift must be smaller than image_size"):
        augmentation(shift=32, image_size=32)
    with pytest.raises(TypeError, match="flip must be True or False"):
        augmentation(flip="horizontal")


def test_random_shift_draws_a_shift_per_image_with_zero_fill():
    x = np.random.default_rng(3).random((32, 9, 9, 2)).astype("float32") + 1.0
    out = keras.ops.convert_to_numpy(RandomShift(3, seed=1)(x, training=True))
    seen = set()
    for img, res in zip(x, out):
        found = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                 if np.array_equal(data_shift(img, dx, dy), res)]
        assert len(found) == 1, "each output must be its image moved by one whole-pixel offset"
        seen.add(found[0])
    assert len(seen) > 5                      # drawn per image, not once per batch
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(RandomShift(3)(x, training=False)), x)
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(-1)


def data_shift(img, dx, dy):
    from cnncourse.data import shift_images
    return shift_images(img, dx, dy)


def test_one_cycle_schedule_shape_and_errors():
    s = one_cycle_schedule(0.2, 100, warmup_fraction=0.25, final_fraction=0.0)
    rates = np.array([float(s(step)) for step in range(101)])
    assert rates[0] == pytest.approx(0.0) and rates.argmax() == 25 and rates.max() == pytest.approx(0.2)
    assert np.all(np.diff(rates[:26]) > 0) and np.all(np.diff(rates[25:]) <= 1e-9)
    assert rates[-1] == pytest.approx(0.0, abs=1e-6)
    no_warmup = one_cycle_schedule(0.1, 10, warmup_fraction=0.0)
    assert float(no_warmup(0)) == pytest.approx(0.1)
    for kwargs, match in [(dict(peak_learning_rate=0), "peak_learning_rate must be a number > 0"),
                          (dict(total_steps=1), "total_steps must be a whole number >= 2"),
                          (dict(warmup_fraction=1.0), r"warmup_fraction must be a number in \[0, 1\)")]:
        args = dict(peak_learning_rate=0.1, total_steps=10)
        args.update(kwargs)
        with pytest.raises(ValueError, match=match):
            one_cycle_schedule(**args)


def test_a_training_step_learns_and_timer_records():
    rng = np.random.default_rng(0)
    x = rng.random((32, 12, 12, 3)).astype("float32")
    y = (x[:, :, :6].mean(axis=(1, 2, 3)) > x[:, :, 6:].mean(axis=(1, 2, 3))).astype("int64")
    model = alexnet_cifar(input_shape=(12, 12, 3), num_classes=2, augment=False, dense_units=32,
                          batch_norm=True, dropout=0.0)
    compile_sgd(model, one_cycle_schedule(0.02, 8), weight_decay=5e-3)
    assert model.optimizer.weight_decay == pytest.approx(5e-3)
    before = model.evaluate(x, y, verbose=0)[0]
    timer = EpochTimer()
    model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 4 and all(t > 0 for t in timer.seconds)
    assert model.evaluate(x, y, verbose=0)[0] < before
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\)"):
        compile_sgd(model, 0.1, momentum=1.5)


def test_use_mixed_precision_switch():
    try:
        assert use_mixed_precision(False) == "float32"
        assert use_mixed_precision(True) == "mixed_bfloat16"
        model = alexnet_cifar(augment=False)
        assert model.output.dtype == "float32"            # softmax kept in float32
        assert model.get_layer("conv2").compute_dtype == "bfloat16"
        with pytest.raises(ValueError, match="enable must be 'auto', True or False"):
            use_mixed_precision("yes")
        if not gpu_available():                            # no GPU: the CPU's bfloat16 decides
            assert gpu_compute_capability() is None
            assert use_mixed_precision("auto") == device.choose_precision()[0]
    finally:
        keras.mixed_precision.set_global_policy("float32")
