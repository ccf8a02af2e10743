"""VGG-16 (Simonyan & Zisserman, 2014): the full ImageNet model and a CIFAR-10 variant.

VGG's one idea: only 3x3 convolutions (stride 1, "same" padding), stacked two or
three deep, then a 2x2 max pooling that halves the map, while the number of
filters doubles from block to block (64, 128, 256, 512, 512). Two stacked 3x3
convolutions see a 5x5 window, three see 7x7, with fewer parameters than one
big filter and a ReLU between them.

The full model (configuration "D"), input 224x224x3 (:func:`vgg16`)::

    block   convolutions (3x3, same, ReLU)   output after pooling   parameters
    1       2 x 64                           112x112x64                 38,720
    2       2 x 128                          56x56x128                 221,440
    3       3 x 256                          28x28x256               1,475,328
    4       3 x 512                          14x14x512               5,899,776
    5       3 x 512                          7x7x512                 7,079,424
    fc1     dense 4096, ReLU (dropout)       4096                  102,764,544   <- 74 % of all
    fc2     dense 4096, ReLU (dropout)       4096                   16,781,312
    predictions  dense 1000, softmax         1000                    4,097,000
                                                           total   138,357,544

Layer names are those of ``keras.applications.VGG16`` (``block1_conv1`` ...
``fc1``, ``fc2``, ``predictions``), so weights can be copied across; the test
suite checks the two layer by layer.

:func:`vgg_cifar` keeps the 13 convolutions in five blocks for 32x32 images
(five 2x2 poolings take 32 to 1), adds batch normalization after each
convolution, and ends with a small dense head with dropout.

Example
-------
>>> from cnncourse.models import vgg16
>>> vgg16().count_params()
138357544
"""
from __future__ import annotations

import numbers

from cnncourse.models.common import (augmentation, check_dropout, check_image_shape,
                                     check_num_classes)

#: Filters of each block and convolutions per block of VGG-16 (configuration D).
WIDTHS = (64, 128, 256, 512, 512)
CONVS = (2, 2, 3, 3, 3)
#: Total parameters of the full model at 224x224x3, 1000 classes (paper, Table 2: 138 million).
TOTAL_PARAMS = 138_357_544


def _check_bool(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _check_blocks(widths, convs):
    def ints(seq, name):
        try:
            values = tuple(seq)
        except TypeError:
            raise ValueError(f"{name} must be a sequence of whole numbers >= 1, got {seq!r}") from None
        if not values or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                                 for v in values):
            raise ValueError(f"{name} must be a non-empty sequence of whole numbers >= 1, got {seq!r}")
        return tuple(int(v) for v in values)

    widths, convs = ints(widths, "widths"), ints(convs, "convs")
    if len(widths) != len(convs):
        raise ValueError(f"widths and convs must have one entry per block: got {len(widths)} widths "
                         f"and {len(convs)} convs")
    return widths, convs


def _output_dtype():
    import keras

    return "float32" if keras.config.dtype_policy().name.startswith("mixed") else None


def _blocks(x, widths, convs, batch_norm, conv_dropout):
    from keras import layers

    for b, (width, n) in enumerate(zip(widths, convs), start=1):
        for i in range(1, n + 1):
            name = f"block{b}_conv{i}"
            if batch_norm:
                x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=name)(x)
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
                x = layers.ReLU(name=f"{name}_relu")(x)
            else:
                x = layers.Conv2D(width, 3, padding="same", activation="relu", name=name)(x)
            if conv_dropout and i < n:
                x = layers.Dropout(conv_dropout, name=f"{name}_drop")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    return x


