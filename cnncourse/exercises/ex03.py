"""Exercises of notebook 03 (pooling).

- ``q1`` (03.1, ★★★): max pooling's backward pass, ``max_pool_backward(x, grad_out, pool, stride)`` -> dL/dx
  (gradient to each window's argmax, overlapping windows adding up), against a NumPy reference.
- ``q2`` (03.2, ★★): the multiply-adds of three ways to halve a 40x40x32 map: pool then conv, conv then
  pool, strided conv.
- ``q3`` (03.3, ★★): a window where max-pool-then-GELU and GELU-then-max-pool differ.
- ``q4`` (03.4, ★★): which (pooling, activation) orders can be swapped without changing the output.
"""
from __future__ import annotations

import math

import numpy as np

from cnncourse import ops
from cnncourse.exercises import Exercise, expect_array, expect_callable, expect_int, expect_keys, try_call


# ------------------------------------------------------------------ 03.1 max pooling's backward pass
def _backward(x, grad_out, pool, stride, rule="argmax"):
    """dL/dx of 2-D max pooling (square windows, no padding) given ``grad_out`` = dL/d(output).

    ``rule`` gives the right answer (``"argmax"``: each window's gradient goes to its largest cell,
    the first one in row-major order on a tie, as ``np.argmax`` and TensorFlow do) or one of the
    typical wrong ones the checker recognises: ``"average"`` (spread evenly, average pooling's rule),
    ``"whole"`` (the full gradient to every cell of the window), ``"overwrite"`` (``=`` instead of
    ``+=`` where windows overlap), ``"ones"`` (``grad_out`` ignored), ``"local"`` (the argmax's
    position inside the window used as its position in x), ``"pool_offset"`` (windows placed
    ``pool`` apart instead of ``stride``), ``"argmin"``, ``"last"`` (the last of tied maxima),
    ``"split"`` (tied maxima share the gradient), ``"every_tie"`` (each tied maximum gets all of it).
    """
    x = np.asarray(x, dtype=float)
    grad_out = np.asarray(grad_out, dtype=float)
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            step = pool if rule == "pool_offset" else stride
            r0, c0 = i * step, j * step
            window = x[r0:r0 + pool, c0:c0 + pool]
            g = 1.0 if rule == "ones" else grad_out[i, j]
            if window.shape != (pool, pool):          # "pool_offset" runs off the map: nothing there
                continue
            if rule == "average":
                dx[r0:r0 + pool, c0:c0 + pool] += g / pool ** 2
                continue
            if rule == "whole":
                dx[r0:r0 + pool, c0:c0 + pool] += g
                continue
            if rule in ("split", "every_tie"):
                ties = window == window.max()
                dx[r0:r0 + pool, c0:c0 + pool] += g * ties / (ties.sum() if rule == "split" else 1)
                continue
            if rule == "argmin":
                flat = int(np.argmin(window))
            elif rule == "last":
                flat = window.size - 1 - int(np.argmax(window.ravel()[::-1]))
            else:
                flat = int(np.argmax(window))
            r, c = divmod(flat, pool)
            if rule == "local":
                dx[r, c] += g
            elif rule == "overwrite":
                dx[r0 + r, c0 + c] = g
            else:
                dx[r0 + r, c0 + c] += g
    return dx


#: (x's shape, pool, stride) of the checker's cases: side by side, overlapping, with gaps, with a border
#: no window covers, and one window covering the whole map. Random values: no ties.
BACKWARD_CASES = [((6, 6), 2, 2), ((7, 7), 3, 1), ((9, 9), 3, 2), ((7, 8), 2, 3), ((7, 7), 2, 2), ((5, 5), 5, 1)]
#: A map with ties (whole numbers), checked last: the statement's rule for them.
TIED_X = np.array([[1, 3, 3, 0, 2],
                   [3, 2, 1, 1, 2],
                   [0, 1, 5, 5, 4],
                   [2, 2, 5, 5, 4],
                   [4, 4, 0, 1, 4]], dtype=float)

_BACKWARD_MISTAKES = [
    ("average", "spreads each window's gradient evenly over its cells: that is average pooling's rule. "
                "In max pooling only the largest cell of a window reached the output."),
    ("whole", "gives the whole gradient to every cell of the window; only the largest cell reached the output."),
    ("overwrite", "is right where windows do not overlap, wrong where they do: when one cell is the maximum of "
                  "two windows, both gradients reach it. Add (+=), do not assign (=)."),
    ("ones", "puts 1 where the gradient should go: multiply by grad_out's value for that window."),
    ("local", "piles the gradient near the top-left corner: the argmax is a position inside the window; "
              "add the window's offset in x."),
    ("pool_offset", "places the windows pool cells apart; they are stride cells apart."),
    ("argmin", "sends the gradient to each window's smallest cell."),
]
_TIE_MISTAKES = [
    ("last", "On a window whose maximum appears more than once, the statement's rule is the FIRST one in row-major "
             "order (as np.argmax); yours takes the last."),
    ("split", "On a window whose maximum appears more than once, the statement's rule gives the whole gradient to the "
              "first of them (as np.argmax); yours shares it among them."),
    ("every_tie", "On a window whose maximum appears more than once, the statement's rule gives the gradient to the first "
                  "of them only (as np.argmax); yours gives it to each."),
]


