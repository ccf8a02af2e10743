"""Looking inside a trained ConvNet, as NumPy arrays: filters, feature maps, activation
maximization, saliency, Grad-CAM.

Every function here *computes* and returns arrays, so a test, or a student, can check the
numbers: :func:`filter_images`, :func:`feature_maps`, :func:`activation_maximization`,
:func:`saliency_map`, :func:`grad_cam`, :func:`occlusion_map`, :func:`class_scores`. The functions that *draw* them
(``plot_filters``, ``plot_feature_maps``, ``plot_patterns``, ``plot_attributions``,
``overlay_heatmap``) are in :mod:`cnncourse.plots`.

Gradients are taken by :func:`cnncourse.autodiff.input_gradient` (re-exported here), which
works on the TensorFlow, JAX and PyTorch backends of Keras 3 (Keras has no backend-neutral
gradient call; :mod:`cnncourse.autodiff` is the one place that knows each backend's own).

Class scores are taken *before* the softmax (the "logit"), as Simonyan et al.
(2014) and Selvaraju et al. (2017) do: the softmax probability of a class can
rise simply because the other classes' scores fall, which makes its gradient
harder to read. :func:`class_scores` does it by running the model with its
last layer's softmax switched off for the duration of the call.

Example
-------
>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((8, 8, 1)),
...                           keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
...                           keras.layers.GlobalAveragePooling2D(),
...                           keras.layers.Dense(2, activation="softmax", name="out")])
>>> x = np.random.default_rng(0).random((8, 8, 1), dtype="float32")
>>> saliency_map(model, x, class_index=1).shape
(8, 8)
>>> grad_cam(model, x, "conv", class_index=1).shape
(8, 8)
>>> {name: m.shape for name, m in feature_maps(model, x).items()}
{'conv': (6, 6, 4)}
"""
from __future__ import annotations

import contextlib

import numpy as np

from cnncourse.autodiff import input_gradient
from cnncourse.checks import check_model, check_number, check_whole, is_whole

__all__ = [
    "filter_images", "conv_and_pool_layers", "feature_maps", "activation_maximization",
    "class_scores", "input_gradient", "saliency_map", "grad_cam", "occlusion_map", "inspectable_model",
    "layer_named",
]


# ============================================================================ argument checks

def inspectable_model(model):
    """``model`` when it is a ``keras.Model`` with one known input and one output, else an error
    that says so (every function here inspects such a model)."""
    check_model(model)
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError) as exc:
        raise ValueError("model must be built with a known input shape (start it with "
                         "keras.Input(shape=...)) so that its layers can be inspected") from exc
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"model must have one input and one output, it has {len(inputs)} "
                         f"and {len(outputs)}")
    return model


def layer_named(model, layer_name, argname="layer_name"):
    """The layer of ``model`` named ``layer_name``; a ``TypeError`` (not a string) or ``ValueError``
    (no such layer) listing the names otherwise."""
    names = [layer.name for layer in model.layers]
    message = f"{argname} must be the name of one of the model's layers {names}, got {layer_name!r}"
    if not isinstance(layer_name, str):
        raise TypeError(message)
    if layer_name not in names:
        raise ValueError(message)
    return model.get_layer(layer_name)


def _check_image(model, x, argname="x"):
    """One image ``(h, w, c)`` matching the model's input, as float32."""
    try:
        arr = np.asarray(x, dtype="float32")
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be an image array of shape (height, width, channels), "
                        f"got {type(x).__name__}") from None
    expected = tuple(model.inputs[0].shape[1:])
    if arr.ndim != 3 or any(e is not None and e != s for e, s in zip(expected, arr.shape)):
        raise ValueError(f"{argname} must be one image of shape {expected} (no batch axis), "
                         f"got shape {arr.shape}")
    return arr


def _check_class(model, class_index, argname="class_index", allow_none=True):
    n = int(model.outputs[0].shape[-1])
    if class_index is None and allow_none:
        return None
    what = "None (the predicted class) or " if allow_none else ""
    message = f"{argname} must be {what}a whole number in [0, {n - 1}], got {class_index!r}"
    if not is_whole(class_index):
        raise TypeError(message)
    if not 0 <= class_index < n:
        raise ValueError(message)
    return int(class_index)


