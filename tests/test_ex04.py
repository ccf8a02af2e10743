"""Checkers of notebook 04's exercises: right answers pass (and agree with Keras / cnncourse.losses),
typical mistakes get the message that names them, nonsense never crashes."""
import math

import keras
import numpy as np
import pytest
from keras import layers

from exercise_helpers import fails, passes  # noqa: E402
from cnncourse import losses
from cnncourse.exercises import ex04

NONSENSE = [None, "1.6", True, [1, 2, 3], np.zeros((3, 3)), np.array([np.nan]), {"a": 1}, Ellipsis,
            float("inf")]


@pytest.mark.parametrize("q", [ex04.q1, ex04.q2, ex04.q3, ex04.q4, ex04.q5])
@pytest.mark.parametrize("answer", NONSENSE, ids=lambda a: type(a).__name__)
def test_nonsense_is_refused_without_crashing(q, answer):
    ok, message = q.evaluate(answer)
    assert not ok and isinstance(message, str) and message


def test_keys_and_registry():
    assert [q.key for q in (ex04.q1, ex04.q2, ex04.q3, ex04.q4, ex04.q5)] == ["04.1", "04.2", "04.3", "04.4", "04.5"]


# ----------------------------------------------------------------- 04.1 softmax

def test_q1_softmax():
    z = ex04.LOGITS_Q1
    right = keras.ops.convert_to_numpy(keras.ops.softmax(z.astype("float32")))
    assert passes(ex04.q1, right)
    assert passes(ex04.q1, list(np.exp(z) / np.exp(z).sum()))
    fails(ex04.q1, np.exp(z), "exponentials", "sum to 1")
    fails(ex04.q1, z / z.sum(), "exponentiates first")
    fails(ex04.q1, losses.softmax(-z), "sign")
    fails(ex04.q1, np.sort(right), "wrong order")
    fails(ex04.q1, np.full(4, 0.25), "not the softmax")
    fails(ex04.q1, right[:3], "shape")
    fails(ex04.q1, right * 2, "sum to")


# ----------------------------------------------------------------- 04.2 cross-entropy

def test_q2_cross_entropy():
    p, c = ex04.PRED_Q2, ex04.TRUE_CLASS_Q2
    keras_value = float(keras.losses.SparseCategoricalCrossentropy()(np.array([c]), p[None].astype("float32")))
    assert passes(ex04.q2, keras_value)
    assert passes(ex04.q2, np.float32(-np.log(p[c])))
    assert passes(ex04.q2, np.array([-np.log(p[c])]))
    fails(ex04.q2, np.log(p[c]), "negative")
    fails(ex04.q2, -np.log10(p[c]), "natural logarithm")
    fails(ex04.q2, -np.log(p.max()), "true class")
    fails(ex04.q2, -np.log(p[c + 1]), "numbered from 0")
    fails(ex04.q2, 1 - p[c], "logarithm")
    fails(ex04.q2, -np.log(p).sum(), "every probability")
    fails(ex04.q2, 0.0, "not the cross-entropy")


# ----------------------------------------------------------------- 04.3 one gradient step

def test_q3_gradient_step_agrees_with_keras_sgd():
    w = keras.Variable(ex04.W_Q3)
    import tensorflow as tf
    with tf.GradientTape() as tape:
        loss = (w * ex04.X_Q3 - ex04.Y_Q3) ** 2
    grad = tape.gradient(loss, w)
    keras.optimizers.SGD(ex04.LR_Q3).apply_gradients([(grad, w)])
    assert passes(ex04.q3, float(keras.ops.convert_to_numpy(w)))
    assert passes(ex04.q3, 1.1)


def test_q3_typical_mistakes():
    w, x, y, lr = ex04.W_Q3, ex04.X_Q3, ex04.Y_Q3, ex04.LR_Q3
    g = 2 * (w * x - y) * x
    fails(ex04.q3, w + lr * g, "uphill")
    fails(ex04.q3, w - lr * (w * x - y) * x, "power rule")
    fails(ex04.q3, w - lr * 2 * (w * x - y), "chain rule")
    fails(ex04.q3, w - g, "learning rate")
    fails(ex04.q3, g, "gradient")
    fails(ex04.q3, 0.0, "not the weight")


# ----------------------------------------------------------------- 04.4 Dense after Flatten

def test_q4_matches_keras():
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(16, 5), layers.MaxPooling2D(2),
                              layers.Flatten(), layers.Dense(64)])
    right = model.layers[-1].count_params()
    assert passes(ex04.q4, right)
    assert passes(ex04.q4, float(right))
    fails(ex04.q4, right - 64, "bias")
    fails(ex04.q4, 14 * 14 * 16, "flattened vector")
    fails(ex04.q4, 28 * 28 * 16 * 64 + 64, "pooling")
    fails(ex04.q4, 16 * 16 * 16 * 64 + 64, "same")
    fails(ex04.q4, right + 5 * 5 * 3 * 16 + 16, "convolution's parameters")
    fails(ex04.q4, 14 * 14 * 64 + 64, "channels")
    fails(ex04.q4, 14 * 14 * 16 * 64 + 1, "one bias per unit")
    fails(ex04.q4, 12345, "not the dense")
    fails(ex04.q4, 200768.5, "whole number")


# ----------------------------------------------------------------- 04.5 triplet loss

def test_q5_matches_reference_loss():
    right = losses.triplet_loss(ex04.A_Q5, ex04.P_Q5, ex04.N_Q5, margin=ex04.MARGIN_Q5, squared=True)
    assert passes(ex04.q5, right)
    assert right == pytest.approx(0.5)      # (max(2 - 5 + 4, 0) + max(1 - 9 + 4, 0)) / 2


def test_q5_typical_mistakes():
    a, p, n, m = ex04.A_Q5, ex04.P_Q5, ex04.N_Q5, ex04.MARGIN_Q5
    d_ap, d_an = ((a - p) ** 2).sum(1), ((a - n) ** 2).sum(1)
    fails(ex04.q5, np.mean(d_ap - d_an + m), "max(..., 0)")
    fails(ex04.q5, np.maximum(d_ap - d_an + m, 0).sum(), "mean")
    fails(ex04.q5, losses.triplet_loss(a, p, n, margin=m, squared=False), "squared")
    fails(ex04.q5, np.maximum(d_an - d_ap + m, 0).mean(), "swapped")
    fails(ex04.q5, -1.0, "never negative")
    fails(ex04.q5, math.pi, "not the mean")
