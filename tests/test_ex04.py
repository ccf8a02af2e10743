"""Checkers of notebook 04's exercises: right answers pass (and agree with Keras / TensorFlow / central
differences), typical mistakes get the message that names them, nonsense never crashes."""
import keras
import numpy as np
import pytest
from keras import layers

from exercise_helpers import fails, message, passes  # noqa: E402
from cnncourse.exercises import ex04

NONSENSE = [None, "1.6", True, [1, 2, 3], np.zeros((3, 3)), np.array([np.nan]), {"a": 1}, Ellipsis,
            float("inf"), lambda: 1, lambda *args: None, lambda *args: "grads"]


@pytest.mark.parametrize("q", [ex04.q1, ex04.q2, ex04.q3, ex04.q4])
@pytest.mark.parametrize("answer", NONSENSE, ids=lambda a: type(a).__name__)
def test_nonsense_is_refused_without_crashing(q, answer):
    ok, msg = q.evaluate(answer)
    assert not ok and isinstance(msg, str) and msg


def test_keys_and_levels():
    assert [q.key for q in (ex04.q1, ex04.q2, ex04.q3, ex04.q4)] == ["04.1", "04.2", "04.3", "04.4"]
    assert [q.level for q in (ex04.q1, ex04.q2, ex04.q3, ex04.q4)] == [1, 1, 3, 2]


# ----------------------------------------------------------------- 04.1 Dense after Flatten

def test_q1_matches_keras():
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(16, 5), layers.MaxPooling2D(2),
                              layers.Flatten(), layers.Dense(64)])
    right = model.layers[-1].count_params()
    assert passes(ex04.q1, right)
    assert passes(ex04.q1, float(right))
    fails(ex04.q1, right - 64, "bias")
    fails(ex04.q1, 14 * 14 * 16, "flattened vector")
    fails(ex04.q1, 28 * 28 * 16 * 64 + 64, "pooling")
    fails(ex04.q1, 16 * 16 * 16 * 64 + 64, "same")
    fails(ex04.q1, right + 5 * 5 * 3 * 16 + 16, "convolution's parameters")
    fails(ex04.q1, 14 * 14 * 64 + 64, "channels")
    fails(ex04.q1, 14 * 14 * 16 * 64 + 1, "one bias per unit")
    fails(ex04.q1, 12345, "not the dense")
    fails(ex04.q1, 200768.5, "whole number")


# ----------------------------------------------------------------- 04.2 one gradient step

def test_q2_gradient_step_agrees_with_keras_sgd():
    from cnncourse import autodiff

    w = keras.Variable(ex04.W_Q2)
    _, grads = autodiff.gradients(lambda: (w * ex04.X_Q2 - ex04.Y_Q2) ** 2, [w])
    keras.optimizers.SGD(ex04.LR_Q2).apply(grads, [w])
    assert passes(ex04.q2, float(keras.ops.convert_to_numpy(w)))
    assert passes(ex04.q2, 1.1)


def test_q2_typical_mistakes():
    w, x, y, lr = ex04.W_Q2, ex04.X_Q2, ex04.Y_Q2, ex04.LR_Q2
    g = 2 * (w * x - y) * x
    fails(ex04.q2, w + lr * g, "uphill")
    fails(ex04.q2, w - lr * (w * x - y) * x, "power rule")
    fails(ex04.q2, w - lr * 2 * (w * x - y), "chain rule")
    fails(ex04.q2, w - g, "learning rate")
    fails(ex04.q2, g, "gradient")
    fails(ex04.q2, 0.0, "not the weight")


# ----------------------------------------------------------------- 04.3 backprop

def _backprop(x, y, W1, b1, W2, b2, *, mask=True, one_hot=True, mean=True, relu_input=False, bias="sum",
              transpose_dW2=False):
    """A student's backprop with switches for the typical mistakes."""
    batch = len(x)
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = p - (np.eye(W2.shape[1])[y] if one_hot else 0)
    dz = dz / batch if mean else dz
    dW2 = (a if relu_input else h).T @ dz
    if transpose_dW2:
        dW2 = dz.T @ h
    da = (dz @ W2.T) * ((a > 0) if mask else 1)
    reduce = {"sum": lambda d: d.sum(axis=0), "mean": lambda d: d.mean(axis=0), "none": lambda d: d}[bias]
    return x.T @ da, reduce(da), dW2, reduce(dz)


def test_q3_reference_equals_central_differences():
    for x, y, params in ex04._backprop_cases():
        for k, grad in enumerate(ex04._backprop(x, y, *params)):
            numeric = np.zeros_like(params[k])
            for idx in np.ndindex(numeric.shape):
                up = [p.copy() for p in params]; up[k][idx] += 1e-6
                down = [p.copy() for p in params]; down[k][idx] -= 1e-6
                numeric[idx] = (ex04.mlp_loss(x, y, *up) - ex04.mlp_loss(x, y, *down)) / 2e-6
            assert np.abs(grad - numeric).max() / np.abs(numeric).max() < 1e-6


def test_q3_reference_equals_tensorflow():
    import tensorflow as tf

    for x, y, params in ex04._backprop_cases():
        variables = [tf.Variable(p) for p in params]
        with tf.GradientTape() as tape:
            W1, b1, W2, b2 = variables
            logits = tf.nn.relu(x @ W1 + b1) @ W2 + b2
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        assert float(loss) == pytest.approx(ex04.mlp_loss(x, y, *params), rel=1e-12)
        for got, want in zip(tape.gradient(loss, variables), ex04._backprop(x, y, *params)):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


