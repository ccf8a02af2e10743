"""Checkers of notebook 03's exercises: right answers pass, typical mistakes get the right message,
nonsense never crashes."""
import numpy as np
import pytest

from exercise_helpers import message, passes  # noqa: E402
from cnncourse.exercises import ex03

NONSENSE = [None, "abc", 3.5, [1, 2], np.zeros((2, 2, 2)), {"a": 1}, float("nan"), lambda: 1]


@pytest.mark.parametrize("q", [ex03.q1, ex03.q2, ex03.q3, ex03.q4])
def test_nonsense_is_refused_without_crashing(q):
    for answer in NONSENSE:
        ok, msg = q.evaluate(answer)
        assert not ok and isinstance(msg, str) and msg


# ------------------------------------------------------------------ 03.1
def _pool(x, pool, stride, reduce=np.max, start=None, row_step=None):
    out_h = (x.shape[0] - pool) // stride + 1
    out_w = (x.shape[1] - pool) // stride + 1
    out = np.empty((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            r = i * (stride if row_step is None else row_step)
            window = x[r:r + pool, j * stride:j * stride + pool]
            out[i, j] = reduce(window) if start is None else max(start, window.max())
    return out


def test_q1_max_pool():
    assert passes(ex03.q1, _pool)
    assert "average" in message(ex03.q1, lambda x, p, s: _pool(x, p, s, np.mean))
    assert "minimum" in message(ex03.q1, lambda x, p, s: _pool(x, p, s, np.min))
    assert "start at 0" in message(ex03.q1, lambda x, p, s: _pool(x, p, s, start=0.0))
    assert "stride is ignored" in message(ex03.q1, lambda x, p, s: _pool(x, p, 1))
    assert "How far down" in message(ex03.q1, lambda x, p, s: _pool(x, p, s, row_step=1))
    assert "shape" in message(ex03.q1, lambda x, p, s: _pool(x, p, s)[:-1])
    assert "NotImplementedError" in message(ex03.q1, _raise)
    assert "raised" in message(ex03.q1, lambda x: x)
    assert "should be a NumPy array" in message(ex03.q1, lambda x, p, s: None)


def _raise(*args):
    raise NotImplementedError()


# ------------------------------------------------------------------ 03.2
def test_q2_macs():
    without, with_pool = 56 * 56 * 128 * 3 * 3 * 64, 28 * 28 * 128 * 3 * 3 * 64
    assert passes(ex03.q2, (without, with_pool))
    assert passes(ex03.q2, [np.int64(without), float(with_pool)])
    assert "input channels" in message(ex03.q2, (56 * 56 * 128 * 9, with_pool))
    assert "one filter" in message(ex03.q2, (56 * 56 * 9 * 64, with_pool))
    assert "parameters" in message(ex03.q2, (without, (9 * 64 + 1) * 128))
    assert "height AND the width" in message(ex03.q2, (without, without // 2))
    assert "equals the one without" in message(ex03.q2, (without, without))
    assert "wrong" in message(ex03.q2, (without, 12345))
    assert "pair" in message(ex03.q2, (without,))


# ------------------------------------------------------------------ 03.3
def test_q3_gelu_window():
    assert passes(ex03.q3, np.array([[-0.75, -3.0], [-3.0, -3.0]]))
    assert passes(ex03.q3, [[-0.5, -2], [-4, -2.5]])
    assert "only rises" in message(ex03.q3, np.ones((2, 2)))
    assert "go down" in message(ex03.q3, -np.ones((2, 2)))          # all equal: no difference
    assert "go down" in message(ex03.q3, [[-0.5, -0.7], [-0.6, -0.2]])  # all where GELU rises
    assert "shape" in message(ex03.q3, np.ones((3, 3)))


def test_gelu_matches_keras():
    import keras

    z = np.linspace(-5, 3, 81)
    np.testing.assert_allclose(ex03.gelu(z), keras.ops.convert_to_numpy(keras.activations.gelu(z, approximate=False)),
                               atol=1e-6)


# ------------------------------------------------------------------ 03.4
def test_q4_commutes():
    right = dict(ex03.COMMUTES)
    assert passes(ex03.q4, right)
    flipped = dict(right); flipped[("max", "gelu")] = True
    msg = message(ex03.q4, flipped)
    assert "1 of 7" in msg and "max-pooling" in msg and "avg" not in msg
    flipped[("avg", "relu")] = True
    assert "2 of 7" in message(ex03.q4, flipped)
    assert "lacks" in message(ex03.q4, {k: v for k, v in right.items() if k != ("avg", "sigmoid")})
    assert "unexpected" in message(ex03.q4, {**right, ("min", "relu"): True})
    assert "True or False" in message(ex03.q4, {**right, ("max", "relu"): "yes"})


def test_commutes_table_is_true():
    """The answer key itself, checked numerically (so a wrong key would fail here)."""
    acts = {
        "relu": lambda z: np.maximum(z, 0),
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "gelu": ex03.gelu,
        "abs": np.abs,
        "linear": lambda z: 3 * z - 1,
    }
    from cnncourse import ops

    x = np.random.default_rng(0).normal(size=(8, 12, 12, 3))
    for (pool, act), commutes in ex03.COMMUTES.items():
        fn = ops.max_pool2d if pool == "max" else ops.avg_pool2d
        a = acts[act](fn(x, 2))
        b = fn(acts[act](x), 2)
        assert np.allclose(a, b, atol=1e-6) == commutes, (pool, act)
