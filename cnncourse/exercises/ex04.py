"""Exercises of notebook 04, *Fully connected layers and the training process*.

In the notebook::

    from cnncourse.exercises import ex04 as ex
    ex.q1.check(probs_by_hand)        # softmax of LOGITS_Q1, an array of shape (4,)
    ex.q2.check(ce_by_hand)           # cross-entropy of PRED_Q2 for TRUE_CLASS_Q2, a float
    ex.q3.check(w_after_step)         # the weight after one gradient descent step, a float
    ex.q4.check(dense_after_flatten)  # parameters of the Dense layer after Flatten, an int
    ex.q5.check(triplet_by_hand)      # mean triplet loss of two triplets, a float

The numbers of each exercise are module constants (``LOGITS_Q1``, ...), so the
notebook and the checker cannot drift apart. Each checker returns ``None`` when
the answer is right, or what is wrong, without giving the answer away.

>>> q2.evaluate(-np.log10(PRED_Q2[TRUE_CLASS_Q2]))[1]  # doctest: +ELLIPSIS
'...natural logarithm...'
"""
from __future__ import annotations

import math

import numpy as np

from cnncourse.exercises import Exercise, ValueProblem

__all__ = ["q1", "q2", "q3", "q4", "q5",
           "LOGITS_Q1", "PRED_Q2", "TRUE_CLASS_Q2", "W_Q3", "X_Q3", "Y_Q3", "LR_Q3",
           "A_Q5", "P_Q5", "N_Q5", "MARGIN_Q5"]

# --------------------------------------------------------------------------- the numbers

LOGITS_Q1 = np.array([2.0, 1.0, 0.1, -1.0])

PRED_Q2 = np.array([0.1, 0.6, 0.2, 0.1])
TRUE_CLASS_Q2 = 2

W_Q3, X_Q3, Y_Q3, LR_Q3 = 0.5, 3.0, 2.5, 0.1

A_Q5 = np.array([[0.0, 1.0], [0.0, 0.0]])
P_Q5 = np.array([[1.0, 2.0], [1.0, 0.0]])
N_Q5 = np.array([[2.0, 0.0], [3.0, 0.0]])
MARGIN_Q5 = 4.0


# --------------------------------------------------------------------------- 04.1 softmax

def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


_PROBS = _softmax(LOGITS_Q1)


def _softmax_otherwise(got):
    if abs(got.sum() - 1) > 1e-3:
        return f"Your probabilities sum to {got.sum():.4f}, not 1."
    return ("These numbers sum to 1 but are not the softmax of LOGITS_Q1: "
            "each should be exp(z_i) divided by the sum of exp(z_j).")


_check_softmax = ValueProblem("probs_by_hand", _PROBS, [
    (lambda got: np.allclose(got, np.exp(LOGITS_Q1), atol=1e-3),
     "These are the exponentials of the logits; they do not sum to 1 yet. One more step."),
    (lambda got: np.allclose(got, LOGITS_Q1 / LOGITS_Q1.sum(), atol=1e-3),
     "You divided the logits by their sum. Logits can be negative, so that is no probability: "
     "softmax exponentiates first."),
    (_softmax(-LOGITS_Q1), "The largest logit should get the largest probability; check the sign inside the exponential."),
    (lambda got: np.allclose(np.sort(got), np.sort(_PROBS), atol=1e-4),
     "The right values, in the wrong order: probability i belongs to logit i."),
    (lambda got: np.any(got < 0), "Probabilities cannot be negative."),
], otherwise=_softmax_otherwise, kind="array", tol=1e-4, shape=LOGITS_Q1.shape)


q1 = Exercise(
    "04.1",
    "Compute the softmax of LOGITS_Q1 = [2.0, 1.0, 0.1, -1.0] with NumPy (np.exp, sum), "
    "without keras.ops.softmax.",
    _check_softmax,
    hint="p_i = exp(z_i) / sum_j exp(z_j). Subtracting max(z) first changes nothing but avoids overflow.",
    solution=r"""z1 = ex.LOGITS_Q1
e1 = np.exp(z1 - z1.max())
probs_by_hand = e1 / e1.sum()""",
    expects="a NumPy array of 4 probabilities",
    level=1,
)


# --------------------------------------------------------------------------- 04.2 cross-entropy

_P, _RIGHT_CE = PRED_Q2, -math.log(PRED_Q2[TRUE_CLASS_Q2])

