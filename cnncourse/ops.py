"""Convolution and pooling written out in NumPy: the reference the notebooks teach from.

Every function works on a batch of images in Keras' layout, *channels last*:
``(batch, height, width, channels)``. Kernels are stored as Keras stores them,
``(kernel_height, kernel_width, in_channels, filters)``, so weights can be moved
between these functions and ``keras.layers.Conv2D`` unchanged.

What "convolution" means here is what it means in every deep-learning library:
*cross-correlation* (the kernel is not flipped). At each position the window of
the input under the kernel is multiplied element by element with the kernel and
summed, over all input channels, and the bias is added.

It is also the package's one home for the arithmetic of convolutional networks: output
sizes, receptive fields, and where a model's parameters and multiply-adds sit.

Functions
---------
conv_output_size    output length along one axis, for ``"valid"``, ``"same"`` or ``p`` zeros
receptive_field     side of the input window one unit of a stack of layers sees
same_padding        the ``(before, after)`` zeros Keras adds for ``padding="same"``
pad_input           zero-pad a batch for a given kernel, stride and padding
conv2d              the readable loop: batch x positions x filters
conv2d_fast         the same result, vectorised (sliding windows + ``einsum``)
max_pool2d, avg_pool2d   pooling, equal to ``MaxPooling2D`` / ``AveragePooling2D``
conv2d_params       number of weights of a conv layer
conv2d_macs         multiply-adds one image costs a conv layer
params_by_layer, macs_by_layer, count_macs   the same counted on a built Keras model

Only the last three import Keras (when called): the NumPy functions stay light.

Example
-------
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)            # one 4x4 image, one channel
>>> k = np.ones((2, 2, 1, 1))                           # one 2x2 filter that sums
>>> conv2d(x, k, stride=2)[0, :, :, 0]
array([[10., 18.],
       [42., 50.]])
>>> max_pool2d(x, 2)[0, :, :, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from cnncourse.checks import check_batch, check_bool, check_model, check_whole, check_whole_or_pair

__all__ = [
    "conv_output_size", "same_padding", "receptive_field", "pad_input", "conv2d", "conv2d_fast",
    "max_pool2d", "avg_pool2d", "conv2d_params", "conv2d_macs",
    "params_by_layer", "macs_by_layer", "count_macs",
]

PADDINGS = ("valid", "same")


# --------------------------------------------------------------------------- argument checks

def _padding_kind(padding):
    """``"valid"``, ``"same"`` or an int >= 0 (zeros on every side), checked."""
    if isinstance(padding, str):
        if padding.lower() not in PADDINGS:
            raise ValueError(f"padding must be 'valid', 'same' or a whole number of zeros >= 0, got {padding!r}")
        return padding.lower()
    return check_whole_or_pair(padding, "padding", 0)


def _batch(x, name="x"):
    """``x`` (:func:`~cnncourse.checks.check_batch`) as floats: float32 or wider."""
    arr = check_batch(x, name)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.result_type(arr.dtype, np.float32), copy=False)


# --------------------------------------------------------------------------- sizes

def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    """Length of a convolution's (or pooling's) output along one axis.

    With ``p`` zeros on each side the window fits ``floor((n + 2p - f) / s) + 1``
    times. ``"valid"`` is ``p = 0``; ``"same"`` pads just enough for
    ``ceil(n / s)`` outputs (so ``n`` outputs when ``s = 1``).

    Parameters
    ----------
    n : int >= 1, input length (height or width)
    kernel_size : int >= 1, the window's length ``f``
    stride : int >= 1, step ``s`` between windows
    padding : ``"valid"``, ``"same"`` or int ``p >= 0``

    Returns
    -------
    int >= 1

    Raises
    ------
    ValueError
        When the window does not fit the (padded) input even once: there is no output of
        size 0, and Keras refuses such a layer too. Also for a size, kernel or stride
        below 1 or an unknown padding.
    TypeError
        When ``n``, ``kernel_size``, ``stride`` or ``padding`` is not a whole number.

    >>> conv_output_size(32, 5)                      # LeNet's first layer
    28
    >>> conv_output_size(227, 11, stride=4)          # AlexNet's first layer, as the paper drew it
    55
    >>> conv_output_size(224, 11, stride=4, padding=2)  # the same with torchvision's padding
    55
    >>> conv_output_size(55, 3, 2)                   # overlapping 3x3 pooling, stride 2
    27
    >>> conv_output_size(7, 3, stride=2, padding="same")
    4
    """
    n = check_whole(n, "n", 1)
    f = check_whole(kernel_size, "kernel_size", 1)
    s = check_whole(stride, "stride", 1)
    if isinstance(padding, (tuple, list)):
        raise TypeError(f"padding along one axis must be 'valid', 'same' or one whole number, got {padding!r}")
    kind = _padding_kind(padding)
    if kind == "same":
        return -(-n // s)
    p = 0 if kind == "valid" else kind[0]
    if f > n + 2 * p:
        raise ValueError(
            f"kernel_size={f} is larger than the padded input (n={n} + 2*{p} = {n + 2 * p}): "
            "the window does not fit even once"
        )
    return (n + 2 * p - f) // s + 1


def same_padding(n, kernel_size, stride=1):
    """Zeros ``(before, after)`` that ``padding="same"`` adds along one axis.

    Keras (like TensorFlow) pads the total ``max((ceil(n/s) - 1) * s + f - n, 0)``
    and, when that total is odd, puts the extra zero *after* (bottom / right).

    >>> same_padding(5, 3)        # 1 zero each side
    (1, 1)
    >>> same_padding(6, 4)        # total 3: 1 before, 2 after
    (1, 2)
    >>> same_padding(8, 3, 2)     # total 1: the zero goes at the end
    (0, 1)
    """
    n = check_whole(n, "n", 1)
    f = check_whole(kernel_size, "kernel_size", 1)
    s = check_whole(stride, "stride", 1)
    out = -(-n // s)
    total = max((out - 1) * s + f - n, 0)
    return total // 2, total - total // 2


def receptive_field(layers):
    """Side of the input window that one unit of the last layer of a stack sees.

    Parameters
    ----------
    layers : sequence of (kernel, stride) pairs
        The convolutions and poolings, first to last.

    Returns
    -------
    int
        ``r = 1 + sum_i (k_i - 1) * (s_1 * ... * s_{i-1})``.

    Examples
    --------
    >>> receptive_field([(3, 1)] * 3)      # three 3x3 convolutions see 7x7
    7
    >>> receptive_field([(11, 4), (3, 2)])  # AlexNet's conv1 then pool1
    19
    """
    try:
        pairs = [tuple(p) for p in layers]
    except TypeError:
        raise TypeError(f"layers must be a sequence of (kernel, stride) pairs, got {layers!r}") from None
    if not pairs:
        raise ValueError("layers must hold at least one (kernel, stride) pair, got an empty sequence")
    field, jump = 1, 1
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"layers[{i}] must be a (kernel, stride) pair, got {pair!r}")
        kernel = check_whole(pair[0], f"layers[{i}] kernel", 1)
        stride = check_whole(pair[1], f"layers[{i}] stride", 1)
        field += (kernel - 1) * jump
        jump *= stride
    return field


def _pads(h, w, kh, kw, sh, sw, padding):
    kind = _padding_kind(padding)
    if kind == "valid":
        return (0, 0), (0, 0)
    if kind == "same":
        return same_padding(h, kh, sh), same_padding(w, kw, sw)
    return (kind[0], kind[0]), (kind[1], kind[1])


def pad_input(x, kernel_size, stride=1, padding="valid", value=0.0):
    """Pad a batch ``(n, h, w, c)`` as a layer with this kernel, stride and padding would.

    Parameters
    ----------
    x : array (n, h, w, c)
    kernel_size, stride : int or (rows, cols)
    padding : ``"valid"`` (nothing), ``"same"`` (Keras' rule, see :func:`same_padding`),
        int ``p`` or ``(p_rows, p_cols)`` (that many zeros on each side)
    value : the fill (0 for convolution; max pooling uses ``-inf``)

    Returns
    -------
    array (n, h + top + bottom, w + left + right, c)

    >>> pad_input(np.ones((1, 2, 2, 1)), 3, padding=1)[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    x = _batch(x)
    kh, kw = check_whole_or_pair(kernel_size, "kernel_size", 1)
    sh, sw = check_whole_or_pair(stride, "stride", 1)
    (top, bottom), (left, right) = _pads(x.shape[1], x.shape[2], kh, kw, sh, sw, padding)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _prepare_conv(x, kernels, bias, stride, padding):
    x = _batch(x)
    k = np.asarray(kernels)
    if k.ndim != 4:
        raise ValueError(
            "kernels must have shape (kernel_height, kernel_width, in_channels, filters) "
            f"as in keras Conv2D, got shape {k.shape}"
        )
    if not np.issubdtype(k.dtype, np.number):
        raise TypeError(f"kernels must hold numbers, got dtype {k.dtype}")
    kh, kw, c_in, c_out = k.shape
    if min(kh, kw, c_out) < 1:
        raise ValueError(f"kernels must have at least one row, column and filter, got shape {k.shape}")
    if c_in != x.shape[3]:
        raise ValueError(
            f"mismatched channels: x has {x.shape[3]} channels but kernels expect in_channels={c_in} "
            f"(kernels shape {k.shape}); the third axis of kernels must equal the last axis of x"
        )
    if bias is None:
        b = np.zeros(c_out)
    else:
        b = np.asarray(bias)
        if b.shape != (c_out,):
            raise ValueError(f"bias must have shape (filters,) = ({c_out},), got shape {b.shape}")
    sh, sw = check_whole_or_pair(stride, "stride", 1)
    xp = pad_input(x, (kh, kw), (sh, sw), padding)
    if kh > xp.shape[1] or kw > xp.shape[2]:
        raise ValueError(
            f"kernel of size {kh}x{kw} is larger than the padded image "
            f"{xp.shape[1]}x{xp.shape[2]} (input {x.shape[1]}x{x.shape[2]}, padding={padding!r}): "
            "use a smaller kernel or more padding"
        )
    out_h = (xp.shape[1] - kh) // sh + 1
    out_w = (xp.shape[2] - kw) // sw + 1
    dtype = np.result_type(x.dtype, k.dtype, b.dtype, np.float32)
    return xp.astype(dtype), k.astype(dtype), b.astype(dtype), sh, sw, out_h, out_w


# --------------------------------------------------------------------------- convolution

def conv2d(x, kernels, bias=None, stride=1, padding="valid"):
    """2-D convolution (cross-correlation) of a batch with many filters: the readable loop.

    For each image, each output position ``(i, j)`` and each filter ``o``::

        out[b, i, j, o] = sum(window * kernels[:, :, :, o]) + bias[o]
        window = padded_x[b, i*s : i*s + kh, j*s : j*s + kw, :]

    The window moves left to right by ``stride`` columns, then hops ``stride``
    rows down and starts again at the left.

    Parameters
    ----------
    x : array (batch, height, width, in_channels)
    kernels : array (kernel_height, kernel_width, in_channels, filters), Keras' layout
    bias : array (filters,) or None (no bias)
    stride : int or (rows, cols), >= 1
    padding : ``"valid"``, ``"same"`` (Keras' rule) or int / (rows, cols) zeros on each side

    Returns
    -------
    array (batch, out_height, out_width, filters), ``out_height =``
    :func:`conv_output_size` ``(height, kernel_height, stride, padding)``

    Raises
    ------
    ValueError
        Wrong number of axes, channels of ``x`` and ``kernels`` that differ, a bias of
        the wrong length, a stride below 1, an unknown padding, or a kernel larger
        than the padded image.

    >>> x = np.zeros((1, 5, 5, 1)); x[0, :, 3:, 0] = 1      # dark left, bright right
    >>> k = np.array([[-1, 0, 1]] * 3, float)[:, :, None, None]  # vertical-edge filter
    >>> conv2d(x, k)[0, :, :, 0]
    array([[0., 3., 3.],
           [0., 3., 3.],
           [0., 3., 3.]])
    """
    xp, k, b, sh, sw, out_h, out_w = _prepare_conv(x, kernels, bias, stride, padding)
    kh, kw, _, c_out = k.shape
    out = np.zeros((xp.shape[0], out_h, out_w, c_out), dtype=xp.dtype)
    for n in range(xp.shape[0]):                      # every image
        for i in range(out_h):                        # rows: top to bottom
            for j in range(out_w):                    # columns: left to right
                window = xp[n, i * sh: i * sh + kh, j * sw: j * sw + kw, :]
                for o in range(c_out):                # every filter
                    out[n, i, j, o] = np.sum(window * k[:, :, :, o]) + b[o]
    return out


def _windows(xp, kh, kw, sh, sw, out_h, out_w):
    """View of every window: (batch, out_h, out_w, channels, kh, kw), no copy."""
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
    return win[:, : (out_h - 1) * sh + 1: sh, : (out_w - 1) * sw + 1: sw]


def conv2d_fast(x, kernels, bias=None, stride=1, padding="valid"):
    """The same result as :func:`conv2d`, computed without Python loops.

    All windows are taken at once as a strided view of the padded input, then
    ``np.einsum`` multiplies and sums them with every filter. Fast enough for
    photographs; the arguments, shapes and errors are those of :func:`conv2d`.

    >>> x = np.random.default_rng(0).normal(size=(2, 9, 8, 3))
    >>> k = np.random.default_rng(1).normal(size=(3, 3, 3, 4))
    >>> np.allclose(conv2d_fast(x, k, stride=2, padding="same"), conv2d(x, k, stride=2, padding="same"))
    True
    """
    xp, k, b, sh, sw, out_h, out_w = _prepare_conv(x, kernels, bias, stride, padding)
    kh, kw = k.shape[:2]
    win = _windows(xp, kh, kw, sh, sw, out_h, out_w)
    return np.einsum("bhwcij,ijco->bhwo", win, k, optimize=True) + b


# --------------------------------------------------------------------------- pooling

def _pool(x, pool_size, stride, padding, how):
    x = _batch(x)
    ph, pw = check_whole_or_pair(pool_size, "pool_size", 1)
    sh, sw = (ph, pw) if stride is None else check_whole_or_pair(stride, "stride", 1)
    kind = _padding_kind(padding)
    if not isinstance(kind, str):
        raise ValueError(f"padding of a pooling layer must be 'valid' or 'same', got {padding!r}")
    h, w = x.shape[1:3]
    (top, bottom), (left, right) = _pads(h, w, ph, pw, sh, sw, kind)
    if ph > h + top + bottom or pw > w + left + right:
        raise ValueError(
            f"pool_size {ph}x{pw} is larger than the (padded) image {h + top + bottom}x{w + left + right}"
        )
    out_h = (h + top + bottom - ph) // sh + 1
    out_w = (w + left + right - pw) // sw + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            # the window in the *unpadded* image: padded cells are simply left out,
            # which is what Keras does (max ignores them, the average divides by
            # the number of real cells)
            r0, c0 = i * sh - top, j * sw - left
            window = x[:, max(r0, 0): r0 + ph, max(c0, 0): c0 + pw, :]
            if how == "max":
                out[:, i, j, :] = window.max(axis=(1, 2))
            else:
                out[:, i, j, :] = window.mean(axis=(1, 2))
    return out


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Max pooling: the largest value of each ``pool_size`` window, per channel.

    Parameters
    ----------
    x : array (batch, height, width, channels)
    pool_size : int or (rows, cols), >= 1
    stride : int or (rows, cols), >= 1, or None for ``pool_size`` (windows side by side,
        as in Keras). A stride smaller than the pool gives overlapping windows.
    padding : ``"valid"`` or ``"same"``; with ``"same"`` the cells outside the image
        are ignored (never the maximum), as in ``keras.layers.MaxPooling2D``.

    Returns
    -------
    array (batch, out_height, out_width, channels); the output sizes follow
    :func:`conv_output_size` with the pool as kernel.

    >>> x = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]], float)
    >>> max_pool2d(x[None, :, :, None])[0, :, :, 0]
    array([[4., 2.],
           [2., 8.]])
    >>> max_pool2d(x[None, :, :, None], pool_size=3, stride=1)[0, :, :, 0]   # overlapping
    array([[5., 6.],
           [7., 8.]])
    """
    return _pool(x, pool_size, stride, padding, "max")


def avg_pool2d(x, pool_size=2, stride=None, padding="valid"):
    """Average pooling: the mean of each ``pool_size`` window, per channel.

    Arguments and shapes are those of :func:`max_pool2d`. With ``padding="same"``
    a window that hangs over the border is averaged over its cells inside the
    image only, as ``keras.layers.AveragePooling2D`` does.

    >>> x = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]], float)
    >>> avg_pool2d(x[None, :, :, None])[0, :, :, 0]
    array([[2.5 , 1.  ],
           [1.25, 6.5 ]])
    """
    return _pool(x, pool_size, stride, padding, "avg")


# --------------------------------------------------------------------------- counting

def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    """Number of trainable numbers in a conv layer: ``(kh * kw * in_channels + bias) * filters``.

    It does not depend on the image size: the same kernels slide over every position.

    >>> conv2d_params(3, 3, 64)          # VGG-16's first layer
    1792
    >>> conv2d_params((5, 5), 1, 6)      # LeNet-5's first layer
    156
    """
    kh, kw = check_whole_or_pair(kernel_size, "kernel_size", 1)
    c_in = check_whole(in_channels, "in_channels", 1)
    c_out = check_whole(filters, "filters", 1)
    use_bias = check_bool(use_bias, "use_bias")
    return (kh * kw * c_in + int(use_bias)) * c_out


def conv2d_macs(input_shape, kernel_size, filters, stride=1, padding="valid"):
    """Multiply-adds one image costs a conv layer: ``out_h * out_w * filters * kh * kw * in_channels``.

    Each output number is one window (``kh * kw * in_channels`` products, summed);
    the bias additions are not counted.

    Parameters
    ----------
    input_shape : (height, width, in_channels)
    kernel_size, stride : int or (rows, cols)
    filters : int
    padding : ``"valid"``, ``"same"`` or int

    >>> conv2d_macs((32, 32, 64), 3, 128, padding="same")    # 32*32*128 * 3*3*64
    75497472
    >>> conv2d_macs((16, 16, 64), 3, 128, padding="same")    # after 2x2 pooling: 4x fewer
    18874368
    """
    shape_rule = f"input_shape must be (height, width, in_channels), got {input_shape!r}"
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(shape_rule)
    if len(input_shape) != 3:
        raise ValueError(shape_rule)
    h = check_whole(input_shape[0], "input_shape height", 1)
    w = check_whole(input_shape[1], "input_shape width", 1)
    c_in = check_whole(input_shape[2], "input_shape channels", 1)
    kh, kw = check_whole_or_pair(kernel_size, "kernel_size", 1)
    sh, sw = check_whole_or_pair(stride, "stride", 1)
    kind = _padding_kind(padding)
    ph, pw = kind if isinstance(kind, tuple) else (kind, kind)
    out_h = conv_output_size(h, kh, sh, ph)
    out_w = conv_output_size(w, kw, sw, pw)
    return out_h * out_w * check_whole(filters, "filters", 1) * kh * kw * c_in


def _leaf_layers(model):
    """The layers of ``model`` with nested models (e.g. an augmentation block) opened up."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):  # Sequential and functional sub-models alike
            yield from _leaf_layers(layer)
        else:
            yield layer


