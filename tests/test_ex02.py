"""Checkers of notebook 02's exercises: right answers pass, typical mistakes get the right message,
nonsense never crashes."""
import numpy as np
import pytest

from exercise_helpers import fails, message, passes  # noqa: E402
from cnncourse.exercises import ex02

NONSENSE = [None, "abc", 3.5, [1, 2], np.zeros((2, 2, 2)), {"a": 1}, float("nan")]


@pytest.mark.parametrize("q", [ex02.q1, ex02.q2, ex02.q3, ex02.q4, ex02.q5])
def test_nonsense_is_refused_without_crashing(q):
    for answer in NONSENSE:
        ok, msg = q.evaluate(answer)
        assert not ok and isinstance(msg, str) and msg


# ------------------------------------------------------------------ 02.1 convolution from scratch
def right_conv(x, kernel, bias, stride=1, padding=0):
    f_h, f_w, c_in, c_out = kernel.shape
    xp = np.pad(x, ((padding, padding), (padding, padding), (0, 0)))
    out_h, out_w = (xp.shape[0] - f_h) // stride + 1, (xp.shape[1] - f_w) // stride + 1
    out = np.zeros((out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[i * stride:i * stride + f_h, j * stride:j * stride + f_w, :]
            out[i, j] = np.tensordot(window, kernel, axes=3) + bias
    return out


def conv_with(kernel_fn=lambda k: k, bias_fn=lambda b, x: b, x_fn=lambda x: x, stride_fn=lambda s: s,
              pads=lambda p: ((p, p), (p, p)), size=lambda room, s: room // s + 1, out_fn=lambda out: out):
    """right_conv with one part replaced: the typical mistakes."""
    def my_conv2d(x, kernel, bias, stride=1, padding=0):
        k, s = kernel_fn(kernel), stride_fn(stride)
        xs = x_fn(x)
        k = k[:, :, :xs.shape[2]]
        xp = np.pad(xs, (*pads(padding), (0, 0)))
        out_h, out_w = size(xp.shape[0] - k.shape[0], s), size(xp.shape[1] - k.shape[1], s)
        out = np.zeros((out_h, out_w, k.shape[3]))
        for i in range(out_h):
            for j in range(out_w):
                window = xp[i * s:i * s + k.shape[0], j * s:j * s + k.shape[1], :]
                if window.shape[:2] != k.shape[:2]:                     # a window sticking out: zeros
                    window = np.pad(window, ((0, k.shape[0] - window.shape[0]), (0, k.shape[1] - window.shape[1]), (0, 0)))
                out[i, j] = np.tensordot(window, k, axes=3) + bias_fn(bias, x)
        return out_fn(out)
    return my_conv2d


def test_q1_right_answers_pass_and_agree_with_keras():
    assert passes(ex02.q1, right_conv)
    assert passes(ex02.q1, lambda x, k, b, s, p: right_conv(x, k, b, s, p).astype("float32"))
    import keras
    rng = np.random.default_rng(7)
    x, k, b = rng.normal(size=(9, 8, 3)).astype("float32"), rng.normal(size=(3, 3, 3, 4)), rng.normal(size=4)
    layer = keras.layers.Conv2D(4, 3, strides=2)
    layer.build((None, 11, 10, 3))
    layer.set_weights([k, b])
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))[None]
    np.testing.assert_allclose(right_conv(x, k, b, 2, 1), keras.ops.convert_to_numpy(layer(padded))[0], atol=1e-4)


@pytest.mark.parametrize("wrong, words", [
    (conv_with(kernel_fn=lambda k: k[::-1, ::-1]), ["flipped", "cross-correlation"]),
    (conv_with(kernel_fn=lambda k: k.transpose(1, 0, 2, 3)), ["kernel's rows and columns are swapped"]),
    (conv_with(bias_fn=lambda b, x: 0), ["bias is missing"]),
    (conv_with(bias_fn=lambda b, x: b * x.shape[2]), ["once per input channel"]),
    (conv_with(x_fn=lambda x: x[..., :1]), ["only the first input channel"]),
    (conv_with(stride_fn=lambda s: 1), ["stride is ignored"]),
    (conv_with(pads=lambda p: ((0, 0), (0, 0))), ["padding is ignored"]),
    (conv_with(pads=lambda p: ((p, 0), (p, 0))), ["top and left"]),
    (conv_with(pads=lambda p: ((0, p), (0, p))), ["bottom and right"]),
    (conv_with(pads=lambda p: ((2 * p, 2 * p), (2 * p, 2 * p))), ["twice too many zeros"]),
    (conv_with(size=lambda room, s: room // s), ["one row and one column short"]),
    (conv_with(size=lambda room, s: room // s + 2), ["too many"]),
    (conv_with(size=lambda room, s: -(-room // s) + 1), ["round down"]),
    (conv_with(out_fn=lambda out: out.transpose(1, 0, 2)), ["output's rows and columns are swapped"]),
])
def test_q1_typical_mistakes(wrong, words):
    fails(ex02.q1, wrong, "my_conv2d on a", *words)


def test_q1_channels_not_summed_and_other_shapes():
    def per_channel(x, kernel, bias, stride=1, padding=0):
        maps = [right_conv(x[..., c:c + 1], kernel[:, :, c:c + 1], bias / x.shape[2], stride, padding)
                for c in range(x.shape[2])]
        return np.stack(maps, axis=2)                       # (out_h, out_w, c_in, filters)

    fails(ex02.q1, per_channel, "sums its products over all input channels")
    fails(ex02.q1, lambda x, k, b, s, p: right_conv(x, k, b, s, p)[None], "batch of one")
    fails(ex02.q1, lambda x, k, b, s, p: right_conv(x, k, b, s, p)[..., 0], "3 axes")
    fails(ex02.q1, lambda x, k, b, s, p: right_conv(x, k, b, s, p)[:, :2], "not the output's shape")
    fails(ex02.q1, lambda x, k, b, s, p: right_conv(x, k, b, s, p) + 0.5, "output values are wrong")


def test_q1_library_calls_are_refused():
    from scipy import signal
    from cnncourse import ops

    fails(ex02.q1, lambda x, k, b, s, p: ops.conv2d(x[None], k, b, s, p)[0], "calls ops.conv2d")

    def with_scipy(x, kernel, bias, stride=1, padding=0):
        xp = np.pad(x, ((padding, padding), (padding, padding), (0, 0)))
        maps = [sum(signal.correlate2d(xp[..., c], kernel[:, :, c, o], mode="valid") for c in range(x.shape[2]))
                + bias[o] for o in range(kernel.shape[3])]
        return np.stack(maps, -1)[::stride, ::stride]

    fails(ex02.q1, with_scipy, "SciPy")

    def helper_named_conv(x, kernel, bias, stride=1, padding=0):   # a helper of one's own is fine
        def conv2d(*args):
            return right_conv(*args)
        return conv2d(x, kernel, bias, stride, padding)

    assert passes(ex02.q1, helper_named_conv)


def test_q1_changed_arguments_and_errors():
    def in_place(x, kernel, bias, stride=1, padding=0):
        bias += 1
        return right_conv(x, kernel, bias - 1, stride, padding)

    fails(ex02.q1, in_place, "changed its arguments")
    assert passes(ex02.q1, right_conv)                     # the cases were restored
    fails(ex02.q1, lambda x, k, b, s, p: right_conv(x, k, b, s), "padding is ignored")
    fails(ex02.q1, lambda x, k, b: x, "raised TypeError")
    fails(ex02.q1, lambda x, k, b, s, p: "maps", "array of numbers")
    fails(ex02.q1, lambda x, k, b, s, p: np.full((3, 3, 1), np.nan), "NaN")


def test_q1_messages_do_not_give_the_output():
    msg = message(ex02.q1, conv_with(size=lambda room, s: room // s))
    for case in ex02._CONV_CASES:
        want = ex02._reference_conv(*case)
        assert str(want.shape) not in msg


# ------------------------------------------------------------------ 02.2
def test_q2_stack_params():
    right = [(5 * 5 * 3 + 1) * 16, (3 * 3 * 16 + 1) * 32, 1 * 1 * 32 * 8]
    assert passes(ex02.q2, right)
    assert passes(ex02.q2, tuple(np.array(right)))
    assert "bias is missing" in message(ex02.q2, [5 * 5 * 3 * 16, right[1], right[2]])
    assert "use_bias=False" in message(ex02.q2, [right[0], right[1], (32 + 1) * 8])
    assert "all 3 input channels" in message(ex02.q2, [(25 + 1) * 16, right[1], right[2]])
    assert "previous layer" in message(ex02.q2, [right[0], (3 * 3 * 3 + 1) * 32, right[2]])
    assert "image size" in message(ex02.q2, [64 * 64 * 3 * 16, right[1], right[2]])
    assert "3 numbers" in message(ex02.q2, right[:2])
    assert "Layer 3" in message(ex02.q2, [right[0], right[1], 7])


# ------------------------------------------------------------------ 02.3
def test_q3_diagonal_filter():
    assert passes(ex02.q3, np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]))
    assert passes(ex02.q3, 0.1 * np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]))
    assert "flat" in message(ex02.q3, np.array([[0, 1, 2], [-1, 1, 1], [-2, -1, 0]]))
    assert "opposite edge" in message(ex02.q3, -np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]))
    # the vertical Sobel filter finds vertical edges better than diagonal ones
    assert "vertical edge" in message(ex02.q3, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]))
    # the anti-diagonal filter
    assert "does not respond" in message(ex02.q3, np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]]))
    # target + most of the anti-diagonal filter: a horizontal-edge filter in disguise
    assert "horizontal edge with" in message(ex02.q3, np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]])
                                       + 0.8 * np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]]))
    # a two-pixel filter responds to vertical edges as much as to the diagonal
    assert "almost as strongly" in message(ex02.q3, np.array([[0, 0, 1], [0, 0, 0], [-1, 0, 0]]))
    assert "all zeros" in message(ex02.q3, np.zeros((3, 3)))
    assert "shape" in message(ex02.q3, np.zeros((5, 5)))


