"""Looking inside a trained ConvNet: filters, feature maps, activation maximization, saliency, Grad-CAM.

Every method comes as a pair:

* a *compute* function that returns NumPy arrays (so a test, or a student, can
  check the numbers): :func:`filter_images`, :func:`feature_maps`,
  :func:`activation_maximization`, :func:`saliency_map`, :func:`grad_cam`;
* a *plot* function that calls it, draws with matplotlib and returns
  ``(arrays, figure)``: :func:`plot_filters`, :func:`plot_feature_maps`,
  :func:`plot_patterns`, :func:`plot_attributions`.

Gradients are taken by :func:`input_gradient`, which works on the TensorFlow,
JAX and PyTorch backends of Keras 3 (Keras has no backend-neutral gradient call,
so that one small function dispatches on :func:`keras.backend.backend`).

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
import numbers

import numpy as np

__all__ = [
    "filter_images", "plot_filters",
    "conv_and_pool_layers", "feature_maps", "plot_feature_maps",
    "activation_maximization", "plot_patterns",
    "class_scores", "input_gradient", "saliency_map", "grad_cam",
    "overlay_heatmap", "plot_attributions",
]


# ============================================================================ argument checks

def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_model(model):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError) as exc:
        raise ValueError("model must be built with a known input shape (start it with "
                         "keras.Input(shape=...)) so that its layers can be inspected") from exc
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"model must have one input and one output, it has {len(inputs)} "
                         f"and {len(outputs)}")
    return model


def _get_layer(model, layer_name, argname="layer_name"):
    names = [layer.name for layer in model.layers]
    if not isinstance(layer_name, str) or layer_name not in names:
        raise ValueError(f"{argname} must be the name of one of the model's layers {names}, "
                         f"got {layer_name!r}")
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
    if not _is_int(class_index) or not 0 <= class_index < n:
        what = "None (the predicted class) or " if allow_none else ""
        raise ValueError(f"{argname} must be {what}a whole number in [0, {n - 1}], got {class_index!r}")
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


def plot_filters(kernel, rgb=None, normalize="each", max_in=8, size=0.8, title=None):
    """Draw :func:`filter_images` as a grid: one column per filter, one row per input channel.

    Colour filters (``rgb``) are drawn in one row. At most ``max_in`` input channels are drawn.
    Returns ``(images, figure)``.
    """
    import matplotlib.pyplot as plt

    images = filter_images(kernel, rgb=rgb, normalize=normalize)
    if not _is_int(max_in) or max_in < 1:
        raise ValueError(f"max_in must be a whole number >= 1, got {max_in!r}")
    colour = bool(rgb) if rgb is not None else _in_channels(kernel) == 3
    n_out = len(images)
    rows = 1 if colour else min(images.shape[1], max_in)
    fig, axes = plt.subplots(rows, n_out, figsize=(size * n_out + 0.6, size * rows + 0.5),
                             squeeze=False)
    for j in range(n_out):
        for i in range(rows):
            ax = axes[i, j]
            if colour:
                ax.imshow(images[j], interpolation="nearest")
            else:
                ax.imshow(images[j, i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(str(j), fontsize=7)
            if j == 0 and rows > 1:
                ax.set_ylabel(f"in {i}", fontsize=7)
    fig.suptitle(title or f"{n_out} filters (grey = 0, bright = positive, dark = negative)",
                 fontsize=10)
    fig.tight_layout()
    return images, fig


def _in_channels(kernel):
    if hasattr(kernel, "get_weights"):
        kernel = kernel.get_weights()[0]
    return np.shape(kernel)[2]


# ============================================================================ feature maps

def conv_and_pool_layers(model):
    """Names of the model's 2-D convolution and (non-global) pooling layers, in order."""
    model = _check_model(model)
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

    model = _check_model(model)
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
    outs = [_get_layer(model, name, "layers").output for name in layers]
    probe = keras.Model(model.inputs[0], outs)
    values = probe(x[None], training=False)
    if len(outs) == 1:
        values = [values]
    return {name: keras.ops.convert_to_numpy(v)[0] for name, v in zip(layers, values)}


