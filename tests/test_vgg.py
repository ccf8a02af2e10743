"""VGG-16 at full size (checked against keras.applications) and its CIFAR-10 variant."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)

from cnncourse.models import vgg16, vgg_cifar  # noqa: E402
from cnncourse.ops import count_macs, macs_by_layer, params_by_layer  # noqa: E402
from cnncourse.models.vgg import TOTAL_PARAMS  # noqa: E402


@pytest.fixture(scope="module")
def full():
    return vgg16(dropout=0.0)


def test_equals_keras_applications_layer_by_layer(full):
    reference = keras.applications.VGG16(weights=None)
    ours = full.layers
    assert len(ours) == len(reference.layers) == 23
    assert tuple(full.input.shape) == tuple(reference.input.shape) == (None, 224, 224, 3)
    for mine, theirs in zip(ours[1:], reference.layers[1:]):   # the input layer's name is made unique
        assert mine.name == theirs.name
        assert type(mine) is type(theirs), mine.name
        assert tuple(mine.output.shape) == tuple(theirs.output.shape), mine.name
        assert [tuple(w.shape) for w in mine.weights] == [tuple(w.shape) for w in theirs.weights], mine.name
        assert mine.count_params() == theirs.count_params(), mine.name
        if hasattr(theirs, "activation"):
            assert mine.activation.__name__ == theirs.activation.__name__, mine.name
        if hasattr(theirs, "padding"):
            assert mine.padding == theirs.padding, mine.name
    assert full.count_params() == reference.count_params() == TOTAL_PARAMS == 138_357_544
    # weights copy across, layer by layer, and give the same predictions
    full.set_weights(reference.get_weights())
    x = np.random.default_rng(0).random((1, 224, 224, 3)).astype("float32") * 255
    np.testing.assert_allclose(keras.ops.convert_to_numpy(full(x)),
                               keras.ops.convert_to_numpy(reference(x)), rtol=1e-4, atol=1e-6)


def test_parameter_formula_and_where_they_sit(full):
    counts = params_by_layer(full)
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    c_in = 3
    conv_total = 0
    for name, c_out in zip([n for n in counts if "conv" in n], widths):
        assert counts[name] == 3 * 3 * c_in * c_out + c_out, name
        conv_total += counts[name]
        c_in = c_out
    assert len([n for n in counts if "conv" in n]) == 13
    assert conv_total == 14_714_688
    assert counts["fc1"] == 7 * 7 * 512 * 4096 + 4096 == 102_764_544
    assert max(counts, key=counts.get) == "fc1"
    assert 0.74 < counts["fc1"] / TOTAL_PARAMS < 0.75


def test_dropout_layers_are_the_only_difference(full):
    with_dropout = vgg16()
    names = [layer.name for layer in with_dropout.layers]
    assert [n for n in names if "drop" in n] == ["fc1_drop", "fc2_drop"]
    assert [n for n in names if "drop" not in n] == [layer.name for layer in full.layers]
    assert with_dropout.count_params() == TOTAL_PARAMS


def test_macs(full):
    macs = macs_by_layer(full)
    assert macs["block1_conv1"] == 224 * 224 * 3 * 3 * 3 * 64
    assert macs["block1_conv2"] == 224 * 224 * 3 * 3 * 64 * 64
    assert macs["block5_conv3"] == 14 * 14 * 3 * 3 * 512 * 512
    assert macs["fc1"] == 25088 * 4096
    total = count_macs(full)
    assert 15.4e9 < total < 15.5e9
    conv_share = sum(v for k, v in macs.items() if "conv" in k) / total
    assert conv_share > 0.99          # parameters sit in fc1, the work in the convolutions


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_shape=(31, 224, 3)), r"input_shape must be .* >= 32"),
    (dict(input_shape=(224, 224, 0)), "input_shape must be"),
    (dict(num_classes=0), "num_classes must be a whole number >= 2"),
    (dict(dropout=-0.1), r"dropout must be a number in \[0, 1\)"),
])
def test_full_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vgg16(**kwargs)


def test_cifar_variant_structure_and_output():
    model = vgg_cifar()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 13 and all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    assert len([layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]) == 13
    assert len([layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]) == 3   # 16 weight layers
    assert model.get_layer("block5_pool").output.shape == (None, 1, 1, 512)
    assert 15.0e6 < model.count_params() < 15.5e6
    assert 3.1e8 < count_macs(model) < 3.2e8
    x = np.random.default_rng(0).random((3, 32, 32, 3)).astype("float32")
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_cifar_variant_options():
    model = vgg_cifar(input_shape=(16, 16, 3), widths=(8, 16, 32), convs=(1, 2, 2), batch_norm=False,
                      dropout=0.0, conv_dropout=0.2, dense_units=16, augment=False, num_classes=4)
    names = [layer.name for layer in model.layers]
    assert "augment" not in names and not any(n.endswith("_bn") for n in names)
    assert "block2_conv1_drop" in names and "block2_conv2_drop" not in names and "fc1_drop" not in names
    assert model.get_layer("block3_pool").output.shape == (None, 2, 2, 32)
    assert model.get_layer("block1_conv1").activation.__name__ == "relu"
    assert model.output.shape == (None, 4)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(input_shape=(16, 16, 3)), ValueError, r"input_shape must be .* >= 32 \(so that 5 2x2 poolings"),
    (dict(widths=(64, 128), convs=(2, 2, 3)), ValueError, "one entry per block: got 2 widths and 3 convs"),
    (dict(widths=(64, 0, 128, 256, 256)), ValueError, "widths must be a non-empty sequence of whole numbers >= 1"),
    (dict(convs=5), TypeError, "convs must be a sequence"),
    (dict(widths=(64, 128.0)), TypeError, "widths must be a non-empty sequence of whole numbers >= 1"),
    (dict(widths=()), ValueError, "widths must be a non-empty sequence"),
    (dict(batch_norm="yes"), TypeError, "batch_norm must be True or False"),
    (dict(conv_dropout=1), ValueError, r"conv_dropout must be a number in \[0, 1\)"),
    (dict(dense_units=-5), ValueError, "dense_units must be a whole number >= 1"),
])
def test_cifar_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        vgg_cifar(**kwargs)
