"""Exercises of notebook 08, *Visualizing ConvNets*: receptive fields, saliency and Grad-CAM by hand, occlusion.

In the notebook::

    from cnncourse.exercises import ex08 as ex
    ex.q1.check(cifar_fields)         # a dict {"conv2": side, "conv3": side}
    ex.q2.check(linear_saliency)      # an (8, 8) array
    ex.q3.check(cam_by_hand)          # a (4, 4) array
    ex.q4.check(occlusion_map)        # a function (predict, image, label, patch, stride, fill) -> 2-D array
    ex.q5.check(occlusion_vs)         # a tuple of 2 rank correlations

08.4 is checked on small linear softmax models whose occlusion maps are computed exactly
(:func:`occlusion_reference`); 08.5 compares occlusion with saliency and gradient x input on the
linear model of 08.2 (:func:`linear_predict`).

>>> q1.evaluate({"conv2": 10, "conv3": 20})[0]
True
"""
from __future__ import annotations

import numpy as np

from cnncourse.exercises import (Exercise, calls, ValueProblem, expect_array, expect_callable, expect_int,
                                 expect_keys, to_float, try_call)

__all__ = ["q1", "q2", "q3", "q4", "q5", "LINEAR_W", "LINEAR_B", "IMAGE", "CAM_A", "CAM_GRADS", "linear_model",
           "linear_predict", "occlusion_reference"]


# --------------------------------------------------------------------------- 08.1 how far a unit sees

#: The CIFAR-10 ConvNet of the notebook, (kernel, stride) of each layer from the input up to conv3.
_CIFAR_LAYERS = [("conv1", 5, 1), ("pool1", 2, 2), ("conv2", 3, 1), ("pool2", 2, 2), ("conv3", 3, 1)]
_FIELD_KEYS = ("conv2", "conv3")


def _walk_back(layers, step):
    side = 1
    for _, kernel, stride in layers[::-1]:
        side = step(side, kernel, stride)
    return side


def _fields(step):
    """{layer: side} for conv2 and conv3, walking back with ``step(side, kernel, stride)``."""
    return {name: _walk_back(_CIFAR_LAYERS[:i + 1], step)
            for i, (name, _, _) in enumerate(_CIFAR_LAYERS) if name in _FIELD_KEYS}


def _jump_after(layers):
    side, jump = 1, 1
    for _, kernel, stride in layers:
        jump *= stride
        side += (kernel - 1) * jump
    return side


_RIGHT_FIELDS = _fields(lambda r, k, s: (r - 1) * s + k)                      # conv2 10, conv3 20
_FIELD_MISTAKES = [
    ({"conv2": 16, "conv3": 8}, "Those are the sides of the feature maps; the question asks for the window of "
                                "the *input* image that one unit sees."),
    ({"conv2": 14, "conv3": 14}, "14 is LeNet-5's conv2 (5x5 kernels twice); the CIFAR-10 ConvNet has other "
                                 "kernels: walk its own layers back."),
    (_fields(lambda r, k, s: r + k - 1 if s == 1 else r),
     "You skipped the poolings: a 2x2 pooling with stride 2 doubles the distance between neighbouring units "
     "(and widens the window)."),
    (_fields(lambda r, k, s: r + k - 1),
     "You treated each pooling as a window of 2 but forgot its stride: after a stride-2 layer, neighbouring "
     "units are 2 pixels apart, so every later kernel covers twice as many pixels."),
    ({"conv2": 5 + 2 + 3, "conv3": 5 + 2 + 3 + 2 + 3},
     "You added up the kernel sizes (right for conv2 by chance, not for conv3); going back through a kernel k, a window of r units becomes "
     "(r - 1) * stride + k, not r + k."),
    ({name: _jump_after(_CIFAR_LAYERS[:i + 1]) for i, (name, _, _) in enumerate(_CIFAR_LAYERS) if name in _FIELD_KEYS},
     "A layer's kernel is spaced by the stride of the layers *before* it, not by its own: a pooling's 2x2 "
     "window covers 2 neighbouring units of the layer below."),
]


