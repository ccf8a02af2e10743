"""Gradients on any Keras backend: the course's one home for automatic differentiation.

Keras 3 runs the same model on TensorFlow, JAX or PyTorch, and ``model.fit`` hides how each
computes gradients. A hand-written training loop (notebook 04) or a gradient with respect to an
image (saliency, Grad-CAM, activation maximization in notebook 08) needs the backend's own
mechanism, and Keras has no backend-neutral call for it. Each backend records the forward pass
its own way:

========== ================================================ ==========================================
backend    how it records the forward pass                   how it hands back the gradients
========== ================================================ ==========================================
tensorflow ``tf.GradientTape`` watches the operations run    ``tape.gradient(loss, variables)``
           inside its ``with`` block
jax        nothing is recorded: the loss must be a pure      ``jax.value_and_grad(f)(values)``
           function of the weights' values, which
           ``keras.StatelessScope`` substitutes for them
torch      every tensor that requires a gradient carries     ``torch.autograd.grad(loss, tensors)``
           the graph of the operations that made it
========== ================================================ ==========================================

:func:`gradients`
    ``(loss, grads)`` of a function of the model's weights (a training step).
:func:`input_gradient`
    ``(value, grad)`` of a function of one tensor, the gradient as NumPy (saliency, a loss curve).
:func:`compile_step`
    A training step compiled into a graph where the backend allows it (``tf.function``).
:func:`show_variants`
    Prints the three implementations of :func:`gradients`, the running backend's first.
:func:`float64`
    A context in which Keras builds float64 layers (JAX's 64-bit mode on); yields the dtype they
    really compute in.

Each public function calls :func:`cnncourse.device.on_backend` with one small function per
backend, defined at the top level here so that a student can read all three.

>>> import keras
>>> w = keras.Variable([1.0, -2.0])
>>> loss, (grad,) = gradients(lambda: keras.ops.sum(w ** 2), [w])
>>> float(loss), keras.ops.convert_to_numpy(grad).tolist()
(5.0, [2.0, -4.0])
"""
from __future__ import annotations

import contextlib
import inspect

import numpy as np

from cnncourse.device import BACKENDS

__all__ = ["gradients", "input_gradient", "compile_step", "show_variants", "float64"]


def _check_variables(variables):
    import keras

    if isinstance(variables, keras.Variable) or not hasattr(variables, "__iter__"):
        raise TypeError(f"variables must be a list of keras.Variable, got {type(variables).__name__}")
    variables = list(variables)
    for i, v in enumerate(variables):
        if not isinstance(v, keras.Variable):
            raise TypeError(f"variables[{i}] must be a keras.Variable, got {type(v).__name__}")
    return variables


# ============================================================================ the three variants

