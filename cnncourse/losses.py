"""Reference loss functions in NumPy: what Keras computes, written out so it can be read.

Every function here has a Keras counterpart (except :func:`triplet_loss`, which
Keras does not ship) and gives the same number, which ``tests/test_losses.py``
checks. They are written for reading, not for training: NumPy has no gradients.

Conventions, the same as Keras's loss classes with their default reduction:

* ``y_true`` and ``y_pred`` hold a batch along the first axis;
* ``reduction="mean"`` (the default) returns one number, the mean over the batch
  of each example's loss (Keras's ``"sum_over_batch_size"``);
  ``reduction="none"`` returns each example's loss, shape ``(batch,)``.
* Probabilities are clipped to ``[epsilon, 1 - epsilon]`` before the logarithm,
  with Keras's ``epsilon = 1e-7``, so that ``log(0)`` never happens;
  ``from_logits=True`` avoids the clipping altogether with a stable formula.

Example
-------
>>> import numpy as np
>>> softmax(np.array([2.0, 1.0, 0.1])).round(3)
array([0.659, 0.242, 0.099])
>>> round(float(sparse_categorical_crossentropy([0], [[0.7, 0.2, 0.1]])), 4)   # -ln 0.7
0.3567
"""
from __future__ import annotations

import numpy as np

from cnncourse.checks import check_bool, check_number, is_whole

EPSILON = 1e-7
_REDUCTIONS = ("mean", "none")


# --------------------------------------------------------------------------- softmax

def softmax(logits, axis=-1):
    """Turn scores ("logits") into probabilities: ``exp(z_i) / sum_j exp(z_j)`` along ``axis``.

    Computed as ``exp(z_i - max z) / sum_j exp(z_j - max z)``: subtracting the
    largest score changes nothing mathematically (it cancels between numerator
    and denominator) but keeps ``exp`` from overflowing for large scores.

    Parameters
    ----------
    logits : array_like of real numbers, any shape with at least one axis
    axis : int
        The axis that holds the classes.

    Returns
    -------
    ndarray of the same shape, non-negative, summing to 1 along ``axis``.

    >>> softmax([1000.0, 0.0]).round(6)      # the naive formula gives nan here
    array([1., 0.])
    """
    z = _as_real_array(logits, "logits")
    _check_axis(axis, z)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(logits, axis=-1):
    """``log(softmax(logits))`` computed stably: ``z_i - max z - log sum_j exp(z_j - max z)``.

    Never ``-inf`` for finite scores, even where ``softmax`` rounds to 0.

    >>> log_softmax([1000.0, 0.0]).round(3)
    array([    0., -1000.])
    """
    z = _as_real_array(logits, "logits")
    _check_axis(axis, z)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# --------------------------------------------------------------------------- losses

def binary_crossentropy(y_true, y_pred, from_logits=False, reduction="mean", epsilon=EPSILON):
    """Binary cross-entropy: ``-[y log p + (1 - y) log(1 - p)]``, averaged over the last axis.

    For yes/no targets (is this digit a zero?), one probability per output.
    Matches ``keras.losses.BinaryCrossentropy``.

    Parameters
    ----------
    y_true : array_like, shape (batch,) or (batch, k), values in [0, 1] (usually 0 or 1)
    y_pred : array_like, same shape: probabilities in [0, 1], or any real scores
        ("logits", before the sigmoid) when ``from_logits=True``
    from_logits : bool
        With logits ``z`` the loss is computed as
        ``max(z, 0) - z y + log(1 + exp(-|z|))``, which equals the formula above
        with ``p = sigmoid(z)`` but never overflows or takes ``log(0)``.
    reduction : "mean" or "none"
    epsilon : float
        Probabilities are clipped to ``[epsilon, 1 - epsilon]`` (``from_logits=False`` only).

    Returns
    -------
    float (``"mean"``) or ndarray of shape (batch,) (``"none"``)

    >>> round(float(binary_crossentropy([1, 0], [0.9, 0.2])), 4)   # mean of -ln .9 and -ln .8
    0.1643
    """
    y, p = _targets_and_predictions(y_true, y_pred)
    check_bool(from_logits, "from_logits")
    _check_targets_01(y, "y_true")
    if from_logits:
        per_value = np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
    else:
        _check_probabilities(p)
        p = np.clip(p, _check_epsilon(epsilon), 1 - epsilon)
        per_value = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    per_example = per_value if per_value.ndim == 1 else per_value.mean(axis=-1)
    return _reduce(per_example, reduction)


