"""AlexNet builders (cnncourse.models.alexnets), trained with notebook 06's SGD set-up."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)

from cnncourse import device  # noqa: E402
from cnncourse.device import gpu_available, gpu_compute_capability, use_mixed_precision  # noqa: E402
from cnncourse.models import alexnet, alexnet_cifar  # noqa: E402
from cnncourse.models.alexnets import FULL_MIN_SIDE, PARAMS, TOTAL_PARAMS  # noqa: E402
from cnncourse.ops import count_macs, macs_by_layer, params_by_layer  # noqa: E402
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
    (dict(groups=True), TypeError, "groups must be 1"),
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


# ----------------------------------------------------------------- training and precision


def test_a_training_step_learns_and_timer_records():
    keras.utils.set_random_seed(0)   # the initial weights, not the tests that ran before, decide the run
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


def test_the_function_is_no_longer_shadowed_by_a_module_of_its_name():
    import importlib

    import cnncourse.models as models

    importlib.import_module("cnncourse.models.alexnets")
    assert models.alexnet is alexnet and callable(models.alexnet)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("cnncourse.models.alexnet")