def test_filter_responses_on_patterns():
    r = ex02.filter_responses(np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]))
    assert r["target diagonal"] == 4 and r["vertical edge"] == 3 and r["other diagonal"] == 0
    assert r["flat"] == 0


# ------------------------------------------------------------------ 02.4
def test_q4_gray_kernel():
    right = np.array([0.299, 0.587, 0.114]).reshape(1, 1, 3, 1)
    assert passes(ex02.q4, right)
    assert "(kernel_height, kernel_width, in_channels, filters)" in message(ex02.q4, right.reshape(1, 1, 1, 3))
    assert "(kernel_height" in message(ex02.q4, right.ravel())
    assert "BGR" in message(ex02.q4, right[:, :, ::-1])
    assert "sum to 1" in message(ex02.q4, np.full((1, 1, 3, 1), 1 / 3))
    assert "not the luminance" in message(ex02.q4, np.ones((1, 1, 3, 1)))


# ------------------------------------------------------------------ 02.5 learning a filter
def right_learn(images, responses, steps=200, lr=0.2, flip=False, transpose=False, sign=1.0, start=None):
    n, h, w = images.shape
    out_h, out_w = responses.shape[1:]
    f = h - out_h + 1
    kernel = np.zeros((f, f)) if start is None else start.copy()
    losses = []
    shifted = {(a, b): images[:, a:a + out_h, b:b + out_w] for a in range(f) for b in range(f)}
    for _ in range(steps):
        k = kernel[::-1, ::-1] if flip else kernel.T if transpose else kernel
        error = sum(k[a, b] * shifted[a, b] for a, b in shifted) - responses
        losses.append(float(np.mean(error ** 2)))
        grad = np.array([[2 * np.mean(error * shifted[a, b]) for b in range(f)] for a in range(f)])
        grad = grad[::-1, ::-1] if flip else grad.T if transpose else grad
        kernel -= sign * lr * grad
    return kernel, losses


