"""Exercises of notebook 06, *AlexNet*: local response normalization, a four-GPU split, activation memory,
an AlexNet of your own.

- ``q1`` (06.1, ★★): ``lrn(a, depth_radius, bias, alpha, beta)``, the paper's local response normalization
  in NumPy, compared with a reference on arrays (and, in the tests, with ``cnncourse.layers``' layer).
- ``q2`` (06.2, ★): the parameters saved by splitting conv2, conv4 and conv5 over four GPUs.
- ``q3`` (06.3, ★): the layer outputs the full AlexNet keeps for one image during training.
- ``q4`` (06.4, ★★): an AlexNet of one's own for 64x64 images, checked against AlexNet's recipe.

In the notebook::

    from cnncourse.exercises import ex06 as ex
    ex.q1.check(lrn)                 # a function (a, depth_radius, bias, alpha, beta) -> array like a
    ex.q2.check(saved_by_four_gpus)  # an int
    ex.q3.check(acts_per_image)      # an int
    ex.q4.check(small_alexnet)       # a Keras model, input (64, 64, 3), 10 outputs

Each checker returns ``None`` when the answer is right, or a message saying what is
wrong without giving the answer away.

>>> q2.evaluate(460_800)[1]  # doctest: +ELLIPSIS
'...only conv2...'
"""
from __future__ import annotations

import numpy as np

from cnncourse.exercises import Exercise, FunctionProblem, ValueProblem, expect_array

__all__ = ["q1", "q2", "q3", "q4"]


# --------------------------------------------------------------------------- 06.1 local response normalization

def _lrn(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75):
    """The paper's LRN across channels, channels last; channels beyond the ends count as zero.
    (tests/test_ex06.py checks it against cnncourse.layers.LocalResponseNormalization.)"""
    a = np.asarray(a, dtype=float)
    r, c = depth_radius, a.shape[-1]
    padded = np.pad(a ** 2, [(0, 0)] * (a.ndim - 1) + [(r, r)])
    window = sum(padded[..., i:i + c] for i in range(2 * r + 1))
    return a / (bias + alpha * window) ** beta


def _window(a, r, axis=-1, wrap=False, include_self=True, one_sided=False, squares=True):
    """Sum over neighbours along ``axis`` of ``a**2`` (or ``a``): the variants of the mistakes."""
    v = a ** 2 if squares else a
    v = np.moveaxis(v, axis, -1)
    c = v.shape[-1]
    offsets = range(0, 2 * r + 1) if one_sided else range(-r, r + 1)
    total = np.zeros_like(v)
    for d in offsets:
        if d == 0 and not include_self:
            continue
        if wrap:
            total += np.roll(v, -d, axis=-1)
        else:
            idx = np.arange(c) + d
            ok = (idx >= 0) & (idx < c)
            shifted = np.zeros_like(v)
            shifted[..., ok] = v[..., idx[ok]]
            total += shifted
    return np.moveaxis(total, -1, axis)


def _variant(**how):
    def formula(a, r, k, alpha, beta):
        return a / (k + alpha * _window(a, r, **how)) ** beta
    return formula


_LRN_MISTAKES = [
    (_variant(wrap=True), "the channels wrap around: a channel near the end is normalized by channels of the "
                          "other end. Channels beyond the ends count as zero (pad, do not roll)."),
    (lambda a, r, k, alpha, beta: a / (k + alpha / (2 * r + 1) * _window(a, r)) ** beta,
     "alpha is divided by the window's size n: that is PyTorch's LocalResponseNorm. In the paper (and "
     "TensorFlow) alpha multiplies the plain sum."),
    (_variant(squares=False), "the sum is over the neighbours' activations; it should be over their squares."),
    (_variant(one_sided=True), "the window runs from channel c to c + 2r; it is centred: c - r to c + r."),
    (_variant(include_self=False), "the sum leaves out the channel itself; j runs over c - r ... c + r, c included."),
    (_variant(axis=-2), "the neighbours are taken along the width; LRN normalizes across channels, the last "
                        "axis, at the same pixel."),
    (_variant(axis=1), "the neighbours are taken along the height; LRN normalizes across channels, the last "
                       "axis, at the same pixel."),
    (lambda a, r, k, alpha, beta: a * (k + alpha * _window(a, r)) ** beta,
     "the activation is multiplied by the power (or the exponent's sign is flipped); it is divided by "
     "(bias + alpha * sum) ** beta."),
    (lambda a, r, k, alpha, beta: a / (k + alpha * _window(a, r)),
     "the exponent beta is missing."),
]

