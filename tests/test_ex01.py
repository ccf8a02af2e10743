"""Checkers of notebook 01's exercises: right answers pass, typical mistakes get the right message,
nonsense never crashes."""
import keras
import numpy as np
import pytest
from keras import layers

from exercise_helpers import fails, passes  # noqa: E402
from cnncourse.data import shift_images
from cnncourse.exercises import ex01

NONSENSE = [None, "154141696", 3.5, [1, 2, 3], np.zeros((3, 3)), Ellipsis]


# ----------------------------------------------------------------- 01.1 dense parameters

def right_dense(h, w, c, units):
    return (h * w * c + 1) * units


def test_q1_right_answer_matches_keras():
    assert passes(ex01.q1, right_dense)
    model = keras.Sequential([keras.Input((5, 7, 2)), layers.Flatten(), layers.Dense(3)])
    assert model.count_params() == right_dense(5, 7, 2, 3)


def test_q1_float_result_that_is_whole_is_accepted():
    assert passes(ex01.q1, lambda h, w, c, u: float((h * w * c + 1) * u))


@pytest.mark.parametrize("wrong, words", [
    (lambda h, w, c, u: h * w * c * u, ["forgot the biases"]),
    (lambda h, w, c, u: h * w * c * u + 1, ["one bias per unit"]),
    (lambda h, w, c, u: h * w * c * (u + 1), ["belong to the units"]),
    (lambda h, w, c, u: (h * w + 1) * u, ["channels"]),
    (lambda h, w, c, u: (h + w + c) * u + u, ["multiplied"]),
    (lambda h, w, c, u: 154_141_696, ["dense_params(28, 28, 1, 10)", "count_params"]),
])
def test_q1_typical_mistakes(wrong, words):
    message = fails(ex01.q1, wrong, *words)
    assert "154,141,696" not in message or "returned 154,141,696" in message  # the answer is not given away


def test_q1_function_that_raises_or_returns_nonsense():
    def broken(h, w, c, u):
        raise ZeroDivisionError("oops")

    fails(ex01.q1, broken, "ZeroDivisionError")
    fails(ex01.q1, lambda h, w, c, u: "many", "whole number")
    fails(ex01.q1, lambda h, w, c, u: None, "whole number")
    fails(ex01.q1, lambda h: 3)  # wrong signature: reported, not raised


@pytest.mark.parametrize("nonsense", NONSENSE)
def test_q1_nonsense(nonsense):
    fails(ex01.q1, nonsense)


# ----------------------------------------------------------------- 01.2 conv parameters

def right_conv(h, w, c, k, f):
    return k * k * c * f + f


def test_q2_right_answer_matches_keras_at_several_sizes():
    assert passes(ex01.q2, right_conv)
    for h, w in [(9, 13), (64, 48)]:
        model = keras.Sequential([keras.Input((h, w, 3)), layers.Conv2D(8, 5)])
        assert model.count_params() == right_conv(h, w, 3, 5, 8)


@pytest.mark.parametrize("wrong, words", [
    (lambda h, w, c, k, f: k * k * c * f, ["forgot the biases"]),
    (lambda h, w, c, k, f: k * k * c * f + 1, ["one bias per filter"]),
    (lambda h, w, c, k, f: k * k * c * f + c, ["belong to the filters"]),
    (lambda h, w, c, k, f: k * k * f + f, ["every input channel"]),
    (lambda h, w, c, k, f: k * c * f + f, ["square"]),
    (lambda h, w, c, k, f: (h - k + 1) * (w - k + 1) * (k * k * c + 1) * f, ["changes with the image size"]),
    (lambda h, w, c, k, f: (h * w * c + 1) * f, ["changes with the image size"]),
    (lambda h, w, c, k, f: 1792, ["count_params"]),
])
def test_q2_typical_mistakes(wrong, words):
    fails(ex01.q2, wrong, *words)


@pytest.mark.parametrize("nonsense", NONSENSE + [lambda *a: "x", lambda h, w: 1])
def test_q2_nonsense(nonsense):
    fails(ex01.q2, nonsense)


# ----------------------------------------------------------------- 01.3 shift without wrap-around

def right_shift(image, dx, dy):
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_q3_right_answer_agrees_with_the_library():
    assert passes(ex01.q3, right_shift)
    img = np.arange(1.0, 21.0).reshape(4, 5)
    for dx, dy in [(1, 2), (-2, 1), (0, -3), (4, 0)]:
        np.testing.assert_array_equal(right_shift(img, dx, dy),
                                      shift_images(img[None, :, :, None], dx, dy)[0, :, :, 0])


