"""Exercises of notebook 03 (pooling).

- ``q1`` (03.1): max pooling of a 2-D array with a pool size and a stride, written by hand.
- ``q2`` (03.2): the multiply-adds of a conv layer without and with 2x2 pooling before it.
- ``q3`` (03.3): a window where max-pool-then-GELU and GELU-then-max-pool differ.
- ``q4`` (03.4): which (pooling, activation) orders can be swapped without changing the output.
"""
from __future__ import annotations

import math

import numpy as np

from cnncourse import ops
from cnncourse.exercises import Exercise, expect_array, expect_callable, expect_int, expect_keys, try_call


# ------------------------------------------------------------------ 03.1 max pooling by hand
_POOL_CASES = [((6, 6), 2, 2), ((7, 7), 2, 2), ((7, 9), 3, 2), ((8, 8), 3, 1), ((9, 7), 2, 3), ((5, 5), 5, 1)]


def _reference_pool(x, pool, stride, how="max"):
    fn = ops.max_pool2d if how == "max" else ops.avg_pool2d
    return fn(np.asarray(x, float)[None, :, :, None], pool, stride)[0, :, :, 0]


def _check_max_pool(answer):
    problem = expect_callable(answer, "max_pool(x, pool, stride)", name="max_pool")
    if problem:
        return problem
    rng = np.random.default_rng(3)
    for shape, pool, stride in _POOL_CASES:
        x = rng.normal(size=shape) - 0.5            # negatives too: a 0 start value is a bug
        want = _reference_pool(x, pool, stride)
        call = f"max_pool(x of shape {shape}, pool={pool}, stride={stride})"
        got, problem = try_call(answer, (x.copy(), pool, stride), call, stub="max_pool")
        if problem:
            return problem
        problem = expect_array(got, None, call)
        if problem:
            return problem
        got = np.asarray(got, dtype=float)
        if got.shape != want.shape:
            if stride != 1 and got.shape == _reference_pool(x, pool, 1).shape:
                return f"{call} has shape {got.shape}, expected {want.shape}: the stride is ignored."
            if got.shape == _reference_pool(x, stride, stride).shape and pool != stride:
                return f"{call} has shape {got.shape}, expected {want.shape}: check the window size you slide."
            return (f"{call} has shape {got.shape}, expected {want.shape}: "
                    "count how many windows of size pool fit with that stride.")
        if np.allclose(got, want):
            continue
        if np.allclose(got, _reference_pool(x, pool, stride, "avg")):
            return f"{call} returns the average of each window, not its maximum."
        if np.allclose(got, np.maximum(want, 0)):
            return f"{call} never returns a negative value: does your running maximum start at 0?"
        if np.allclose(got, -_reference_pool(-x, pool, stride)):
            return f"{call} returns the minimum of each window."
        if got.shape[0] > 1 and np.allclose(got[0], want[0]) and not np.allclose(got[1:], want[1:]):
            return f"{call}: the first row is right, the rows below are not. How far down does the window move?"
        return f"{call} is wrong at {int(np.sum(~np.isclose(got, want)))} of {want.size} positions."
    return None


q1 = Exercise(
    "03.1",
    "Write max_pool(x, pool, stride): max pooling of a 2-D array x with square windows of size pool "
    "moved by stride, no padding.",
    _check_max_pool,
    hint="Same loops as conv2d_single in notebook 02, with np.max(window) instead of np.sum(window * kernel).",
    solution=(r"""def max_pool(x, pool, stride):
    out_h = (x.shape[0] - pool) // stride + 1
    out_w = (x.shape[1] - pool) // stride + 1
    out = np.empty((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = x[i * stride: i * stride + pool, j * stride: j * stride + pool].max()
    return out"""),
    expects="a function max_pool(x, pool, stride) returning a 2-D array",
    level=1,
)


# ------------------------------------------------------------------ 03.2 multiply-adds
MAP = (56, 56, 64)        # the feature map entering the next layer
NEXT = (3, 128)           # next layer: 3x3 conv, 128 filters, padding "same"


