"""Checkers of notebook 06's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)
from keras import layers  # noqa: E402

from exercise_helpers import fails, message, passes  # noqa: E402
from cnncourse.exercises import ex06 as ex  # noqa: E402


NONSENSE = [None, "55", 3.5, np.zeros((2, 2)), [1, 2], ...]


def right_lrn(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75):
    a = np.asarray(a, dtype="float64")
    c = a.shape[-1]
    padded = np.pad(a ** 2, [(0, 0)] * (a.ndim - 1) + [(depth_radius, depth_radius)])
    window = sum(padded[..., i:i + c] for i in range(2 * depth_radius + 1))
    return a / (bias + alpha * window) ** beta


def loop_lrn(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75):
    """The formula, one channel at a time (another right answer)."""
    a = np.asarray(a, dtype="float64")
    out = np.empty_like(a)
    c = a.shape[-1]
    for ch in range(c):
        lo, hi = max(0, ch - depth_radius), min(c, ch + depth_radius + 1)
        out[..., ch] = a[..., ch] / (bias + alpha * (a[..., lo:hi] ** 2).sum(axis=-1)) ** beta
    return out


def test_q1_reference_is_the_course_layer():
    from cnncourse.layers import LocalResponseNormalization

    for a, r, k, alpha, beta in ex._LRN_CASES:
        layer = LocalResponseNormalization(depth_radius=r, bias=k, alpha=alpha, beta=beta)
        by_layer = keras.ops.convert_to_numpy(layer(a.astype("float32")))
        np.testing.assert_allclose(ex._lrn(a, r, k, alpha, beta), by_layer, rtol=1e-5, atol=1e-6)


def test_q1_right_answers_pass():
    assert passes(ex.q1, right_lrn)
    assert passes(ex.q1, loop_lrn)

    def in_place(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75):   # changes its input: the cases survive
        out = right_lrn(a, depth_radius, bias, alpha, beta)
        a *= 0
        return out
    assert passes(ex.q1, in_place) and passes(ex.q1, right_lrn)
    assert passes(ex.q1, lambda a, *args: right_lrn(a, *args).astype("float32"))


def pytorch_lrn(a, r=2, k=2.0, alpha=1e-4, beta=0.75):
    return right_lrn(a, r, k, alpha / (2 * r + 1), beta)


def roll_lrn(a, r=2, k=2.0, alpha=1e-4, beta=0.75):
    s = a ** 2
    return a / (k + alpha * sum(np.roll(s, d, axis=-1) for d in range(-r, r + 1))) ** beta


def width_lrn(a, r=2, k=2.0, alpha=1e-4, beta=0.75):
    return np.swapaxes(right_lrn(np.swapaxes(a, -1, -2), r, k, alpha, beta), -1, -2)


def one_sided_lrn(a, r=2, k=2.0, alpha=1e-4, beta=0.75):
    c = a.shape[-1]
    padded = np.pad(a ** 2, [(0, 0)] * 3 + [(0, 2 * r)])
    return a / (k + alpha * sum(padded[..., i:i + c] for i in range(2 * r + 1))) ** beta


@pytest.mark.parametrize("wrong, words", [
    (roll_lrn, "wrap around"),
    (pytorch_lrn, "PyTorch"),
    (lambda a, r=2, k=2.0, al=1e-4, b=0.75: a / (k + al * ex._window(a, r, squares=False)) ** b, "squares"),
    (one_sided_lrn, "centred"),
    (lambda a, r=2, k=2.0, al=1e-4, b=0.75: a / (k + al * (ex._window(a, r) - a ** 2)) ** b, "itself"),
    (width_lrn, "along the width"),
    (lambda a, r=2, k=2.0, al=1e-4, b=0.75: a * (k + al * ex._window(a, r)) ** b, "divided"),
    (lambda a, r=2, k=2.0, al=1e-4, b=0.75: a / (k + al * ex._window(a, r)), "beta is missing"),
    (lambda a, r=2, k=2.0, al=1e-4, b=0.75: a / (k + al * ex._window(a, r)) ** -b, "sign is flipped"),
    (lambda a, *args: a, "not the normalized"),
    (lambda a, *args: right_lrn(a, *args)[0], "shape"),
    (lambda a, *args: None, "NumPy array"),
    (lambda a: a, "raised TypeError"),
])
def test_q1_mistakes(wrong, words):
    msg = fails(ex.q1, wrong, words)
    assert "a of shape" in msg or "Pass" in msg or "raised" in msg


def test_q1_mistakes_are_told_apart():
    rows = [values for values, _ in ex._check_lrn.mistakes]
    for i, one in enumerate(rows):
        assert not all(ex._check_lrn.same(v, w) for v, w in zip(one, ex._check_lrn.wants)), i
        for j, other in enumerate(rows[:i]):
            assert not all(ex._check_lrn.same(v, w) for v, w in zip(one, other)), (i, j)


def test_q1_nonsense():
    assert "Pass the function itself" in message(ex.q1, 55)
    for bad in NONSENSE:
        assert not passes(ex.q1, bad)


def test_q2_saved_by_four_gpus():
    from cnncourse.models import alexnet

    one = {layer.name: layer.count_params() for layer in alexnet().layers}
    four = {}
    for name, (c_in, filters, k) in ex._W.items():      # the split layers as Keras builds them with groups=4
        layer = layers.Conv2D(filters, k, groups=4 if name in ex._SPLIT else 1)
        layer.build((None, 13, 13, c_in))
        four[name] = layer.count_params()
    right = sum(one[name] - four[name] for name in ex._W)
    assert right == 2_119_680
    assert passes(ex.q2, right) and passes(ex.q2, np.int64(right)) and passes(ex.q2, float(right))
    assert "two-GPU" in message(ex.q2, 1_413_120)
    assert "only conv2" in message(ex.q2, 460_800)
    assert "conv3 is not split" in message(ex.q2, 2_783_232)
    assert "biases" in message(ex.q2, right + 672)
    assert "a quarter of the weights" in message(ex.q2, 706_560)
    assert "positive" in message(ex.q2, -right)
    assert "not the saving" in message(ex.q2, 12345)
    for bad in NONSENSE + [True]:
        assert not passes(ex.q2, bad)


def test_q3_activations_per_image():
    from cnncourse.models import alexnet

    full = alexnet()
    kept = [layer for layer in full.layers if layer.name.startswith(("conv", "pool", "fc"))]
    assert sorted(layer.name for layer in kept) == sorted(ex._ACTS)
    right = sum(int(np.prod(layer.output.shape[1:])) for layer in kept)
    assert right == ex._ACTS_TOTAL == 781_736
    assert passes(ex.q3, right)
    assert "input image" in message(ex.q3, right + 227 * 227 * 3)
    assert "repeat their inputs" in message(ex.q3, right + 9216 + 8192)
    assert "leave out the input" in message(ex.q3, right + 227 * 227 * 3 + 9216 + 8192)
    assert "poolings and the dense" in message(ex.q3, 650_080)
    assert "fc6, fc7 and fc8" in message(ex.q3, right - 9192)
    assert "three poolings" in message(ex.q3, right - 69_984 - 43_264 - 9_216)
    assert "not bytes" in message(ex.q3, 4 * right)
    assert "one image" in message(ex.q3, 128 * right)
    assert "not the number of values" in message(ex.q3, 5)
    for bad in NONSENSE:
        assert not passes(ex.q3, bad)


def small(first=(48, 7, 2), pool=(3, 2), dropout=0.5, act="relu", dense=256, out=10, inp=(64, 64, 3),
          n_convs=3, softmax=True):
    f, k, s = first
    stack = [keras.Input(inp), layers.Conv2D(f, k, strides=s, padding="same", activation=act),
             layers.MaxPooling2D(pool[0], strides=pool[1], padding="same")]
    for i in range(n_convs - 1):
        stack += [layers.Conv2D(64, 3, padding="same", activation="relu"),
                  layers.MaxPooling2D(pool[0], strides=pool[1], padding="same")]
    stack += [layers.Flatten(), layers.Dense(dense, activation="relu")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(out, activation="softmax" if softmax else None))
    return keras.Sequential(stack)


def test_q4_small_alexnet():
    assert passes(ex.q4, small())
    assert "first convolution" in message(ex.q4, small(first=(48, 3, 2)))
    assert "first convolution" in message(ex.q4, small(first=(48, 7, 1)))
    assert "overlapping" in message(ex.q4, small(pool=(2, 2)))
    assert "Dropout" in message(ex.q4, small(dropout=0))
    assert "ReLU" in message(ex.q4, small(act="tanh"))
    assert "at least 3" in message(ex.q4, small(n_convs=2))
    assert "2,000,000 or fewer" in message(ex.q4, small(dense=4096))
    assert "expected 10" in message(ex.q4, small(out=5))
    assert "expected (64, 64, 3)" in message(ex.q4, small(inp=(32, 32, 3)))
    assert "probabilities" in message(ex.q4, small(softmax=False))
    for bad in NONSENSE:
        assert "Keras model" in message(ex.q4, bad) or "No answer" in message(ex.q4, bad)
