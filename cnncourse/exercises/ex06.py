"""Exercises of notebook 06, *AlexNet*: output sizes, the two-GPU split, fc6, an AlexNet of your own.

In the notebook::

    from cnncourse.exercises import ex06 as ex
    ex.q1.check(out_side)            # a function (size, kernel, stride, pad) -> int
    ex.q2.check(saved_by_two_gpus)   # an int
    ex.q3.check(fc6_params_224)      # an int
    ex.q4.check(small_alexnet)       # a Keras model, input (64, 64, 3), 10 outputs

Each checker returns ``None`` when the answer is right, or a message saying what is
wrong without giving the answer away.

>>> q2.evaluate(307_200)[1]  # doctest: +ELLIPSIS
'...only conv2...'
"""
from __future__ import annotations

import math

import numpy as np

from cnncourse.exercises import Exercise, FunctionProblem, ValueProblem, expect_int
from cnncourse.ops import conv_output_size

__all__ = ["q1", "q2", "q3", "q4"]


# --------------------------------------------------------------------------- 06.1 output side

def _right_side(size, kernel, stride, pad):
    return conv_output_size(size, kernel, stride, pad)


_SIDE_CASES = [(227, 11, 4, 0), (224, 11, 4, 0), (224, 11, 4, 2), (55, 3, 2, 0), (27, 5, 1, 2),
               (13, 3, 1, 1), (32, 5, 2, 2), (10, 3, 3, 0)]

_SIDE_MISTAKES = [
    (lambda s, k, st, p: (s + 2 * p - k) // st,
     "one short: count the first window too (the formula ends with + 1)."),
    (lambda s, k, st, p: (s + p - k) // st + 1,
     "the padding is added on both sides of the image, not once."),
    (lambda s, k, st, p: (s - k) // st + 1,
     "the padding is ignored; it widens the image before the window slides."),
    (lambda s, k, st, p: math.ceil((s + 2 * p - k) / st) + 1,
     "rounds up: a window that would stick out of the (padded) image is not computed, so round down."),
    (lambda s, k, st, p: (s + 2 * p - k) / st + 1,
     "not a whole number of windows: round the division down (//)."),
    (lambda s, k, st, p: (s + 2 * p) // st,
     "the kernel size is missing: the last window must fit inside the image."),
]


def _same(got, want):
    try:
        return not isinstance(got, bool) and float(got) == float(want)
    except (TypeError, ValueError):
        return False


def _side_otherwise(call, got, **_):
    return expect_int(got, name=f"{call}'s result") or (
        f"{call} returned {got!r}, which is not the side of the output. Check it against "
        "Keras: keras.layers.Conv2D(1, kernel, strides=stride).compute_output_shape(...) on a "
        "zero-padded input.")


# results are compared as numbers: a float formula is named before the answer is refused for not being an int
_check_side = FunctionProblem("out_side", "out_side(size, kernel, stride, pad)", _SIDE_CASES, _right_side,
                              returns=None, same=_same, mistakes=_SIDE_MISTAKES, said="{call} returned {got!r}: {mistake}",
                              otherwise=_side_otherwise)


q1 = Exercise(
    "06.1",
    "Write out_side(size, kernel, stride, pad): the side of the output of a convolution with a "
    "kernel x kernel window moving by stride over a size x size image padded with pad zeros on every "
    "side. Then use it on AlexNet's first layer (11x11, stride 4, no padding) for 227 and for 224 pixels.",
    _check_side,
    hint="Pad first: the image is size + 2*pad wide. The first window starts at 0; how many more "
         "steps of `stride` fit before the window sticks out?",
    solution=r"""def out_side(size, kernel, stride, pad=0):
    return (size + 2 * pad - kernel) // stride + 1
print(out_side(227, 11, 4, 0), out_side(224, 11, 4, 0))""",
    expects="a function out_side(size, kernel, stride, pad) returning an int",
    level=1,
)


# --------------------------------------------------------------------------- 06.2 two GPUs

