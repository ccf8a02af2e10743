"""cnncourse.autodiff: gradients on the backend this test session runs on (CI runs it on all three)."""
import io

import keras
import numpy as np
import pytest

from cnncourse import autodiff


def numeric_gradient(f, w, h=1e-3):
    """Central differences of the scalar NumPy function ``f`` at ``w`` (float64)."""
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def small_net(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Conv2D(2, 3, activation="tanh"),
                             keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])


def test_gradients_of_a_network_match_finite_differences():
    net = small_net()
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 5, 5, 1), dtype="float32"), np.array([0, 1, 2, 1])
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    loss, grads = autodiff.gradients(lambda: loss_fn(y, net(x)), net.trainable_variables)
    assert [tuple(g.shape) for g in grads] == [tuple(v.shape) for v in net.trainable_variables]
    kernel = net.layers[0].kernel
    w0 = keras.ops.convert_to_numpy(kernel.value).astype("float64")

    def loss_at(w):
        kernel.assign(w.astype("float32"))
        return float(keras.ops.convert_to_numpy(loss_fn(y, net(x))))

    expected = numeric_gradient(loss_at, w0)
    kernel.assign(w0.astype("float32"))
    got = keras.ops.convert_to_numpy(grads[0])
    assert np.abs(got - expected).max() < 2e-3 * np.abs(expected).max()
    assert np.isclose(float(keras.ops.convert_to_numpy(loss)), loss_at(w0), rtol=1e-6)


def test_gradients_give_zeros_for_unused_variables_and_leave_weights_alone():
    w, unused = keras.Variable([[1.0, 2.0], [3.0, 4.0]]), keras.Variable([5.0, 6.0])
    loss, (g_w, g_unused) = autodiff.gradients(lambda: keras.ops.sum(w ** 3), [w, unused])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(g_w), 3 * np.array([[1, 4], [9, 16]]), rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(g_unused), [0.0, 0.0])
    assert float(keras.ops.convert_to_numpy(loss)) == 100.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(w.value), [[1, 2], [3, 4]])


def test_gradients_keep_what_the_forward_pass_writes():
    # BatchNormalization's moving mean is updated by a training forward pass on every backend
    # (on JAX it goes through StatelessScope and must be written back).
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
    x = np.random.default_rng(1).normal(size=(8, 4)).astype("float32") + 3.0
    mean = net.layers[1].moving_mean
    before = keras.ops.convert_to_numpy(mean.value).copy()
    autodiff.gradients(lambda: keras.ops.mean(net(x, training=True) ** 2), net.trainable_variables)
    after = keras.ops.convert_to_numpy(mean.value)
    batch_mean = keras.ops.convert_to_numpy(net.layers[0](x)).mean(axis=0)
    np.testing.assert_allclose(after, 0.99 * before + 0.01 * batch_mean, rtol=1e-4, atol=1e-6)


def test_a_training_step_with_gradients_equals_one_epoch_of_fit():
    rng = np.random.default_rng(2)
    x, y = rng.random((16, 5, 5, 1), dtype="float32"), rng.integers(0, 3, 16)
    ours, twin = small_net(1), small_net(1)
    twin.set_weights(ours.get_weights())
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @autodiff.compile_step
    def step(xb, yb):
        loss, grads = autodiff.gradients(lambda: loss_fn(yb, ours(xb, training=True)), ours.trainable_variables)
        for v, g in zip(ours.trainable_variables, grads):
            v.assign_sub(0.1 * g)
        return loss

    for start in range(0, 16, 8):
        step(x[start:start + 8], y[start:start + 8])
    twin.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss_fn, jit_compile=False)
    twin.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(ours.get_weights(), small_net(1).get_weights()))


def test_input_gradient_is_calculus():
    value, grad = autodiff.input_gradient(lambda t: keras.ops.sum(keras.ops.sin(t) * 3.0), np.array([0.0, 1.0]))
    assert np.isclose(value, 3 * np.sin(1.0))
    np.testing.assert_allclose(grad, 3 * np.cos([0.0, 1.0]), rtol=1e-6)
    assert grad.dtype == np.float32
    _, zero = autodiff.input_gradient(lambda t: keras.ops.sum(t * 0.0) + 1.0, np.ones(3))
    np.testing.assert_array_equal(zero, np.zeros(3))


def test_float64_says_what_it_computes_in_and_restores_the_policy():
    with autodiff.float64() as dtype:
        net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
        net.set_weights([np.array([[1.0], [1.0]])])
        out = keras.ops.convert_to_numpy(net(np.array([[1.0, 1e-12]])))
        conv = keras.ops.convert_to_numpy(keras.layers.Conv2D(1, 1, kernel_initializer="ones")(
            np.full((1, 1, 1, 1), 1.0 + 1e-12)))
    assert out.dtype == np.dtype(dtype)                               # the context tells the truth
    assert (float(out[0, 0]) == 1.0 + 1e-12) == (dtype == "float64")  # float32 rounds it to 1.0
    assert conv.dtype == np.float64 and float(conv[0, 0, 0, 0]) == 1.0 + 1e-12   # convolutions: float64 everywhere
    expected = {"tensorflow": "float64", "jax": "float64", "torch": "float32"}[keras.backend.backend()]
    assert dtype == expected
    assert keras.config.floatx() == "float32"
    assert keras.config.dtype_policy().name == "float32"


def test_show_variants_prints_all_three_the_running_one_first():
    buffer = io.StringIO()
    active = autodiff.show_variants(file=buffer)
    text = buffer.getvalue()
    assert active == keras.backend.backend()
    assert text.startswith(f"# --- {active}: runs in this kernel")
    for name, call in [("tensorflow", "tape.gradient("), ("jax", "jax.value_and_grad("),
                       ("torch", "torch.autograd.grad(")]:
        assert f"def {name}_gradients(loss_fn, variables)" in text and call in text


@pytest.mark.parametrize("call, message", [
    (lambda: autodiff.gradients("loss", []), "loss_fn must be a function"),
    (lambda: autodiff.gradients(lambda: 0.0, keras.Variable(1.0)), "variables must be a list of keras.Variable"),
    (lambda: autodiff.gradients(lambda: 0.0, [np.ones(2)]), r"variables\[0\] must be a keras.Variable"),
    (lambda: autodiff.input_gradient(None, np.ones(2)), "fn must be a function"),
    (lambda: autodiff.compile_step(3), "step must be a function"),
])
def test_bad_arguments_raise_type_errors_naming_them(call, message):
    with pytest.raises(TypeError, match=message):
        call()
