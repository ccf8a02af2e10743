"""Exercises of notebook 02 (convolution).

- ``q1`` (02.1, ★★): ``my_conv2d(x, kernel, bias, stride, padding)``, a convolution with stride and zero
  padding on one image of many channels, written from scratch and compared with ``ops.conv2d``.
- ``q2`` (02.2, ★): the parameters of each layer of a small conv stack.
- ``q3`` (02.3, ★★): a 3x3 filter that finds diagonal edges (tried on test patterns).
- ``q4`` (02.4, ★): a 1x1 convolution kernel that turns RGB into grey.
- ``q5`` (02.5, ★★★): ``learn_kernel(images, responses)``, gradient descent that finds a hidden 3x3
  filter from what it made of images (:data:`EDGE_IMAGES`, :data:`EDGE_RESPONSES`).

In the notebook::

    from cnncourse.exercises import ex02 as ex
    ex.q1.check(my_conv2d)       # a function (x, kernel, bias, stride, padding) -> (out_h, out_w, filters)
    ex.q5.check(learn_kernel)    # a function (images, responses) -> (kernel (3, 3), losses)
"""
from __future__ import annotations

import numpy as np

from cnncourse import ops
from cnncourse.exercises import Exercise, expect_array, expect_callable, expect_int, names_used, try_call

__all__ = ["q1", "q2", "q3", "q4", "q5", "STACK", "STACK_INPUT", "PATTERNS", "MIN_RATIO", "filter_responses",
           "LUMA", "EDGE_IMAGES", "EDGE_RESPONSES"]


# ------------------------------------------------------------------ 02.1 convolution from scratch

def _reference_conv(x, kernel, bias, stride, padding):
    """The course's convolution (``ops.conv2d_fast``) on one image ``(h, w, c_in)``."""
    return ops.conv2d_fast(np.asarray(x, float)[None], kernel, bias, stride=stride, padding=padding)[0]


def _conv_case(seed, h, w, c_in, f, c_out, stride, padding):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, size=(h, w, c_in)), rng.normal(size=(f, f, c_in, c_out)),
            rng.uniform(0.5, 1.5, size=c_out) * rng.choice([-1, 1], size=c_out), stride, padding)


# one grey image first; then channels, padding, strides that leave a remainder, an even kernel;
# never square, so that rows and columns cannot be confused
_CONV_CASES = [_conv_case(*args) for args in [
    (0, 5, 6, 1, 3, 1, 1, 0), (1, 7, 9, 3, 3, 2, 1, 1), (2, 8, 7, 3, 3, 4, 2, 1),
    (3, 9, 11, 2, 5, 3, 3, 2), (4, 6, 8, 3, 2, 2, 2, 0), (5, 10, 7, 2, 3, 3, 3, 1),
]]


def _describe(case):
    x, k, b, s, p = case
    return (f"my_conv2d on a {x.shape[0]}x{x.shape[1]}x{x.shape[2]} image with {k.shape[3]} filter(s) of "
            f"{k.shape[0]}x{k.shape[1]}, stride {s}, padding {p}")


def _valid(x, k, b, s, pads):
    (top, bottom), (left, right) = pads
    return _reference_conv(np.pad(x, ((top, bottom), (left, right), (0, 0))), k, b, s, 0)


def _size(n, f, s, p, rounding):
    return rounding(n + 2 * p - f, s) + 1