def mean_squared_error(y_true, y_pred, reduction="mean"):
    """Mean squared error: ``mean_j (y_j - p_j)^2`` over the last axis.

    The loss of regression. Matches ``keras.losses.MeanSquaredError``.

    Parameters
    ----------
    y_true, y_pred : array_like, same shape (batch,) or (batch, k)
    reduction : "mean" or "none"

    Returns
    -------
    float (``"mean"``) or ndarray of shape (batch,) (``"none"``)

    >>> float(mean_squared_error([[0.0, 1.0]], [[0.5, 0.5]]))
    0.25
    """
    y, p = _targets_and_predictions(y_true, y_pred)
    sq = (y - p) ** 2
    per_example = sq if sq.ndim == 1 else sq.mean(axis=-1)
    return _reduce(per_example, reduction)


def categorical_crossentropy(y_true, y_pred, from_logits=False, reduction="mean", epsilon=EPSILON):
    """Categorical cross-entropy: ``-sum_i y_i log p_i`` for one-hot (or soft) targets.

    With a one-hot ``y_true`` it is ``-log`` of the probability given to the
    true class. Matches ``keras.losses.CategoricalCrossentropy``.

    Parameters
    ----------
    y_true : array_like, shape (batch, classes), each row a distribution (one-hot or soft)
    y_pred : array_like, shape (batch, classes): probabilities (rows of a softmax),
        or logits (scores before the softmax) when ``from_logits=True``
    from_logits : bool
        Use the stable ``-sum_i y_i log_softmax(z)_i`` (see :func:`log_softmax`).
        Prefer it: it is exact where the probability of the true class
        underflows to 0, which the clipped formula cannot represent.
    reduction : "mean" or "none"
    epsilon : float
        From probabilities, like Keras: rows are rescaled to sum to 1, then
        clipped to ``[epsilon, 1 - epsilon]`` before the logarithm.

    Returns
    -------
    float (``"mean"``) or ndarray of shape (batch,) (``"none"``)

    >>> round(float(categorical_crossentropy([[0, 1, 0]], [[0.2, 0.5, 0.3]])), 4)   # -ln 0.5
    0.6931
    """
    y, p = _targets_and_predictions(y_true, y_pred)
    if y.ndim != 2:
        raise ValueError(f"y_true must have shape (batch, classes), got shape {y.shape}; "
                         "for integer labels use sparse_categorical_crossentropy")
    check_bool(from_logits, "from_logits")
    if np.any(y < 0):
        raise ValueError("y_true must hold non-negative class weights (one-hot rows), found negative values")
    if from_logits:
        log_p = log_softmax(p, axis=-1)
    else:
        _check_probabilities(p)
        p = p / np.sum(p, axis=-1, keepdims=True)
        log_p = np.log(np.clip(p, _check_epsilon(epsilon), 1 - epsilon))
    return _reduce(-np.sum(y * log_p, axis=-1), reduction)


def sparse_categorical_crossentropy(labels, y_pred, from_logits=False, reduction="mean", epsilon=EPSILON):
    """Categorical cross-entropy with integer labels: ``-log p[label]``.

    The same number as :func:`categorical_crossentropy` with one-hot targets,
    without building them. Matches ``keras.losses.SparseCategoricalCrossentropy``.

    Parameters
    ----------
    labels : array_like of ints, shape (batch,), each in ``0 .. classes - 1``
    y_pred : array_like, shape (batch, classes): probabilities or (``from_logits``) logits
    from_logits, reduction, epsilon : see :func:`categorical_crossentropy`

    Returns
    -------
    float (``"mean"``) or ndarray of shape (batch,) (``"none"``)

    >>> round(float(sparse_categorical_crossentropy([2], [[0.0, 0.0, 0.0]], from_logits=True)), 4)  # ln 3
    1.0986
    """
    p = _as_real_array(y_pred, "y_pred")
    if p.ndim != 2:
        raise ValueError(f"y_pred must have shape (batch, classes), got shape {p.shape}")
    labels = _check_labels(labels, len(p), p.shape[1])
    one_hot = np.eye(p.shape[1])[labels]
    return categorical_crossentropy(one_hot, p, from_logits=from_logits,
                                    reduction=reduction, epsilon=epsilon)


