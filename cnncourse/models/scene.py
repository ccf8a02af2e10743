"""A small U-Net-style network that says what digit a canvas holds, where, and which pixels.

:func:`scene_net` builds it (notebook 09) for the canvases of :mod:`cnncourse.applications`;
:func:`mask_network` rewires its segmentation path, with the same weights, for canvases of
any size.
"""
from __future__ import annotations

from cnncourse.checks import check_whole, is_whole

__all__ = ["scene_net", "mask_network"]


def scene_net(canvas_size=48, width=8, num_classes=10):
    """A small U-Net-style fully convolutional network with three heads: what, where, which pixels.

    Encoder: three blocks "3x3 conv + ReLU, 2x2 max pooling" (``width``, ``2 width``, ``4 width``
    filters) and a bottleneck conv (``8 width``) at 1/8 of the input size. Decoder: three
    blocks "2x2 transposed conv (stride 2), concatenate the encoder map of the same size
    (skip connection), 3x3 conv + ReLU". Heads:

    * ``"mask"`` (segmentation): 1x1 conv to ``num_classes + 1`` per-pixel probabilities
      (class 0 background) — shape ``(batch, S, S, num_classes + 1)``;
    * ``"digit"`` (classification): global max pooling of the bottleneck, Dense softmax;
    * ``"box"`` (localization): flatten the bottleneck, Dense 64, Dense 4 sigmoid:
      ``(y_min, x_min, y_max, x_max)`` as fractions of the canvas side.

    Returns an uncompiled ``keras.Model`` with a dict of outputs. The canvas side must be a
    multiple of 8. See :func:`mask_network` for the same weights on any canvas size.

    >>> scene_net().count_params()
    207969
    """
    import keras
    from keras import layers

    canvas_rule = f"canvas_size must be a whole multiple of 8 (three poolings), got {canvas_size!r}"
    if not is_whole(canvas_size):
        raise TypeError(canvas_rule)
    if canvas_size < 8 or canvas_size % 8:
        raise ValueError(canvas_rule)
    width = check_whole(width, "width", 1)
    num_classes = check_whole(num_classes, "num_classes", 1)
    inp = keras.Input((canvas_size, canvas_size, 1), name="canvas")
    c4, mask = _fcn_body(inp, _scene_layers(width, num_classes))
    b = layers.Flatten(name="box_flatten")(c4)
    b = layers.Dense(64, activation="relu", name="box_fc")(b)
    box = layers.Dense(4, activation="sigmoid", name="box")(b)
    digit = layers.GlobalMaxPooling2D(name="digit_pool")(c4)
    digit = layers.Dense(num_classes, activation="softmax", name="digit")(digit)
    return keras.Model(inp, {"mask": mask, "box": box, "digit": digit}, name="scene_net")


_BODY = ("enc1", "pool1", "enc2", "pool2", "enc3", "pool3", "enc4", "up3", "skip3", "dec3",
         "up2", "skip2", "dec2", "up1", "skip1", "dec1", "mask")


def _scene_layers(width, num_classes):
    from keras import layers

    conv = lambda f, name: layers.Conv2D(f, 3, padding="same", activation="relu", name=name)
    return {
        "enc1": conv(width, "enc1"), "pool1": layers.MaxPooling2D(name="pool1"),
        "enc2": conv(2 * width, "enc2"), "pool2": layers.MaxPooling2D(name="pool2"),
        "enc3": conv(4 * width, "enc3"), "pool3": layers.MaxPooling2D(name="pool3"),
        "enc4": conv(8 * width, "enc4"),
        "up3": layers.Conv2DTranspose(4 * width, 2, strides=2, name="up3"),
        "skip3": layers.Concatenate(name="skip3"), "dec3": conv(4 * width, "dec3"),
        "up2": layers.Conv2DTranspose(2 * width, 2, strides=2, name="up2"),
        "skip2": layers.Concatenate(name="skip2"), "dec2": conv(2 * width, "dec2"),
        "up1": layers.Conv2DTranspose(width, 2, strides=2, name="up1"),
        "skip1": layers.Concatenate(name="skip1"), "dec1": conv(width, "dec1"),
        "mask": layers.Conv2D(num_classes + 1, 1, activation="softmax", name="mask"),
    }


def _fcn_body(inp, L):
    c1 = L["enc1"](inp)
    c2 = L["enc2"](L["pool1"](c1))
    c3 = L["enc3"](L["pool2"](c2))
    c4 = L["enc4"](L["pool3"](c3))
    d3 = L["dec3"](L["skip3"]([L["up3"](c4), c3]))
    d2 = L["dec2"](L["skip2"]([L["up2"](d3), c2]))
    d1 = L["dec1"](L["skip1"]([L["up1"](d2), c1]))
    return c4, L["mask"](d1)


def mask_network(model):
    """The segmentation path of a :func:`scene_net` model, for canvases of any size (multiple of 8).

    The returned model *shares* the layers (and so the trained weights) of ``model``: it is
    the same network, wired to an input of unknown height and width. It works because no
    layer on the path from the canvas to the mask depends on the image size — the
    definition of a fully convolutional network.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError("model must be a network made by scene_net()")
    if any(name not in [l.name for l in model.layers] for name in _BODY):
        raise ValueError("model must be a network made by scene_net()")
    inp = keras.Input((None, None, 1), name="any_canvas")
    _, mask = _fcn_body(inp, {name: model.get_layer(name) for name in _BODY})
    return keras.Model(inp, mask, name="mask_network")