def _backward_cases():
    rng = np.random.default_rng(7)
    for shape, pool, stride in BACKWARD_CASES:
        out = ((shape[0] - pool) // stride + 1, (shape[1] - pool) // stride + 1)
        yield (rng.normal(size=shape) - 0.5, rng.uniform(0.5, 2.0, size=out) * rng.choice([-1, 1], size=out),
               pool, stride, f"x of shape {shape}, pool={pool}, stride={stride}", _BACKWARD_MISTAKES)
    yield (TIED_X, np.arange(1.0, 10.0).reshape(3, 3) / 2, 3, 1, "x = ex.TIED_X (ties), pool=3, stride=1",
           _TIE_MISTAKES)


def _check_max_pool_backward(answer):
    problem = expect_callable(answer, "max_pool_backward(x, grad_out, pool, stride) returning dL/dx",
                              name="max_pool_backward")
    if problem:
        return problem
    for x, grad_out, pool, stride, label, mistakes in _backward_cases():
        call = f"max_pool_backward({label})"
        got, problem = try_call(answer, (x.copy(), grad_out.copy(), pool, stride), call, stub="max_pool_backward")
        if problem:
            return problem
        problem = expect_array(got, None, call)
        if problem:
            return problem
        got = np.asarray(got, dtype=float)
        if got.shape != x.shape:
            if got.shape == grad_out.shape:
                return (f"{call} has the shape of grad_out, {got.shape}: dL/dx has one number per cell of x, "
                        f"shape {x.shape}.")
            return f"{call} has shape {got.shape}; dL/dx has the shape of x, {x.shape}."
        want = _backward(x, grad_out, pool, stride)
        if np.allclose(got, want, rtol=1e-9, atol=1e-9):
            continue
        for rule, message in mistakes:
            if np.allclose(got, _backward(x, grad_out, pool, stride, rule), rtol=1e-9, atol=1e-9):
                return f"{call} {message}" if mistakes is _BACKWARD_MISTAKES else f"{call}: {message}"
        if not np.isclose(got.sum(), grad_out.sum()):
            return (f"{call} is wrong at {int(np.sum(~np.isclose(got, want)))} of {x.size} cells, and the gradient "
                    "is not conserved: each window's grad_out should reach x exactly once, so dL/dx should add "
                    "up to grad_out's sum.")
        return (f"{call} is wrong at {int(np.sum(~np.isclose(got, want)))} of {x.size} cells (each window's "
                "gradient reaches x once, but not always at the right cell): which cell of the window did "
                "the forward pass keep?")
    return None


q1 = Exercise(
    "03.1",
    "Write max_pool_backward(x, grad_out, pool, stride): the gradient dL/dx of 2-D max pooling (square "
    "windows, no padding), given grad_out = dL/d(pooled output). Each window's gradient goes to the cell that "
    "was its maximum (the first one, in row-major order, on a tie); where windows overlap, gradients add up.",
    _check_max_pool_backward,
    hint="Loop over the output positions (i, j) as in pool_single; find where the window's maximum is "
         "(np.argmax, then divmod or np.unravel_index with the window's shape), and add grad_out[i, j] to "
         "that cell of an array of zeros shaped like x, at the window's offset (i * stride, j * stride).",
    solution=(r"""def max_pool_backward(x, grad_out, pool, stride):
    dx = np.zeros(x.shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride: i * stride + pool, j * stride: j * stride + pool]
            r, c = np.unravel_index(np.argmax(window), window.shape)   # first maximum, row-major
            dx[i * stride + r, j * stride + c] += grad_out[i, j]       # += : overlapping windows add up
    return dx

# Check with a numeric gradient of L(x) = sum(grad_out * max_pool(x)) on a map with overlapping windows:
x_try = np.random.default_rng(0).normal(size=(7, 7))
g_try = np.random.default_rng(1).normal(size=(3, 3))
def loss_of(x):
    return np.sum(g_try * ops.max_pool2d(x[None, :, :, None], 3, 2)[0, :, :, 0])
numeric = np.zeros_like(x_try)
for r in range(7):
    for c in range(7):
        e = np.zeros_like(x_try); e[r, c] = 1e-6
        numeric[r, c] = (loss_of(x_try + e) - loss_of(x_try - e)) / 2e-6
print("backward pass equals the numeric gradient:", np.allclose(max_pool_backward(x_try, g_try, 3, 2), numeric, atol=1e-6))"""),
    expects="a function max_pool_backward(x, grad_out, pool, stride) returning an array shaped like x",
    level=3,
)


# ------------------------------------------------------------------ 03.2 three ways to halve a map
#: A feature map that must come out at half the height and width with 64 channels, three ways.
MAP_Q2 = (40, 40, 32)
FILTERS_Q2 = 64
WAYS_Q2 = ("pool_then_conv", "conv_then_pool", "strided_conv")


def _ways_macs(padding="same"):
    h, w, c = MAP_Q2
    return {"pool_then_conv": ops.conv2d_macs((h // 2, w // 2, c), 3, FILTERS_Q2, padding=padding),
            "conv_then_pool": ops.conv2d_macs(MAP_Q2, 3, FILTERS_Q2, padding=padding),
            "strided_conv": ops.conv2d_macs(MAP_Q2, 3, FILTERS_Q2, stride=2, padding=padding)}


def _check_ways(answer):
    problem = expect_keys(answer, WAYS_Q2, "halving_costs", "a dict {way: multiply-adds}")
    if problem:
        return problem
    for way in WAYS_Q2:
        problem = expect_int(answer[way], f"halving_costs[{way!r}]")
        if problem:
            return problem
    got = {way: int(answer[way]) for way in WAYS_Q2}
    want, valid = _ways_macs(), _ways_macs("valid")
    h, w, c = MAP_Q2
    f, k = FILTERS_Q2, 3
    full, half = h * w, (h // 2) * (w // 2)
    for way in WAYS_Q2:
        g, right = got[way], want[way]
        if g == right:
            continue
        label = f"halving_costs[{way!r}]"
        positions = full if way == "conv_then_pool" else half
        if g == positions * k * k * f:
            return f"{label} forgets the input channels: each 3x3 window of the conv's input is 3x3x{c}."
        if g == positions * k * k * c:
            return f"{label} counts one filter; the conv has {f}."
        if g == (k * k * c + 1) * f:
            return f"{label} is the conv's number of parameters; each weight is used at every output position."
        if g == valid[way]:
            return f"{label} counts a 'valid' convolution; with padding='same' the output keeps ceil(n / stride) rows."
        if way == "conv_then_pool" and g == want["pool_then_conv"]:
            return (f"{label}: here the conv runs first, on the full {h}x{w} map; pooling afterwards does not "
                    "make it cheaper.")
        if way == "conv_then_pool" and 0 < g - right <= full * f:
            return (f"{label} adds something to the conv's multiply-adds. Max pooling has no weights: count no "
                    "multiply-adds for it.")
        if way == "strided_conv" and g == want["conv_then_pool"]:
            return (f"{label} ignores the stride: with stride 2 the conv computes only every other position in "
                    "each direction.")
        if way == "strided_conv" and 2 * g == want["conv_then_pool"]:
            return f"{label} halves the count once; a stride of 2 skips positions in both directions."
        return f"{label} is wrong: output positions x filters x (multiply-adds per window)."
    return None


q2 = Exercise(
    "03.2",
    "A 40x40x32 feature map must become 20x20 with 64 channels. Give halving_costs, a dict of the multiply-adds "
    "per image of each way: 'pool_then_conv' (MaxPooling2D(2), then Conv2D(64, 3, padding='same')), "
    "'conv_then_pool' (the conv, then the pool) and 'strided_conv' (Conv2D(64, 3, strides=2, padding='same'), "
    "no pooling). Pooling costs no multiply-adds.",
    _check_ways,
    hint="Multiply-adds of a conv = output height x output width x filters x (3 x 3 x input channels). "
         "Work out each conv's output size first; with padding='same' it is ceil(n / stride).",
    solution=r"""per_position = 64 * 3 * 3 * 32              # filters x multiply-adds per window
halving_costs = {
    "pool_then_conv": 20 * 20 * per_position,   # the conv runs on the pooled 20x20 map
    "conv_then_pool": 40 * 40 * per_position,   # the conv runs on the full 40x40 map: 4x more
    "strided_conv": 20 * 20 * per_position,     # stride 2 computes every other position: 20x20
}
print({way: f"{macs:,}" for way, macs in halving_costs.items()})""",
    expects="a dict {'pool_then_conv': int, 'conv_then_pool': int, 'strided_conv': int}",
    level=2,
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
    ("max", "sigmoid"): True,
    ("max", "leaky_relu"): True,   # max(x, 0.1 x)
    ("max", "gelu"): False,
    ("max", "abs"): False,
    ("max", "negate"): False,      # -x
    ("avg", "abs"): False,
    ("avg", "linear"): True,       # a * x + b
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
    ("max", "sigmoid"): True,      # non-decreasing: keeps the order of any two numbers
    ("max", "leaky_relu"): True,   # non-decreasing too
    ("max", "gelu"): False,        # dips below 0 near x = -0.75 (exercise 03.3)
    ("max", "abs"): False,         # |-3| > |1|: the largest input is not the largest output
    ("max", "negate"): False,      # -x reverses the order: max(-x) = -min(x)
    ("avg", "abs"): False,         # not affine: mean(|x|) differs from |mean(x)| when signs mix
    ("avg", "linear"): True,       # affine: the mean of a x + b is a mean(x) + b
}""",
    expects="a dict {(pooling, activation): bool}",
    level=2,
)