# ============================================================================ filters

def filter_images(kernel, rgb=None, normalize="each"):
    """Turn a convolution kernel into images ready for ``imshow``.

    Parameters
    ----------
    kernel : array, shape (kh, kw, in_channels, out_channels)
        A ``Conv2D`` layer's ``kernel`` (``layer.get_weights()[0]``), or the layer itself.
    rgb : bool or None
        ``True``: each filter is one colour image (needs ``in_channels == 3``).
        ``False``: each (filter, input channel) slice is a grey image.
        ``None`` (default): ``True`` exactly when there are 3 input channels.
    normalize : {"each", "all"}
        Map values to [0, 1] per filter (``"each"``: shows every filter's pattern
        at full contrast) or with one scale for all (``"all"``: compares strengths).
        Either way 0.5 is a zero weight, brighter is positive, darker negative.

    Returns
    -------
    images : float array in [0, 1]
        ``(out_channels, kh, kw, 3)`` when ``rgb``, else ``(out_channels, in_channels, kh, kw)``.

    Examples
    --------
    >>> k = np.zeros((3, 3, 1, 2)); k[1, :, 0, 0] = 1; k[:, 1, 0, 1] = -1
    >>> img = filter_images(k)
    >>> img.shape, img[0, 0, 1].tolist(), img[1, 0, 0].tolist()
    ((2, 1, 3, 3), [1.0, 1.0, 1.0], [0.5, 0.0, 0.5])
    """
    if hasattr(kernel, "kernel") and hasattr(kernel, "get_weights"):
        kernel = kernel.get_weights()[0]
    try:
        k = np.asarray(kernel, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(f"kernel must be an array (kh, kw, in, out) or a Conv2D layer, "
                        f"got {type(kernel).__name__}") from None
    if k.ndim != 4:
        raise ValueError(f"kernel must have shape (kh, kw, in_channels, out_channels), got {k.shape}")
    if normalize not in ("each", "all"):
        raise ValueError(f"normalize must be 'each' or 'all', got {normalize!r}")
    if rgb is None:
        rgb = k.shape[2] == 3
    if rgb not in (True, False):
        raise ValueError(f"rgb must be True, False or None, got {rgb!r}")
    if rgb and k.shape[2] != 3:
        raise ValueError(f"rgb=True needs 3 input channels, the kernel has {k.shape[2]}")
    per_filter = np.moveaxis(k, -1, 0)  # (out, kh, kw, in)
    if normalize == "each":
        scale = np.abs(per_filter).reshape(len(per_filter), -1).max(axis=1)
        scale = scale.reshape(-1, 1, 1, 1)
    else:
        scale = np.full((1, 1, 1, 1), np.abs(per_filter).max())
    scaled = 0.5 + 0.5 * per_filter / np.where(scale > 0, scale, 1.0)
    if rgb:
        return scaled
    return np.moveaxis(scaled, -1, 1)  # (out, in, kh, kw)


# ============================================================================ feature maps

def conv_and_pool_layers(model):
    """Names of the model's 2-D convolution and (non-global) pooling layers, in order."""
    model = inspectable_model(model)
    names = []
    for layer in model.layers:
        kind = type(layer).__name__
        if ("Conv2D" in kind and "Transpose" not in kind) or (
                kind.endswith("Pooling2D") and not kind.startswith("Global")):
            names.append(layer.name)
    return names


def feature_maps(model, x, layers=None):
    """The outputs of chosen layers for one input image.

    Parameters
    ----------
    model : keras.Model with one input
    x : array, shape (h, w, c) — one image, no batch axis
    layers : list of layer names, or None for every Conv2D and pooling layer

    Returns
    -------
    dict ``{layer name: array (h_l, w_l, channels_l)}`` in the order of ``layers``.

    Examples
    --------
    >>> from cnncourse.models import lenet5
    >>> maps = feature_maps(lenet5(), np.zeros((32, 32, 1)))
    >>> {k: v.shape for k, v in maps.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'conv1': (28, 28, 6), 'pool1': (14, 14, 6), 'conv2': (10, 10, 16), 'pool2': (5, 5, 16)}
    """
    import keras

    model = inspectable_model(model)
    x = _check_image(model, x)
    if layers is None:
        layers = conv_and_pool_layers(model)
        if not layers:
            raise ValueError("the model has no Conv2D or pooling layer; pass layers=[names]")
    if isinstance(layers, str) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of layer names or None, got {layers!r}")
    layers = list(layers)
    if not layers:
        raise ValueError("layers must name at least one layer")
    outs = [layer_named(model, name, "layers").output for name in layers]
    probe = keras.Model(model.inputs[0], outs)
    values = probe(x[None], training=False)
    if len(outs) == 1:
        values = [values]
    return {name: keras.ops.convert_to_numpy(v)[0] for name, v in zip(layers, values)}


# ============================================================================ gradients

@contextlib.contextmanager
def _softmax_off(model):
    """Run ``model`` with its last layer's softmax (or sigmoid) switched to linear."""
    import keras

    last = model.layers[-1]
    original = getattr(last, "activation", None)
    swap = original in (keras.activations.softmax, keras.activations.sigmoid)
    if swap:
        last.activation = keras.activations.linear
    try:
        yield swap
    finally:
        if swap:
            last.activation = original


def class_scores(model, x):
    """The model's class scores before the softmax ("logits") for a batch ``x`` (NumPy).

    When the last layer has no softmax or sigmoid activation, its outputs are returned as they are.
    """
    import keras

    model = inspectable_model(model)
    with _softmax_off(model):
        return keras.ops.convert_to_numpy(model(np.asarray(x, dtype="float32"), training=False))


def _predicted_class(model, x):
    import keras

    probs = keras.ops.convert_to_numpy(model(x[None], training=False))[0]
    return int(np.argmax(probs))


def saliency_map(model, x, class_index=None, reduce="max"):
    """Vanilla-gradient saliency (Simonyan, Vedaldi & Zisserman, 2014).

    How much does each pixel change the class score? The absolute value of the
    gradient of the class's pre-softmax score with respect to the input pixels,
    reduced over the colour channels.

    Parameters
    ----------
    model : keras.Model, one image input, one class-score output
    x : array, shape (h, w, c), one image
    class_index : int or None
        The class to explain; ``None`` means the class the model predicts.
    reduce : {"max", "mean", "none"}
        How to combine the channels' absolute gradients (Simonyan et al. take the max);
        ``"none"`` returns the signed gradient ``(h, w, c)``.

    Returns
    -------
    saliency : float32 array, shape (h, w) — or (h, w, c) with ``reduce="none"``

    Examples
    --------
    A linear model's saliency is its weights' absolute value:

    >>> import keras
    >>> lin = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
    ...                         keras.layers.Dense(1, use_bias=False)])
    >>> lin.set_weights([np.array([[1.0], [-2.0], [0.0], [3.0]])])
    >>> saliency_map(lin, np.ones((2, 2, 1))).tolist()
    [[1.0, 2.0], [0.0, 3.0]]
    """
    import keras

    model = inspectable_model(model)
    x = _check_image(model, x)
    class_index = _check_class(model, class_index)
    if reduce not in ("max", "mean", "none"):
        raise ValueError(f"reduce must be 'max', 'mean' or 'none', got {reduce!r}")
    if class_index is None:
        class_index = _predicted_class(model, x)

    def score(t):
        with _softmax_off(model):
            return keras.ops.sum(model(t, training=False)[:, class_index])

    _, grad = input_gradient(score, x[None])
    grad = grad[0]
    if reduce == "none":
        return grad.astype("float32")
    reduced = np.abs(grad).max(axis=-1) if reduce == "max" else np.abs(grad).mean(axis=-1)
    return reduced.astype("float32")


def grad_cam(model, x, layer_name, class_index=None, upsample=True):
    """Grad-CAM (Selvaraju et al., 2017) for one image, one convolutional layer, one class.

    With ``A`` the layer's feature maps ``(h', w', K)`` and ``y`` the class's pre-softmax
    score: each map gets the weight ``alpha_k = mean over (i, j) of dy/dA[i, j, k]``; the
    class-activation map is ``ReLU(sum_k alpha_k A[:, :, k])``, upsampled (bilinear) to the
    input's size and divided by its maximum.

    Parameters
    ----------
    model : keras.Model
    x : array, shape (h, w, c)
    layer_name : str
        A layer with a spatial output ``(batch, h', w', K)`` — usually the last convolution.
    class_index : int or None — ``None`` means the predicted class.
    upsample : bool — ``False`` returns the map at the layer's resolution ``(h', w')``.

    Returns
    -------
    heatmap : float32 array in [0, 1], shape (h, w) (or (h', w')); all zeros when no
        location speaks for the class.

    Examples
    --------
    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"),
    ...                       keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    >>> cam = grad_cam(m, np.ones((8, 8, 1)), "c", class_index=0)
    >>> cam.shape, float(cam.min()) >= 0, float(cam.max()) <= 1
    ((8, 8), True, True)
    """
    import keras

    model = inspectable_model(model)
    x = _check_image(model, x)
    layer = layer_named(model, layer_name)
    if len(layer.output.shape) != 4:
        raise ValueError(f"layer_name must name a layer with spatial output (batch, h, w, channels); "
                         f"{layer_name!r} outputs {tuple(layer.output.shape)}")
    class_index = _check_class(model, class_index)
    if class_index is None:
        class_index = _predicted_class(model, x)
    features = keras.Model(model.inputs[0], layer.output)
    try:
        head = keras.Model(layer.output, model.outputs[0])
    except Exception as exc:  # a branch skips over the layer: the head is not a function of it alone
        raise ValueError(f"cannot split the model after {layer_name!r}: the rest of the network "
                         f"also reads layers before it ({exc})") from exc
    a = keras.ops.convert_to_numpy(features(x[None], training=False))

    def score(t):
        with _softmax_off(model):
            return keras.ops.sum(head(t, training=False)[:, class_index])

    _, grads = input_gradient(score, a)
    alpha = grads[0].mean(axis=(0, 1))                       # (K,)
    cam = np.maximum((a[0] * alpha).sum(axis=-1), 0.0)        # (h', w')
    if upsample:
        h, w = x.shape[:2]
        cam = keras.ops.convert_to_numpy(
            keras.ops.image.resize(cam[None, :, :, None].astype("float32"), (h, w),
                                   interpolation="bilinear"))[0, :, :, 0]
        cam = np.maximum(cam, 0.0)
    peak = cam.max()
    return (cam / peak if peak > 0 else np.zeros_like(cam)).astype("float32")


def occlusion_map(model, x, class_index=None, patch=8, stride=4, fill=0.0, upsample=False, batch_size=256):
    """Occlusion sensitivity (Zeiler & Fergus, 2014): how much the class's probability drops when a
    square of the image is hidden.

    For each position ``(i, j)`` the square of side ``patch`` whose top-left corner is
    ``(i * stride, j * stride)`` is set to ``fill`` in every channel; entry ``[i, j]`` is
    ``p_c(x) - p_c(occluded x)`` with ``p`` the model's output (its probabilities). Positions go as
    far as the whole square fits. Unlike a gradient, this is a real change of the input, so it
    serves as a reference for the gradient-based maps (it costs one forward pass per position).

    Parameters
    ----------
    model : keras.Model, one image input, one output of class probabilities
    x : array, shape (h, w, c), one image
    class_index : int or None — ``None`` means the predicted class.
    patch, stride : whole numbers >= 1, ``patch`` at most the image's height and width
    fill : float — the value that hides a square (0: black, the background of MNIST)
    upsample : bool
        ``False``: the map of positions, shape ``((h - patch) // stride + 1, (w - patch) // stride + 1)``.
        ``True``: an ``(h, w)`` map in which each pixel holds the mean drop over the squares that
        cover it (0 where none does), comparable pixel by pixel with :func:`grad_cam`.
    batch_size : whole number >= 1

    Returns
    -------
    drops : float32 array (positive where hiding the square lowers the class's probability)

    Examples
    --------
    A model that outputs the sigmoid of the image's sum loses probability where the ink is:

    >>> import keras
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> m.set_weights([np.ones((16, 1)), np.zeros(1)])
    >>> img = np.zeros((4, 4, 1), "float32"); img[:2, :2] = 1.0
    >>> drops = occlusion_map(m, img, 0, patch=2, stride=2)
    >>> drops.shape, bool(drops[0, 0] > 0), float(abs(drops[1, 1]))
    ((2, 2), True, 0.0)
    >>> occlusion_map(m, img, 0, patch=2, stride=2, upsample=True).shape
    (4, 4)
    """
    import keras

    model = inspectable_model(model)
    x = _check_image(model, x)
    class_index = _check_class(model, class_index)
    h, w = x.shape[:2]
    patch = check_whole(patch, "patch", 1)
    if patch > min(h, w):
        raise ValueError(f"patch must be at most the image's height and width {min(h, w)}, got {patch}")
    stride = check_whole(stride, "stride", 1)
    fill = check_number(fill, "fill")
    batch_size = check_whole(batch_size, "batch_size", 1)
    if class_index is None:
        class_index = _predicted_class(model, x)
    tops, lefts = range(0, h - patch + 1, stride), range(0, w - patch + 1, stride)
    corners = [(t, left) for t in tops for left in lefts]
    occluded = np.repeat(x[None], len(corners), axis=0)
    for k, (t, left) in enumerate(corners):
        occluded[k, t:t + patch, left:left + patch] = fill

    def probability(batch):
        return keras.ops.convert_to_numpy(model(batch, training=False))[:, class_index]

    intact = probability(x[None])[0]
    hidden = np.concatenate([probability(occluded[i:i + batch_size])
                             for i in range(0, len(occluded), batch_size)])
    drops = (intact - hidden).reshape(len(tops), len(lefts)).astype("float64")
    if not upsample:
        return drops.astype("float32")
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for (t, left), d in zip(corners, drops.ravel()):
        total[t:t + patch, left:left + patch] += d
        count[t:t + patch, left:left + patch] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype("float32")


# ============================================================================ activation maximization

def _blur(images, sigma):
    """Gaussian blur over height and width of ``(n, h, w, c)`` (separable, reflect padding)."""
    radius = max(1, int(round(2.5 * sigma)))
    t = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    out = images
    for axis in (1, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        length = out.shape[axis]
        out = sum(g[i] * np.take(padded, np.arange(i, i + length), axis=axis) for i in range(len(g)))
    return out.astype("float32")


def activation_maximization(model, layer_name=None, index=0, steps=100, learning_rate=0.05,
                            l2=1e-3, blur_every=4, blur_sigma=0.5, jitter=1,
                            value_range=(0.0, 1.0), seed=0):
    """Find input patterns that a filter (or a class) responds to most, by gradient ascent.

    Starting from faint noise around the middle of ``value_range``, each step moves
    the image along the normalized gradient of the objective

    * the mean activation of channel ``index`` of layer ``layer_name``, or
    * the pre-softmax score of class ``index`` when ``layer_name`` is ``None``,

    minus ``l2 * mean(x**2)``. Three regularizers keep the pattern readable
    (Yosinski et al., 2015): the L2 penalty (no pixel blows up), a random shift of
    up to ``jitter`` pixels before each step (the pattern must not depend on exact
    pixel positions), and a Gaussian blur every ``blur_every`` steps (no
    high-frequency noise). Pixels are kept in ``value_range``.

    Parameters
    ----------
    model : keras.Model with one image input of known size
    layer_name : str or None
    index : int or list of ints
        Channel(s) of the layer, or class(es) when ``layer_name`` is ``None``. A list optimizes
        one image per entry, all in one batch.
    steps : int >= 1
    learning_rate : float > 0 — step length, as a fraction of ``value_range``'s width
    l2 : float >= 0
    blur_every : int >= 0 (0: never)
    blur_sigma : float > 0
    jitter : int >= 0
    value_range : (low, high) of the model's input
    seed : int

    Returns
    -------
    images : float32 array, shape (n, h, w, c) — or (h, w, c) when ``index`` is an int
    history : float array, shape (steps + 1, n) — the objective (activation or score, without
        the penalty) of each image before the first and after every step

    Examples
    --------
    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c")])
    >>> img, hist = activation_maximization(m, "c", index=1, steps=10)
    >>> img.shape, bool(hist[-1, 0] > hist[0, 0])
    ((8, 8, 1), True)
    """
    import keras

    model = inspectable_model(model)
    single = is_whole(index)
    indices = [index] if single else index
    if not hasattr(indices, "__iter__") or isinstance(indices, str):
        raise TypeError(f"index must be a whole number or a list of them, got {index!r}")
    indices = list(indices)
    if not indices:
        raise ValueError("index must hold at least one channel or class")
    if layer_name is None:
        for i in indices:
            _check_class(model, i, "index", allow_none=False)
        target = None
    else:
        layer = layer_named(model, layer_name)
        n_channels = int(layer.output.shape[-1])
        for i in indices:
            message = (f"index must be a channel of {layer_name!r}, a whole number in "
                       f"[0, {n_channels - 1}], got {i!r}")
            if not is_whole(i):
                raise TypeError(message)
            if not 0 <= i < n_channels:
                raise ValueError(message)
        target = keras.Model(model.inputs[0], layer.output)
    steps = check_whole(steps, "steps", 1)
    blur_every = check_whole(blur_every, "blur_every", 0)
    jitter = check_whole(jitter, "jitter", 0)
    seed = check_whole(seed, "seed", 0)
    learning_rate = check_number(learning_rate, "learning_rate", 0, low_open=True)
    l2 = check_number(l2, "l2", 0)
    blur_sigma = check_number(blur_sigma, "blur_sigma", 0, low_open=True)
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be (low, high) numbers, got {value_range!r}") from None
    if not low < high:
        raise ValueError(f"value_range must have low < high, got {value_range!r}")
    shape = tuple(model.inputs[0].shape[1:])
    if any(s is None for s in shape):
        raise ValueError(f"the model's input size must be fixed, it is {shape}")

    idx = np.asarray(indices)
    n = len(idx)
    onehot = np.zeros((n, int((target or model).outputs[0].shape[-1])), dtype="float32")
    onehot[np.arange(n), idx] = 1.0
    onehot = keras.ops.convert_to_tensor(onehot)     # a backend tensor: PyTorch refuses NumPy * tensor with grad

    def objective_per_image(t):
        if target is None:
            with _softmax_off(model):
                out = model(t, training=False)                           # (n, classes)
        else:
            out = target(t, training=False)
            out = keras.ops.mean(out, axis=tuple(range(1, len(out.shape) - 1))) \
                if len(out.shape) > 2 else out                           # (n, channels)
        return keras.ops.sum(out * onehot, axis=-1)                      # (n,)

    def loss(t):
        penalty = l2 * keras.ops.mean(keras.ops.square(t - mid), axis=(1, 2, 3))
        return keras.ops.sum(objective_per_image(t) - penalty)

    rng = np.random.default_rng(seed)
    mid, width = (low + high) / 2, high - low
    img = (mid + 0.05 * width * rng.standard_normal((n,) + shape)).astype("float32")
    history = [keras.ops.convert_to_numpy(objective_per_image(img))]
    for step in range(steps):
        dy, dx = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
        shifted = np.roll(img, (dy, dx), axis=(1, 2))
        _, grad = input_gradient(loss, shifted)
        grad = np.roll(grad, (-dy, -dx), axis=(1, 2))
        norm = np.sqrt((grad ** 2).mean(axis=(1, 2, 3), keepdims=True)) + 1e-8
        img = img + learning_rate * width * grad / norm
        if blur_every and (step + 1) % blur_every == 0:
            img = _blur(img, blur_sigma)
        img = np.clip(img, low, high).astype("float32")
        history.append(keras.ops.convert_to_numpy(objective_per_image(img)))
    history = np.stack(history).astype("float64")
    return (img[0], history) if single else (img, history)