_check_ce = ValueProblem("ce_by_hand", _RIGHT_CE, [
    (-_RIGHT_CE, "Your loss is negative. A loss must be >= 0 and small for good predictions: "
                 "cross-entropy is MINUS the logarithm."),
    ((-math.log10(_P[TRUE_CLASS_Q2]), -math.log2(_P[TRUE_CLASS_Q2])),
     "Right idea, wrong logarithm: Keras uses the natural logarithm (np.log)."),
    (-math.log(_P.max()), "That is the loss the prediction would have if the most probable class were the true one. "
                          "Use the probability given to the TRUE class."),
    ((-math.log(_P[TRUE_CLASS_Q2 - 1]), -math.log(_P[TRUE_CLASS_Q2 + 1])),
     "Off by one class: classes are numbered from 0, so class 2 is the third entry."),
    (1 - _P[TRUE_CLASS_Q2], "1 - p is not the cross-entropy; the cross-entropy takes a logarithm."),
    ((-np.sum(np.log(_P)), -np.mean(np.log(_P))),
     "You took the logarithm of every probability. With a one-hot target only the true class's "
     "term survives."),
], otherwise="Not the cross-entropy of PRED_Q2 for class TRUE_CLASS_Q2; write -sum_i y_i log p_i with a one-hot y.",
    kind="number", tol=1e-3)


q2 = Exercise(
    "04.2",
    "A network predicts PRED_Q2 = [0.1, 0.6, 0.2, 0.1] for an image whose true class is "
    "TRUE_CLASS_Q2 = 2. Compute its categorical cross-entropy by hand (a float).",
    _check_ce,
    hint="With a one-hot target, -sum_i y_i log p_i keeps a single term.",
    solution=r"""ce_by_hand = -np.log(ex.PRED_Q2[ex.TRUE_CLASS_Q2])""",
    expects="a float",
    level=1,
)


# --------------------------------------------------------------------------- 04.3 one gradient step

_ERR = W_Q3 * X_Q3 - Y_Q3
_GRAD = 2 * _ERR * X_Q3

_check_step = ValueProblem("w_after_step", W_Q3 - LR_Q3 * _GRAD, [
    (W_Q3 + LR_Q3 * _GRAD, "You stepped uphill: gradient descent moves AGAINST the gradient, so the loss grew."),
    (W_Q3 - LR_Q3 * _ERR * X_Q3, "Close: the derivative of (w*x - y)**2 has a factor you dropped (the power rule)."),
    (W_Q3 - LR_Q3 * 2 * _ERR, "Close: you forgot the chain rule's inner derivative d(w*x - y)/dw."),
    (W_Q3 - _GRAD, "That step used a learning rate of 1; multiply the gradient by LR_Q3."),
    ((_GRAD, -_GRAD), "That is the gradient (or its negative); the answer is the NEW weight after the step."),
], otherwise="Not the weight after one step of w <- w - lr * dL/dw with L(w) = (w*x - y)**2.", kind="number", tol=1e-6)


q3 = Exercise(
    "04.3",
    "A one-weight model predicts y_hat = w * x with loss L(w) = (y_hat - y)**2. With w = W_Q3 = 0.5, "
    "x = X_Q3 = 3.0, y = Y_Q3 = 2.5 and learning rate LR_Q3 = 0.1, compute the weight after one "
    "step of gradient descent (a float).",
    _check_step,
    hint="dL/dw = 2 (w x - y) x; then w <- w - lr * dL/dw.",
    solution=r"""grad3 = 2 * (ex.W_Q3 * ex.X_Q3 - ex.Y_Q3) * ex.X_Q3
w_after_step = ex.W_Q3 - ex.LR_Q3 * grad3""",
    expects="a float",
    level=1,
)


# --------------------------------------------------------------------------- 04.4 Dense after Flatten

# input 32x32x3 -> Conv2D(16, 5) valid -> MaxPooling2D(2) -> Flatten -> Dense(64)
_H, _C_IN, _K, _F, _POOL, _UNITS = 32, 3, 5, 16, 2, 64