def vgg16(input_shape=(224, 224, 3), num_classes=1000, dropout=0.5):
    """Build the full-size VGG-16 (configuration D) as an uncompiled ``keras.Model``.

    Parameters
    ----------
    input_shape : (height, width, channels)
        Height and width at least 32: five 2x2 poolings halve them five times.
    num_classes : int >= 2
        Units of the softmax output (1000 ImageNet classes).
    dropout : float in [0, 1)
        Dropout after fc1 and fc2 (0.5 in the paper). With 0 there are no
        dropout layers and the layer list is exactly ``keras.applications.VGG16``'s.

    Returns
    -------
    keras.Model named ``vgg16``; input ``(batch, h, w, c)``, output ``(batch, num_classes)``.

    Examples
    --------
    >>> model = vgg16()
    >>> model.get_layer("block5_pool").output.shape
    (None, 7, 7, 512)
    >>> model.get_layer("fc1").count_params()
    102764544
    """
    import keras
    from keras import layers

    input_shape = check_image_shape(input_shape, 2 ** len(CONVS),
                                    f"so that {len(CONVS)} 2x2 poolings keep a pixel")
    num_classes = check_num_classes(num_classes)
    dropout = check_dropout(dropout)

    inputs = keras.Input(shape=input_shape, name="input_layer")
    x = _blocks(inputs, WIDTHS, CONVS, batch_norm=False, conv_dropout=0.0)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc1")(x)
    if dropout:
        x = layers.Dropout(dropout, name="fc1_drop")(x)
    x = layers.Dense(4096, activation="relu", name="fc2")(x)
    if dropout:
        x = layers.Dropout(dropout, name="fc2_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions",
                           dtype=_output_dtype())(x)
    return keras.Model(inputs, outputs, name="vgg16")


def vgg_cifar(input_shape=(32, 32, 3), num_classes=10, widths=WIDTHS, convs=CONVS,
              batch_norm=True, dropout=0.3, conv_dropout=0.0, dense_units=512, augment=True):
    """Build VGG-16 scaled to 32x32 images (CIFAR-10), uncompiled.

    At the defaults: ``standardize`` (``4x - 2``, so [0, 1] pixels become roughly zero-mean),
    random flips and 4-pixel shifts, then the 13 convolutions of VGG-16 in five blocks
    (64, 128, 256, 512, 512 filters; 32 -> 16 -> 8 -> 4 -> 2 -> 1 after the poolings),
    each followed by batch normalization and ReLU, then ``fc1`` and ``fc2`` of 512 units
    with dropout and a softmax: 16 weight layers, 15.0 million parameters, 0.31 billion
    multiply-adds per image.

    Parameters
    ----------
    input_shape : (height, width, channels)
        Height and width at least ``2 ** len(widths)`` (32 for five blocks).
    num_classes : int >= 2
    widths, convs : sequences of ints of the same length
        Filters of each block and the number of 3x3 convolutions in it.
    batch_norm : bool
        Batch normalization after every convolution (then the convolution has no bias).
    dropout : float in [0, 1)
        Dropout after fc1 and fc2.
    conv_dropout : float in [0, 1)
        Dropout between the convolutions of a block (not after its last one); 0 for none.
    dense_units : int >= 1
        Width of fc1 and fc2 (the paper's 4096, scaled down).
    augment : bool
        Random flips and shifts (:func:`~cnncourse.models.common.augmentation`), training only.

    Returns
    -------
    keras.Model named ``vgg_cifar``; input ``(batch, h, w, c)`` with values in [0, 1],
    output ``(batch, num_classes)`` probabilities.

    Examples
    --------
    >>> model = vgg_cifar()
    >>> model.get_layer("block5_pool").output.shape
    (None, 1, 1, 512)
    >>> vgg_cifar(widths=(16, 32), convs=(1, 1), input_shape=(8, 8, 3)).get_layer("block2_pool").output.shape
    (None, 2, 2, 32)
    """
    import keras
    from keras import layers

    widths, convs = _check_blocks(widths, convs)
    input_shape = check_image_shape(input_shape, 2 ** len(widths),
                                    f"so that {len(widths)} 2x2 poolings keep a pixel")
    num_classes = check_num_classes(num_classes)
    batch_norm = _check_bool(batch_norm, "batch_norm")
    augment = _check_bool(augment, "augment")
    dropout = check_dropout(dropout)
    conv_dropout = check_dropout(conv_dropout, "conv_dropout")
    if isinstance(dense_units, bool) or not isinstance(dense_units, numbers.Integral) or dense_units < 1:
        raise ValueError(f"dense_units must be a whole number >= 1, got {dense_units!r}")

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(4.0, offset=-2.0, name="standardize")(inputs)
    if augment:
        x = augmentation(image_size=min(input_shape[:2]))(x)
    x = _blocks(x, widths, convs, batch_norm, conv_dropout)
    x = layers.Flatten(name="flatten")(x)
    for k in (1, 2):
        x = layers.Dense(int(dense_units), activation="relu", name=f"fc{k}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"fc{k}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions",
                           dtype=_output_dtype())(x)
    return keras.Model(inputs, outputs, name="vgg_cifar")
