"""Exercises of notebook 02 (convolution).

- ``q1`` (02.1): a function giving a convolution's output size from ``n, f, p, s``.
- ``q2`` (02.2): the parameters of each layer of a small conv stack.
- ``q3`` (02.3): a 3x3 filter that finds diagonal edges (tried on test patterns).
- ``q4`` (02.4): a 1x1 convolution kernel that turns RGB into grey.
"""
from __future__ import annotations

import itertools

import numpy as np

from cnncourse import ops
from cnncourse.exercises import Exercise, FunctionProblem, expect_array, expect_int


# ------------------------------------------------------------------ 02.1 output size

def _true_size(n, f, p, s):
    return ops.conv_output_size(n, f, s, p)      # the course's one formula (notebook 02 writes it by hand)


_CASES = [(n, f, p, s) for n, f, p, s in itertools.product((5, 6, 7, 28, 32, 224), (1, 2, 3, 5, 11), (0, 1, 2),
                                                           (1, 2, 3, 4)) if f <= n + 2 * p]


_MISTAKES = [  # (wrong formula, what is wrong), tried on every case
    (lambda n, f, p, s: (n + 2 * p - f) // s, "One too few: count the first position of the window too."),
    (lambda n, f, p, s: (n + 2 * p - f) // s + 2, "One too many: is the last window really inside the padded input?"),
    (lambda n, f, p, s: (n - f) // s + 1, "Padding is ignored: p zeros are added on each side."),
    (lambda n, f, p, s: (n + p - f) // s + 1, "The zeros go on both sides of the image, not one."),
    (lambda n, f, p, s: n + 2 * p - f + 1, "The stride is ignored: the window jumps s pixels at a time."),
    (lambda n, f, p, s: -(-(n + 2 * p - f) // s) + 1,
     "Rounded up: a window that would stick out past the padded edge does not count."),
    (lambda n, f, p, s: (n + 2 * p + f) // s + 1, "The kernel takes room: subtract f, do not add it."),
]


def _read_size(got, call, want):
    """A result must be a whole number; a fraction near the right size means '/' instead of '//'."""
    if expect_int(got) is not None:
        if isinstance(got, (float, np.floating)) and abs(got - want) < 1:
            return None, (f"{call} returns {got}, not a whole number: the window "
                          "cannot stop part-way; round down (use //).")
        return None, f"{call} should return a whole number, got {got!r:.60}."
    return int(got), None


_WHERE = ("conv_out(n={case[0]}, f={case[1]}, p={case[2]}, s={case[3]}) returns {got}, which is wrong "
          "({wrong} of {total} test cases are wrong).")

_check_conv_out = FunctionProblem("conv_out", "conv_out(n, f, p, s) returning an int", _CASES, _true_size,
                                  returns=_read_size, mistakes=_MISTAKES, said=_WHERE + " {mistake}", otherwise=_WHERE,
                                  stub=True)


q1 = Exercise(
    "02.1",
    "Write conv_out(n, f, p, s): the output size of a convolution with kernel f, "
    "p zeros of padding on each side and stride s over an input of n pixels.",
    _check_conv_out,
    hint="How many pixels does the window have room to move across, and how many steps of s fit in that room?",
    solution=r"""def conv_out(n, f, p, s):
    return (n + 2 * p - f) // s + 1""",
    expects="a function conv_out(n, f, p, s) -> int",
    level=1,
)


# ------------------------------------------------------------------ 02.2 parameters of a stack
# Input 64x64x3 -> Conv2D(16, 5) -> Conv2D(32, 3, strides=2) -> Conv2D(8, 1, use_bias=False)
STACK = [((5, 5), 16, True), ((3, 3), 32, True), ((1, 1), 8, False)]
STACK_INPUT = (64, 64, 3)


def _stack_params():
    c_in, out = STACK_INPUT[2], []
    for kernel, filters, bias in STACK:
        out.append(ops.conv2d_params(kernel, c_in, filters, bias))
        c_in = filters
    return out


def _check_stack_params(answer):
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__"):
        return f"stack_params should be a list of 3 whole numbers, one per layer, got {type(answer).__name__}."
    if len(answer) != 3:
        return f"stack_params should hold 3 numbers (one per conv layer), it holds {len(answer)}."
    want = _stack_params()
    c_in = STACK_INPUT[2]
    for i, (got, right, (kernel, filters, bias)) in enumerate(zip(answer, want, STACK)):
        problem = expect_int(got, f"stack_params[{i}]")
        if problem:
            return problem
        got = int(got)
        kh, kw = kernel
        if got != right:
            layer = f"Layer {i + 1} (Conv2D({filters}, {kh}x{kw}{'' if bias else ', no bias'})): {got} is wrong."
            if bias and got == kh * kw * c_in * filters:
                return layer + " The bias is missing: each filter has one."
            if not bias and got == (kh * kw * c_in + 1) * filters:
                return layer + " This layer has use_bias=False."
            if got == (kh * kw + int(bias)) * filters:
                return layer + f" Each filter spans all {c_in} input channels."
            if i > 0 and got == ops.conv2d_params(kernel, STACK_INPUT[2], filters, bias):
                return layer + " Its input is the previous layer's output, not the RGB image: how many channels has it?"
            if got > 64 * 64:
                return layer + " The count does not depend on the image size: the same kernel slides everywhere."
            return layer
        c_in = filters
    return None


q2 = Exercise(
    "02.2",
    "A 64x64 RGB image goes through Conv2D(16, 5), then Conv2D(32, 3, strides=2), then "
    "Conv2D(8, 1, use_bias=False). Give the parameter count of each layer as a list of 3 ints.",
    _check_stack_params,
    hint="Each filter has kh*kw*(input channels) weights and (if used) one bias; the input channels "
         "of a layer are the filters of the layer before.",
    solution=r"""stack_params = [(5 * 5 * 3 + 1) * 16, (3 * 3 * 16 + 1) * 32, 1 * 1 * 32 * 8]""",
    expects="a list of 3 whole numbers",
    level=1,
)


# ------------------------------------------------------------------ 02.3 diagonal edge filter
_N = 11
_I, _J = np.mgrid[0:_N, 0:_N]
#: the target: an edge along the main diagonal (top-left to bottom-right),
#: bright ABOVE-RIGHT of it, dark below-left.
PATTERNS = {
    "target diagonal": (_J > _I).astype(float),
    "vertical edge": (_J > _N // 2).astype(float),
    "vertical edge (reversed)": (_J <= _N // 2).astype(float),
    "horizontal edge": (_I > _N // 2).astype(float),
    "horizontal edge (reversed)": (_I <= _N // 2).astype(float),
    "other diagonal": (_I + _J < _N - 1).astype(float),
    "other diagonal (reversed)": (_I + _J > _N - 1).astype(float),
}
MIN_RATIO = 1.25


def filter_responses(kernel):
    """Largest response of a 3x3 ``kernel`` on each test pattern and on a flat grey image.

    Returns ``{pattern name: max over positions of the filter's output}``, with
    ``"flat"`` the (constant) response to a uniform image of 0.5, and for the
    other patterns the largest absolute response (``"target diagonal"`` keeps its sign).
    """
    k = np.asarray(kernel, dtype=float).reshape(3, 3, 1, 1)
    out = {}
    for name, img in PATTERNS.items():
        r = ops.conv2d_fast(img[None, :, :, None], k)[0, :, :, 0]
        out[name] = float(r.max() if abs(r.max()) >= abs(r.min()) else r.min()) if name == "target diagonal" \
            else float(np.abs(r).max())
    out["flat"] = float(np.sum(k) * 0.5)
    return out


def _check_diag_filter(answer):
    problem = expect_array(answer, (3, 3), "diag_filter")
    if problem:
        return problem
    k = np.asarray(answer, dtype=float)
    scale = np.abs(k).max()
    if scale == 0:
        return "diag_filter is all zeros: it responds to nothing."
    r = filter_responses(k)
    if abs(r["flat"]) > 1e-6 * scale:
        return (f"On a flat grey image (0.5 everywhere) diag_filter outputs {r['flat']:.3g}, not 0: "
                "a filter that finds edges should ignore regions of constant brightness.")
    target = r["target diagonal"]
    if abs(target) <= 1e-9 * scale:
        return ("diag_filter does not respond to the target edge (bright above-right, dark below-left) "
                "at all: its output there is 0.")
    if target < 0:
        return ("diag_filter's strongest response to the target edge (bright above-right, dark below-left) "
                f"is {target:.3g}, not positive: it finds the opposite edge, or is flipped.")
    for name, value in r.items():
        if name in ("target diagonal", "flat"):
            continue
        if value * MIN_RATIO > target:
            return (f"diag_filter responds to the {name} with {value:.3g}, almost as strongly as (or more than) "
                    f"to the target diagonal ({target:.3g}). It should respond at least {MIN_RATIO}x more to the "
                    "diagonal edge than to any other test pattern.")
    return None


q3 = Exercise(
    "02.3",
    "Design a 3x3 filter diag_filter that responds positively and most strongly to an edge along the "
    "main diagonal (top-left to bottom-right) with the bright side above-right, gives 0 on flat regions, "
    "and responds at least 1.25x less to vertical, horizontal and anti-diagonal edges.",
    _check_diag_filter,
    hint="Start from the vertical Sobel filter and turn its pattern 45 degrees: +weights on the bright side "
         "of the diagonal, -weights on the dark side, 0 on the diagonal itself.",
    solution=r"""diag_filter = np.array([[0, 1, 2],
                        [-1, 0, 1],
                        [-2, -1, 0]])""",
    expects="a NumPy array of shape (3, 3)",
    level=2,
)


# ------------------------------------------------------------------ 02.4 RGB -> grey as a 1x1 conv
LUMA = np.array([0.299, 0.587, 0.114])


def _check_gray_kernel(answer):
    problem = expect_array(answer, name="gray_kernel")   # numbers at all? (a function, a string: no)
    if problem:
        return problem
    arr = np.asarray(answer, dtype=float)
    if arr.size == 3 and arr.shape != (1, 1, 3, 1):
        return (f"gray_kernel has shape {arr.shape}: a Conv2D kernel is stored as "
                "(kernel_height, kernel_width, in_channels, filters), so here (1, 1, 3, 1).")
    problem = expect_array(answer, (1, 1, 3, 1), "gray_kernel")
    if problem:
        return problem
    k = np.asarray(answer, dtype=float)
    rgb = np.random.default_rng(0).uniform(size=(2, 4, 5, 3))
    got = ops.conv2d(rgb, k)[..., 0]
    want = rgb @ LUMA
    if np.allclose(got, want, atol=1e-3):
        return None
    w = k.ravel()
    if np.allclose(w, LUMA[::-1], atol=1e-3):
        return "The weights are in BGR order; the channels of these images are R, G, B."
    if np.allclose(w.sum(), 1.0, atol=1e-3):
        return (f"Your weights {np.round(w, 3).tolist()} sum to 1 (good: white stays white) but are not "
                "the luminance weights given in the statement.")
    return (f"gray_kernel turns a pixel (r, g, b) into {np.round(w, 3).tolist()} . (r, g, b): "
            "not the luminance of the statement.")


q4 = Exercise(
    "02.4",
    "Write gray_kernel, the kernel of a Conv2D(1, kernel_size=1, use_bias=False) that turns an RGB image "
    "into grey with the luminance formula 0.299 R + 0.587 G + 0.114 B.",
    _check_gray_kernel,
    hint="Mind the kernel layout Keras uses: (kernel_height, kernel_width, in_channels, filters).",
    solution=r"""gray_kernel = np.array([0.299, 0.587, 0.114]).reshape(1, 1, 3, 1)""",
    expects="a NumPy array of shape (1, 1, 3, 1)",
    level=1,
)