# (what the student's result would be, or None when only its shape is known; its shape; what it reveals)
_CONV_MISTAKES = [
    (lambda x, k, b, s, p: _reference_conv(x, k[::-1, ::-1], b, s, p), None,
     "the kernel is flipped (turned 180 degrees). That is convolution in the mathematical sense; Conv2D "
     "and ops.conv2d compute cross-correlation: each window times the kernel as it is."),
    (lambda x, k, b, s, p: _reference_conv(x, k.transpose(1, 0, 2, 3), b, s, p), None,
     "the kernel's rows and columns are swapped: its first axis runs down the image (rows), its second "
     "across (columns)."),
    (lambda x, k, b, s, p: _reference_conv(x, k, None, s, p), None, "the bias is missing: add bias[o] to "
     "every output of filter o."),
    (lambda x, k, b, s, p: _reference_conv(x, k, b * x.shape[2], s, p), None,
     "the bias is added once per input channel; each filter adds its bias once per output position."),
    (lambda x, k, b, s, p: _reference_conv(x[..., :1], k[:, :, :1], b, s, p), None,
     "only the first input channel counts: each filter's window spans all input channels, and the "
     "products are summed over all of them."),
    (lambda x, k, b, s, p: _reference_conv(x, k, b, 1, p), None,
     "the stride is ignored: the window must jump `stride` pixels at a time, in both directions."),
    (lambda x, k, b, s, p: _reference_conv(x, k, b, s, 0), None,
     "the padding is ignored: add `padding` rows and columns of zeros on every side first."),
    (lambda x, k, b, s, p: _valid(x, k, b, s, ((p, 0), (p, 0))), None,
     "the zeros are only on the top and left: `padding` zeros go on every side."),
    (lambda x, k, b, s, p: _valid(x, k, b, s, ((0, p), (0, p))), None,
     "the zeros are only on the bottom and right: `padding` zeros go on every side."),
    (lambda x, k, b, s, p: _valid(x, k, b, s, ((2 * p, 2 * p), (2 * p, 2 * p))), None,
     "twice too many zeros: `padding` is the number of zero rows (and columns) on each side."),
    (lambda x, k, b, s, p: _reference_conv(x, k, b, s, p)[:-1, :-1], None,
     "one row and one column short: count the window's first position too."),
    (lambda x, k, b, s, p: _reference_conv(x, k, b, s, p).transpose(1, 0, 2), None,
     "the output's rows and columns are swapped: its first axis is the image's height."),
    (None, lambda x, k, b, s, p: (_size(x.shape[0], k.shape[0], s, p, lambda a, c: -(-a // c)),
                                  _size(x.shape[1], k.shape[1], s, p, lambda a, c: -(-a // c)), k.shape[3]),
     "the output is too big when the stride does not divide the room the window has: a window that "
     "would stick out of the padded image does not count (round down)."),
    (None, lambda x, k, b, s, p: (_size(x.shape[0], k.shape[0], s, p, lambda a, c: a // c) + 1,
                                  _size(x.shape[1], k.shape[1], s, p, lambda a, c: a // c) + 1, k.shape[3]),
     "one row and one column too many: the last window must fit inside the padded image."),
    (None, lambda x, k, b, s, p: (*_reference_conv(x, k, b, s, p).shape[:2], x.shape[2], k.shape[3]),
     "the result keeps an axis for the input channels: each filter sums its products over all input "
     "channels to one number per position."),
]

_LIBRARY = [({"ops"}, {"conv2d", "conv2d_fast"}, "ops.conv2d"),
            ({"signal", "scipy", "ndimage"}, {"correlate", "correlate2d", "convolve", "convolve2d"},
             "SciPy's correlate/convolve"),
            ({"keras", "layers", "tf", "torch", "jax", "lax"}, {"Conv2D", "conv", "conv2d", "conv_general_dilated"},
             "a deep-learning library's convolution")]


def _library_call(fn):
    names = names_used(fn)
    for modules, functions, label in _LIBRARY:
        if names & modules and names & functions:
            return label
    return None


def _read_conv(got, case):
    try:
        arr = np.array(got, dtype=float)             # a copy: the student's array may be an argument
    except (TypeError, ValueError):
        return None, f"{_describe(case)} returned {type(got).__name__}; expected a NumPy array of numbers."
    if arr.ndim == 4 and arr.shape[0] == 1:
        return None, (f"{_describe(case)} returned shape {arr.shape}: a batch of one. my_conv2d takes one image "
                      "(height, width, channels) and returns one feature-map stack (out_h, out_w, filters).")
    if arr.ndim not in (3, 4):
        return None, (f"{_describe(case)} returned an array of shape {arr.shape}; expected 3 axes "
                      "(out_height, out_width, filters).")
    if not np.all(np.isfinite(arr)):
        return None, f"{_describe(case)} returned NaN or infinite values."
    return arr, None


def _check_my_conv(fn):
    problem = expect_callable(fn, "my_conv2d(x, kernel, bias, stride, padding)")
    if problem:
        return problem
    used = _library_call(fn)
    if used:
        return (f"my_conv2d calls {used}: the point is to write the sliding window yourself, with NumPy "
                "(the checker compares your result with ops.conv2d).")
    results = []
    for case in _CONV_CASES:
        copies = [np.copy(a) for a in case[:3]]
        got, problem = try_call(fn, case, _describe(case))
        changed = any(not np.array_equal(a, c) for a, c in zip(case[:3], copies))
        for a, c in zip(case[:3], copies):
            a[...] = c                                   # the cases stay as they were, for the next check
        if problem:
            return problem
        if changed:
            return f"{_describe(case)} changed its arguments (the image, kernel or bias): leave them as they are."
        arr, problem = _read_conv(got, case)
        if problem:
            return problem
        results.append(arr)
    wants = [_reference_conv(*case) for case in _CONV_CASES]
    wrong = [i for i, (got, want) in enumerate(zip(results, wants))
             if got.shape != want.shape or not np.allclose(got, want, atol=1e-6)]
    if not wrong:
        return None
    first = wrong[0]
    call = _describe(_CONV_CASES[first])
    for values, shape, said in _CONV_MISTAKES:
        explained = True
        for case, got in zip(_CONV_CASES, results):
            want = values(*case) if values is not None else None
            want_shape = want.shape if want is not None else tuple(shape(*case))
            if got.shape != want_shape or (want is not None and not np.allclose(got, want, atol=1e-6)):
                explained = False
                break
        if explained:
            return f"{call} is wrong: {said}"
    got, want = results[first], wants[first]
    if got.shape != want.shape:
        return (f"{call} returned shape {got.shape}, which is not the output's shape for this kernel, stride "
                "and padding (section 4: count the positions along each axis; one feature map per filter).")
    bad = int(np.sum(~np.isclose(got, want, atol=1e-6)))
    return (f"{call}: {bad} of the {want.size} output values are wrong ({len(wrong)} of {len(_CONV_CASES)} "
            "test cases). Compare one output position with np.sum(window * kernel[:, :, :, o]) + bias[o] by hand.")


q1 = Exercise(
    "02.1",
    "Write my_conv2d(x, kernel, bias, stride, padding): the output (out_h, out_w, filters) of a convolution "
    "(cross-correlation) of one image x of shape (h, w, in_channels) with kernel of shape "
    "(f, f, in_channels, filters) and bias of shape (filters,), with `padding` zeros on every side and the "
    "given stride. NumPy only.",
    _check_my_conv,
    hint="Pad first (np.pad, not on the channel axis), then work out out_h and out_w with section 4's formula. "
         "Output (i, j) reads the window padded[i*stride : i*stride + f, j*stride : j*stride + f, :]; "
         "filter o gives np.sum(window * kernel[:, :, :, o]) + bias[o].",
    solution=r"""def my_conv2d(x, kernel, bias, stride=1, padding=0):
    f_h, f_w, c_in, c_out = kernel.shape
    xp = np.pad(x, ((padding, padding), (padding, padding), (0, 0)))   # zeros on every side, not on channels
    out_h = (xp.shape[0] - f_h) // stride + 1                           # = (h + 2p - f) // s + 1
    out_w = (xp.shape[1] - f_w) // stride + 1
    out = np.zeros((out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[i * stride:i * stride + f_h, j * stride:j * stride + f_w, :]   # (f_h, f_w, c_in)
            for o in range(c_out):
                out[i, j, o] = np.sum(window * kernel[:, :, :, o]) + bias[o]
    return out

rng = np.random.default_rng(3)
x3, k3, b3 = rng.normal(size=(9, 8, 3)), rng.normal(size=(3, 3, 3, 5)), rng.normal(size=5)
mine = my_conv2d(x3, k3, b3, stride=2, padding=1)
print("shape", mine.shape, "| equals ops.conv2d:", np.allclose(mine, ops.conv2d(x3[None], k3, b3, 2, 1)[0]))""",
    expects="a function my_conv2d(x, kernel, bias, stride, padding) returning an array (out_h, out_w, filters)",
    level=2,
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



# ------------------------------------------------------------------ 02.5 learning a filter by gradient descent

def _valid_responses(images, kernel):
    """What a 3x3 ``kernel`` makes of grey ``images`` (n, h, w): cross-correlation, no padding, no bias."""
    return ops.conv2d_fast(np.asarray(images, float)[..., None], np.asarray(kernel, float)[:, :, None, None])[..., 0]


#: The Sobel x filter of section 7: the filter hidden in :data:`EDGE_RESPONSES`.
_SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
#: 16 random grey images of 12x12 pixels (standard normal values).
EDGE_IMAGES = np.random.default_rng(20).normal(size=(16, 12, 12))
#: What a hidden 3x3 filter made of :data:`EDGE_IMAGES`: shape (16, 10, 10) (no padding, no bias).
EDGE_RESPONSES = _valid_responses(EDGE_IMAGES, _SOBEL_X)
_EDGE_IMAGES, _EDGE_RESPONSES = EDGE_IMAGES.copy(), EDGE_RESPONSES.copy()   # the checker's own copies

_OTHER_IMAGES = np.random.default_rng(21).normal(size=(10, 9, 14))          # another size, another filter
_OTHER_KERNEL = np.round(np.random.default_rng(22).normal(size=(3, 3)), 2)
_TOLERANCE = 1e-2


def _relative_error(kernel, true):
    return float(np.linalg.norm(kernel - true) / np.linalg.norm(true))


def _read_learned(got, call):
    """``((kernel (3, 3), losses (steps,)), None)`` or ``(None, message)``."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return None, (f"{call} returned {type(got).__name__}; it should return a pair (kernel, losses): the "
                      "learned 3x3 kernel and the list of the loss at every step.")
    kernel, losses = got
    problem = expect_array(kernel, name=f"the kernel {call} returned")
    if problem:
        return None, problem + (" If it is NaN, the loss grew without bound: a step against the gradient, "
                                "or a learning rate too large?" if "NaN" in problem else "")
    kernel = np.asarray(kernel, dtype=float)
    if kernel.size != 9:
        return None, f"the kernel {call} returned has shape {kernel.shape}; expected (3, 3)."
    try:
        losses = np.asarray(losses, dtype=float).ravel()
    except (TypeError, ValueError):
        return None, f"the losses {call} returned are not a list of numbers."
    if losses.size < 2:
        return None, (f"{call} returned {losses.size} loss(es); return the loss of every step of the descent "
                      "(at least two), so that one can see it fall.")
    return (kernel.reshape(3, 3), losses), None


def _check_learn(fn):
    problem = expect_callable(fn, "learn_kernel(images, responses) returning (kernel, losses)")
    if problem:
        return problem
    data = [("the notebook's data (ex.EDGE_IMAGES, ex.EDGE_RESPONSES)", _EDGE_IMAGES, _SOBEL_X),
            ("10 other images of 9x14 pixels and another hidden filter", _OTHER_IMAGES, _OTHER_KERNEL)]
    learned = []
    for label, images, true in data:
        images = images.copy()
        responses = _valid_responses(images, true)
        call = f"learn_kernel on {label}"
        got, problem = try_call(fn, (images, responses), call)
        if problem:
            return problem
        if not np.array_equal(responses, _valid_responses(images, true)) or \
                not np.array_equal(images, data[0][1] if label.startswith("the notebook") else _OTHER_IMAGES):
            return f"{call} changed the images or responses it was given: leave them as they are."
        value, problem = _read_learned(got, call)
        if problem:
            return problem
        kernel, losses = value
        if not np.all(np.isfinite(losses)) or losses[-1] > losses[0]:
            return (f"With {call}, the loss grows (from {losses[0]:.3g} to {losses[-1]:.3g}): a step goes up "
                    "the gradient instead of down, or the learning rate is too large.")
        error = _relative_error(kernel, true)
        if error > _TOLERANCE:
            if _relative_error(kernel, true[::-1, ::-1]) <= _TOLERANCE:
                return (f"With {call}, the learned kernel is the hidden one turned 180 degrees: your prediction "
                        "flips the kernel (convolution in the mathematical sense), while the responses were "
                        "made by cross-correlation, as Conv2D and ops.conv2d compute it.")
            if _relative_error(kernel, true.T) <= _TOLERANCE:
                return (f"With {call}, the learned kernel has its rows and columns swapped: kernel[a, b] "
                        "multiplies the pixel a rows down and b columns right of the window's corner.")
            if learned and _relative_error(kernel, learned[0]) <= _TOLERANCE:
                return (f"learn_kernel returns the same kernel for two different data sets: it must learn "
                        "the filter from the images and responses it is given.")
            if losses[-1] < 0.5 * losses[0]:
                return (f"With {call}, the loss falls (from {losses[0]:.3g} to {losses[-1]:.3g}) but the learned "
                        f"kernel is still {error:.0%} away from the hidden one (relative error): take more steps "
                        "or a larger learning rate, or check that your gradient matches your loss.")
            return (f"With {call}, the loss hardly falls (from {losses[0]:.3g} to {losses[-1]:.3g}) and the "
                    f"learned kernel is {error:.0%} away from the hidden one. Is the gradient right (a sum over "
                    "every image and position of error times pixel), and the learning rate large enough?")
        learned.append(kernel)
    return None


q5 = Exercise(
    "02.5",
    "Write learn_kernel(images, responses): starting from a kernel of zeros, find the 3x3 filter that turned the "
    "grey images (n, h, w) into the responses (n, h-2, w-2) (cross-correlation, no padding, no bias) by gradient "
    "descent on the mean squared error; return (kernel, losses), the learned (3, 3) kernel and the loss of "
    "every step.",
    _check_learn,
    hint="The prediction is sum over (a, b) of kernel[a, b] * images[:, a:a + h - 2, b:b + w - 2]. With error = "
         "prediction - responses and loss = mean(error**2), the gradient is "
         "d loss / d kernel[a, b] = 2 * mean(error * images[:, a:a + h - 2, b:b + w - 2]). Step: kernel -= lr * grad.",
    solution=r"""def learn_kernel(images, responses, steps=200, lr=0.2):
    n, h, w = images.shape
    out_h, out_w = responses.shape[1:]
    f = h - out_h + 1                                    # 3
    kernel = np.zeros((f, f))
    losses = []
    for _ in range(steps):
        # the pixels each kernel weight multiplies, at every output position of every image
        shifted = {(a, b): images[:, a:a + out_h, b:b + out_w] for a in range(f) for b in range(f)}
        error = sum(kernel[a, b] * shifted[a, b] for a, b in shifted) - responses
        losses.append(np.mean(error ** 2))
        grad = np.array([[2 * np.mean(error * shifted[a, b]) for b in range(f)] for a in range(f)])
        kernel -= lr * grad
    return kernel, losses

learned, losses = learn_kernel(ex.EDGE_IMAGES, ex.EDGE_RESPONSES)
print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.2e} after {len(losses)} steps")
print("learned kernel:\n", learned.round(3) + 0.0)   # + 0.0 turns -0.0 into 0.0""",
    expects="a function learn_kernel(images, responses) returning (kernel, losses)",
    level=3,
)