_CONV = _H - _K + 1                       # 28
_FLAT = (_CONV // _POOL) ** 2 * _F        # 14*14*16 = 3136

_check_dense = ValueProblem("dense_after_flatten", _FLAT * _UNITS + _UNITS, [
    (_FLAT, "That is the length of the flattened vector; the question asks for the Dense layer's parameters."),
    (_FLAT * _UNITS, "You counted the weights only: every unit also has a bias."),
    ((_CONV * _CONV * _F * (_UNITS + 1), _CONV * _CONV * _F * _UNITS + _UNITS),
     "You forgot the pooling layer: it shrinks the feature maps before Flatten."),
    ((_H // _POOL) ** 2 * _F * _UNITS + _UNITS, "That assumes the convolution keeps the 32x32 size ('same' padding). "
                                                "With padding='valid' a 5x5 kernel loses 4 pixels in each direction."),
    (_FLAT * _UNITS + _UNITS + _K * _K * _C_IN * _F + _F,
     "That also counts the convolution's parameters; only the Dense layer's are asked."),
    ((_CONV // _POOL) ** 2 * _UNITS + _UNITS,
     "You forgot the channels: Flatten keeps all 16 feature maps, one value per pixel per map."),
    (_FLAT * _UNITS + 1, "A Dense layer has one bias per unit, not one for the layer."),
], otherwise="Not the Dense layer's parameter count. Work out the shape after each layer "
             "(conv: n - k + 1; pool: halves), flatten it, then inputs * units + units.")


q4 = Exercise(
    "04.4",
    "An input of shape (32, 32, 3) goes through Conv2D(16, 5, padding='valid'), MaxPooling2D(2), "
    "Flatten and Dense(64). How many parameters does the Dense layer have? Work it out by hand (an int); "
    "build the model afterwards to see if Keras agrees.",
    _check_dense,
    hint="Find the shape after the convolution (32 - 5 + 1), then after pooling, then its length after Flatten.",
    solution=r"""dense_after_flatten = (14 * 14 * 16) * 64 + 64   # (32 - 5 + 1) // 2 = 14 pixels a side, 16 maps""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 04.5 triplet loss

def _triplet_terms(squared=True):
    d_ap = np.sum((A_Q5 - P_Q5) ** 2, axis=1)
    d_an = np.sum((A_Q5 - N_Q5) ** 2, axis=1)
    if not squared:
        d_ap, d_an = np.sqrt(d_ap), np.sqrt(d_an)
    return d_ap - d_an + MARGIN_Q5


_TERMS, _PLAIN = _triplet_terms(squared=True), _triplet_terms(squared=False)

_check_triplet = ValueProblem("triplet_by_hand", float(np.mean(np.maximum(_TERMS, 0))), [
    (float(np.mean(_TERMS)), "A triplet whose negative is already far enough should cost nothing: "
                             "you forgot the max(..., 0)."),
    (float(np.sum(np.maximum(_TERMS, 0))), "That is the sum over the two triplets; the loss is their mean."),
    ((float(np.mean(np.maximum(_PLAIN, 0))), float(np.mean(_PLAIN))),
     "You used plain Euclidean distances; this exercise (like FaceNet) uses SQUARED distances."),
    (float(np.mean(np.maximum(-_TERMS + 2 * MARGIN_Q5, 0))),     # d_an - d_ap + margin
     "Positive and negative are swapped: the loss is small when the anchor is CLOSE to the "
     "positive, so d(a, p) enters with a plus sign."),
    (lambda value: value < 0, "A triplet loss is never negative."),
], otherwise="Not the mean of max(d(a,p) - d(a,n) + margin, 0) with squared distances over the two triplets.",
    kind="number", tol=1e-4)


q5 = Exercise(
    "04.5",
    "Two triplets of 2-D embeddings: anchors A_Q5, positives P_Q5, negatives N_Q5 (one triplet per row), "
    "margin MARGIN_Q5 = 4. Compute the mean triplet loss with squared Euclidean distances by hand "
    "(a float), without cnncourse.losses.",
    _check_triplet,
    hint="Per triplet: max(||a-p||^2 - ||a-n||^2 + margin, 0); then the mean over the rows.",
    solution=r"""d_ap5 = ((ex.A_Q5 - ex.P_Q5) ** 2).sum(axis=1)
d_an5 = ((ex.A_Q5 - ex.N_Q5) ** 2).sum(axis=1)
triplet_by_hand = np.maximum(d_ap5 - d_an5 + ex.MARGIN_Q5, 0).mean()""",
    expects="a float",
    level=1,
)
