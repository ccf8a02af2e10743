"""The fast CIFAR-10 VGG (vgg7_cifar) and its training recipe (cnncourse.cifar_recipe); its layers
are tested in test_layers.py, its batches and schedule in test_train.py."""
import numpy as np
import pytest
from benchmark_helpers import load_benchmark

import keras

from cnncourse import cifar_recipe as R
from cnncourse.models import vgg7_cifar
from cnncourse.train import FlipShiftBatches
from tiny_models import correlated_images, labelled_images


# ------------------------------------------------------------------ the model

def test_vgg7_cifar_shape_parameters_and_vgg_traits():
    model = vgg7_cifar()
    assert model.count_params() == 1_973_944
    assert tuple(model.output.shape) == (None, 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 6 and all(c.kernel_size == (3, 3) for c in convs)
    assert [c.filters for c in convs] == [64, 64, 256, 256, 256, 256]
    pools = [model.get_layer(f"block{b}_pool").output.shape[1] for b in (1, 2, 3)]
    assert pools == [15, 7, 3]
    assert not model.get_layer("head").use_bias


def test_vgg7_cifar_outputs_float32_logits_under_mixed_precision():
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        model = vgg7_cifar(correlated_images(n=20, side=32).clip(0, 1))
        assert model.get_layer("block2_conv1").compute_dtype == "bfloat16"
        assert model.output.dtype == "float32"
        kernel = keras.ops.convert_to_numpy(model.get_layer("whiten").kernel)
        assert np.abs(kernel).max() > 0                       # adapted from the images given
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_shape": (28, 28, 1)}, ValueError, r"input_shape must be \(32, 32, 3\)"),
    ({"widths": (64, 128)}, ValueError, "widths must be 3 whole numbers"),
    ({"widths": (64, 0, 5)}, ValueError, "widths must be a non-empty sequence"),
    ({"activation": "tanh"}, ValueError, "activation must be 'relu' or 'gelu'"),
    ({"num_classes": 1}, ValueError, "num_classes must be a whole number >= 2"),
    ({"head_scale": 0}, ValueError, "head_scale must be a number > 0"),
    ({"bias_scale": "8"}, TypeError, "bias_scale must be a number"),
    ({"whitening_images": np.zeros((3, 32, 32, 3))}, ValueError, "at least 16 images"),
])
def test_vgg7_cifar_argument_checks(kwargs, error, match):
    with pytest.raises(error, match=match):
        vgg7_cifar(**kwargs)


# ------------------------------------------------------------------ the recipe


def small_model():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])


def test_lookahead_ends_on_the_slow_weights_and_pulls_back():
    x, y = labelled_images(40)
    runs = {}
    for final_decay in (0.0, 0.9):
        keras.utils.set_random_seed(0)
        model = small_model()
        start = model.get_weights()
        R.compile_recipe(model, 20, learning_rate=0.5)
        look = R.Lookahead(20, every=2, final_decay=final_decay)
        model.fit(FlipShiftBatches(x, y, batch_size=4, shift=0, flip=False), epochs=2, verbose=0,
                  callbacks=[look])
        for slow, w in zip(look.slow, model.get_weights()):
            np.testing.assert_allclose(slow, w)
        runs[final_decay] = sum(float(np.abs(w - s).sum()) for w, s in zip(model.get_weights(), start))
    assert runs[0.9] < runs[0.0]          # the pull keeps the weights nearer where they were


def test_predict_tta_levels():
    x = np.random.default_rng(0).random((6, 8, 8, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    model = small_model()
    plain = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(R.predict_tta(model, x, 0), plain, rtol=1e-5, atol=1e-6)
    mirror = np.asarray(model.predict(x[:, :, ::-1], verbose=0))
    np.testing.assert_allclose(R.predict_tta(model, x, 1), (plain + mirror) / 2, rtol=1e-5, atol=1e-6)
    level2 = R.predict_tta(model, x, 2)
    assert level2.shape == (6, 10) and not np.allclose(level2, R.predict_tta(model, x, 1))
    shifted = R._translate(x, 1, 1)
    np.testing.assert_array_equal(shifted[:, 1:, 1:], x[:, :-1, :-1])
    np.testing.assert_array_equal(shifted[:, 0, 1:], x[:, 1, :-1])        # reflected border
    with pytest.raises(ValueError, match="level must be 0, 1 or 2"):
        R.predict_tta(model, x, 3)


def test_compile_recipe_checks_and_label_smoothing():
    model = small_model()
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        R.compile_recipe("vgg", 10)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\]"):
        R.compile_recipe(model, 10, momentum=1.5)
    R.compile_recipe(model, 10)
    assert model.loss.label_smoothing == pytest.approx(0.2)
    assert model.optimizer.nesterov and model.optimizer.weight_decay == pytest.approx(R.RECIPE["weight_decay"])


def test_train_learns_a_separable_task():
    rng = np.random.default_rng(0)
    y = np.arange(400) % 4
    palette = np.array([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.5, 0.5, 0.5]])
    x = np.clip(palette[y][:, None, None, :] + rng.normal(0, 0.1, (400, 32, 32, 3)), 0, 1).astype("float32")
    keras.utils.set_random_seed(0)
    model = vgg7_cifar(x[:100], widths=(16, 16, 16))
    history = R.train(model, x, y, epochs=4, batch_size=50, verbose=0, validation_data=(x[:100], y[:100]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert R.accuracy_tta(model, x, y) > 0.9


# ------------------------------------------------------------------ precision (the decision: tests/test_device.py)

def test_bfloat16_training_reaches_the_float32_accuracy():
    from cnncourse.data import load_mnist

    (x, y), (xt, yt) = load_mnist(n_train=2000, n_test=1000)
    accuracy = {}
    try:
        for policy in ("float32", "mixed_bfloat16"):
            keras.mixed_precision.set_global_policy(policy)
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                                      keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                                      keras.layers.Dense(10, activation="softmax", dtype="float32")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, y, epochs=3, batch_size=100, verbose=0)
            accuracy[policy] = model.evaluate(xt, yt, verbose=0)[1]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert accuracy["float32"] > 0.8      # it learned (chance: 0.1); the backends' initializations differ
    assert abs(accuracy["mixed_bfloat16"] - accuracy["float32"]) < 0.03


# ------------------------------------------------------------------ the benchmark script

def _benchmark():
    return load_benchmark("cifar10")


def test_benchmark_milestones_count_training_time_until_first_reached():
    bench = _benchmark()
    accs, secs = [0.80, 0.91, 0.89, 0.935], [60.0, 60.0, 60.0, 60.0]
    assert bench.milestone(accs, secs, 0.90) == pytest.approx(2.0)
    assert bench.milestone(accs, secs, 0.93) == pytest.approx(4.0)
    assert bench.milestone(accs, secs, 0.95) is None


def test_benchmark_refuses_bad_arguments(capsys):
    bench = _benchmark()
    args = bench.parse_args(["--train", "50000", "--val", "5000", "--epochs", "3"])
    assert (args.val, args.epochs) == (5000, 3)
    for argv, message in ((["--epochs", "0"], "--epochs must be at least 1"),
                          (["--train", "100", "--val", "90"], "must leave at least 20"),
                          (["--old-images", "5"], "--old-images must be 0 or at least 20")):
        with pytest.raises(SystemExit):
            bench.parse_args(argv)
        assert message in capsys.readouterr().err
