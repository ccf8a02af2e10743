"""What must agree across Keras backends, printed as JSON by one backend.

Run as ``KERAS_BACKEND=jax python tests/backend_probe.py``; ``tests/test_backends.py`` runs it
under every installed backend and compares the results: parameter counts and multiply-adds of
the course's networks, layer output shapes, the NumPy-vs-Keras operation equalities, gradients
of one fixed network, and the exercise checkers' verdicts on the same answers.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CNNCOURSE_FAST"] = "1"

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cnncourse import autodiff, ops  # noqa: E402
from cnncourse.exercises import core  # noqa: E402
from cnncourse.models import alexnet, lenet5, vgg16, vgg_cifar  # noqa: E402


def networks():
    """Parameters, multiply-adds and per-layer output shapes of the course's networks."""
    found = {}
    for name, net in [("lenet5", lenet5()), ("lenet5_classic", lenet5(variant="classic")),
                      ("alexnet", alexnet()), ("vgg16", vgg16()), ("vgg_cifar", vgg_cifar())]:
        found[name] = {"params": int(net.count_params()), "macs": int(ops.count_macs(net)),
                       "shapes": [list(layer.output.shape[1:]) for layer in net.layers]}
        keras.backend.clear_session()
    return found


def equalities():
    """Largest |NumPy - Keras| of convolution and pooling, on fixed random data."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 9, 3)).astype("float32")
    kernels = rng.normal(size=(3, 3, 3, 4)).astype("float32")
    bias = rng.normal(size=4).astype("float32")
    found = {}
    for stride, padding in [(1, "valid"), (2, "same")]:
        conv = keras.layers.Conv2D(4, 3, strides=stride, padding=padding)
        conv.build(x.shape)
        conv.set_weights([kernels, bias])
        keras_out = keras.ops.convert_to_numpy(conv(x))
        found[f"conv2d s{stride} {padding}"] = float(
            np.abs(ops.conv2d(x, kernels, bias, stride=stride, padding=padding) - keras_out).max())
    for how, layer, fn in [("max", keras.layers.MaxPooling2D, ops.max_pool2d),
                           ("avg", keras.layers.AveragePooling2D, ops.avg_pool2d)]:
        keras_out = keras.ops.convert_to_numpy(layer(2)(x))
        found[f"{how}_pool2d"] = float(np.abs(fn(x, 2) - keras_out).max())
    return found


def gradients():
    """Loss and gradients of a fixed small network on a fixed batch."""
    rng = np.random.default_rng(1)
    net = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3, activation="relu"),
                            keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                            keras.layers.Dense(4, activation="softmax")])
    net.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in net.get_weights()])
    x, y = rng.random((5, 6, 6, 1), dtype="float32"), np.array([0, 1, 2, 3, 0])
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    loss, grads = autodiff.gradients(lambda: loss_fn(y, net(x)), net.trainable_variables)
    _, input_grad = autodiff.input_gradient(lambda t: keras.ops.sum(net(t)[:, 1]), x)
    return {"loss": float(keras.ops.convert_to_numpy(loss)),
            "grads": [keras.ops.convert_to_numpy(g).ravel().tolist() for g in grads],
            "input_grad": input_grad.ravel().tolist()}


def verdicts():
    """Every exercise's verdict on the same non-answers (no answer, nonsense, a number)."""
    for n in range(1, 10):
        __import__(f"cnncourse.exercises.ex{n:02d}")
    found = {}
    for key, q in sorted(core.registry().items()):
        found[key] = [q.evaluate(answer) for answer in (..., "nonsense", 3)]
    return found


if __name__ == "__main__":
    json.dump({"backend": keras.backend.backend(), "networks": networks(), "equalities": equalities(),
               "gradients": gradients(), "verdicts": verdicts()}, sys.stdout)
