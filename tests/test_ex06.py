"""Checkers of notebook 06's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)
from keras import layers  # noqa: E402

from exercise_helpers import message, passes  # noqa: E402
from cnncourse.exercises import ex06 as ex  # noqa: E402


NONSENSE = [None, "55", 3.5, np.zeros((2, 2)), [1, 2], ...]


def test_q1_output_side():
    assert passes(ex.q1, lambda size, kernel, stride, pad=0: (size + 2 * pad - kernel) // stride + 1)
    assert "+ 1" in message(ex.q1, lambda s, k, st, p: (s + 2 * p - k) // st)
    assert "both sides" in message(ex.q1, lambda s, k, st, p: (s + p - k) // st + 1)
    assert "padding is ignored" in message(ex.q1, lambda s, k, st, p: (s - k) // st + 1)
    assert "round down" in message(ex.q1, lambda s, k, st, p: -(-(s + 2 * p - k) // st) + 1)
    assert "whole number" in message(ex.q1, lambda s, k, st, p: (s + 2 * p - k) / st + 1)
    assert "raised ZeroDivisionError" in message(ex.q1, lambda s, k, st, p: 1 // 0)
    assert "Pass the function itself" in message(ex.q1, 55)
    assert "not the side" in message(ex.q1, lambda s, k, st, p: 7)
    assert "whole number" in message(ex.q1, lambda s, k, st, p: "55")
    for bad in NONSENSE:
        assert not passes(ex.q1, bad)


def test_q2_saved_by_two_gpus():
    assert passes(ex.q2, 1_413_120)
    assert passes(ex.q2, np.int64(1_413_120))
    assert "only conv2" in message(ex.q2, 307_200)
    assert "conv3 is not split" in message(ex.q2, 1_413_120 + 3 * 3 * 256 * 384 // 2)
    assert "biases" in message(ex.q2, 1_413_120 + 448)
    assert "positive" in message(ex.q2, -1_413_120)
    assert "rounded" in message(ex.q2, 2_378_344)
    assert "not the difference" in message(ex.q2, 12345)
    for bad in NONSENSE:
        assert not passes(ex.q2, bad)


def test_q3_fc6_at_224():
    assert passes(ex.q3, 26_218_496)
    assert "bias" in message(ex.q3, 5 * 5 * 256 * 4096)
    assert "227x227" in message(ex.q3, 37_752_832)
    assert "256 filters" in message(ex.q3, 5 * 5 * 384 * 4096 + 4096)
    assert "side of pool5" in message(ex.q3, 4 * 4 * 256 * 4096 + 4096)
    assert "not fc6" in message(ex.q3, 1)
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