def tensorflow_gradients(loss_fn, variables):
    """TensorFlow: a tape records the operations; ``tape.gradient`` plays them back in reverse."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn()                                   # forward pass, recorded by the tape
    grads = tape.gradient(loss, variables)                 # backward pass
    return loss, [tf.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]


def jax_gradients(loss_fn, variables):
    """JAX: ``jax.value_and_grad`` differentiates a pure function of the weights' values.

    ``keras.StatelessScope`` makes the model read the values JAX passes in instead of its
    variables; what the forward pass writes to other variables (a BatchNormalization's moving
    averages, a Dropout's random seed) is collected there and written back afterwards.
    """
    import jax
    import keras

    class Recording(keras.StatelessScope):                 # remembers which variables were written
        def add_update(self, update):
            super().add_update(update)
            written[id(update[0])] = update[0]

    written = {}
    own = {id(v) for v in variables}

    def loss_of(values):
        written.clear()
        with Recording(state_mapping=list(zip(variables, values))) as scope:
            loss = loss_fn()                               # forward pass on the values given
        others = [v for key, v in written.items() if key not in own]
        return loss, (others, [scope.get_current_value(v) for v in others])

    (loss, (others, new_values)), grads = jax.value_and_grad(loss_of, has_aux=True)(
        [v.value for v in variables])                      # backward pass
    for v, value in zip(others, new_values):
        v.assign(value)
    return loss, list(grads)


def torch_gradients(loss_fn, variables):
    """PyTorch: each result remembers the operations that made it; autograd walks them back."""
    import torch

    tensors = [v.value for v in variables]                 # torch.nn.Parameter, requires_grad=True
    loss = loss_fn()                                       # forward pass builds the graph
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)   # backward pass
    return loss.detach(), [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]


_VARIANTS = {"tensorflow": tensorflow_gradients, "jax": jax_gradients, "torch": torch_gradients}


def _unsupported(what):
    from cnncourse.device import backend_and_version

    def other():
        raise NotImplementedError(f"{what} is not implemented for the {backend_and_version()[0]!r} "
                                  "backend; use KERAS_BACKEND=tensorflow, jax or torch")
    return other


# ============================================================================ public functions

def gradients(loss_fn, variables):
    """The loss and its gradient with respect to each variable, on the Keras backend in use.

    Parameters
    ----------
    loss_fn : callable
        Called with no argument; runs the forward pass (using the variables, e.g. through
        ``model(x)``) and returns a scalar tensor. Use ``keras.ops`` inside it.
    variables : list of keras.Variable
        The weights to differentiate with respect to, e.g. ``model.trainable_variables``.

    Returns
    -------
    loss : scalar backend tensor (``float(loss)`` gives a number)
    grads : list of backend tensors, one per variable and shaped like it (zeros for a variable
        the loss does not depend on), ready for ``optimizer.apply(grads, variables)`` or
        ``variable.assign(variable - learning_rate * grad)``.

    >>> import keras
    >>> w = keras.Variable([[1.0, 2.0], [3.0, 4.0]])
    >>> unused = keras.Variable([0.0])
    >>> loss, (g_w, g_unused) = gradients(lambda: keras.ops.mean(w) * 4, [w, unused])
    >>> keras.ops.convert_to_numpy(g_w).tolist(), keras.ops.convert_to_numpy(g_unused).tolist()
    ([[1.0, 1.0], [1.0, 1.0]], [0.0])
    """
    from cnncourse.device import on_backend

    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function of no argument returning a scalar, got "
                        f"{type(loss_fn).__name__}")
    variables = _check_variables(variables)
    return on_backend(**{name: (lambda variant=variant: variant(loss_fn, variables))
                         for name, variant in _VARIANTS.items()}, default=_unsupported("gradients"))


def input_gradient(fn, x):
    """``(value, gradient)`` of a scalar function ``fn`` of the tensor ``x``, on any backend.

    ``fn`` takes a backend tensor shaped like ``x`` and returns a scalar tensor (use
    ``keras.ops`` inside it). ``value`` is a Python float, the gradient a float32 NumPy array
    shaped like ``x`` (zeros where ``fn`` does not depend on ``x``). The same three mechanisms
    as :func:`gradients`, applied to a tensor instead of variables.

    >>> import keras
    >>> value, grad = input_gradient(lambda t: keras.ops.sum(t ** 2), np.array([1.0, -2.0]))
    >>> float(value), grad.tolist()
    (5.0, [2.0, -4.0])
    """
    from cnncourse.device import on_backend

    if not callable(fn):
        raise TypeError(f"fn must be a function of one tensor returning a scalar, got {type(fn).__name__}")
    x = np.asarray(x, dtype="float32")

    def tensorflow():
        import tensorflow as tf

        t = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(t)                                  # a tensor, not a variable: watch it
            value = fn(t)
        grad = tape.gradient(value, t)
        return float(value), (np.zeros_like(x) if grad is None else grad.numpy())

    def jax():
        import jax

        value, grad = jax.value_and_grad(fn)(jax.numpy.asarray(x))
        return float(value), np.asarray(grad)

    def torch():
        import torch

        t = torch.tensor(x, requires_grad=True)
        value = fn(t)
        (grad,) = torch.autograd.grad(value, [t], allow_unused=True)
        return float(value.detach().cpu()), (np.zeros_like(x) if grad is None else grad.detach().cpu().numpy())

    return on_backend(tensorflow=tensorflow, jax=jax, torch=torch, default=_unsupported("input_gradient"))


def compile_step(step):
    """``step`` compiled into a graph where the backend can do it with Keras variables updated inside.

    On TensorFlow this is ``tf.function(step)`` (several times faster, as in ``model.fit``); on
    JAX and PyTorch the step runs eagerly as written (``jax.jit`` needs a pure function, which
    ``model.fit`` builds for you with ``model.stateless_call``). The result is the same either way.

    >>> import keras
    >>> w = keras.Variable(1.0)
    >>> step = compile_step(lambda: w.assign(w * 2.0))
    >>> _ = step(); float(keras.ops.convert_to_numpy(w.value))
    2.0
    """
    from cnncourse.device import on_backend

    if not callable(step):
        raise TypeError(f"step must be a function, got {type(step).__name__}")

    def tensorflow():
        import tensorflow as tf

        return tf.function(step)

    return on_backend(tensorflow=tensorflow, default=lambda: step)


def show_variants(file=None):
    """Print how :func:`gradients` is written for each backend, the one running now first.

    Returns the name of the running backend.
    """
    from cnncourse.device import backend_and_version

    active = backend_and_version()[0]
    order = [active] + [b for b in BACKENDS if b != active] if active in BACKENDS else list(BACKENDS)
    for name in order:
        head = ("runs in this kernel" if name == active else
                f"used with KERAS_BACKEND={name}")
        print(f"# --- {name}: {head} " + "-" * max(0, 60 - len(name) - len(head)), file=file)
        source = inspect.getsource(_VARIANTS[name])
        print(source.rstrip() + "\n", file=file)
    return active


@contextlib.contextmanager
def float64():
    """Inside this context Keras builds float64 layers; yields the dtype they really compute in.

    Keras's default is float32. JAX rounds float64 arrays to float32 unless its x64 mode is on:
    this context switches it on, and restores everything on exit. Keras on PyTorch computes
    matrix products (``Dense``) of float64 inputs in float32 whatever the policy: there the
    context yields ``"float32"``, so that a caller can say so, or take a larger finite-difference
    step. Build *and* run the float64 model inside the context.

    >>> import keras
    >>> with float64() as dtype:
    ...     print(dtype in ("float64", "float32"), keras.config.floatx())
    True float64
    """
    import keras

    from cnncourse.device import on_backend

    floatx, policy = keras.config.floatx(), keras.config.dtype_policy().name

    def jax():
        import jax as jax_

        return jax_.enable_x64(True)

    context = on_backend(jax=jax, default=contextlib.nullcontext)
    with context:
        keras.config.set_floatx("float64")
        keras.config.set_dtype_policy("float64")
        try:
            one = keras.ops.ones((1, 1), dtype="float64")
            yield keras.backend.standardize_dtype(keras.ops.matmul(one, one).dtype)
        finally:
            keras.config.set_floatx(floatx)
            keras.config.set_dtype_policy(policy)