_W = {  # weights (no biases) of the three split layers, one tower / two towers
    "conv2": (5 * 5 * 96 * 256, 5 * 5 * 48 * 256),
    "conv4": (3 * 3 * 384 * 384, 3 * 3 * 192 * 384),
    "conv5": (3 * 3 * 384 * 256, 3 * 3 * 192 * 256),
}
_SAVED = sum(one - two for one, two in _W.values())          # 1,413,120
_CONV3_W = 3 * 3 * 256 * 384


_check_saved = ValueProblem("saved_by_two_gpus", _SAVED, [
    (lambda n: n < 0, "a saving is a positive number: one tower minus two towers."),
    (_SAVED + (256 + 384 + 256) // 2,
     "the biases did not get fewer: every filter still has its one bias, on either GPU."),
    (_W["conv2"][0] - _W["conv2"][1], "that is what splitting only conv2 saves; two more layers are split in the paper."),
    (_SAVED + _CONV3_W // 2, "conv3 is not split: its filters see the channels of both GPUs "
                             "(read the paper's Figure 2, or alexnet(groups=2)'s layers)."),
    ((62_378_344 - 60_000_000, 62_378_344, 60_965_224),
     "compute the difference layer by layer from the two models, not from the paper's rounded figure."),
], otherwise="{value:,} is not the difference. Count, for conv2, conv4 and conv5, the weights of one tower "
             "minus those of two towers (each filter sees half the input channels).")


q2 = Exercise(
    "06.2",
    "In the paper, conv2, conv4 and conv5 are split over two GPUs: each filter sees only the half of "
    "the input channels that sits on its GPU. How many parameters does this save compared with one "
    "tower? Compute saved_by_two_gpus (an int) from the layer sizes, not from the models' totals.",
    _check_saved,
    hint="A 5x5 filter of conv2 sees 96 channels in one tower and 48 with two GPUs; there are still 256 "
         "filters. Do the same for conv4 and conv5, and think about whether biases change.",
    solution=r"""saved_by_two_gpus = ((5 * 5 * 96 * 256 - 5 * 5 * 48 * 256)
                     + (3 * 3 * 384 * 384 - 3 * 3 * 192 * 384)
                     + (3 * 3 * 384 * 256 - 3 * 3 * 192 * 256))
print(f"{saved_by_two_gpus:,}")""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 06.3 fc6 at 224

_FC6_224 = 5 * 5 * 256 * 4096 + 4096      # 26,218,496


_check_fc6 = ValueProblem("fc6_params_224", _FC6_224, [
    (5 * 5 * 256 * 4096, "the weights are right, but each of fc6's units also has a bias."),
    (6 * 6 * 256 * 4096 + 4096,
     "that is fc6 for 227x227 inputs; follow the 224 pixels through conv1 and the three poolings."),
    ((4 * 4 * 256 * 4096 + 4096, 54 * 54 * 96 * 4096 + 4096),
     "the side of pool5 is off: apply the output-size formula to conv1, pool1, pool2 and pool5 in turn."),
    (5 * 5 * 384 * 4096 + 4096, "pool5 follows conv5, which has 256 filters, not 384."),
], otherwise="{value:,} is not fc6's parameter count at 224x224. Find pool5's shape (side x side x 256), "
             "then count a weight per input and unit, and a bias per unit.")


q3 = Exercise(
    "06.3",
    "With 224x224 inputs (the paper's stated size) instead of 227x227, pool5's map is smaller. How "
    "many parameters does fc6 (4096 units) have then? Give fc6_params_224 as an int.",
    _check_fc6,
    hint="Use out_side: conv1 (11, stride 4), then 3x3 poolings with stride 2 after conv1, conv2 "
         "and conv5; the 'same' convolutions in between keep the side.",
    solution=r"""side_224 = out_side(out_side(out_side(out_side(224, 11, 4, 0), 3, 2, 0), 3, 2, 0), 3, 2, 0)
fc6_params_224 = side_224 * side_224 * 256 * 4096 + 4096
print(f"{fc6_params_224:,}")""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 06.4 build

def _check_small_alexnet(model):
    import keras

    if not isinstance(model, keras.Model):
        return f"small_alexnet should be a Keras model, got {type(model).__name__} {model!r:.60}."
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ValueError("several inputs or outputs")
        in_shape = tuple(model.inputs[0].shape)
        out_shape = tuple(model.outputs[0].shape)
    except (AttributeError, ValueError, TypeError):
        return "small_alexnet has no single input and output: build it from keras.Input((64, 64, 3))."
    if in_shape != (None, 64, 64, 3):
        return f"small_alexnet's input has shape {in_shape[1:]}; expected (64, 64, 3)."
    if out_shape != (None, 10):
        return f"small_alexnet's output has shape {out_shape[1:]}; expected 10 class probabilities."
    flat = _leaves(model)
    convs = [layer for layer in flat if isinstance(layer, keras.layers.Conv2D)]
    if len(convs) < 3:
        return f"small_alexnet has {len(convs)} Conv2D layers; AlexNet's recipe needs at least 3."
    first = convs[0]
    if min(first.kernel_size) < 7 or min(first.strides) < 2:
        return (f"the first convolution has a {first.kernel_size} kernel with strides {first.strides}: "
                "AlexNet's first layer is big (7x7 or more here) and moves by 2 or more.")
    for layer in convs:
        name = getattr(layer.activation, "__name__", "")
        nxt = _next(flat, layer)
        if name != "relu" and not isinstance(nxt, (keras.layers.ReLU, keras.layers.BatchNormalization)):
            return f"convolution {layer.name!r} has activation {name!r}; AlexNet's point was ReLU."
    pools = [layer for layer in flat if isinstance(layer, keras.layers.MaxPooling2D)]
    if not any(max(p.pool_size) > max(p.strides) for p in pools):
        return ("no overlapping max pooling: the window must be larger than its stride "
                "(AlexNet used 3x3 windows with stride 2).")
    if not any(isinstance(layer, keras.layers.Dropout) and layer.rate > 0 for layer in flat):
        return "no Dropout layer with a rate > 0 in the classifier: AlexNet's other regularizer is missing."
    n = model.count_params()
    if n > 2_000_000:
        return f"small_alexnet has {n:,} parameters; keep it at 2,000,000 or fewer (narrower layers)."
    x = np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32")
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3) or (probs < 0).any():
        return "the outputs are not probabilities: end with a 10-unit Dense layer with a softmax."
    return None