_rng = np.random.default_rng(6)
# LRN follows a ReLU in AlexNet: the activations are >= 0
_LRN_CASES = [
    (_rng.uniform(0, 2, (1, 2, 2, 5)), 2, 2.0, 1.0, 0.75),
    (_rng.uniform(0, 2, (2, 3, 3, 8)), 1, 1.0, 0.5, 1.0),
    (_rng.uniform(0, 3, (1, 2, 3, 3)), 2, 2.0, 1.0, 0.75),      # a window wider than the channels
    (_rng.uniform(0, 60, (1, 3, 3, 7)), 2, 2.0, 1e-4, 0.75),    # the paper's constants
    (_rng.uniform(0, 1, (1, 3, 2, 6)), 0, 1.0, 2.0, 0.5),       # depth_radius 0: each channel alone
]


class _ArrayFunctionProblem(FunctionProblem):
    """A FunctionProblem whose first argument is an array: calls are shown with its shape, not its values,
    and every call gets a fresh copy (a function that changes its input in place must not spoil the cases)."""

    def label(self, case):
        a, *rest = case
        names = ("depth_radius", "bias", "alpha", "beta")
        return f"{self.name}(a of shape {a.shape}, {', '.join(f'{n}={v!r}' for n, v in zip(names, rest))})"

    def run(self, fn, cases, wants=None):
        return super().run(lambda a, *rest: fn(np.array(a, copy=True), *rest), cases, wants)


def _read_array(got, call, want):
    problem = expect_array(got, want.shape, f"{call}'s result")
    return (None, problem) if problem else (np.asarray(got, dtype=float), None)


_check_lrn = _ArrayFunctionProblem(
    "lrn", "lrn(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75) returning an array shaped like a",
    _LRN_CASES, _lrn, returns=_read_array, same=lambda got, want: bool(np.allclose(got, want, rtol=1e-4, atol=1e-7)),
    mistakes=_LRN_MISTAKES, said="{call}: {mistake}",
    otherwise="{call} returned values that are not the normalized activations ({wrong} of {total} cases wrong). "
              "Compare one pixel by hand: b[c] = a[c] / (bias + alpha * sum of a[j]**2 for j = c - r ... c + r) "
              "** beta.")


q1 = Exercise(
    "06.1",
    "Write lrn(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75), AlexNet's local response normalization in "
    "NumPy: a has shape (batch, height, width, channels) (ReLU outputs, >= 0); return an array of the same shape with "
    "b[..., c] = a[..., c] / (bias + alpha * sum_j a[..., j]**2) ** beta, j from c - depth_radius to "
    "c + depth_radius, channels beyond the ends counting as zero.",
    _check_lrn,
    hint="Square a, pad the channel axis with depth_radius zeros on each side (np.pad), and add the "
         "2 * depth_radius + 1 shifted slices padded[..., i:i + channels].",
    solution=r"""def lrn(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75):
    a = np.asarray(a, dtype="float64")
    channels = a.shape[-1]
    padded = np.pad(a ** 2, [(0, 0)] * (a.ndim - 1) + [(depth_radius, depth_radius)])
    window = sum(padded[..., i:i + channels] for i in range(2 * depth_radius + 1))
    return a / (bias + alpha * window) ** beta

from cnncourse.layers import LocalResponseNormalization

conv1_maps = keras.ops.convert_to_numpy(probe(image, training=False)).astype("float64")   # section 5
by_layer = keras.ops.convert_to_numpy(LocalResponseNormalization(dtype="float32")(conv1_maps.astype("float32")))
print(f"largest difference from the course's layer on conv1's maps: {np.abs(lrn(conv1_maps) - by_layer).max():.1e}")
strong = conv1_maps > 0
print(f"LRN divides conv1's positive outputs by {np.median(conv1_maps[strong] / lrn(conv1_maps)[strong]):.2f} "
      f"(median; bias ** beta alone is {2.0 ** 0.75:.2f})")""",
    expects="a function lrn(a, depth_radius, bias, alpha, beta) returning a NumPy array shaped like a",
    level=2,
)


# --------------------------------------------------------------------------- 06.2 four GPUs

_W = {  # (input channels in one tower, filters, kernel side); the paper splits conv2, conv4 and conv5
    "conv2": (96, 256, 5),
    "conv3": (256, 384, 3),
    "conv4": (384, 384, 3),
    "conv5": (384, 256, 3),
}


