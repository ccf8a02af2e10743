"""Checkers of notebook 05's exercises: right answers pass, typical mistakes get pointed messages,
nonsense never crashes."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)
from keras import layers  # noqa: E402

from exercise_helpers import message, passes  # noqa: E402
from cnncourse.exercises import ex05 as ex  # noqa: E402
from cnncourse.models import lenet5  # noqa: E402

NONSENSE = [None, "24x24", 3.7, [1, 2], {"a": 1}, np.zeros((2, 2)), object()]


# ---------------------------------------------------------------- 05.1
RIGHT_SHAPES = {"conv1": (24, 24, 6), "pool1": (12, 12, 6), "conv2": (8, 8, 16), "pool2": (4, 4, 16),
                "flatten": (256,), "fc1": (120,), "fc2": (100,), "output": (10,)}


def test_q1_right_answer_matches_keras_and_passes():
    model = lenet5(input_shape=(28, 28, 1))
    from_keras = {name: tuple(model.get_layer(name).output.shape[1:]) for name in ex.LAYERS}
    assert from_keras == RIGHT_SHAPES
    assert ex.q1.evaluate(from_keras) == (True, "Correct!")
    # ints for the 1-D shapes and lists are accepted too
    loose = dict(RIGHT_SHAPES, flatten=256, fc1=[120], conv1=[24, 24, 6])
    assert passes(ex.q1, loose)


@pytest.mark.parametrize("change, words", [
    ({"conv1": (28, 28, 6)}, "'same' padding"),
    ({"conv1": (26, 26, 6)}, "off by 2"),
    ({"pool1": (24, 24, 6)}, "halves"),
    ({"conv2": (8, 8, 6)}, "number of channels"),
    ({"flatten": (400,)}, "flatten"),
    ({"pool2": (None, 4, 4, 16)}, "tuple of whole numbers"),
    ({"pool2": (1, 4, 4, 16)}, "batch axis"),
    ({"fc2": (84,)}, "do not depend on the input size"),
    ({"pool2": (5, 5, 16)}, "height/width"),
])
def test_q1_typical_mistakes_get_pointed_messages(change, words):
    assert words in message(ex.q1, dict(RIGHT_SHAPES, **change))


def test_q1_missing_and_extra_keys():
    partial = {k: v for k, v in RIGHT_SHAPES.items() if k != "fc2"}
    assert "fc2" in message(ex.q1, partial)
    assert "not LeNet-5 layers" in message(ex.q1, dict(RIGHT_SHAPES, input=(28, 28, 1)))


@pytest.mark.parametrize("answer", NONSENSE)
def test_q1_nonsense_does_not_crash(answer):
    msg = message(ex.q1, answer)
    assert isinstance(msg, str) and msg


# ---------------------------------------------------------------- 05.2
def test_q2_receptive_field_right_answer_by_construction():
    # Measure it: with all-ones kernels and zero biases every path is positive, so conv2's
    # top-left unit lights up exactly for the input pixels in its receptive field.
    model = lenet5(activation="linear")
    for name in ("conv1", "conv2"):
        kernel, bias = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([np.ones_like(kernel), np.zeros_like(bias)])
    sub = keras.Model(model.input, model.get_layer("conv2").output)
    one_hot = np.eye(32 * 32, dtype="float32").reshape(-1, 32, 32, 1)
    seen = np.asarray(sub.predict(one_hot, batch_size=256, verbose=0))[:, 0, 0, 0] > 0
    rows, cols = np.nonzero(seen.reshape(32, 32))
    side = rows.max() - rows.min() + 1
    assert side == cols.max() - cols.min() + 1 == 14 and seen.sum() == side * side
    assert ex.q2.evaluate(int(side)) == (True, "Correct!")
    assert passes(ex.q2, 14.0)


@pytest.mark.parametrize("answer, words", [
    (5, "follow it back"), (9, "pool1 were absent"), (10, "adds 4"),
    (196, "not its area"), (16, "Too large"), (32, "whole input"), (20, "work backwards"),
])
def test_q2_mistakes(answer, words):
    assert words in message(ex.q2, answer)


@pytest.mark.parametrize("answer", NONSENSE + [True, 14.5])
def test_q2_nonsense(answer):
    msg = message(ex.q2, answer)
    assert msg


# ---------------------------------------------------------------- 05.3
def test_q3_table_is_the_papers_and_answer_is_1516():
    assert len(ex.C3_TABLE) == 16
    sizes = [len(row) for row in ex.C3_TABLE]
    assert sizes.count(3) == 6 and sizes.count(4) == 9 and sizes.count(6) == 1
    assert all(len(set(row)) == len(row) and set(row) <= set(range(6)) for row in ex.C3_TABLE)
    # the paper states 1,516 trainable parameters for C3
    assert ex.q3.evaluate(sum(5 * 5 * len(m) + 1 for m in ex.C3_TABLE)) == (True, "Correct!")
    assert passes(ex.q3, 1516)


@pytest.mark.parametrize("answer, words", [
    (2416, "course's conv2"), (1500, "forgot the biases"), (1560, "one bias"),
    (2400, "without biases"), (1000, "Count the input maps"),
])
def test_q3_mistakes(answer, words):
    assert words in message(ex.q3, answer)


@pytest.mark.parametrize("answer", NONSENSE)
def test_q3_nonsense(answer):
    assert not passes(ex.q3, answer)


# ---------------------------------------------------------------- 05.4
def classic_by_hand(padding="valid", fc2=84, out_act="softmax", act="relu", pool=layers.MaxPooling2D):
    return keras.Sequential([
        keras.Input(shape=(32, 32, 1)),
        layers.Conv2D(6, 5, padding=padding, activation=act), pool(2),
        layers.Conv2D(16, 5, activation=act), pool(2),
        layers.Flatten(),
        layers.Dense(120, activation=act), layers.Dense(fc2, activation=act),
        layers.Dense(10, activation=out_act),
    ])


def test_q4_right_answers():
    assert ex.q4.evaluate(classic_by_hand()) == (True, "Correct!")
    assert passes(ex.q4, classic_by_hand(act="tanh", pool=layers.AveragePooling2D))
    assert passes(ex.q4, lenet5("classic"))
    assert not passes(ex.q4, lenet5("course"))


def test_q4_mistakes():
    assert "'valid'" in message(ex.q4, classic_by_hand(padding="same"))
    assert "(84,)" in message(ex.q4, classic_by_hand(fc2=100))
    assert "softmax" in message(ex.q4, classic_by_hand(out_act=None))
    assert "no activation" in message(ex.q4, classic_by_hand(act=None))
    wrong_input = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    assert "(32, 32, 1)" in message(ex.q4, wrong_input)
    extra = keras.Sequential([keras.Input(shape=(32, 32, 1)), layers.Conv2D(6, 5), layers.Dropout(0.5),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    assert "layers are" in message(ex.q4, extra)


@pytest.mark.parametrize("answer", NONSENSE + [keras.Sequential()])
def test_q4_nonsense(answer):
    msg = message(ex.q4, answer)
    assert msg


# ---------------------------------------------------------------- 05.5
def _train_quickly(model, n=2000, epochs=3):
    from cnncourse.data import load_mnist

    (x, y), _ = load_mnist(pad=True, n_train=n, n_test=10, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    return model


def test_q5_untrained_wrong_activation_and_trained():
    keras.utils.set_random_seed(0)
    untrained = lenet5(activation="tanh")
    assert "Was it trained" in message(ex.q5, untrained)
    msg = message(ex.q5, lenet5())
    assert "tanh" in msg and "relu" in msg
    assert "sigmoid" in message(ex.q5, lenet5(activation="sigmoid"))
    assert "no layer" in message(ex.q5, classic_by_hand())
    trained = _train_quickly(lenet5(activation="tanh"))
    assert ex.q5.evaluate(trained) == (True, "Correct!")


@pytest.mark.parametrize("answer", [None, "model", 3, np.zeros((32, 32, 1))])
def test_q5_nonsense(answer):
    assert "keras.Model" in message(ex.q5, answer)