def _check_fields(answer):
    problem = expect_keys(answer, _FIELD_KEYS, "cifar_fields", 'a dict {"conv2": side, "conv3": side}')
    if problem:
        return problem
    values = {}
    for name in _FIELD_KEYS:
        problem = expect_int(answer[name], name=f"cifar_fields[{name!r}]")
        if problem:
            return problem + " Give the side of the square window in pixels."
        values[name] = int(float(np.asarray(answer[name]).item()))
    if values == _RIGHT_FIELDS:
        return None
    for wrong, message in _FIELD_MISTAKES:
        if values == wrong:
            return message
    if values["conv3"] <= values["conv2"]:
        return "A conv3 unit sees at least as much as a conv2 unit: it looks at several conv2 units (through pool2)."
    if max(values.values()) > 32:
        return "A window wider than the 32x32 image: go back one layer at a time, (r - 1) * stride + kernel."
    wrong = [name for name in _FIELD_KEYS if values[name] != _RIGHT_FIELDS[name]]
    return (f"The side for {' and '.join(wrong)} is not right: start from 1 unit and walk back one layer at a time, "
            "conv3, pool2, conv2, pool1, conv1.")


q1 = Exercise(
    key="08.1",
    statement=("Section 4 cropped 14x14 patches because one LeNet-5 conv2 unit sees a 14x14 window of the input. "
               "Count the same for the CIFAR-10 ConvNet of section 1 (conv1 5x5, pool1 2x2 stride 2, conv2 3x3, "
               "pool2 2x2 stride 2, conv3 3x3): the side of the input window one unit of conv2, and one of conv3, "
               'sees. Answer a dict {"conv2": side, "conv3": side}.'),
    checker=_check_fields,
    hint=("Start from one unit (a window of 1) and walk back towards the input: through a layer with kernel k "
          "and stride s, a window of r units becomes (r - 1) * s + k units of the layer below."),
    solution=r"""def input_window(layers):             # (kernel, stride) from the input up to the unit's layer
    side = 1
    for kernel, stride in reversed(layers):
        side = (side - 1) * stride + kernel
    return side

up_to_conv3 = [(5, 1), (2, 2), (3, 1), (2, 2), (3, 1)]   # conv1, pool1, conv2, pool2, conv3
cifar_fields = {"conv2": input_window(up_to_conv3[:3]), "conv3": input_window(up_to_conv3)}
print(cifar_fields)""",
    expects='a dict {"conv2": side, "conv3": side} of whole numbers',
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
               "Without calling interpret.saliency_map or any gradient function, write the vanilla saliency "
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


# --------------------------------------------------------------------------- 08.4 occlusion sensitivity

class _SoftmaxModel:
    """A known linear softmax model on (H, W, C) images: ``predict(batch) -> probabilities (n, classes)``.

    The checker of 08.4 runs the student's ``occlusion_map`` on models of this kind, whose right
    answer it can compute exactly. It refuses a single image (no batch axis) with a message that says so.
    """

    def __init__(self, name, shape, classes, seed):
        rng = np.random.default_rng(seed)
        self.name, self.shape = name, tuple(shape)
        self.w = rng.normal(0, 4 / np.sqrt(np.prod(shape)), (int(np.prod(shape)), classes))
        self.b = rng.normal(0, 0.1, classes)

    def __call__(self, batch):
        x = np.asarray(batch, dtype="float64")
        if x.ndim != 4 or x.shape[1:] != self.shape:
            raise ValueError(f"{self.name} takes a batch of images of shape (n, {', '.join(map(str, self.shape))}), "
                             f"got shape {x.shape}" + (": add a batch axis, image[None]" if x.shape == self.shape
                                                      else ""))
        z = x.reshape(len(x), -1) @ self.w + self.b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def __repr__(self):
        return self.name


def _occlusion(predict, image, label, patch, stride, fill, *, sign=1, rows=None, cols=None, moved=None,
               score="drop", what="label", clip_border=False):
    """The reference occlusion map, and its typical variants (the mistakes of 08.4).

    ``moved``: how far the patch moves per position (default ``stride``); ``rows``/``cols``: how many
    positions; ``score``: "drop" (p(image) - p(occluded)) or "occluded" (p(occluded) alone);
    ``what``: "label" or "predicted" (the class predicted for the intact image).
    """
    image = np.asarray(image, dtype="float64")
    h, w = image.shape[:2]
    moved = stride if moved is None else moved
    rows = (h - patch) // stride + 1 if rows is None else rows
    cols = (w - patch) // stride + 1 if cols is None else cols
    batch = []
    for i in range(rows):
        for j in range(cols):
            hidden = image.copy()
            hidden[i * moved:i * moved + patch, j * moved:j * moved + patch] = fill
            batch.append(hidden)
    base, occluded = predict(image[None])[0], predict(np.stack(batch))
    c = int(base.argmax()) if what == "predicted" else label
    before, after = base[c], occluded[:, c]
    values = (before - after if score == "drop" else after) * sign
    return values.reshape(rows, cols)


def occlusion_reference(predict, image, label, patch, stride, fill):
    """``map[i, j] = p_label(image) - p_label(image with the patch at (i*stride, j*stride) set to fill)``."""
    return _occlusion(predict, image, label, patch, stride, fill)


_rng4 = np.random.default_rng(84)
# (model, image, label, patch, stride, fill); every label differs from the class the model predicts,
# every fill is non-zero, and (H - patch) is a multiple of the stride in the first two cases.
_OCC_CASES = []
for _name, _shape, _patch, _stride, _fill, _seed in [("predict_a", (8, 8, 1), 3, 1, 0.5, 1),
                                                     ("predict_b", (12, 10, 3), 4, 2, 0.25, 2),
                                                     ("predict_c", (9, 11, 1), 2, 3, 1.0, 3)]:
    _model = _SoftmaxModel(_name, _shape, 5, _seed)
    _img = np.round(_rng4.random(_shape), 2)
    _probs = _model(_img[None])[0]
    _label = int(np.argsort(_probs)[-2])            # the runner-up: not the predicted class
    _OCC_CASES.append((_model, _img, _label, _patch, _stride, _fill))


def _occ_label(case):
    model, image, label, patch, stride, fill = case
    return (f"occlusion_map({model!r}, <image {'x'.join(map(str, image.shape))}>, label={label}, patch={patch}, "
            f"stride={stride}, fill={fill})")


def _grid(case, **kwargs):
    return _occlusion(*case, **kwargs)


def _occ_mistakes():
    """[(results on every case, message)] of the typical wrong occlusion maps."""
    table = [
        (lambda c: _grid(c, sign=-1),
         "the sign is flipped: the map must be the *drop* p(image) - p(occluded), positive where hiding the "
         "patch lowers the probability."),
        (lambda c: _grid(c, score="occluded"),
         "those are the probabilities of the occluded images; the map is how much each one *drops* from the "
         "probability of the intact image."),
        (lambda c: _grid(c, sign=-1, score="occluded"),
         "those are minus the probabilities of the occluded images; subtract them from the probability of the "
         "intact image."),
        (lambda c: _occlusion(*c[:5], 0.0),
         "the patch is filled with 0, not with `fill`: every channel of the patch must take the value fill."),
        (lambda c: _grid(c, moved=1),
         "the patch moves by 1 pixel from one position to the next; it must move by `stride` pixels: entry "
         "[i, j] hides the square whose top-left corner is (i * stride, j * stride)."),
        (lambda c: _grid(c, moved=c[3]),
         "the patch moves by `patch` pixels from one position to the next; it must move by `stride`."),
        (lambda c: _grid(c, what="predicted"),
         "that is the drop of the class the model predicts for the image; the map is for the class `label`."),
        (lambda c: _grid(c).T,
         "the map is transposed: entry [i, j] is the patch at row i * stride, column j * stride."),
    ]
    return [([formula(case) for case in _OCC_CASES], message) for formula, message in table]


_OCC_RIGHT = [occlusion_reference(*case) for case in _OCC_CASES]
_OCC_MISTAKES = _occ_mistakes()


def _same_map(got, want):
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-4, atol=1e-6))


