"""Checkers of notebook 03's exercises: right answers pass, typical mistakes get the right message,
nonsense never crashes."""
import numpy as np
import pytest

from exercise_helpers import fails, message, passes  # noqa: E402
from cnncourse import ops
from cnncourse.exercises import ex03

NONSENSE = [None, "abc", 3.5, [1, 2], np.zeros((2, 2, 2)), {"a": 1}, float("nan"), lambda: 1]


@pytest.mark.parametrize("q", [ex03.q1, ex03.q2, ex03.q3, ex03.q4])
def test_nonsense_is_refused_without_crashing(q):
    for answer in NONSENSE:
        ok, msg = q.evaluate(answer)
        assert not ok and isinstance(msg, str) and msg


# ------------------------------------------------------------------ 03.1
def _backward(x, g, pool, stride, *, add=True, offset=True, step=None, pick=np.argmax, scale=None):
    """A student's backward pass with switches for the typical mistakes."""
    dx = np.zeros(np.shape(x))
    step = stride if step is None else step
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            r0, c0 = i * step, j * step
            window = x[r0:r0 + pool, c0:c0 + pool]
            if window.shape != (pool, pool):
                continue
            r, c = np.unravel_index(pick(window), window.shape)
            value = g[i, j] if scale is None else scale
            at = (r0 + r, c0 + c) if offset else (r, c)
            dx[at] = dx[at] + value if add else value
    return dx


def _spread(x, g, pool, stride, share=True):
    dx = np.zeros(np.shape(x))
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            dx[i * stride:i * stride + pool, j * stride:j * stride + pool] += g[i, j] / (pool ** 2 if share else 1)
    return dx


def _ties(x, g, pool, stride, split):
    dx = np.zeros(np.shape(x))
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[i * stride:i * stride + pool, j * stride:j * stride + pool]
            ties = window == window.max()
            dx[i * stride:i * stride + pool, j * stride:j * stride + pool] += g[i, j] * ties / (ties.sum() if split else 1)
    return dx


def _last(window):
    return window.size - 1 - np.argmax(window.ravel()[::-1])


def _raise(*args):
    raise NotImplementedError()