def plot_feature_maps(model, x, layers=None, max_channels=16, size=0.9, cmap="viridis"):
    """Draw :func:`feature_maps`: the input, then one row per layer, up to ``max_channels`` maps each.

    Each map is scaled on its own (bright = strong activation); the row title gives the
    layer's output shape so one sees the maps shrink and multiply layer after layer.
    Returns ``(maps, figure)``.
    """
    import matplotlib.pyplot as plt

    maps = feature_maps(model, x, layers)
    if not _is_int(max_channels) or max_channels < 1:
        raise ValueError(f"max_channels must be a whole number >= 1, got {max_channels!r}")
    ncols = min(max_channels, max(m.shape[-1] for m in maps.values()))
    nrows = len(maps) + 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 1.2, size * nrows * 1.15),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    img = np.asarray(x, dtype="float32")
    axes[0, 0].imshow(img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1),
                      cmap="gray" if img.shape[-1] == 1 else None)
    axes[0, 0].set_title(f"input {img.shape[0]}x{img.shape[1]}x{img.shape[2]}", fontsize=8, loc="left")
    for row, (name, m) in enumerate(maps.items(), start=1):
        for c in range(min(ncols, m.shape[-1])):
            axes[row, c].imshow(m[..., c], cmap=cmap, interpolation="nearest")
        h, w, ch = m.shape
        shown = f" (first {ncols})" if ch > ncols else ""
        axes[row, 0].set_title(f"{name}: {h}x{w}x{ch}{shown}", fontsize=8, loc="left")
    fig.tight_layout()
    return maps, fig


# ============================================================================ gradients