def test_q5_data_and_the_right_answer():
    assert ex02.EDGE_IMAGES.shape == (16, 12, 12) and ex02.EDGE_RESPONSES.shape == (16, 10, 10)
    from cnncourse import ops
    sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)
    np.testing.assert_allclose(ex02.EDGE_RESPONSES,
                               ops.conv2d(ex02.EDGE_IMAGES[..., None], sobel_x[:, :, None, None])[..., 0])
    assert passes(ex02.q5, right_learn)
    assert passes(ex02.q5, lambda i, r: (right_learn(i, r)[0][:, :, None, None], np.array(right_learn(i, r)[1])))
    assert passes(ex02.q5, lambda i, r: right_learn(i, r, steps=3000, lr=0.01))   # small steps, many of them


def test_q5_the_exact_least_squares_answer_is_accepted():
    def lstsq(images, responses):
        out_h, out_w = responses.shape[1:]
        cols = np.stack([images[:, a:a + out_h, b:b + out_w].ravel() for a in range(3) for b in range(3)], 1)
        k = np.linalg.lstsq(cols, responses.ravel(), rcond=None)[0].reshape(3, 3)
        return k, [float(np.mean(responses ** 2)), 0.0]
    assert passes(ex02.q5, lstsq)


def test_q5_typical_mistakes():
    fails(ex02.q5, lambda i, r: right_learn(i, r, flip=True), "turned 180 degrees", "cross-correlation")
    fails(ex02.q5, lambda i, r: right_learn(i, r, transpose=True), "rows and columns swapped")
    fails(ex02.q5, lambda i, r: right_learn(i, r, sign=-1.0, steps=20), "loss grows", "up the gradient")
    fails(ex02.q5, lambda i, r: right_learn(i, r, lr=1.5, steps=60), "loss grows")
    fails(ex02.q5, lambda i, r: right_learn(i, r, lr=0.01, steps=100), "loss falls", "more steps")
    fails(ex02.q5, lambda i, r: right_learn(i, r, lr=1e-6, steps=10), "hardly falls")
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)
    fails(ex02.q5, lambda i, r: (sobel, [1.0, 0.0]), "same kernel for two different data sets")


