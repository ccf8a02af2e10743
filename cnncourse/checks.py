"""The package's one home for argument checks, in scikit-learn's manner (``check_scalar``).

A value of the wrong *type* raises ``TypeError``; a value of the right type but outside what
is allowed raises ``ValueError``. Either way the message names the argument, says what is
allowed and shows what was given, in one form: ``"<name> must be <what is allowed>, got <value>"``.
NumPy scalars count as the Python numbers they hold (``np.int64(3)`` is a whole number);
``True`` and ``False`` are never numbers.

Examples
--------
>>> check_number(0.5, "momentum", 0, 1)
0.5
>>> check_whole(0, "epochs", 1)
Traceback (most recent call last):
...
ValueError: epochs must be a whole number >= 1, got 0
>>> check_whole(2.0, "epochs", 1)
Traceback (most recent call last):
...
TypeError: epochs must be a whole number >= 1, got 2.0
>>> check_number(1.0, "dropout", 0, 1, high_open=True)
Traceback (most recent call last):
...
ValueError: dropout must be a number in [0, 1), got 1.0
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_whole", "check_number", "check_bool", "check_whole_or_pair", "check_image_shape",
           "check_batch", "check_images_and_labels", "check_model", "check_boxes", "is_whole"]


def is_whole(value):
    """True for a whole number (``int`` or a NumPy integer), False for anything else (``bool`` too)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _fmt(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def _rule(kind, low=None, high=None, low_open=False, high_open=False):
    """What is allowed, in words: ``"a whole number >= 1"``, ``"a number in [0, 1)"``..."""
    if low is not None and high is not None:
        return f"{kind} in {'(' if low_open else '['}{_fmt(low)}, {_fmt(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {_fmt(low)}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {_fmt(high)}"
    return kind


def check_whole(value, name, minimum=None, maximum=None):
    """``value`` as an ``int`` when it is a whole number in ``[minimum, maximum]`` (either bound optional).

    Raises ``TypeError`` when ``value`` is not a whole number (``bool`` and ``2.0`` are not),
    ``ValueError`` when it is outside the bounds.

    >>> import numpy as np
    >>> check_whole(np.int64(512), "dense_units", 1)
    512
    """
    rule = _rule("a whole number", minimum, maximum)
    if not is_whole(value):
        raise TypeError(f"{name} must be {rule}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return int(value)


def check_number(value, name, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a ``float`` when it is a finite real number between ``low`` and ``high``.

    Each bound is optional; it is included unless ``low_open`` / ``high_open``. Raises
    ``TypeError`` when ``value`` is not a real number (``bool`` is not), ``ValueError`` when it is
    NaN, infinite or out of bounds.

    >>> check_number(3, "scale", 0, low_open=True)
    3.0
    """
    rule = _rule("a number", low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {rule}, got {value!r}")
    number = float(value)
    ok = math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return number


def check_bool(value, name):
    """``value`` as a ``bool`` when it is ``True`` or ``False`` (NumPy's too), else ``TypeError``.

    >>> check_bool(1, "flip")
    Traceback (most recent call last):
    ...
    TypeError: flip must be True or False, got 1
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_whole_or_pair(value, name, minimum):
    """``(rows, cols)`` from one whole number (the same along both axes) or a pair of them.

    Kernel sizes, strides and paddings are written either way in Keras.

    >>> check_whole_or_pair(3, "kernel_size", 1), check_whole_or_pair((5, 3), "kernel_size", 1)
    ((3, 3), (5, 3))
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be one whole number or a pair (rows, cols), got {value!r}")
        return check_whole(value[0], name, minimum), check_whole(value[1], name, minimum)
    v = check_whole(value, name, minimum)
    return v, v


def check_image_shape(input_shape, min_side, why):
    """``(h, w, c)`` as ints: a sequence of three whole numbers, height and width ``>= min_side``.

    ``TypeError`` when ``input_shape`` is not a sequence of whole numbers, ``ValueError`` when it
    does not have three of them or a side is too small. ``why`` finishes the sentence "height
    and width must be at least ``min_side``" (e.g. "so that five 2x2 poolings keep a pixel").

    >>> check_image_shape((32, 32, 3), 16, "so that two poolings keep a pixel")
    (32, 32, 3)
    """
    message = (f"input_shape must be (height, width, channels) with whole numbers, "
               f"height and width >= {min_side} ({why}) and channels >= 1, got {input_shape!r}")
    if isinstance(input_shape, (str, bytes)):
        raise TypeError(message)
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise TypeError(message) from None
    if not all(is_whole(s) for s in shape):
        raise TypeError(message)
    if len(shape) != 3:
        raise ValueError(message)
    h, w, c = (int(s) for s in shape)
    if h < min_side or w < min_side or c < 1:
        raise ValueError(message)
    return h, w, c


def check_batch(x, name="x"):
    """``x`` as an array when it is a batch of images ``(batch, height, width, channels)``, else
    ``ValueError`` saying how to add the missing axes.

    >>> check_batch(np.zeros((2, 8, 8, 1))).shape
    (2, 8, 8, 1)
    >>> check_batch(np.zeros((8, 8)), "images")
    Traceback (most recent call last):
    ...
    ValueError: images must be a batch of images of shape (batch, height, width, channels), got shape (8, 8); add axes with images[None] or images[..., None]
    """
    arr = np.asarray(x)
    if arr.ndim != 4:
        raise ValueError(f"{name} must be a batch of images of shape (batch, height, width, channels), "
                         f"got shape {arr.shape}; add axes with {name}[None] or {name}[..., None]")
    return arr


def check_images_and_labels(x, y, channels=None):
    """``(x, y)`` as arrays: images ``(n, height, width, channels)`` and one integer label each.

    Labels of shape ``(n, 1)`` (as ``keras.datasets`` gives them) are flattened to ``(n,)``.
    ``channels``, when given, is the number of channels the images must have.

    >>> import numpy as np
    >>> x, y = check_images_and_labels(np.zeros((2, 8, 8, 3)), np.array([[1], [0]]), channels=3)
    >>> y.tolist()
    [1, 0]
    """
    x = np.asarray(x)
    if x.ndim != 4 or (channels is not None and x.shape[-1] != channels):
        wanted = "channels" if channels is None else str(channels)
        raise ValueError(f"x must have shape (n, height, width, {wanted}), got shape {x.shape}")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must hold one integer label per image ({len(x)}), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    return x, y


def check_model(model, built=False):
    """``model`` when it is a ``keras.Model`` (``TypeError`` otherwise); with ``built=True`` it
    must also be built (``ValueError`` otherwise), as counting its weights needs.

    >>> check_model("alexnet")
    Traceback (most recent call last):
    ...
    TypeError: model must be a keras.Model, got str
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a {'built ' if built else ''}keras.Model, got {type(model).__name__}")
    if built and not model.built:
        raise ValueError("model must be built (give it an Input or call it once) before counting")
    return model


def check_boxes(boxes, name):
    """``boxes`` as a float array ``(..., 4)`` of ``(y_min, x_min, y_max, x_max)`` with each max >= its min.

    >>> check_boxes((0, 0, 2, 3), "box").tolist()
    [0.0, 0.0, 2.0, 3.0]
    """
    try:
        b = np.asarray(boxes, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be boxes (y_min, x_min, y_max, x_max), got {type(boxes).__name__}") from None
    if b.shape[-1:] != (4,):
        raise ValueError(f"{name} must have shape (..., 4): (y_min, x_min, y_max, x_max), got {b.shape}")
    if np.any(b[..., 2] < b[..., 0]) or np.any(b[..., 3] < b[..., 1]):
        raise ValueError(f"{name} has a box with y_max < y_min or x_max < x_min")
    return b