def input_gradient(fn, x):
    """``(value, gradient)`` of a scalar function ``fn`` of the tensor ``x``, on any backend.

    ``fn`` takes a backend tensor shaped like ``x`` and returns a scalar tensor (use
    ``keras.ops`` inside it). The gradient is returned as a NumPy array shaped like ``x``.

    This is the module's only backend-specific code: Keras 3 has no backend-neutral
    gradient call, so it uses ``tf.GradientTape`` on TensorFlow (the course's
    default), ``jax.value_and_grad`` on JAX and ``torch.autograd`` on PyTorch.

    >>> import keras
    >>> value, grad = input_gradient(lambda t: keras.ops.sum(t ** 2), np.array([1.0, -2.0]))
    >>> float(value), grad.tolist()
    (5.0, [2.0, -4.0])
    """
    import keras

    x = np.asarray(x, dtype="float32")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            value = fn(t)
        grad = tape.gradient(value, t)
        if grad is None:  # the value does not depend on x at all
            grad = tf.zeros_like(t)
        return float(value), grad.numpy()
    if backend == "jax":
        import jax

        value, grad = jax.value_and_grad(lambda t: fn(t))(jax.numpy.asarray(x))
        return float(value), np.asarray(grad)
    if backend == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        value = fn(t)
        value.backward()
        grad = t.grad if t.grad is not None else torch.zeros_like(t)
        return float(value.detach().cpu()), grad.detach().cpu().numpy()
    raise NotImplementedError(f"gradients are not implemented for the {backend!r} backend; "
                              "use tensorflow, jax or torch")


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

    model = _check_model(model)
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

    model = _check_model(model)
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

    model = _check_model(model)
    x = _check_image(model, x)
    layer = _get_layer(model, layer_name)
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

    model = _check_model(model)
    single = _is_int(index)
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
        layer = _get_layer(model, layer_name)
        n_channels = int(layer.output.shape[-1])
        for i in indices:
            if not _is_int(i) or not 0 <= i < n_channels:
                raise ValueError(f"index must be a channel of {layer_name!r}, a whole number in "
                                 f"[0, {n_channels - 1}], got {i!r}")
        target = keras.Model(model.inputs[0], layer.output)
    for name, value, low in (("steps", steps, 1), ("blur_every", blur_every, 0), ("jitter", jitter, 0),
                             ("seed", seed, 0)):
        if not _is_int(value) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    for name, value, strict in (("learning_rate", learning_rate, True), ("l2", l2, False),
                                ("blur_sigma", blur_sigma, True)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or (
                value <= 0 if strict else value < 0) or not np.isfinite(value):
            raise ValueError(f"{name} must be a number {'>' if strict else '>='} 0, got {value!r}")
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


def plot_patterns(images, titles=None, value_range=(0.0, 1.0), ncols=8, size=1.3, title=None):
    """Draw patterns from :func:`activation_maximization`, each stretched to full contrast.

    ``images`` is ``(n, h, w, c)``. Returns ``(shown, figure)`` where ``shown`` are the
    stretched images in [0, 1] as drawn.
    """
    import matplotlib.pyplot as plt

    arr = np.asarray(images, dtype="float32")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (n, h, w, 1 or 3), got {np.shape(images)}")
    if titles is not None and len(titles) != len(arr):
        raise ValueError(f"titles has {len(titles)} entries for {len(arr)} images")
    if not _is_int(ncols) or ncols < 1:
        raise ValueError(f"ncols must be a whole number >= 1, got {ncols!r}")
    lo = arr.min(axis=(1, 2, 3), keepdims=True)
    hi = arr.max(axis=(1, 2, 3), keepdims=True)
    shown = (arr - lo) / np.where(hi > lo, hi - lo, 1.0)
    ncols = min(ncols, len(arr))
    nrows = -(-len(arr) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0.1)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(arr):
            ax.imshow(shown[k, ..., 0] if shown.shape[-1] == 1 else shown[k],
                      cmap="gray" if shown.shape[-1] == 1 else None)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return shown, fig


# ============================================================================ attribution plots

def overlay_heatmap(image, heatmap, alpha=0.45, cmap="jet"):
    """Blend a heatmap ``(h, w)`` in [0, 1] over an image ``(h, w, 1 or 3)`` in [0, 1]; returns RGB ``(h, w, 3)``."""
    import matplotlib

    img = np.asarray(image, dtype="float32")
    heat = np.asarray(heatmap, dtype="float32")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[-1] not in (1, 3):
        raise ValueError(f"image must have shape (h, w, 1 or 3), got {np.shape(image)}")
    if heat.shape != img.shape[:2]:
        raise ValueError(f"heatmap must have the image's size {img.shape[:2]}, got {heat.shape}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    rgb = np.repeat(img, 3, axis=-1) if img.shape[-1] == 1 else img
    lo, hi = rgb.min(), rgb.max()
    rgb = (rgb - lo) / (hi - lo) if hi > lo else np.zeros_like(rgb)
    colours = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3]
    return ((1 - alpha) * rgb + alpha * colours).astype("float32")


def plot_attributions(model, images, layer_name, labels=None, class_names=None, size=1.9):
    """Saliency and Grad-CAM side by side for a few images, explaining the *predicted* class.

    One row per image: the image (title: true and predicted class), its saliency map, its
    Grad-CAM heatmap for ``layer_name`` and the heatmap over the image.

    Returns ``({"saliency": (n, h, w), "grad_cam": (n, h, w), "predicted": (n,)}, figure)``.
    """
    import keras
    import matplotlib.pyplot as plt

    model = _check_model(model)
    arr = np.asarray(images, dtype="float32")
    if arr.ndim != 4:
        raise ValueError(f"images must be a batch (n, h, w, c), got shape {arr.shape}")
    if labels is not None and len(labels) != len(arr):
        raise ValueError(f"labels has {len(labels)} entries for {len(arr)} images")
    _get_layer(model, layer_name)
    names = class_names if class_names is not None else [str(i) for i in range(int(model.outputs[0].shape[-1]))]
    predicted = np.argmax(keras.ops.convert_to_numpy(model(arr, training=False)), axis=-1)
    sal = np.stack([saliency_map(model, img, int(p)) for img, p in zip(arr, predicted)])
    cams = np.stack([grad_cam(model, img, layer_name, int(p)) for img, p in zip(arr, predicted)])
    fig, axes = plt.subplots(len(arr), 4, figsize=(4 * size, len(arr) * size * 1.05), squeeze=False)
    for k, img in enumerate(arr):
        if img.shape[-1] != 3:               # grey, or channels that are not colours: their mean
            img = img.mean(axis=-1, keepdims=True)
        show = img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1)
        cm = "gray" if img.shape[-1] == 1 else None
        head = f"pred {names[predicted[k]]}"
        if labels is not None:
            ok = "✓" if int(labels[k]) == int(predicted[k]) else "✗"
            head = f"true {names[int(labels[k])]}, {head} {ok}"
        panels = [(show, cm, head), (sal[k], "hot", "saliency"),
                  (cams[k], "jet", f"Grad-CAM ({layer_name})"),
                  (overlay_heatmap(img, cams[k]), None, "Grad-CAM over image")]
        for ax, (data, cmap, ttl) in zip(axes[k], panels):
            ax.imshow(data, cmap=cmap)
            ax.set_title(ttl, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return {"saliency": sal, "grad_cam": cams, "predicted": predicted}, fig