def _saved(groups, layers=("conv2", "conv4", "conv5")):
    """Weights saved against one tower when ``layers`` are grouped convolutions with ``groups`` groups."""
    return sum(k * k * c_in * f - k * k * (c_in // groups) * f for c_in, f, k in (_W[n] for n in layers))


_SPLIT = ("conv2", "conv4", "conv5")
_SAVED4 = _saved(4)                                   # 2,119,680
_KEPT4 = sum(k * k * (c_in // 4) * f for c_in, f, k in (_W[n] for n in _SPLIT))

_check_saved = ValueProblem("saved_by_four_gpus", _SAVED4, [
    (lambda n: n < 0, "a saving is a positive number: one tower minus four towers."),
    (_saved(2), "that is the two-GPU saving section 2 printed; with four GPUs each filter sees a quarter of "
                "the input channels."),
    (_KEPT4, "that is what the split layers keep (a quarter of the weights); the saving is the rest."),
    (_SAVED4 + 3 * (256 + 384 + 256) // 4,
     "the biases did not get fewer: every filter still has its one bias, on whichever GPU."),
    (_saved(4, _SPLIT + ("conv3",)), "conv3 is not split: its filters see the channels of all GPUs, as in the paper."),
    (_saved(4, ("conv2",)), "that is what splitting only conv2 saves; conv4 and conv5 are split too."),
], otherwise="{value:,} is not the saving. For conv2, conv4 and conv5, count the weights of one tower minus "
             "those of four towers (each filter sees a quarter of the input channels).")


q2 = Exercise(
    "06.2",
    "Section 2 printed what the paper's two-GPU split saves. Split conv2, conv4 and conv5 over four GPUs "
    "instead (Conv2D(..., groups=4): each filter sees a quarter of the input channels). How many parameters "
    "does that save against one tower? Give saved_by_four_gpus (an int), computed from the layer sizes.",
    _check_saved,
    hint="A 5x5 filter of conv2 sees 96 channels in one tower and 24 with four groups; there are still 256 "
         "filters. Do the same for conv4 and conv5, and think about whether biases change.",
    solution=r"""saved_by_four_gpus = sum(k * k * c_in * filters * 3 // 4 for c_in, filters, k in
                         [(96, 256, 5), (384, 384, 3), (384, 256, 3)])       # conv2, conv4, conv5
conv2_four = keras.Sequential([keras.Input((27, 27, 96)), keras.layers.Conv2D(256, 5, padding="same", groups=4)])
print(f"{saved_by_four_gpus:,}; conv2 with groups=4 has {conv2_four.count_params():,} parameters "
      f"instead of {keras_counts['conv2']:,}")""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 06.3 activations kept for training

_ACTS = {  # output values per image of the full AlexNet (227x227, one tower)
    "conv1": 55 * 55 * 96, "pool1": 27 * 27 * 96, "conv2": 27 * 27 * 256, "pool2": 13 * 13 * 256,
    "conv3": 13 * 13 * 384, "conv4": 13 * 13 * 384, "conv5": 13 * 13 * 256, "pool5": 6 * 6 * 256,
    "fc6": 4096, "fc7": 4096, "fc8": 1000,
}
_ACTS_TOTAL = sum(_ACTS.values())                      # 781,736
_INPUT = 227 * 227 * 3
_REPEATS = 6 * 6 * 256 + 2 * 4096                      # flatten, drop6, drop7
_CONVS = sum(v for k, v in _ACTS.items() if k.startswith("conv"))

_check_acts = ValueProblem("acts_per_image", _ACTS_TOTAL, [
    (_ACTS_TOTAL + _INPUT, "the input image is not an output of a layer: leave it out."),
    (_ACTS_TOTAL + _REPEATS, "flatten and the dropout layers only repeat their inputs (same values, reshaped or "
                             "masked): leave them out."),
    (_ACTS_TOTAL + _INPUT + _REPEATS, "leave out the input, and flatten and the dropouts, which repeat their inputs."),
    (_CONVS, "the poolings and the dense layers keep their outputs too."),
    (_ACTS_TOTAL - 4096 - 4096 - 1000, "fc6, fc7 and fc8 keep their outputs too."),
    (_ACTS_TOTAL - _ACTS["pool1"] - _ACTS["pool2"] - _ACTS["pool5"], "the three poolings keep their outputs too."),
    (4 * _ACTS_TOTAL, "count values, not bytes (4 bytes each in float32 comes after)."),
    (128 * _ACTS_TOTAL, "give the count for one image; the batch comes after."),
], otherwise="{value:,} is not the number of values. Add height x width x channels of every convolution's and "
             "pooling's output, and the units of fc6, fc7 and fc8.")


q3 = Exercise(
    "06.3",
    "Training keeps every layer's output for the backward pass. How many values does the full AlexNet "
    "(227x227, one tower) keep for one image: the outputs of conv1 ... conv5, pool1, pool2, pool5, fc6, fc7 and "
    "fc8 (not the input; not flatten or dropout, which repeat their inputs)? Give acts_per_image as an int.",
    _check_acts,
    hint="A layer's output has height x width x channels values (layer.output.shape without the batch axis); "
         "np.prod multiplies them.",
    solution=r"""kept = ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8")
acts_per_image = sum(int(np.prod(full.get_layer(name).output.shape[1:])) for name in kept)
batch_mb = 128 * acts_per_image * 4 / 2**20
weights_mb = full.count_params() * 4 / 2**20
print(f"{acts_per_image:,} values per image; a batch of 128 in float32: {batch_mb:.0f} MB of layer outputs, "
      f"beside {weights_mb:.0f} MB of weights, on a 3 GB GTX 580")""",
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