def test_q3_backprop_typical_mistakes():
    assert passes(ex04.q3, _backprop)
    assert passes(ex04.q3, lambda *args: [g.astype("float32") for g in _backprop(*args)])   # float32 is close enough
    assert passes(ex04.q3, lambda *args: tuple(g.tolist() for g in _backprop(*args)))
    fails(ex04.q3, lambda *a: _backprop(*a, mask=False), "ReLU", "dW2 and db2 are right")
    fails(ex04.q3, lambda *a: _backprop(*a, one_hot=False), "- y")
    fails(ex04.q3, lambda *a: tuple(-g for g in _backprop(*a)), "wrong sign")
    fails(ex04.q3, lambda *a: _backprop(*a, mean=False), "B times too large", "MEAN")
    fails(ex04.q3, lambda *a: _backprop(*a, relu_input=True), "ReLU's output")
    fails(ex04.q3, lambda *a: _backprop(*a, bias="mean"), "bias gradients B times too small")
    fails(ex04.q3, lambda *a: _backprop(*a, bias="none"), "shared by the whole batch", "axis 0")
    fails(ex04.q3, lambda *a: _backprop(*a, transpose_dW2=True), "dW2 has shape (3, 4)", "shape of its parameter")
    fails(ex04.q3, lambda *a: _backprop(*a)[:3], "four arrays")
    fails(ex04.q3, lambda *a: dict(zip("abcd", _backprop(*a))), "four arrays")
    fails(ex04.q3, lambda *a: (_backprop(*a)[0][:, :1],) + _backprop(*a)[1:], "W1's shape")
    # two mistakes at once: no single diagnosis, but where the error is
    fails(ex04.q3, lambda *a: _backprop(*a, mask=False, bias="mean"), "dW1", "db1", "relative error")
    msg = fails(ex04.q3, lambda *a: _backprop(*a, mask=False)[:2] + (_backprop(*a)[2] * 1.1, _backprop(*a)[3]),
                "relative error")
    assert "db2 right" in msg
    fails(ex04.q3, lambda *a: tuple(g * 1.5 for g in _backprop(*a)), "start from dL/dz")
    assert "write its body" in message(ex04.q3, _raise)
    assert "raised" in message(ex04.q3, lambda x: x)


def _raise(*args):
    raise NotImplementedError


def test_q3_messages_do_not_show_the_gradients():
    wrongs = [lambda *a: _backprop(*a, mask=False), lambda *a: tuple(g * 1.5 for g in _backprop(*a)),
              lambda *a: _backprop(*a, bias="none"), lambda *a: _backprop(*a, transpose_dW2=True)]
    for wrong in wrongs:
        msg = message(ex04.q3, wrong)
        assert "[" not in msg, msg
        for x, y, params in ex04._backprop_cases():
            for g in ex04._backprop(x, y, *params):
                assert f"{g.ravel()[0]:.3f}" not in msg


# ----------------------------------------------------------------- 04.4 training with backprop

def _train(x, y, W1, b1, W2, b2, lr, steps, *, sign=-1, rate=None, count=None, frozen=False, in_place=False):
    """A student's training loop with switches for the typical mistakes."""
    params = [W1, b1, W2, b2] if in_place else [p.copy() for p in (W1, b1, W2, b2)]
    grads = _backprop(x, y, *params)
    for _ in range(steps if count is None else count(steps)):
        grads = grads if frozen else _backprop(x, y, *params)
        for p, g in zip(params, grads):
            p += sign * (lr if rate is None else rate) * g
    return tuple(params)


def test_q4_training_decreases_the_loss():
    x, y, *start = ex04.toy_problem()
    trained = _train(x, y, *start, 0.5, 50)
    assert ex04.mlp_loss(x, y, *trained) < 0.5 * ex04.mlp_loss(x, y, *start)


def test_q4_train_by_hand_typical_mistakes():
    assert passes(ex04.q4, _train)
    assert passes(ex04.q4, lambda *a: list(_train(*a)))
    fails(ex04.q4, lambda x, y, W1, b1, W2, b2, lr, steps: (W1, b1, W2, b2), "no step")
    fails(ex04.q4, lambda *a: _train(*a, sign=1), "loss grew")
    fails(ex04.q4, lambda *a: _train(*a, rate=1.0), "learning rate")
    fails(ex04.q4, lambda *a: _train(*a, count=lambda s: 1), "one step, whatever")
    fails(ex04.q4, lambda *a: _train(*a, count=lambda s: s - 1), "one step fewer")
    fails(ex04.q4, lambda *a: _train(*a, count=lambda s: s + 1), "one step more")
    fails(ex04.q4, lambda *a: _train(*a, frozen=True), "first gradient")
    fails(ex04.q4, lambda *a: _train(*a, in_place=True), "in place", "W1, b1, W2, b2")
    # trained with a wrong backprop: pointed back at 04.3
    wrong_backprop = lambda x, y, W1, b1, W2, b2, lr, steps: _train_with(
        lambda *p: _backprop(*p, mask=False), x, y, [W1, b1, W2, b2], lr, steps)
    fails(ex04.q4, wrong_backprop, "04.3")
    fails(ex04.q4, lambda *a: _train(*a)[:3], "four trained arrays")
    fails(ex04.q4, lambda *a: ex04.mlp_loss(*a[:6]), "four trained arrays")
    fails(ex04.q4, lambda *a: _train(*a)[::-1], "shape")
    assert "write its body" in message(ex04.q4, _raise)
    unanswered = ...
    fails(ex04.q4, lambda x, y, W1, b1, W2, b2, lr, steps: unanswered(x, y, W1, b1, W2, b2), "exercise 04.3, answered")


def _train_with(backprop, x, y, params, lr, steps):
    for _ in range(steps):
        params = [p - lr * g for p, g in zip(params, backprop(x, y, *params))]
    return tuple(params)