def test_q1_reference_equals_numeric_gradient_and_tensorflow():
    """The checker's reference is the true gradient: central differences, and TensorFlow's autodiff (ties too)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for shape, pool, stride in ex03.BACKWARD_CASES:
        x = rng.normal(size=shape)
        out = ((shape[0] - pool) // stride + 1, (shape[1] - pool) // stride + 1)
        g = rng.normal(size=out)
        loss = lambda z: np.sum(g * ops.max_pool2d(z[None, :, :, None], pool, stride)[0, :, :, 0])
        numeric = np.zeros(shape)
        for r in range(shape[0]):
            for c in range(shape[1]):
                e = np.zeros(shape); e[r, c] = 1e-6
                numeric[r, c] = (loss(x + e) - loss(x - e)) / 2e-6
        np.testing.assert_allclose(ex03._backward(x, g, pool, stride), numeric, atol=1e-6)
    for x, g, pool, stride in [(ex03.TIED_X, np.arange(1.0, 10.0).reshape(3, 3), 3, 1),
                               (rng.normal(size=(9, 9)), rng.normal(size=(4, 4)), 3, 2)]:
        xt = tf.Variable(x[None, :, :, None])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.nn.max_pool2d(xt, pool, stride, "VALID") * g[None, :, :, None])
        np.testing.assert_allclose(ex03._backward(x, g, pool, stride), tape.gradient(loss, xt).numpy()[0, :, :, 0])


def test_q1_max_pool_backward():
    assert passes(ex03.q1, _backward)
    assert passes(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s).tolist())
    assert "average pooling's rule" in message(ex03.q1, _spread)
    assert "every cell of the window" in message(ex03.q1, lambda x, g, p, s: _spread(x, g, p, s, share=False))
    assert "(+=)" in message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s, add=False))
    assert "grad_out's value" in message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s, scale=1.0))
    assert "offset" in message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s, offset=False))
    assert "stride cells apart" in message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s, step=p))
    assert "smallest" in message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s, pick=np.argmin))
    tie = message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s, pick=_last))
    assert "TIED_X" in tie and "takes the last" in tie
    assert "shares it" in message(ex03.q1, lambda x, g, p, s: _ties(x, g, p, s, split=True))
    assert "to each" in message(ex03.q1, lambda x, g, p, s: _ties(x, g, p, s, split=False))
    assert "shape of grad_out" in message(ex03.q1, lambda x, g, p, s: g)
    assert "shape of x" in message(ex03.q1, lambda x, g, p, s: _backward(x, g, p, s)[:-1])
    assert "not conserved" in message(ex03.q1, lambda x, g, p, s: 2 * _backward(x, g, p, s))
    swapped = lambda x, g, p, s: _backward(x, g, p, s)[::-1, ::-1].copy()   # right total, wrong cells
    assert "which cell" in message(ex03.q1, swapped)
    assert "NotImplementedError" in message(ex03.q1, _raise)
    assert "raised" in message(ex03.q1, lambda x: x)
    assert "should be a NumPy array" in message(ex03.q1, lambda x, g, p, s: None)


def test_q1_messages_do_not_show_the_gradient():
    for wrong in (_spread, lambda x, g, p, s: 2 * _backward(x, g, p, s), lambda x, g, p, s: g):
        msg = message(ex03.q1, wrong)
        assert "[" not in msg and "0." not in msg, msg


# ------------------------------------------------------------------ 03.2
def test_q2_three_ways_to_halve():
    per = 64 * 9 * 32
    right = {"pool_then_conv": 20 * 20 * per, "conv_then_pool": 40 * 40 * per, "strided_conv": 20 * 20 * per}
    assert passes(ex03.q2, right)
    assert passes(ex03.q2, {k: float(v) for k, v in right.items()})
    import keras                                       # the numbers agree with Keras' layers' output sizes
    strided = keras.layers.Conv2D(64, 3, strides=2, padding="same").compute_output_shape((None, 40, 40, 32))
    assert right["strided_conv"] == strided[1] * strided[2] * per
    fails(ex03.q2, {**right, "conv_then_pool": 20 * 20 * per}, "full 40x40")
    fails(ex03.q2, {**right, "conv_then_pool": 40 * 40 * per + 20 * 20 * 64 * 4}, "no multiply-adds")
    fails(ex03.q2, {**right, "strided_conv": 40 * 40 * per}, "ignores the stride")
    fails(ex03.q2, {**right, "strided_conv": 40 * 40 * per // 2}, "both directions")
    fails(ex03.q2, {**right, "pool_then_conv": 20 * 20 * 64 * 9}, "input channels")
    fails(ex03.q2, {**right, "conv_then_pool": 40 * 40 * 9 * 32}, "one filter")
    fails(ex03.q2, {**right, "strided_conv": (9 * 32 + 1) * 64}, "parameters")
    fails(ex03.q2, {**right, "strided_conv": 19 * 19 * per}, "valid")
    fails(ex03.q2, {**right, "pool_then_conv": 18 * 18 * per}, "valid")
    fails(ex03.q2, {**right, "pool_then_conv": 12345}, "is wrong")
    fails(ex03.q2, {"pool_then_conv": 1}, "lacks")
    fails(ex03.q2, {**right, "strided_conv": "many"}, "whole number")
    for way, value in right.items():               # no message gives a right count away
        for wrong in (12345, 1, 0):
            assert f"{value}" not in message(ex03.q2, {**right, way: wrong})
            assert f"{value:,}" not in message(ex03.q2, {**right, way: wrong})


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
    flipped[("avg", "abs")] = True
    assert "2 of 7" in message(ex03.q4, flipped)
    assert "lacks" in message(ex03.q4, {k: v for k, v in right.items() if k != ("avg", "abs")})
    assert "unexpected" in message(ex03.q4, {**right, ("min", "relu"): True})
    assert "True or False" in message(ex03.q4, {**right, ("max", "sigmoid"): "yes"})


def test_commutes_table_is_true():
    """The answer key itself, checked numerically (so a wrong key would fail here)."""
    acts = {
        "leaky_relu": lambda z: np.maximum(z, 0.1 * z),
        "negate": lambda z: -z,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "gelu": ex03.gelu,
        "abs": np.abs,
        "linear": lambda z: 3 * z - 1,
    }
    x = np.random.default_rng(0).normal(size=(8, 12, 12, 3))
    for (pool, act), commutes in ex03.COMMUTES.items():
        fn = ops.max_pool2d if pool == "max" else ops.avg_pool2d
        a = acts[act](fn(x, 2))
        b = fn(acts[act](x), 2)
        assert np.allclose(a, b, atol=1e-6) == commutes, (pool, act)
