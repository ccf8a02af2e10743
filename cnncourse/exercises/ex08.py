"""Exercises of notebook 08, *Visualizing ConvNets*: feature-map shapes, saliency by hand, Grad-CAM by hand.

In the notebook::

    from cnncourse.exercises import ex08 as ex
    ex.q1.check(layer_and_field)      # a tuple (layer name, receptive field side)
    ex.q2.check(linear_saliency)      # an (8, 8) array
    ex.q3.check(cam_by_hand)          # a (4, 4) array

>>> q1.evaluate(("conv2", 14))[0]
True
"""
from __future__ import annotations

import numbers

import numpy as np

from cnncourse.exercises import Exercise, ValueProblem, expect_array

__all__ = ["q1", "q2", "q3", "LINEAR_W", "LINEAR_B", "IMAGE", "CAM_A", "CAM_GRADS", "linear_model"]


# --------------------------------------------------------------------------- 08.1 which layer, how far it sees

_LENET_SHAPES = {"conv1": (28, 28, 6), "pool1": (14, 14, 6), "conv2": (10, 10, 16),
                 "pool2": (5, 5, 16), "flatten": (400,), "fc1": (120,), "fc2": (100,), "output": (10,)}
_FIELD = 14   # conv1 5x5 -> 5; pool1 2x2 stride 2 -> 6; conv2 5x5 on a stride-2 grid -> 6 + 4 * 2


def _check_layer_field(answer):
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != 2:
        return "Expected a tuple (layer name, receptive field side), e.g. ('convX', 7)."
    name, field = answer
    if not isinstance(name, str):
        return f"The first entry should be a layer name (a string), got {type(name).__name__}."
    name = name.strip()
    if name not in _LENET_SHAPES:
        return f"{name!r} is not one of LeNet-5's layers {list(_LENET_SHAPES)}."
    if isinstance(field, bool) or not isinstance(field, numbers.Real) or float(field) != int(field):
        return "The second entry should be a whole number of pixels (the side of the square window)."
    field = int(field)
    problems = []
    if name != "conv2":
        shape = "x".join(map(str, _LENET_SHAPES[name]))
        problems.append(f"{name} outputs {shape}, not 10x10x16")
    if field != _FIELD:
        if field == 9:
            problems.append("A receptive field of 9 ignores the pooling between the convolutions: "
                            "after pool1 neighbouring units are 2 input pixels apart")
        elif field == 10:
            problems.append("10 is the side of the feature map, not of the input window one unit sees")
        elif field == 5:
            problems.append("5 is the window of one conv1 unit; conv2 looks at 5x5 pool1 units, each "
                            "of which sees more than one pixel")
        elif field in (18, 28, 32):
            problems.append(f"{field} is too large: count the window the unit's 5x5 pool1 inputs cover "
                            "on the input image")
        else:
            problems.append("the receptive field side is not right: follow one conv2 unit back through "
                            "pool1 and conv1 to the input")
    return None if not problems else "; ".join(problems) + "."


q1 = Exercise(
    key="08.1",
    statement=("Which LeNet-5 layer has 10x10x16 feature maps, and what is the side of the input "
               "window (receptive field) one unit of that layer sees on the 32x32 image? Answer a "
               "tuple (layer name, side)."),
    checker=_check_layer_field,
    hint=("Shapes: print model.get_layer(name).output.shape. Receptive field: going back through a "
          "layer with kernel k and stride s, a window of r units becomes (r - 1) * s + k units."),
    solution=r"""shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in lenet.layers}
name_10x10x16 = [name for name, shape in shapes.items() if shape == (10, 10, 16)][0]
side = 1
for kernel, stride in [(5, 1), (2, 2), (5, 1)][::-1]:   # conv2, pool1, conv1 walked back to the input
    side = (side - 1) * stride + kernel
layer_and_field = (name_10x10x16, side)""",
    expects="a tuple (layer name, whole number)",
    level=1,
)


# --------------------------------------------------------------------------- 08.2 saliency of a linear model

_rng = np.random.default_rng(8)
#: Weights (64 pixels, 10 classes) and biases of the linear model of 08.2.
LINEAR_W = np.round(_rng.normal(0, 1, (64, 10)), 2).astype("float32")
LINEAR_B = np.round(_rng.normal(0, 0.1, 10), 2).astype("float32")
#: The 8x8x1 image of 08.2.
IMAGE = np.round(_rng.random((8, 8, 1)), 2).astype("float32")
_CLASS = 3