def triplet_loss(anchor, positive, negative, margin=1.0, squared=True, reduction="mean"):
    """Triplet loss: ``max(d(a, p) - d(a, n) + margin, 0)`` for each triplet.

    ``a`` (anchor) and ``p`` (positive) are embeddings of two examples of the
    same class, ``n`` (negative) of another class. The loss is zero once the
    negative is farther from the anchor than the positive by at least
    ``margin``; otherwise it pulls ``a`` and ``p`` together and pushes ``n`` away.

    Distances: ``squared=True`` (the default) uses the *squared* Euclidean
    distance ``d(x, y) = sum_j (x_j - y_j)^2``, as in FaceNet (Schroff et al., 2015);
    ``squared=False`` uses the plain Euclidean distance ``sqrt(sum_j (x_j - y_j)^2)``.
    The margin is measured in the same unit as the distance.

    Parameters
    ----------
    anchor, positive, negative : array_like, shape (batch, dim), the same for all three
    margin : float >= 0
    squared : bool
    reduction : "mean" or "none"

    Returns
    -------
    float (``"mean"``) or ndarray of shape (batch,) (``"none"``)

    >>> a, p, n = [[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.5]]
    >>> float(triplet_loss(a, p, n, margin=1.0))                 # 1 - 2.25 + 1
    0.0
    >>> float(triplet_loss(a, p, n, margin=1.0, squared=False))  # 1 - 1.5 + 1
    0.5
    """
    a = _as_real_array(anchor, "anchor")
    if a.ndim != 2:
        raise ValueError(f"anchor must have shape (batch, dim), got shape {a.shape}")
    p = _as_real_array(positive, "positive")
    n = _as_real_array(negative, "negative")
    for name, arr in (("positive", p), ("negative", n)):
        if arr.shape != a.shape:
            raise ValueError(f"{name} must have the anchor's shape {a.shape}, got shape {arr.shape}")
    margin = check_number(margin, "margin", 0)
    check_bool(squared, "squared")
    d_ap = pair_distance(a, p, squared=squared)
    d_an = pair_distance(a, n, squared=squared)
    return _reduce(np.maximum(d_ap - d_an + margin, 0.0), reduction)


def pair_distance(x, y, squared=True):
    """Row-by-row Euclidean distance between ``x`` and ``y``, shape (batch, dim) -> (batch,).

    Squared (``sum_j (x_j - y_j)^2``) unless ``squared=False``.

    >>> pair_distance([[0.0, 0.0]], [[3.0, 4.0]], squared=False)
    array([5.])
    """
    x = _as_real_array(x, "x")
    y = _as_real_array(y, "y")
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"x and y must both have shape (batch, dim), got {x.shape} and {y.shape}")
    check_bool(squared, "squared")
    sq = np.sum((x - y) ** 2, axis=-1)
    return sq if squared else np.sqrt(sq)


# --------------------------------------------------------------------------- checks

def _as_real_array(values, name):
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (a batch), got a single number")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _targets_and_predictions(y_true, y_pred):
    y = _as_real_array(y_true, "y_true")
    p = _as_real_array(y_pred, "y_pred")
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {y.shape} and {p.shape}")
    if p.ndim > 2:
        raise ValueError(f"y_pred must have shape (batch,) or (batch, k), got shape {p.shape}")
    return y, p


def _check_axis(axis, arr):
    message = (f"axis must be an int in [{-arr.ndim}, {arr.ndim - 1}] for an array "
               f"of {arr.ndim} axes, got {axis!r}")
    if not is_whole(axis):
        raise TypeError(message)
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(message)


def _check_epsilon(epsilon):
    return check_number(epsilon, "epsilon", 0, 0.5, high_open=True)


def _check_probabilities(p):
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"y_pred must hold probabilities in [0, 1] (found values from {p.min():.3g} "
                         f"to {p.max():.3g}); if these are scores before the softmax/sigmoid, "
                         "pass from_logits=True")


def _check_targets_01(y, name):
    if np.any(y < 0) or np.any(y > 1):
        raise ValueError(f"{name} must hold targets in [0, 1] (usually 0 or 1), "
                         f"found values from {y.min():.3g} to {y.max():.3g}")


def _check_labels(labels, batch, classes):
    if labels is None or isinstance(labels, (str, bytes)):
        raise TypeError(f"labels must be an array of ints, got {type(labels).__name__}")
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) != batch:
        raise ValueError(f"labels must have shape ({batch},), one per row of y_pred, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"labels must be whole numbers (class indices), got dtype {arr.dtype}")
    if np.any(arr < 0) or np.any(arr >= classes):
        raise ValueError(f"labels must be class indices in 0..{classes - 1}, "
                         f"got values from {arr.min()} to {arr.max()}")
    return arr


def _reduce(per_example, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "none":
        return per_example
    return float(np.mean(per_example))
