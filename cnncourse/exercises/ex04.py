"""Exercises of notebook 04, *Fully connected layers and the training process*.

In the notebook::

    from cnncourse.exercises import ex04 as ex
    ex.q1.check(dense_after_flatten)  # 04.1 ★: parameters of the Dense layer after Flatten, an int
    ex.q2.check(w_after_step)         # 04.2 ★: the weight after one gradient descent step, a float
    ex.q3.check(backprop)             # 04.3 ★★★: backprop(x, y, W1, b1, W2, b2) through Dense + ReLU +
                                      #   Dense + softmax + cross-entropy -> (dW1, db1, dW2, db2)
    ex.q4.check(train_by_hand)        # 04.4 ★★: train_by_hand(x, y, W1, b1, W2, b2, lr, steps), plain
                                      #   gradient descent with the gradients of 04.3 -> the trained weights

The numbers of the hand-worked exercises are module constants (``W_Q2``, ...), so the
notebook and the checker cannot drift apart. 04.3 and 04.4 are checked against the NumPy
references of this module (:func:`mlp_loss` is the loss they differentiate; the tests check
the reference gradient against central differences and ``tf.GradientTape``). Each checker
returns ``None`` when the answer is right, or what is wrong, without giving the answer away.

>>> q2.evaluate(W_Q2 + LR_Q2 * 2 * (W_Q2 * X_Q2 - Y_Q2) * X_Q2)[1]  # doctest: +ELLIPSIS
'You stepped uphill...'
"""
from __future__ import annotations

import numpy as np

from cnncourse import losses
from cnncourse.exercises import Exercise, ValueProblem, expect_array, expect_callable, try_call

__all__ = ["q1", "q2", "q3", "q4", "W_Q2", "X_Q2", "Y_Q2", "LR_Q2", "mlp_loss", "toy_problem"]

# --------------------------------------------------------------------------- the numbers

W_Q2, X_Q2, Y_Q2, LR_Q2 = 0.5, 3.0, 2.5, 0.1


# --------------------------------------------------------------------------- 04.1 Dense after Flatten

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