def test_q3_library_function_is_accepted():
    assert passes(ex01.q3, lambda img, dx, dy: shift_images(img[..., None], dx, dy)[..., 0])


def test_q3_wrap_around_is_named():
    fails(ex01.q3, lambda img, dx, dy: np.roll(img, (dy, dx), axis=(0, 1)), "wrap-around")


def test_q3_swapped_axes_and_wrong_direction():
    fails(ex01.q3, lambda img, dx, dy: right_shift(img, dy, dx), "wrong axes")
    fails(ex01.q3, lambda img, dx, dy: right_shift(img, -dx, -dy), "wrong way")


def test_q3_only_positive_shifts_handled():
    def positive_only(image, dx, dy):
        out = np.zeros_like(image)
        h, w = image.shape
        out[dy:, dx:] = image[:h - dy, :w - dx]   # wrong for negative shifts
        return out

    fails(ex01.q3, positive_only, "negative")


def test_q3_shape_and_in_place_mistakes():
    def grows(image, dx, dy):
        return np.pad(image, ((max(dy, 0), 0), (max(dx, 0), 0)))

    fails(ex01.q3, grows, "shape")

    def in_place(image, dx, dy):
        image[:] = right_shift(image.copy(), dx, dy)
        return image

    fails(ex01.q3, in_place, "changed the input")
    fails(ex01.q3, lambda img, dx, dy: img + 1, "pixels are wrong")


@pytest.mark.parametrize("nonsense", NONSENSE + [lambda img, dx, dy: None, lambda img, dx, dy: "x",
                                                 lambda img: img])
def test_q3_nonsense(nonsense):
    fails(ex01.q3, nonsense)


# ----------------------------------------------------------------- 01.4 an exactly invariant network

def conv_stack(*extra, head=None):
    return keras.Sequential([
        keras.Input((32, 32, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        *extra,
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        head if head is not None else layers.GlobalMaxPooling2D(),
        layers.Dense(10, activation="softmax"),
    ])


def test_q4_global_pooling_without_strides_passes():
    keras.utils.set_random_seed(0)
    assert passes(ex01.q4, conv_stack())
    assert passes(ex01.q4, conv_stack(head=layers.GlobalAveragePooling2D()))
    assert passes(ex01.q4, conv_stack(layers.MaxPooling2D(3, strides=1, padding="same")))


def test_q4_the_test_digits_are_really_moved():
    x = ex01._test_digits()
    assert x.shape == (4, 32, 32, 1) and x.sum() > 0
    assert not np.array_equal(shift_images(x, 1, 0), x)
    for dx, dy in ex01._INVARIANCE_SHIFTS:   # no ink leaves the frame
        assert shift_images(x, dx, dy).sum() == pytest.approx(x.sum())


def test_q4_flatten_head_fails():
    keras.utils.set_random_seed(0)
    fails(ex01.q4, conv_stack(head=layers.Flatten()), "Flatten")


def test_q4_stride_two_pooling_fails_and_is_named():
    keras.utils.set_random_seed(0)
    message = fails(ex01.q4, conv_stack(layers.MaxPooling2D()), "stride")
    assert "max_pooling2d" in message


def test_q4_trivial_and_wrong_models():
    keras.utils.set_random_seed(0)
    one_conv = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3),
                                 layers.GlobalMaxPooling2D(), layers.Dense(10)])
    fails(ex01.q4, one_conv, "at least two")
    constant = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3), layers.Conv2D(4, 3),
                                 layers.GlobalMaxPooling2D(), layers.Dense(10, kernel_initializer="zeros")])
    fails(ex01.q4, constant, "same output for different images")
    five = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3), layers.Conv2D(4, 3),
                             layers.GlobalMaxPooling2D(), layers.Dense(5)])
    fails(ex01.q4, five, "(4, 10)")
    wrong_input = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3), layers.Conv2D(4, 3),
                                    layers.Flatten(), layers.Dense(10)])
    fails(ex01.q4, wrong_input, "(32, 32, 1)")


@pytest.mark.parametrize("nonsense", NONSENSE + [keras.layers.Dense(10), lambda x: x])
def test_q4_nonsense(nonsense):
    fails(ex01.q4, nonsense, "Keras model")


def test_check_prints_and_records(capsys):
    from cnncourse.exercises import results

    assert ex01.q1.check(right_dense) is None          # nothing echoed under the printed line
    assert results()["01.1"] is True
    assert ex01.q1.check(None) is None
    assert "01.1" in capsys.readouterr().out
    assert results()["01.1"] is False
