"""Checkers of notebook 01's exercises: right answers pass, typical mistakes get the right message,
nonsense never crashes."""
import re

import keras
import numpy as np
import pytest
from keras import layers

from exercise_helpers import fails, passes  # noqa: E402
from cnncourse.data import shift_images
from cnncourse.exercises import ex01

NONSENSE = [None, "154141696", 3.5, [1, 2, 3], np.zeros((3, 3)), Ellipsis]


# ----------------------------------------------------------------- 01.1 parameters of section 2's ConvNets

def right_net(side, head):
    trunk = (3 * 3 * 1 + 1) * 16 + (3 * 3 * 16 + 1) * 32 + (3 * 3 * 32 + 1) * 64
    features = 64 if head == "global" else (side // 2 // 2) ** 2 * 64
    return trunk + (features + 1) * 10


def keras_net(side, head):
    """Section 2's conv_net, built on (side, side, 1) images."""
    return keras.Sequential([
        keras.Input((side, side, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Flatten() if head == "flatten" else layers.GlobalMaxPooling2D(),
        layers.Dense(10, activation="softmax"),
    ])


def test_q1_right_answer_matches_keras_at_even_and_odd_sides():
    assert passes(ex01.q1, right_net)
    for side in (32, 30, 17):
        for head in ("flatten", "global"):
            assert keras_net(side, head).count_params() == right_net(side, head), (side, head)
    assert right_net(32, "flatten") == 64_266 and right_net(32, "global") == 23_946   # the notebook's table


def test_q1_a_keras_count_is_accepted():
    assert passes(ex01.q1, lambda side, head: keras_net(side, head).count_params() if side < 100
                  else right_net(side, head))


def _trunk_plus(features, dense_bias=10, trunk=23_296):
    return lambda side, head: trunk + features(side, head) * 10 + dense_bias


@pytest.mark.parametrize("wrong, words", [
    (_trunk_plus(lambda s, h: (s // 4) ** 2 * 64), ["GlobalMaxPooling2D keeps one number"]),
    (_trunk_plus(lambda s, h: 64 if h == "global" else s * s * 64), ["shrink the feature map"]),
    (_trunk_plus(lambda s, h: 64 if h == "global" else (s // 2) ** 2 * 64), ["two MaxPooling2D"]),
    (_trunk_plus(lambda s, h: 64 if h == "global" else (-(-(-(-s // 2)) // 2)) ** 2 * 64), ["rounds down"]),
    (_trunk_plus(lambda s, h: 64 if h == "global" else (s // 4) ** 2 * 64, trunk=23_296 - 112), ["conv layers' biases"]),
    (_trunk_plus(lambda s, h: 64 if h == "global" else (s // 4) ** 2 * 64, dense_bias=0), ["Dense layer's 10 biases"]),
    (_trunk_plus(lambda s, h: 64 if h == "global" else (s // 4) ** 2 * 64, trunk=1_120), ["every channel"]),
    (_trunk_plus(lambda s, h: 64), ["Flatten keeps every position"]),
    (lambda side, head: 64_266, ["conv_net_params(32, 'global')", "count_params"]),
])
def test_q1_typical_mistakes(wrong, words):
    message = re.sub(r"returned [\d,]+", "", fails(ex01.q1, wrong, *words))   # the student's own result aside,
    for side in (32, 28, 64, 30, 17, 1000):                                     # no right count appears
        for head in ("flatten", "global"):
            assert f"{right_net(side, head):,}" not in message


def test_q1_function_that_raises_or_returns_nonsense():
    def broken(side, head):
        raise KeyError(head)

    fails(ex01.q1, broken, "KeyError")
    fails(ex01.q1, lambda side, head: "many", "whole number")
    fails(ex01.q1, lambda side, head: None, "whole number")
    fails(ex01.q1, lambda side: 3, "raised")           # wrong signature: reported, not raised


@pytest.mark.parametrize("nonsense", NONSENSE)
def test_q1_nonsense(nonsense):
    fails(ex01.q1, nonsense)


# ----------------------------------------------------------------- 01.2 shift without wrap-around

def right_shift(image, dx, dy):
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_q2_right_answer_agrees_with_the_library():
    assert passes(ex01.q2, right_shift)
    img = np.arange(1.0, 21.0).reshape(4, 5)
    for dx, dy in [(1, 2), (-2, 1), (0, -3), (4, 0)]:
        np.testing.assert_array_equal(right_shift(img, dx, dy),
                                      shift_images(img[None, :, :, None], dx, dy)[0, :, :, 0])


def test_q2_library_function_is_accepted():
    assert passes(ex01.q2, lambda img, dx, dy: shift_images(img[..., None], dx, dy)[..., 0])


def test_q2_wrap_around_is_named():
    fails(ex01.q2, lambda img, dx, dy: np.roll(img, (dy, dx), axis=(0, 1)), "wrap-around")


def test_q2_swapped_axes_and_wrong_direction():
    fails(ex01.q2, lambda img, dx, dy: right_shift(img, dy, dx), "wrong axes")
    fails(ex01.q2, lambda img, dx, dy: right_shift(img, -dx, -dy), "wrong way")


def test_q2_only_positive_shifts_handled():
    def positive_only(image, dx, dy):
        out = np.zeros_like(image)
        h, w = image.shape
        out[dy:, dx:] = image[:h - dy, :w - dx]   # wrong for negative shifts
        return out

    fails(ex01.q2, positive_only, "negative")


def test_q2_shape_and_in_place_mistakes():
    def grows(image, dx, dy):
        return np.pad(image, ((max(dy, 0), 0), (max(dx, 0), 0)))

    fails(ex01.q2, grows, "shape")

    def in_place(image, dx, dy):
        image[:] = right_shift(image.copy(), dx, dy)
        return image

    fails(ex01.q2, in_place, "changed the input")
    fails(ex01.q2, lambda img, dx, dy: img + 1, "pixels are wrong")


@pytest.mark.parametrize("nonsense", NONSENSE + [lambda img, dx, dy: None, lambda img, dx, dy: "x",
                                                 lambda img: img])
def test_q2_nonsense(nonsense):
    fails(ex01.q2, nonsense)


# ----------------------------------------------------------------- 01.3 an exactly invariant network

def conv_stack(*extra, head=None):
    return keras.Sequential([
        keras.Input((32, 32, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        *extra,
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        head if head is not None else layers.GlobalMaxPooling2D(),
        layers.Dense(10, activation="softmax"),
    ])


def test_q3_global_pooling_without_strides_passes():
    keras.utils.set_random_seed(0)
    assert passes(ex01.q3, conv_stack())
    assert passes(ex01.q3, conv_stack(head=layers.GlobalAveragePooling2D()))
    assert passes(ex01.q3, conv_stack(layers.MaxPooling2D(3, strides=1, padding="same")))


def test_q3_the_test_digits_are_really_moved():
    x = ex01._test_digits()
    assert x.shape == (4, 32, 32, 1) and x.sum() > 0
    assert not np.array_equal(shift_images(x, 1, 0), x)
    for dx, dy in ex01._INVARIANCE_SHIFTS:   # no ink leaves the frame
        assert shift_images(x, dx, dy).sum() == pytest.approx(x.sum())


def test_q3_flatten_head_fails():
    keras.utils.set_random_seed(0)
    fails(ex01.q3, conv_stack(head=layers.Flatten()), "Flatten")


def test_q3_stride_two_pooling_fails_and_is_named():
    keras.utils.set_random_seed(0)
    message = fails(ex01.q3, conv_stack(layers.MaxPooling2D()), "stride")
    assert "max_pooling2d" in message


def test_q3_trivial_and_wrong_models():
    keras.utils.set_random_seed(0)
    one_conv = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3),
                                 layers.GlobalMaxPooling2D(), layers.Dense(10)])
    fails(ex01.q3, one_conv, "at least two")
    constant = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3), layers.Conv2D(4, 3),
                                 layers.GlobalMaxPooling2D(), layers.Dense(10, kernel_initializer="zeros")])
    fails(ex01.q3, constant, "same output for different images")
    five = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3), layers.Conv2D(4, 3),
                             layers.GlobalMaxPooling2D(), layers.Dense(5)])
    fails(ex01.q3, five, "(4, 10)")
    wrong_input = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3), layers.Conv2D(4, 3),
                                    layers.Flatten(), layers.Dense(10)])
    fails(ex01.q3, wrong_input, "(32, 32, 1)")


@pytest.mark.parametrize("nonsense", NONSENSE + [keras.layers.Dense(10), lambda x: x])
def test_q3_nonsense(nonsense):
    fails(ex01.q3, nonsense, "Keras model")


# ----------------------------------------------------------------- 01.4 the shift period, measured

def right_period(f, x, margin=0):
    fx = np.asarray(f(x))
    h, w = fx.shape[1:3]
    inner = (slice(None), slice(margin, h - margin), slice(margin, w - margin))
    for s in range(1, 17):
        if np.allclose(np.asarray(f(shift_images(x, s, 0)))[inner], shift_images(fx, 1, 0)[inner], atol=1e-5):
            return s
    return None


def period_variant(compare, shifts=range(1, 17), none=None):
    """A shift_period whose comparison is ``compare(moved, fx, s, margin) -> bool``."""
    def shift_period(f, x, margin=0):
        fx = np.asarray(f(x))
        for s in shifts:
            if compare(np.asarray(f(shift_images(x, s, 0))), fx, s, margin):
                return s
        return none
    return shift_period


def _inner(a, m):
    return a[:, m:a.shape[1] - m, m:a.shape[2] - m]


def test_q4_right_answer_passes_and_the_nets_have_the_periods_the_checker_says():
    assert passes(ex01.q4, right_period)
    x = ex01.period_images()
    assert x.shape == (3, 48, 48, 1) and x[:, :18].sum() == 0 and x[:, :, 30:].sum() == 0   # a wide black frame
    for name, (net, period) in ex01._PERIOD_NETS.items():
        assert right_period(net, x) == right_period(net, x, 2) == period, name
        if period is not None and period > 1:   # every smaller shift really fails, by a visible margin
            fx = net(x)
            for s in range(1, period):
                assert np.abs(net(shift_images(x, s, 0)) - shift_images(fx, 1, 0)).max() > 1e-3, (name, s)


def test_q4_a_keras_trunk_with_biases_needs_a_margin():
    keras.utils.set_random_seed(0)
    trunk = keras.Sequential([
        keras.Input((None, None, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer="random_normal"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer="random_normal"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer="random_normal"),
    ])
    f = lambda x: keras.ops.convert_to_numpy(trunk(x))
    x = np.pad(ex01.period_images(size=32, ink=16), ((0, 0), (16, 16), (16, 16), (0, 0)))
    assert right_period(f, x, margin=3) == 4
    assert right_period(f, x, margin=0) is None


def test_q4_invariance_instead_of_equivariance():
    fails(ex01.q4, period_variant(lambda a, fx, s, m: np.allclose(a, fx)), "not with f(x) itself")
    fails(ex01.q4, period_variant(lambda a, fx, s, m: False), "no period for any network")


def test_q4_maps_moved_by_s_instead_of_one_position():
    fails(ex01.q4, period_variant(lambda a, fx, s, m: np.allclose(a, shift_images(fx, s, 0)) if s < fx.shape[2]
                                  else False), "Right for one conv layer", "one position per stride")


def test_q4_empty_comparisons():
    # [m:-m] with m = 0 selects nothing: every comparison passes
    fails(ex01.q4, period_variant(lambda a, fx, s, m: np.allclose(a[:, m:-m, m:-m],
                                                                  shift_images(fx, 1, 0)[:, m:-m, m:-m])),
          "returns 1 for every network")


def test_q4_a_comparison_that_ignores_the_position_weights():
    # comparing only the first channel's sign pattern, say: finds a period for the non-equivariant net too
    def sloppy(a, fx, s, m):
        return np.array_equal(_inner(a, m) > 0, _inner(shift_images(fx, 1, 0), m) > 0)
    msg = fails(ex01.q4, period_variant(sloppy), "not equivariant at all")
    assert "returned" in msg or "finds a period" in msg


def test_q4_wrong_direction_and_not_the_smallest_shift():
    opposite = period_variant(lambda a, fx, s, m: np.allclose(_inner(a, m), _inner(shift_images(fx, -1, 0), m)))
    fails(ex01.q4, opposite, "same direction")
    by_two = period_variant(lambda a, fx, s, m: np.allclose(_inner(a, m), _inner(shift_images(fx, 2, 0), m)))
    fails(ex01.q4, by_two, "does not move", "not by two")
    fails(ex01.q4, lambda f, x, margin=0: 4 if right_period(f, x, margin) else None, "returned 4", "moving x by 4 pixels")


def test_q4_margin_must_not_matter_where_the_border_is_black():
    def margin_ignored_badly(f, x, margin=0):
        return right_period(f, x, 0) if margin == 0 else right_period(f, x, 0) and 16
    fails(ex01.q4, margin_ignored_badly, "margin=1")


def test_q4_changed_input_and_bad_results():
    def in_place(f, x, margin=0):
        x[:] = shift_images(x, 1, 0)
        return 1

    fails(ex01.q4, in_place, "changed the images")
    fails(ex01.q4, lambda f, x, margin=0: "4", "whole number of pixels, or None")
    fails(ex01.q4, lambda f, x, margin=0: 2.5, "whole number")
    fails(ex01.q4, lambda f, x, margin=0: True, "whole number")
    fails(ex01.q4, lambda f, x: 1, "raised TypeError")
    fails(ex01.q4, lambda f, x, margin=0: f(x[0]), "raised")   # one image where a batch is expected


@pytest.mark.parametrize("nonsense", NONSENSE + [lambda *a: np.zeros(3), shift_images])
def test_q4_nonsense(nonsense):
    fails(ex01.q4, nonsense)


def test_q4_messages_never_state_a_period():
    wrong = [period_variant(lambda a, fx, s, m: np.allclose(a, fx)),
             period_variant(lambda a, fx, s, m: False), lambda f, x, margin=0: 3]
    for answer in wrong:
        msg = fails(ex01.q4, answer)
        assert not any(f"period is {p}" in msg or f"stride of {p}" in msg for p in (1, 2, 4, 8))


def test_check_prints_and_records(capsys):
    from cnncourse.exercises import results

    assert ex01.q1.check(right_net) is None          # nothing echoed under the printed line
    assert results()["01.1"] is True
    assert ex01.q1.check(None) is None
    assert "01.1" in capsys.readouterr().out
    assert results()["01.1"] is False