def _leaves(model):
    import keras

    out = []
    for layer in model.layers:
        out.extend(_leaves(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def _next(layers, layer):
    i = layers.index(layer)
    return layers[i + 1] if i + 1 < len(layers) else None


q4 = Exercise(
    "06.4",
    "Build small_alexnet, an untrained Keras model for 64x64x3 images and 10 classes that follows "
    "AlexNet's recipe: a big first convolution (7x7 or larger) with a stride of 2 or more, at least three "
    "convolutions, all with ReLU, overlapping max pooling (window larger than its stride), dropout in "
    "the classifier, a softmax output, and at most 2,000,000 parameters.",
    _check_small_alexnet,
    hint="Start from alexnet_cifar's layer list and shrink it: fewer filters, smaller dense layers. "
         "model.count_params() tells you when you are under the limit.",
    solution=r"""from keras import layers

small_alexnet = keras.Sequential([
    keras.Input((64, 64, 3)),
    layers.Conv2D(48, 7, strides=2, padding="same", activation="relu"),
    layers.MaxPooling2D(3, strides=2, padding="same"),
    layers.Conv2D(96, 5, padding="same", activation="relu"),
    layers.MaxPooling2D(3, strides=2, padding="same"),
    layers.Conv2D(128, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(3, strides=2, padding="same"),
    layers.Flatten(),
    layers.Dense(256, activation="relu"),
    layers.Dropout(0.5),
    layers.Dense(10, activation="softmax"),
])
print(f"{small_alexnet.count_params():,} parameters")""",
    expects="a Keras model with input (64, 64, 3) and 10 outputs",
    level=2,
)