q1 = Exercise(
    "04.1",
    "An input of shape (32, 32, 3) goes through Conv2D(16, 5, padding='valid'), MaxPooling2D(2), "
    "Flatten and Dense(64). How many parameters does the Dense layer have? Work it out by hand (an int); "
    "build the model afterwards to see if Keras agrees.",
    _check_dense,
    hint="Find the shape after the convolution (32 - 5 + 1), then after pooling, then its length after Flatten.",
    solution=r"""dense_after_flatten = (14 * 14 * 16) * 64 + 64   # (32 - 5 + 1) // 2 = 14 pixels a side, 16 maps""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 04.2 one gradient step

_ERR = W_Q2 * X_Q2 - Y_Q2
_GRAD = 2 * _ERR * X_Q2

_check_step = ValueProblem("w_after_step", W_Q2 - LR_Q2 * _GRAD, [
    (W_Q2 + LR_Q2 * _GRAD, "You stepped uphill: gradient descent moves AGAINST the gradient, so the loss grew."),
    (W_Q2 - LR_Q2 * _ERR * X_Q2, "Close: the derivative of (w*x - y)**2 has a factor you dropped (the power rule)."),
    (W_Q2 - LR_Q2 * 2 * _ERR, "Close: you forgot the chain rule's inner derivative d(w*x - y)/dw."),
    (W_Q2 - _GRAD, "That step used a learning rate of 1; multiply the gradient by LR_Q2."),
    ((_GRAD, -_GRAD), "That is the gradient (or its negative); the answer is the NEW weight after the step."),
], otherwise="Not the weight after one step of w <- w - lr * dL/dw with L(w) = (w*x - y)**2.", kind="number", tol=1e-6)


q2 = Exercise(
    "04.2",
    "A one-weight model predicts y_hat = w * x with loss L(w) = (y_hat - y)**2. With w = W_Q2 = 0.5, "
    "x = X_Q2 = 3.0, y = Y_Q2 = 2.5 and learning rate LR_Q2 = 0.1, compute the weight after one "
    "step of gradient descent (a float).",
    _check_step,
    hint="dL/dw = 2 (w x - y) x; then w <- w - lr * dL/dw.",
    solution=r"""grad_q2 = 2 * (ex.W_Q2 * ex.X_Q2 - ex.Y_Q2) * ex.X_Q2
w_after_step = ex.W_Q2 - ex.LR_Q2 * grad_q2""",
    expects="a float",
    level=1,
)


# --------------------------------------------------------------------------- 04.3 backprop by hand

def _forward(x, W1, b1, W2, b2):
    a = x @ W1 + b1                        # first Dense layer
    h = np.maximum(a, 0.0)                 # ReLU
    z = h @ W2 + b2                        # second Dense layer: the logits
    return a, h, z, losses.softmax(z, axis=-1)


def mlp_loss(x, y, W1, b1, W2, b2):
    """The loss of exercises 04.3 and 04.4: mean categorical cross-entropy of ``softmax(relu(x W1 + b1) W2 + b2)``.

    ``x``: (batch, inputs); ``y``: integer labels (batch,); ``W1``: (inputs, hidden), ``b1``: (hidden,),
    ``W2``: (hidden, classes), ``b2``: (classes,). Use it for a numeric gradient of your backprop.

    >>> x, y, W1, b1, W2, b2 = toy_problem()
    >>> round(mlp_loss(x, y, W1, b1, W2, b2), 3)
    1.179
    """
    x, W1, b1, W2, b2 = (np.asarray(v, dtype=float) for v in (x, W1, b1, W2, b2))
    y = np.asarray(y, dtype=int)
    z = _forward(x, W1, b1, W2, b2)[2]
    top = z.max(axis=1, keepdims=True)              # -ln p_y = ln sum_j exp(z_j) - z_y, computed safely
    log_sum = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_sum - z[np.arange(len(y)), y]))


def toy_problem(n=60, hidden=16, seed=0):
    """``(x, y, W1, b1, W2, b2)``: ``n`` points of three 2-D clusters and small random starting weights.

    A tiny problem to try 04.3 and 04.4 on: float64 arrays, new ones at every call.
    """
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
    y = np.arange(n) % 3
    x = centres[y] + rng.normal(scale=1.2, size=(n, 2))
    W1 = rng.normal(scale=0.5, size=(2, hidden))
    W2 = rng.normal(scale=0.05, size=(hidden, 3))
    return x, y, W1, np.zeros(hidden), W2, np.zeros(3)


def _backprop(x, y, W1, b1, W2, b2, mistake=None):
    """The gradients of :func:`mlp_loss`, ``(dW1, db1, dW2, db2)``; or, with ``mistake``, a typical wrong version."""
    batch, classes = len(x), W2.shape[1]
    a, h, z, p = _forward(x, W1, b1, W2, b2)
    dz = p if mistake == "no_one_hot" else p - np.eye(classes)[y]
    if mistake == "sign":
        dz = -dz
    if mistake != "sum":
        dz = dz / batch
    dW2 = (a if mistake == "pre_relu" else h).T @ dz
    db2 = dz.sum(axis=0)
    dh = dz @ W2.T
    da = dh if mistake == "no_mask" else dh * (a > 0)
    dW1 = x.T @ da
    db1 = da.sum(axis=0)
    if mistake == "bias_mean":
        db1, db2 = db1 / batch, db2 / batch
    return dW1, db1, dW2, db2


_GRAD_NAMES = ("dW1", "db1", "dW2", "db2")
_PARAM_NAMES = ("W1", "b1", "W2", "b2")
#: The largest relative error accepted: ``max |got - want| / max |want|`` for each gradient (float64 data).
REL_TOL = 1e-6

_BACKPROP_MISTAKES = [
    ("no_mask", "dW2 and db2 are right, dW1 and db1 are not: the gradient went back through the ReLU as if it were "
                "the identity. ReLU passes it only where the first layer's output x W1 + b1 was positive."),
    ("no_one_hot", "every gradient is off because of the first step: at the logits, softmax + cross-entropy give "
                   "dL/dz = (p - y) / B with y one-hot; you left out the - y."),
    ("sign", "every gradient has the wrong sign: dL/dz = (p - y) / B, not (y - p) / B. A step against such a "
             "gradient would climb the loss."),
    ("sum", "every gradient is B times too large (B: the batch size): the loss is the MEAN over the batch, "
            "so dL/dz = (p - y) / B."),
    ("pre_relu", "dW2 is wrong while db2 is right: the second Dense layer's input is h = relu(x W1 + b1), the "
                 "ReLU's output, not its input."),
    ("bias_mean", "the weight gradients are right, the bias gradients B times too small: dL/dz already holds the "
                  "1/B of the mean, so a bias's gradient is its sum over the batch, not its mean."),
]


def _relative_error(got, want):
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-12))


def _same_grads(got, want):
    return all(_relative_error(g, w) <= REL_TOL for g, w in zip(got, want))


def _backprop_cases():
    rng = np.random.default_rng(4)
    for batch, n_in, hidden, classes in [(6, 5, 4, 3), (10, 3, 7, 4), (4, 6, 5, 2)]:
        x = rng.normal(size=(batch, n_in))
        y = rng.integers(0, classes, size=batch)
        y[:classes] = np.arange(classes)[:batch]             # every class present
        params = (rng.normal(scale=0.8, size=(n_in, hidden)), rng.normal(scale=0.3, size=hidden),
                  rng.normal(scale=0.8, size=(hidden, classes)), rng.normal(scale=0.3, size=classes))
        yield x, y, params


def _label(x, params):
    return (f"backprop(x of shape {x.shape}, y, W1 {params[0].shape}, b1 {params[1].shape}, "
            f"W2 {params[2].shape}, b2 {params[3].shape})")


def _read_grads(got, call, params, batch):
    """``(arrays, None)`` when ``got`` is four finite arrays shaped like the parameters, else ``(None, message)``."""
    if isinstance(got, dict) or not isinstance(got, (tuple, list)) or len(got) != 4:
        return None, (f"{call} returned {type(got).__name__}; it should return four arrays, "
                      "(dW1, db1, dW2, db2), in that order.")
    arrays = []
    for name, param_name, value, param in zip(_GRAD_NAMES, _PARAM_NAMES, got, params):
        problem = expect_array(value, None, f"{call}'s {name}")
        if problem:
            return None, problem
        value = np.asarray(value, dtype=float)
        if value.shape != param.shape:
            if param.ndim == 2 and value.shape == param.shape[::-1]:
                return None, (f"{call}'s {name} has shape {value.shape}, {param_name} has shape {param.shape}: "
                              f"a gradient has the shape of its parameter. dL/d{param_name} = (the layer's "
                              "input) transposed @ dL/d(the layer's output), in that order.")
            if param.ndim == 1 and value.shape == (batch, param.size):
                return None, (f"{call}'s {name} has shape {value.shape}: one row per example. A bias is shared "
                              "by the whole batch: add up its gradient over the batch (axis 0).")
            return None, f"{call}'s {name} has shape {value.shape}; it should have {param_name}'s shape, {param.shape}."
        arrays.append(value)
    return arrays, None


def _check_backprop(answer):
    problem = expect_callable(answer, "backprop(x, y, W1, b1, W2, b2) returning (dW1, db1, dW2, db2)",
                              name="backprop")
    if problem:
        return problem
    for x, y, params in _backprop_cases():
        call = _label(x, params)
        got, problem = try_call(answer, (x.copy(), y.copy(), *(p.copy() for p in params)), call, stub="backprop")
        if problem:
            return problem
        got, problem = _read_grads(got, call, params, len(x))
        if problem:
            return problem
        want = _backprop(x, y, *params)
        if _same_grads(got, want):
            continue
        for mistake, message in _BACKPROP_MISTAKES:
            if _same_grads(got, _backprop(x, y, *params, mistake=mistake)):
                return f"{call}: {message}"
        right = [n for n, g, w in zip(_GRAD_NAMES, got, want) if _relative_error(g, w) <= REL_TOL]
        wrong = [(n, _relative_error(g, w)) for n, g, w in zip(_GRAD_NAMES, got, want) if _relative_error(g, w) > REL_TOL]
        listed = ", ".join(f"{n} (relative error {e:.1e})" for n, e in wrong)
        if set(right) == {"dW2", "db2"}:
            where = ("the last layer is right: look at the step back through W2 and the ReLU to the first layer "
                     "(dL/dh = dL/dz @ W2 transposed, then the ReLU's mask).")
        elif set(right) == {"dW1", "dW2"}:
            where = "the weights are right: a layer's bias gradient is dL/d(its output) summed over the batch."
        else:
            where = ("start from dL/dz = (p - y) / B at the logits and go back one layer at a time; a numeric "
                     "gradient of ex.mlp_loss tells which step goes wrong.")
        return f"{call}: {listed} {'is' if len(wrong) == 1 else 'are'} wrong" + (f", {', '.join(right)} right" if right else "") + f"; {where}"
    return None


q3 = Exercise(
    "04.3",
    "Write backprop(x, y, W1, b1, W2, b2): the gradients (dW1, db1, dW2, db2) of the mean cross-entropy of "
    "softmax(relu(x @ W1 + b1) @ W2 + b2) over the batch (ex.mlp_loss), for integer labels y, by the chain rule "
    "in NumPy.",
    _check_backprop,
    hint="Forward pass first, keeping a = x @ W1 + b1 and h = relu(a): the backward pass needs them. Section "
         "8.1 gives dL/dz at the logits and the last layer's gradients. Then one step further back: dL/dh from "
         "dL/dz and W2; ReLU's derivative is 1 where a > 0 and 0 elsewhere; the first layer's gradients follow "
         "as the last layer's did, with x as its input.",
    solution=r"""def backprop(x, y, W1, b1, W2, b2):
    batch = len(x)
    a = x @ W1 + b1                              # forward pass, keeping what the backward pass needs
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(W2.shape[1])[y]) / batch    # softmax + cross-entropy, mean over the batch
    dW2 = h.T @ dz                               # (hidden, classes), like W2
    db2 = dz.sum(axis=0)                         # a bias is shared by the batch: add up
    dh = dz @ W2.T
    da = dh * (a > 0)                            # ReLU lets the gradient through where it was active
    dW1 = x.T @ da
    db1 = da.sum(axis=0)
    return dW1, db1, dW2, db2