def test_q5_diverging_to_nan_is_reported_not_crashed():
    with np.errstate(all="ignore"):                         # the student's descent overflows: no warnings
        msg = fails(ex02.q5, lambda i, r: right_learn(i, r, lr=5.0, steps=2000))
    assert "NaN" in msg or "grows" in msg


def test_q5_wrong_kinds_of_results():
    fails(ex02.q5, lambda i, r: right_learn(i, r)[0], "pair (kernel, losses)")
    fails(ex02.q5, lambda i, r: (np.zeros((5, 5)), [1.0, 0.5]), "(3, 3)")
    fails(ex02.q5, lambda i, r: (right_learn(i, r)[0], [0.0]), "at least two")
    fails(ex02.q5, lambda i, r: (right_learn(i, r)[0], "falling"), "not a list of numbers")
    fails(ex02.q5, lambda i, r: ("kernel", [1.0, 0.0]), "array")
    fails(ex02.q5, lambda images: 0, "raised TypeError")

    def in_place(images, responses):
        responses -= responses
        return right_learn(images, responses)
    fails(ex02.q5, in_place, "changed the images or responses")
    np.testing.assert_allclose(ex02.EDGE_RESPONSES, ex02._EDGE_RESPONSES)   # the notebook's data untouched


def test_q5_messages_do_not_give_the_hidden_filter():
    for wrong in (lambda i, r: right_learn(i, r, lr=0.001, steps=100), lambda i, r: right_learn(i, r, flip=True),
                  lambda i, r: (np.ones((3, 3)), [2.0, 1.0])):
        msg = message(ex02.q5, wrong)
        assert "Sobel" not in msg and "[[" not in msg
