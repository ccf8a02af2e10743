"""Checkers of notebook 02's exercises: right answers pass, typical mistakes get the right message,
nonsense never crashes."""
import numpy as np
import pytest

from exercise_helpers import message, passes  # noqa: E402
from cnncourse.exercises import ex02

NONSENSE = [None, "abc", 3.5, [1, 2], np.zeros((2, 2, 2)), {"a": 1}, float("nan")]


@pytest.mark.parametrize("q", [ex02.q1, ex02.q2, ex02.q3, ex02.q4])
def test_nonsense_is_refused_without_crashing(q):
    for answer in NONSENSE:
        ok, msg = q.evaluate(answer)
        assert not ok and isinstance(msg, str) and msg


# ------------------------------------------------------------------ 02.1
def test_q1_output_size():
    assert passes(ex02.q1, lambda n, f, p, s: (n + 2 * p - f) // s + 1)
    assert "One too few" in message(ex02.q1, lambda n, f, p, s: (n + 2 * p - f) // s)
    assert "Padding is ignored" in message(ex02.q1, lambda n, f, p, s: (n - f) // s + 1)
    assert "both sides" in message(ex02.q1, lambda n, f, p, s: (n + p - f) // s + 1)
    assert "stride is ignored" in message(ex02.q1, lambda n, f, p, s: n + 2 * p - f + 1)
    assert "round down" in message(ex02.q1, lambda n, f, p, s: (n + 2 * p - f) / s + 1)
    assert "Rounded up" in message(ex02.q1, lambda n, f, p, s: -(-(n + 2 * p - f) // s) + 1)
    assert "NotImplementedError" in message(ex02.q1, _not_implemented)
    assert "raised" in message(ex02.q1, lambda n, f: n)
    assert "subtract f" in message(ex02.q1, lambda n, f, p, s: (n + 2 * p + f) // s + 1)
    off_once = message(ex02.q1, lambda n, f, p, s: 3 if (n, f, p, s) == (224, 11, 2, 4) else (n + 2 * p - f) // s + 1)
    assert "n=224, f=11, p=2, s=4" in off_once and "1 of" in off_once


def _not_implemented(*args):
    raise NotImplementedError()


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