# Check against a numeric (central-difference) gradient of ex.mlp_loss, one parameter at a time
x_c, y_c, *params_c = ex.toy_problem(n=12, hidden=5)
for name, grad, k in zip(("dW1", "db1", "dW2", "db2"), backprop(x_c, y_c, *params_c), range(4)):
    numeric = np.zeros_like(params_c[k])
    for idx in np.ndindex(numeric.shape):
        up = [q.copy() for q in params_c]; up[k][idx] += 1e-6
        down = [q.copy() for q in params_c]; down[k][idx] -= 1e-6
        numeric[idx] = (ex.mlp_loss(x_c, y_c, *up) - ex.mlp_loss(x_c, y_c, *down)) / 2e-6
    print(f"{name}: relative error {np.abs(grad - numeric).max() / np.abs(numeric).max():.1e}")""",
    expects="a function backprop(x, y, W1, b1, W2, b2) returning (dW1, db1, dW2, db2)",
    level=3,
)


# --------------------------------------------------------------------------- 04.4 training with it

def _train(x, y, params, lr, steps, mistake=None):
    """Plain full-batch gradient descent with :func:`_backprop`; or, with ``mistake``, a typical wrong loop."""
    if mistake == "unchanged":
        return tuple(params)
    steps = {"one_step": 1, "one_fewer": steps - 1, "one_more": steps + 1}.get(mistake, steps)
    lr = 1.0 if mistake == "no_lr" else lr
    sign = 1.0 if mistake == "uphill" else -1.0
    params = [np.array(p, dtype=float) for p in params]
    first = _backprop(x, y, *params)
    for _ in range(steps):
        grads = first if mistake == "frozen" else _backprop(x, y, *params)
        params = [p + sign * lr * g for p, g in zip(params, grads)]
    return tuple(params)


_TRAIN_MISTAKES = [
    ("unchanged", "returned the weights it was given: no step was taken."),
    ("uphill", "moved the weights along the gradient, so the loss grew: gradient descent steps against it, "
               "w - lr * dL/dw."),
    ("no_lr", "took steps of the full gradient: multiply it by the learning rate lr."),
    ("one_step", "took one step, whatever steps is."),
    ("one_fewer", "took one step fewer than steps."),
    ("one_more", "took one step more than steps."),
    ("frozen", "used the first gradient at every step: the gradient changes as the weights move; compute it "
               "again at each step."),
]
#: (x, y, starting weights, lr, steps) of the checker's calls: the toy problem and a smaller one.
def _train_cases():
    x, y, *params = toy_problem(n=30, hidden=6, seed=1)
    yield x, y, params, 0.3, 3
    yield x, y, params, 0.5, 1
    x, y, *params = toy_problem(n=12, hidden=4, seed=2)
    yield x, y, params, 0.2, 25


def _check_train(answer):
    problem = expect_callable(answer, "train_by_hand(x, y, W1, b1, W2, b2, lr, steps) returning (W1, b1, W2, b2)",
                              name="train_by_hand")
    if problem:
        return problem
    for x, y, params, lr, steps in _train_cases():
        call = (f"train_by_hand(x of shape {x.shape}, y, W1 {params[0].shape}, b1, W2 {params[2].shape}, b2, "
                f"lr={lr}, steps={steps})")
        given = [p.copy() for p in params]
        got, problem = try_call(answer, (x.copy(), y.copy(), *given, lr, steps), call, stub="train_by_hand")
        if problem:
            if "'ellipsis' object is not callable" in problem:
                problem += " (Is backprop, exercise 04.3, answered? train_by_hand uses it.)"
            return problem
        changed = [n for n, g, p in zip(_PARAM_NAMES, given, params) if not np.array_equal(g, p)]
        if changed:
            return (f"{call} changed the {', '.join(changed)} it was given, in place (W1 -= ... does that). Work on "
                    "new arrays (W1 = W1 - lr * dW1), so that the caller keeps its starting weights, as section 8 "
                    "keeps initial_weights.")
        if isinstance(got, dict) or not isinstance(got, (tuple, list)) or len(got) != 4:
            return (f"{call} returned {type(got).__name__}; it should return the four trained arrays "
                    "(W1, b1, W2, b2), in that order.")
        arrays = []
        for name, value, param in zip(_PARAM_NAMES, got, params):
            problem = expect_array(value, param.shape, f"{call}'s {name}")
            if problem:
                return problem
            arrays.append(np.asarray(value, dtype=float))
        want = _train(x, y, params, lr, steps)
        if _same_grads(arrays, want):
            continue
        for mistake, message in _TRAIN_MISTAKES:
            if _same_grads(arrays, _train(x, y, params, lr, steps, mistake)):
                return f"{call} {message}"
        error = max(_relative_error(g, w) for g, w in zip(arrays, want))
        return (f"{call} differs from gradient descent with the right gradients (relative error {error:.1e}). "
                "Does your backprop pass 04.3? If it does, look at the update w <- w - lr * dL/dw, made "
                "steps times, each time with the gradient at the current weights.")
    return None


q4 = Exercise(
    "04.4",
    "Write train_by_hand(x, y, W1, b1, W2, b2, lr, steps): steps steps of plain (full-batch) gradient descent "
    "on ex.mlp_loss with the gradients of your backprop (04.3) and learning rate lr, returning the trained "
    "(W1, b1, W2, b2) and leaving the arrays passed in unchanged.",
    _check_train,
    hint="A loop of steps iterations: grads = backprop(x, y, W1, b1, W2, b2), then each parameter becomes "
         "parameter - lr * its gradient. Write W1 = W1 - lr * dW1 (a new array), not W1 -= lr * dW1 (which "
         "changes the caller's array).",
    solution=r"""def train_by_hand(x, y, W1, b1, W2, b2, lr, steps):
    params = [W1, b1, W2, b2]
    for _ in range(steps):
        grads = backprop(x, y, *params)
        params = [p - lr * g for p, g in zip(params, grads)]   # new arrays: the caller's stay as they were
    return tuple(params)

x_toy, y_toy, *start = ex.toy_problem()
for lr in (0.05, 0.5):
    trained = train_by_hand(x_toy, y_toy, *start, lr=lr, steps=100)
    print(f"lr {lr}: loss {ex.mlp_loss(x_toy, y_toy, *start):.3f} -> {ex.mlp_loss(x_toy, y_toy, *trained):.3f} "
          f"after 100 steps")""",
    expects="a function train_by_hand(x, y, W1, b1, W2, b2, lr, steps) returning (W1, b1, W2, b2)",
    level=2,
)