def params_by_layer(model):
    """``OrderedDict`` layer name -> number of parameters (trainable and not), layers in order.

    Nested models are opened up. Only layers that hold parameters are listed.

    >>> from cnncourse.models import vgg16
    >>> counts = params_by_layer(vgg16())          # doctest: +SKIP
    >>> counts["fc1"]                               # doctest: +SKIP
    102764544
    """
    check_model(model, built=True)
    out = OrderedDict()
    for layer in _leaf_layers(model):
        n = int(sum(int(np.prod(w.shape)) for w in layer.weights))
        if n:
            out[layer.name] = n
    return out


def _shape(tensor_shape):
    return tuple(tensor_shape)


def macs_by_layer(model):
    """``OrderedDict`` layer name -> multiply-adds for ONE image, for the layers that do them.

    Counted, as the literature counts them:

    * ``Conv2D`` (and the course's ``PatchWhitening``): ``H_out * W_out * k_h * k_w * (C_in / groups) * C_out``
    * ``DepthwiseConv2D``: ``H_out * W_out * k_h * k_w * C_in * depth_multiplier``
    * ``Dense``: ``in * out`` (times the positions, if it is applied to a feature map)

    Biases, activations, pooling, normalization and augmentation are left out:
    they cost a few operations per value, not per weight, and change the totals by
    well under 1 %.

    Examples
    --------
    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(2, name="d")])
    >>> dict(macs_by_layer(m))       # c: 6*6*3*3*3*4, d: 144*2
    {'c': 3888, 'd': 288}
    """
    import keras

    from cnncourse.layers import PatchWhitening

    check_model(model, built=True)
    out = OrderedDict()
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, _ = _shape(layer.output.shape)
            kh, kw = layer.kernel_size
            c_in = _shape(layer.input.shape)[-1]
            out[layer.name] = int(h * w * kh * kw * c_in * layer.depth_multiplier)
        elif isinstance(layer, keras.layers.Conv2D):
            if layer.data_format != "channels_last":
                raise ValueError(f"layer {layer.name!r}: only channels_last convolutions are counted")
            _, h, w, c_out = _shape(layer.output.shape)
            kh, kw = layer.kernel_size
            c_in = _shape(layer.input.shape)[-1]
            out[layer.name] = int(h * w * kh * kw * (c_in // layer.groups) * c_out)
        elif isinstance(layer, PatchWhitening):
            _, h, w, c_out = _shape(layer.output.shape)
            c_in = _shape(layer.input.shape)[-1]
            out[layer.name] = int(h * w * layer.patch * layer.patch * c_in * c_out)
        elif isinstance(layer, keras.layers.Dense):
            in_shape = _shape(layer.input.shape)
            positions = int(np.prod(in_shape[1:-1])) if len(in_shape) > 2 else 1
            out[layer.name] = int(positions * in_shape[-1] * layer.units)
    return out


def count_macs(model):
    """Multiply-adds ``model`` does for one image (see :func:`macs_by_layer`), an int.

    >>> import keras
    >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> count_macs(m)
    12
    """
    return int(sum(macs_by_layer(model).values()))