def linear_model():
    """Flatten an 8x8x1 image, then ``scores = x @ LINEAR_W + LINEAR_B``, softmax: the model of 08.2."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(10, activation="softmax", name="linear")], name="linear_model")
    model.set_weights([LINEAR_W, LINEAR_B])
    return model


def _softmax_grad():
    z = IMAGE.reshape(-1) @ LINEAR_W + LINEAR_B
    p = np.exp(z - z.max())
    p /= p.sum()
    # d p_c / d x = p_c * (w_c - sum_j p_j w_j)
    return (p[_CLASS] * (LINEAR_W[:, _CLASS] - LINEAR_W @ p)).reshape(8, 8)


_W3 = LINEAR_W[:, _CLASS].reshape(8, 8)
_SOFT = _softmax_grad()

_SALIENCY = ValueProblem("linear_saliency", np.abs(_W3), [
    (_W3, "Those are the signed gradients; a saliency map takes their absolute value."),
    (np.abs(_W3).T, "The map is transposed: the flattened pixel i sits at row i // 8, column i % 8."),
    ((np.abs(_SOFT), _SOFT), "That is the gradient of the softmax probability; saliency uses the class score before "
                             "the softmax (it does not depend on the other classes)."),
    *[(np.abs(LINEAR_W[:, c].reshape(8, 8)), f"That is the saliency of class {c}; the exercise asks for class {_CLASS}.")
      for c in range(10) if c != _CLASS],
    (np.abs(_W3 * IMAGE[..., 0]), "You multiplied by the image (that is 'gradient x input', another attribution method); "
                                  "vanilla saliency is the gradient alone."),
], otherwise="Not the saliency map: for scores = x @ W + b, what is d score_3 / d x? It is the same for every image.",
    kind="array", tol=1e-4, shape=(8, 8))


def _check_linear_saliency(answer):
    problem = expect_array(answer, name="linear_saliency")   # numbers at all? (a function, a string: no)
    if problem:
        return problem
    arr = np.asarray(answer, dtype=float)
    return _SALIENCY(arr[..., 0] if arr.shape == (8, 8, 1) else arr)


q2 = Exercise(
    key="08.2",
    statement=("ex.linear_model() flattens an 8x8 image x and computes softmax(x @ ex.LINEAR_W + ex.LINEAR_B). "
               "Without calling vis.saliency_map or any gradient function, write the vanilla saliency "
               "map of class 3 for ex.IMAGE: an (8, 8) array."),
    checker=_check_linear_saliency,
    hint="The class score is a linear function of the pixels; the gradient of w . x is w.",
    solution=r"""linear_saliency = np.abs(ex.LINEAR_W[:, 3]).reshape(8, 8)""",
    expects="a NumPy array of shape (8, 8)",
    level=2,
)


# --------------------------------------------------------------------------- 08.3 Grad-CAM by hand

_rng3 = np.random.default_rng(83)
#: Feature maps A (4, 4, 3) of a layer, and the gradients of a class score with respect to them.
CAM_A = np.round(np.maximum(_rng3.normal(0.5, 1, (4, 4, 3)), 0), 2).astype("float32")
CAM_GRADS = np.round(_rng3.normal(0, 1, (4, 4, 3)) + np.array([0.8, -0.6, 0.2]), 2).astype("float32")


def _cam(weights_fn, relu=True, normalize=True):
    m = weights_fn()
    if relu:
        m = np.maximum(m, 0)
    if normalize and m.max() > 0:
        m = m / m.max()
    return m


_ALPHA = CAM_GRADS.mean(axis=(0, 1))
_RIGHT = _cam(lambda: (CAM_A * _ALPHA).sum(-1))


_WEIGHTED = (CAM_A * _ALPHA).sum(-1)

_check_cam = ValueProblem("cam_by_hand", _RIGHT, [
    ((_WEIGHTED, _WEIGHTED / np.abs(_WEIGHTED).max()),
     "Negative values remain: Grad-CAM keeps only what speaks *for* the class (a ReLU)."),
    (np.maximum(_WEIGHTED, 0), "Right map, but scale it so that its maximum is 1."),
    (_cam(lambda: (CAM_A * CAM_GRADS).sum(-1)),
     "You weighted each position by its own gradient; Grad-CAM gives each *channel* one "
     "weight, the gradient averaged over all positions."),
    ((_cam(lambda: CAM_A.mean(-1) * CAM_GRADS.mean(-1)), _cam(lambda: CAM_A.sum(-1) * CAM_GRADS.mean(-1))),
     "The gradients are averaged over the positions (axes 0 and 1), not over the channels."),
    (_cam(lambda: (CAM_A * np.abs(_ALPHA)).sum(-1)),
     "The channel weights keep their sign: a channel whose gradient is negative counts against."),
], otherwise="Not the Grad-CAM map: weights = mean of the gradients over positions; map = ReLU(sum of weight x map); "
             "divide by the max.", kind="array", tol=1e-3, shape=(4, 4))


q3 = Exercise(
    key="08.3",
    statement=("ex.CAM_A holds a layer's feature maps (4, 4, 3) for one image, ex.CAM_GRADS the gradients of "
               "a class score with respect to them. Compute the Grad-CAM map at the layer's resolution "
               "(4, 4), scaled so that its maximum is 1, with NumPy only."),
    checker=_check_cam,
    hint="One weight per channel: the mean of that channel's gradients over the 4x4 positions.",
    solution=(r"""alpha = ex.CAM_GRADS.mean(axis=(0, 1))
cam_map = np.maximum((ex.CAM_A * alpha).sum(axis=-1), 0)
cam_by_hand = cam_map / cam_map.max()"""),
    expects="a NumPy array of shape (4, 4)",
    level=2,
)