def _occ_shape_problem(call, got, case, want):
    image, patch, stride = case[1], case[3], case[4]
    h, w = image.shape[:2]
    rows, cols = want.shape
    if got.shape == (cols, rows):
        return f"{call} returned a map of shape {got.shape}: rows and columns are swapped (rows follow the image's height)."
    if got.shape == ((h - patch - 1) // stride + 1, (w - patch - 1) // stride + 1):
        return (f"{call} returned a map of shape {got.shape}: the last positions are missing. The last patch may "
                "touch the bottom and right borders: top goes up to H - patch included.")
    if got.shape == (-(-h // stride), -(-w // stride)):
        return (f"{call} returned a map of shape {got.shape}: some of your patches hang over the border. A position "
                "counts only while the whole patch fits in the image.")
    return (f"{call} returned a map of shape {got.shape}; the map has one entry per patch position: "
            "((H - patch) // stride + 1, (W - patch) // stride + 1).")


def _calls_package_occlusion(fn):
    """Whether ``fn`` is, or calls by name, the package's ``interpret.occlusion_map`` (08.4 asks for your own)."""
    from cnncourse import interpret

    return calls(fn, interpret.occlusion_map)


def _check_occlusion(fn):
    problem = expect_callable(fn, "occlusion_map(predict, image, label, patch, stride, fill) -> 2-D array")
    if problem:
        return problem
    if _calls_package_occlusion(fn):
        return ("Your occlusion_map calls the package's interpret.occlusion_map: this exercise asks you to write "
                "occlusion yourself (hide each square, call predict, subtract), with NumPy and predict only.")
    results = []
    for case, want in zip(_OCC_CASES, _OCC_RIGHT):
        call = _occ_label(case)
        given = case[1].copy()
        got, problem = try_call(fn, (case[0], given, *case[2:]), call)
        if problem:
            return problem
        if not np.array_equal(given, case[1]):
            return (f"{call} changed the image it was given: copy it (image.copy()) before pasting a patch, or each "
                    "patch stays in the image for the next positions.")
        problem = expect_array(got, name=f"{call}'s result")
        if problem:
            return problem
        got = np.asarray(got, dtype=float)
        if got.ndim != 2:
            return f"{call} returned an array of shape {got.shape}; the map is 2-D: one entry per patch position."
        if got.shape != want.shape:
            return _occ_shape_problem(call, got, case, want)
        results.append(got)
    wrong = [k for k, (got, want) in enumerate(zip(results, _OCC_RIGHT)) if not _same_map(got, want)]
    if not wrong:
        return None
    call = _occ_label(_OCC_CASES[wrong[0]])
    for values, message in _OCC_MISTAKES:
        if all(_same_map(got, v) for got, v in zip(results, values)):
            return f"{call}: {message}"
    got, want = results[wrong[0]], _OCC_RIGHT[wrong[0]]
    off = ~np.isclose(got, want, rtol=1e-4, atol=1e-6)
    if off[-1].any() and off[:, -1].any() and not off[:-1, :-1].any():
        return (f"{call}: the last row and the last column of the map are wrong, the rest is right: the last patch "
                "touches the bottom and right borders (top goes up to H - patch included).")
    return (f"{call}: {int(off.sum())} of the {off.size} entries are wrong. Entry [i, j] is p_label(image) - "
            "p_label(image with rows i*stride : i*stride+patch and columns j*stride : j*stride+patch set to fill).")


q4 = Exercise(
    key="08.4",
    statement=("Write occlusion_map(predict, image, label, patch, stride, fill): predict maps a batch of images "
               "(n, H, W, C) to class probabilities (n, classes); image is (H, W, C). For each position (i, j), "
               "hide the square of side `patch` whose top-left corner is (i * stride, j * stride), in every "
               "channel, by the value `fill`; the map's entry [i, j] is p_label(image) - p_label(occluded image). "
               "Positions go as far as the patch fits: the map has shape ((H - patch) // stride + 1, "
               "(W - patch) // stride + 1). Write it yourself, with NumPy and predict: do not call "
               "interpret.occlusion_map (the package's version, which the notebook uses; the check refuses it)."),
    checker=_check_occlusion,
    hint=("Build every occluded image (image.copy(), then x[top:top + patch, left:left + patch] = fill), stack "
          "them into one batch, call predict once, and subtract column `label` from the intact image's "
          "probability. range(0, H - patch + 1, stride) gives the tops."),
    solution=r"""def occlusion_map(predict, image, label, patch, stride, fill):
    image = np.asarray(image, dtype="float32")
    h, w = image.shape[:2]
    tops, lefts = range(0, h - patch + 1, stride), range(0, w - patch + 1, stride)
    hidden = []
    for top in tops:
        for left in lefts:
            x = image.copy()
            x[top:top + patch, left:left + patch] = fill
            hidden.append(x)
    intact = np.asarray(predict(image[None]))[0, label]
    occluded = np.asarray(predict(np.stack(hidden)))[:, label]
    return (intact - occluded).reshape(len(tops), len(lefts))

# on the trained LeNet-5: which 6x6 squares of the test digit does its probability need?
digit, digit_label = x_mnist_test[digit_index], int(y_mnist_test[digit_index])
lenet_predict = lambda batch: keras.ops.convert_to_numpy(lenet(batch, training=False))
occ = occlusion_map(lenet_predict, digit, digit_label, patch=6, stride=2, fill=0.0)
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
axes[0].imshow(digit[..., 0], cmap="gray")
axes[1].imshow(occ, cmap="RdBu_r", vmin=-np.abs(occ).max(), vmax=np.abs(occ).max())
axes[2].imshow(interpret.saliency_map(lenet, digit, digit_label), cmap="hot")
for ax, title in zip(axes, [f"digit {digit_label}", "occlusion: drop of p (6x6, stride 2)", "saliency"]):
    ax.set_title(title, fontsize=8)
    ax.axis("off")
plt.show()""",
    expects="a function occlusion_map(predict, image, label, patch, stride, fill) returning a 2-D array",
    level=3,
)


# --------------------------------------------------------------------------- 08.5 occlusion vs saliency

def linear_predict(batch):
    """The probabilities of :func:`linear_model` with NumPy: ``softmax(x @ LINEAR_W + LINEAR_B)`` for a batch
    of 8x8x1 images (n, 8, 8, 1) -> (n, 10)."""
    x = np.asarray(batch, dtype="float64")
    z = x.reshape(len(x), -1) @ LINEAR_W.astype("float64") + LINEAR_B
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


_CMP_PATCH, _CMP_STRIDE = 4, 2
_CMP_CLASS = int(linear_predict(IMAGE[None])[0].argmax())


def _patch_sums(pixel_map, patch=_CMP_PATCH, stride=_CMP_STRIDE):
    n = (pixel_map.shape[0] - patch) // stride + 1
    return np.array([[pixel_map[i * stride:i * stride + patch, j * stride:j * stride + patch].sum()
                      for j in range(n)] for i in range(n)])


def _ranks(values):
    from scipy.stats import rankdata
    return rankdata(np.ravel(values))


def _spearman(a, b):
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _pearson(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _comparison(label=_CMP_CLASS, corr=_spearman, occ_sign=1, signed_saliency=False, fill=0.0, dtype="float64"):
    occ = occ_sign * _occlusion(linear_predict, IMAGE, label, _CMP_PATCH, _CMP_STRIDE, fill)
    w = LINEAR_W[:, label].reshape(8, 8).astype(dtype)
    saliency = _patch_sums(w if signed_saliency else np.abs(w))
    grad_x_input = _patch_sums(w * IMAGE[..., 0].astype(dtype))
    return corr(occ, saliency), corr(occ, grad_x_input)


def _near(**variant):
    """A test ``values -> bool``: close to the pair computed with ``variant``, in float64 or in float32 (sums of
    the rounded weights tie in one precision and not in the other, which moves a rank)."""
    pairs = [_comparison(**variant, dtype=dtype) for dtype in ("float64", "float32")]
    return lambda values: any(np.allclose(values, pair, atol=2e-3) for pair in pairs)


_CMP_RIGHT = _comparison()
_is_right = _near()
_CMP_MISTAKES = [
    (lambda v: _is_right(v[::-1]), "The two numbers are in the wrong order: "
     "(correlation with saliency, correlation with gradient x input)."),
    (_near(corr=_pearson),
     "Those are Pearson correlations (of the values); the exercise asks for Spearman's rank correlation "
     "(scipy.stats.spearmanr), which compares orderings."),
    (_near(occ_sign=-1),
     "Your occlusion map has the wrong sign (a rise instead of a drop): fix occlusion_map first (08.4)."),
    (_near(label=_CLASS),
     f"That is class {_CLASS} (the class of 08.2); this exercise uses the class the model predicts for ex.IMAGE."),
    (_near(signed_saliency=True),
     "The saliency map is the *absolute value* of the gradient, summed over each patch; you kept the signs."),
    (_near(fill=0.5),
     "The occlusion map is for fill=0 (then hiding a patch removes exactly what gradient x input measures)."),
]


def _check_comparison(answer):
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__") or len(answer) != 2:
        return "Expected a tuple of 2 numbers: (rank correlation with saliency, rank correlation with gradient x input)."
    values = [to_float(v) for v in answer]
    if any(v is None for v in values):
        return "Each of the 2 entries should be one number (a correlation)."
    if any(not np.isfinite(v) for v in values):
        return "A correlation is NaN or infinite: did one of the maps come out constant?"
    if any(abs(v) > 1 + 1e-9 for v in values):
        return "A correlation lies between -1 and 1."
    if _is_right(values):
        return None
    for test, message in _CMP_MISTAKES:
        if test(values):
            return message
    good = [any(np.isclose(v, pair[k], atol=2e-3) for pair in (_CMP_RIGHT, _comparison(dtype="float32")))
            for k, v in enumerate(values)]
    if good[0] != good[1]:
        return (f"The {'first' if good[1] else 'second'} number is not right (the other is): check how that map "
                "is summed over the 9 patches of side 4, stride 2.")
    return ("Not the two rank correlations: occlusion map (patch 4, stride 2, fill 0) of the predicted class, against "
            "|W[:, c]| and W[:, c] * x, each summed over the same 9 patches.")


q5 = Exercise(
    key="08.5",
    statement=("Occlusion against gradients, on the linear model of 08.2 (ex.linear_predict is its predict for a "
               "batch, in NumPy). For the class it predicts for ex.IMAGE, compute the occlusion map with patch 4, "
               "stride 2, fill 0 (3x3), and two maps on the same 9 patches: the saliency map |W[:, c]| summed "
               "over each patch, and gradient x input W[:, c] * x summed over each patch. Answer the tuple of "
               "Spearman rank correlations (occlusion vs saliency, occlusion vs gradient x input)."),
    checker=_check_comparison,
    hint=("scipy.stats.spearmanr(a.ravel(), b.ravel())[0]. For a linear score, hiding a patch with 0 lowers it by "
          "exactly the sum of w * x over the patch: which of the two maps should follow the occlusion map?"),
    solution=r"""c = int(ex.linear_predict(ex.IMAGE[None])[0].argmax())
occ_linear = occlusion_map(ex.linear_predict, ex.IMAGE, c, patch=4, stride=2, fill=0.0)
w_c = ex.LINEAR_W[:, c].reshape(8, 8)
per_patch = lambda m: np.array([[m[i:i + 4, j:j + 4].sum() for j in range(0, 5, 2)] for i in range(0, 5, 2)])
occlusion_vs = (spearmanr(occ_linear.ravel(), per_patch(np.abs(w_c)).ravel())[0],
                spearmanr(occ_linear.ravel(), per_patch(w_c * ex.IMAGE[..., 0]).ravel())[0])
print(f"class {c}: rank correlation of occlusion with saliency {occlusion_vs[0]:.2f}, "
      f"with gradient x input {occlusion_vs[1]:.2f}")""",
    expects="a tuple of 2 numbers between -1 and 1",
    level=2,
)
