"""LeNet-5 builder: exact layer shapes, parameter counts, options and argument checks."""
import numpy as np
import pytest
from benchmark_helpers import load_benchmark

import keras  # noqa: E402  (required: requirements.txt)

from cnncourse.models import lenet, lenet5  # noqa: E402

COURSE_SHAPES = {
    "conv1": (28, 28, 6),
    "pool1": (14, 14, 6),
    "conv2": (10, 10, 16),
    "pool2": (5, 5, 16),
    "flatten": (400,),
    "fc1": (120,),
    "fc2": (100,),
    "output": (10,),
}
COURSE_PARAMS = {"conv1": 156, "pool1": 0, "conv2": 2416, "pool2": 0, "flatten": 0,
                 "fc1": 48120, "fc2": 12100, "output": 1010}


def test_course_variant_layer_shapes_and_names():
    model = lenet5()
    assert model.input.shape[1:] == (32, 32, 1)
    names = [layer.name for layer in model.layers[1:]]
    assert names == list(lenet.LAYER_NAMES)
    for name, shape in COURSE_SHAPES.items():
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name


def test_course_variant_parameter_counts_by_hand():
    model = lenet5()
    for name, count in COURSE_PARAMS.items():
        assert model.get_layer(name).count_params() == count, name
    # (kernel area * input channels + 1 bias) * filters, and (inputs + 1) * units
    assert COURSE_PARAMS["conv2"] == (5 * 5 * 6 + 1) * 16
    assert COURSE_PARAMS["fc1"] == (5 * 5 * 16 + 1) * 120
    assert model.count_params() == 63_802 == lenet.PARAMS["course"]


def test_architecture_details_are_exactly_the_courses():
    model = lenet5()
    for name, filters in (("conv1", 6), ("conv2", 16)):
        conv = model.get_layer(name)
        assert conv.filters == filters
        assert tuple(conv.kernel_size) == (5, 5) and tuple(conv.strides) == (1, 1)
        assert conv.padding == "valid"
    for name in ("pool1", "pool2"):
        pool = model.get_layer(name)
        assert isinstance(pool, keras.layers.MaxPooling2D)
        assert tuple(pool.pool_size) == (2, 2) and tuple(pool.strides) == (2, 2)
    assert model.get_layer("output").activation is keras.activations.softmax
    assert not model.compiled


def test_classic_variant_has_84_units():
    model = lenet5(variant="classic")
    assert tuple(model.get_layer("fc2").output.shape[1:]) == (84,)
    assert model.get_layer("fc2").count_params() == 120 * 84 + 84
    assert model.get_layer("output").count_params() == 84 * 10 + 10
    assert model.count_params() == 61_706 == lenet.PARAMS["classic"]
    assert model.name == "lenet5_classic"


@pytest.mark.parametrize("activation, fn", [("relu", "relu"), ("tanh", "tanh"), ("sigmoid", "sigmoid")])
def test_activation_is_applied_to_hidden_layers_only(activation, fn):
    model = lenet5(activation=activation)
    for name in ("conv1", "conv2", "fc1", "fc2"):
        assert model.get_layer(name).activation is getattr(keras.activations, fn), name
    assert model.get_layer("output").activation is keras.activations.softmax


def test_forward_pass_gives_probabilities():
    model = lenet5()
    x = np.random.default_rng(0).random((3, 32, 32, 1)).astype("float32")
    p = np.asarray(model.predict(x, verbose=0))
    assert p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert (p >= 0).all()


def test_other_input_sizes_and_class_counts():
    model = lenet5(input_shape=(28, 28, 1), num_classes=5)
    assert tuple(model.get_layer("conv1").output.shape[1:]) == (24, 24, 6)
    assert tuple(model.get_layer("pool2").output.shape[1:]) == (4, 4, 16)
    assert tuple(model.get_layer("flatten").output.shape[1:]) == (256,)
    assert tuple(model.output.shape[1:]) == (5,)
    rgb = lenet5(input_shape=(32, 32, 3))
    assert rgb.get_layer("conv1").count_params() == 5 * 5 * 3 * 6 + 6
    smallest = lenet5(input_shape=(16, 16, 1))
    assert tuple(smallest.get_layer("pool2").output.shape[1:]) == (1, 1, 16)


def test_mixed_precision_keeps_float32_softmax():
    previous = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("mixed_float16")
        model = lenet5()
        assert model.get_layer("conv1").compute_dtype == "float16"
        assert model.get_layer("output").compute_dtype == "float32"
        assert model.output.dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)
    assert lenet5().get_layer("output").compute_dtype == "float32"


@pytest.mark.parametrize("kwargs, error, word", [
    ({"variant": "modern"}, ValueError, "variant"),
    ({"variant": None}, TypeError, "variant"),
    ({"activation": "nope"}, ValueError, "activation"),
    ({"activation": 3}, TypeError, "activation"),
    ({"activation": ""}, ValueError, "activation"),
    ({"input_shape": (32, 32)}, ValueError, "input_shape"),
    ({"input_shape": (15, 32, 1)}, ValueError, "input_shape"),
    ({"input_shape": (32, 32, 0)}, ValueError, "input_shape"),
    ({"input_shape": (32.0, 32, 1)}, TypeError, "input_shape"),
    ({"input_shape": 32}, TypeError, "input_shape"),
    ({"num_classes": 1}, ValueError, "num_classes"),
    ({"num_classes": 2.5}, TypeError, "num_classes"),
    ({"num_classes": True}, TypeError, "num_classes"),
])
def test_bad_arguments_are_refused_with_a_clear_message(kwargs, error, word):
    with pytest.raises(error, match=word):
        lenet5(**kwargs)


# ----------------------------------------------------------------------------- the benchmark's bookkeeping

def _benchmark():
    return load_benchmark("lenet5")


def test_benchmark_summary_and_final_line():
    bench = _benchmark()
    epochs = [{"epoch": 1, "train_s": 10.0, "test_acc": 0.985}, {"epoch": 2, "train_s": 20.5, "test_acc": 0.9905},
              {"epoch": 3, "train_s": 30.0, "test_acc": 0.9931}]
    ours = bench.summarize({"model": "lenet5", "epochs": epochs, "peak_mib": 900, "params": 63802}, 0.99)
    assert (ours["t_target"], ours["epochs_target"], ours["final_acc"]) == (20.5, 2, 0.9931)
    slow = [{"epoch": i, "train_s": 40.0 * i, "test_acc": a} for i, a in enumerate((0.98, 0.989, 0.9912), 1)]
    theirs = bench.summarize({"model": "keras-io", "epochs": slow, "peak_mib": 800, "params": 34826}, 0.99)
    assert theirs["t_target"] == 120.0
    line = bench.final_line(ours, theirs)
    assert line == "lenet5 acc=0.9931 t99=20.5s | keras-io acc=0.9912 t99=120.0s | speedup=5.85x"
    never = bench.summarize({"model": "keras-io", "epochs": slow[:2], "peak_mib": 1, "params": 1}, 0.99)
    assert never["t_target"] is None
    assert bench.final_line(ours, never).endswith("t99=never | speedup=n/a")


@pytest.mark.parametrize("argv, word", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "two"], "--epochs"),
    (["--keras-io-epochs", "-3"], "--keras-io-epochs"), (["--target", "1.5"], "--target"),
    (["--target", "x"], "--target"),
])
def test_benchmark_refuses_bad_arguments(argv, word, capsys):
    bench = _benchmark()
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert word in capsys.readouterr().err
    quick = bench.parse_args(["--quick", "--epochs", "7"])
    assert quick.quick and quick.epochs == 2 and quick.keras_io_epochs == 2
