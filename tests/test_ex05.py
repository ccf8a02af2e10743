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
def right_shift(images, dy, dx):
    images = np.asarray(images)
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def pad_and_crop(images, dy, dx):
    """The way train.batch_shift_dataset does it: pad by the largest shift, cut the window (another right answer)."""
    s = max(abs(dy), abs(dx))
    padded = np.pad(images, [(0, 0), (s, s), (s, s), (0, 0)])
    h, w = images.shape[1:3]
    return padded[:, s - dy:s - dy + h, s - dx:s - dx + w]


def test_q2_reference_matches_the_pipeline():
    # the package's pipeline shifts a batch by one random (dy, dx): its output is one of the reference's shifts
    from cnncourse.train import batch_shift_dataset

    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    for batch, _ in batch_shift_dataset(x, np.zeros(4, "int64"), batch_size=4, shift=2, seed=3):
        got = np.asarray(batch)
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                  if np.array_equal(np.sort(ex._shift(x, dy, dx).ravel()), np.sort(got.ravel()))]
        assert shifts


def test_q2_right_answers_pass():
    assert passes(ex.q2, right_shift)
    assert passes(ex.q2, pad_and_crop)
    assert passes(ex.q2, lambda x, dy, dx: right_shift(x, dy, dx).tolist())

    def in_place(images, dy, dx):           # overwrites its input: the cases survive it
        out = right_shift(images, dy, dx)
        images[...] = 0
        return out
    assert passes(ex.q2, in_place) and passes(ex.q2, right_shift)


@pytest.mark.parametrize("wrong, words", [
    (lambda x, dy, dx: np.roll(x, (dy, dx), axis=(1, 2)), "np.roll"),
    (lambda x, dy, dx: right_shift(x, -dy, -dx), "wrong way"),
    (lambda x, dy, dx: right_shift(x, dx, dy), "swapped"),
    (lambda x, dy, dx: right_shift(x, -dx, -dy), "swapped, and the content moves the wrong way"),
    (ex._shift_axes01, "batch axis"),
    (lambda x, dy, dx: np.pad(x, [(0, 0), (abs(dy),) * 2, (abs(dx),) * 2, (0, 0)]), "expected shape"),
    (lambda x, dy, dx: x, "wrong pixels"),
    (lambda x, dy, dx: None, "NumPy array"),
    (lambda x, dy: x, "raised TypeError"),
])
def test_q2_mistakes(wrong, words):
    msg = message(ex.q2, wrong)
    assert words in msg and "images of shape" in msg


def test_q2_mistakes_are_told_apart():
    rows = [values for values, _ in ex._check_shift.mistakes]
    for i, one in enumerate(rows):
        assert not all(np.array_equal(v, w) for v, w in zip(one, ex._check_shift.wants)), i
        for other in rows[:i]:
            assert not all(np.array_equal(v, w) for v, w in zip(one, other)), i


@pytest.mark.parametrize("answer", NONSENSE + [right_shift(np.ones((1, 2, 2, 1)), 0, 0)])
def test_q2_nonsense(answer):
    assert not passes(ex.q2, answer)


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
def _train_quickly(model, n=2000, epochs=3, batch_size=32):
    from cnncourse.data import load_mnist

    (x, y), _ = load_mnist(pad=True, n_train=n, n_test=10, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return model


def test_q5_expected_steps_are_the_notebooks():
    from cnncourse.config import budget

    n_train = budget("mnist_train") - budget("lenet_val")       # section 3's split of load_mnist()
    assert ex._expected_steps() == budget("lenet_epochs") * -(-n_train // 128)


def test_q5_untrained_wrong_activation_and_trained(monkeypatch):
    keras.utils.set_random_seed(0)
    assert "not been trained" in message(ex.q5, lenet5(activation="tanh"))
    msg = message(ex.q5, lenet5())
    assert "tanh" in msg and "relu" in msg
    assert "sigmoid" in message(ex.q5, lenet5(activation="sigmoid"))
    assert "no layer" in message(ex.q5, classic_by_hand())
    trained = _train_quickly(lenet5(activation="tanh"))         # 3 epochs of 63 steps
    monkeypatch.setattr(ex, "_expected_steps", lambda: 3 * 63)
    assert ex.q5.evaluate(trained) == (True, "Correct!")
    # a shorter (or longer) schedule than the ReLU model's is not a fair comparison
    monkeypatch.setattr(ex, "_expected_steps", lambda: 10 * 63)
    msg = message(ex.q5, trained)
    assert "189 training steps" in msg and "same schedule" in msg


def test_q5_trained_but_not_learning(monkeypatch):
    keras.utils.set_random_seed(0)
    model = lenet5(activation="tanh")
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    from cnncourse.data import load_mnist

    (x, y), _ = load_mnist(pad=True, n_train=64, n_test=10, seed=1)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    monkeypatch.setattr(ex, "_expected_steps", lambda: 2)
    assert "fewer than 50%" in message(ex.q5, model)


@pytest.mark.parametrize("answer", [None, "model", 3, np.zeros((32, 32, 1))])
def test_q5_nonsense(answer):
    assert "keras.Model" in message(ex.q5, answer)