def _macs_pair():
    without = ops.conv2d_macs(MAP, NEXT[0], NEXT[1], padding="same")
    pooled = (MAP[0] // 2, MAP[1] // 2, MAP[2])
    return without, ops.conv2d_macs(pooled, NEXT[0], NEXT[1], padding="same")


def _check_macs(answer):
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__") or len(answer) != 2:
        return "macs should be a pair (without_pooling, with_pooling) of whole numbers."
    for name, value in zip(("macs[0] (without pooling)", "macs[1] (with pooling)"), answer):
        problem = expect_int(value, name)
        if problem:
            return problem
    got = tuple(int(v) for v in answer)
    want = _macs_pair()
    h, w, c_in = MAP
    f, c_out = NEXT
    for i, (g, right, size) in enumerate(zip(got, want, ((h, w), (h // 2, w // 2)))):
        label = "without pooling" if i == 0 else "with 2x2 pooling"
        if g == right:
            continue
        positions = size[0] * size[1]
        if g == positions * f * f * c_out:
            return f"The count {label} forgets the input channels: each window is 3x3x{c_in}."
        if g == positions * f * f * c_in:
            return f"The count {label} is for one filter; the layer has {c_out}."
        if g == (f * f * c_in + 1) * c_out:
            return f"The count {label} is the number of parameters; each one is used at every output position."
        if i == 1 and g * 2 == want[0]:
            return "With pooling you halved the count, but 2x2 pooling halves the height AND the width."
        if i == 1 and g == want[0]:
            return "The count with pooling equals the one without: the pooled map is smaller."
        return f"The count {label} is wrong: positions x filters x (multiply-adds per window)."
    return None


q2 = Exercise(
    "03.2",
    "A 56x56x64 feature map enters a Conv2D(128, 3, padding='same'). Give macs = (without, with): the "
    "multiply-adds for one image without pooling, and with a 2x2 max pool (stride 2) in front of the conv.",
    _check_macs,
    hint="Each output number costs one multiply-add per weight of a filter (3*3*64); count the output numbers.",
    solution=r"""macs = (56 * 56 * 128 * 3 * 3 * 64, 28 * 28 * 128 * 3 * 3 * 64)""",
    expects="a pair of whole numbers (without_pooling, with_pooling)",
    level=1,
)


# ------------------------------------------------------------------ 03.3 max pool vs GELU
def gelu(x):
    """GELU, ``x * P(Z <= x)`` for a standard normal ``Z`` (Keras' ``gelu(approximate=False)``)."""
    x = np.asarray(x, dtype=float)
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _check_gelu_window(answer):
    problem = expect_array(answer, (2, 2), "gelu_window")
    if problem:
        return problem
    x = np.asarray(answer, dtype=float)
    pool_then_act = float(gelu(x.max()))
    act_then_pool = float(gelu(x).max())
    if abs(pool_then_act - act_then_pool) > 1e-4:
        return None
    if x.min() >= 0:
        return (f"For this window both orders give {pool_then_act:.4g}. On x >= 0 GELU only rises; "
                "look at negative values.")
    return (f"For this window both orders give {pool_then_act:.4g}. Where does GELU go down as x goes up? "
            "Put the window's largest value there.")


q3 = Exercise(
    "03.3",
    "Give a 2x2 window gelu_window for which GELU(max(window)) differs from max(GELU(window)) "
    "(by more than 1e-4).",
    _check_gelu_window,
    hint="Plot GELU for x from -4 to 1: it is not monotone. Two inputs on either side of its minimum...",
    solution=(r"""gelu_window = np.array([[-0.75, -3.0],
                        [-3.0, -3.0]])"""),
    expects="a NumPy array of shape (2, 2)",
    level=2,
)


# ------------------------------------------------------------------ 03.4 which orders commute
#: (pooling, activation) -> does the order never matter? gelu has a dip below 0 near x = -0.75.
COMMUTES = {
    ("max", "relu"): True,
    ("max", "sigmoid"): True,
    ("max", "gelu"): False,
    ("max", "abs"): False,
    ("avg", "relu"): False,
    ("avg", "sigmoid"): False,
    ("avg", "linear"): True,      # a * x + b
}


def _check_commutes(answer):
    problem = expect_keys(answer, COMMUTES, "commutes", "a dict {(pooling, activation): True/False}")
    if problem:
        return problem
    for key in COMMUTES:
        if not isinstance(answer[key], (bool, np.bool_)):
            return f"commutes[{key}] should be True or False, got {answer[key]!r:.40}."
    wrong = [k for k in COMMUTES if bool(answer[k]) != COMMUTES[k]]
    if not wrong:
        return None
    groups = sorted({k[0] for k in wrong})
    return (f"{len(wrong)} of {len(COMMUTES)} answers are wrong, among the {' and '.join(groups)}-pooling ones. "
            + ("Max pooling: which functions never change the ORDER of two numbers? " if "max" in groups else "")
            + ("Average pooling: which functions satisfy f(mean) = mean(f)?" if "avg" in groups else ""))


q4 = Exercise(
    "03.4",
    "For each (pooling, activation) pair of the statement, say True if pooling then activating always gives "
    "the same output as activating then pooling, False if not.",
    _check_commutes,
    hint="Try small windows with a negative value in them, or plot the activation and look for a dip.",
    solution=r"""commutes = {
    ("max", "relu"): True,
    ("max", "sigmoid"): True,
    ("max", "gelu"): False,
    ("max", "abs"): False,
    ("avg", "relu"): False,
    ("avg", "sigmoid"): False,
    ("avg", "linear"): True,
}""",
    expects="a dict {(pooling, activation): bool}",
    level=2,
)
