"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012): the full ImageNet model and a CIFAR-10 variant.

The full model, one tower, input 227x227x3 (:func:`alexnet`)::

    name     layer                                   output       parameters
    conv1    96 filters 11x11, stride 4, valid, ReLU  55x55x96     11*11*3*96   + 96   =     34,944
    (lrn1)   local response normalization (option)
    pool1    max 3x3, stride 2 (overlapping)          27x27x96
    conv2    256 filters 5x5, same, ReLU              27x27x256    5*5*96*256   + 256  =    614,656
    (lrn2)   local response normalization (option)
    pool2    max 3x3, stride 2                        13x13x256
    conv3    384 filters 3x3, same, ReLU              13x13x384    3*3*256*384  + 384  =    885,120
    conv4    384 filters 3x3, same, ReLU              13x13x384    3*3*384*384  + 384  =  1,327,488
    conv5    256 filters 3x3, same, ReLU              13x13x256    3*3*384*256  + 256  =    884,992
    pool5    max 3x3, stride 2                        6x6x256
    flatten                                           9216
    fc6      dense 4096, ReLU, dropout 0.5            4096         9216*4096    + 4096 = 37,752,832
    fc7      dense 4096, ReLU, dropout 0.5            4096         4096*4096    + 4096 = 16,781,312
    fc8      dense 1000, softmax                      1000         4096*1000    + 1000 =  4,097,000
                                                                                 total   62,378,344

Why the paper says "60 million": it trained on two GPUs of 3 GB, each holding half
of every layer's filters, and in conv2, conv4 and conv5 a filter sees only the
channels on its own GPU (half of them). ``groups=2`` builds that: those three
layers then hold 307,456, 663,936 and 442,624 parameters, 1,413,120 fewer, and
the total is 60,965,224. The paper also writes 224x224 inputs, but 11x11 filters
with stride 4 only tile 227 pixels exactly ((227 - 11) / 4 + 1 = 55, the 55x55 it
reports); 224 gives 54x54 and a 5x5x256 pool5 (:func:`alexnet` accepts both).

:func:`alexnet_cifar` keeps the design at 32x32: a big first filter (5x5) with a
stride, overlapping 3x3/2 max pooling after conv1, conv2 and conv5, five
convolutions of 96-256-384-384-256 filters, two wide dense layers with dropout.

Example
-------
>>> from cnncourse.models import alexnet
>>> alexnet().count_params()
62378344
>>> alexnet(groups=2).count_params()
60965224
"""
from __future__ import annotations

from cnncourse.checks import check_bool, check_image_shape, check_number, check_whole, is_whole
from cnncourse.ops import conv_output_size

#: Filters of the five convolutions, as in the paper.
FILTERS = (96, 256, 384, 384, 256)

#: Parameters of the one-tower model at 227x227x3, 1000 classes, layer by layer.
PARAMS = {
    "conv1": 34_944, "conv2": 614_656, "conv3": 885_120, "conv4": 1_327_488, "conv5": 884_992,
    "fc6": 37_752_832, "fc7": 16_781_312, "fc8": 4_097_000,
}
#: Total parameters: one tower (``groups=1``) and the paper's two-GPU layout (``groups=2``).
TOTAL_PARAMS = {1: 62_378_344, 2: 60_965_224}

#: The layers that are split between the two GPUs in the paper (``groups=2``).
GROUPED_LAYERS = ("conv2", "conv4", "conv5")

#: The paper's local response normalization constants (section 3.3).
LRN_PAPER = dict(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)


def _full_min_side():
    """Smallest input side for which conv1 and the three 3x3/2 poolings leave one pixel."""
    side = 11
    while True:
        try:
            n = conv_output_size(side, 11, 4)
            for _ in range(3):
                n = conv_output_size(n, 3, 2)       # raises when the window no longer fits
            return side
        except ValueError:
            side += 1


def _cifar_min_side():
    """Smallest side for which the map entering pool5 still has 2 pixels to pool ("same" padding)."""
    side = 1
    while conv_output_size(conv_output_size(conv_output_size(side, 5, 2, "same"), 3, 2, "same"),
                           3, 2, "same") < 2:
        side += 1
    return side


FULL_MIN_SIDE = _full_min_side()     # 67
CIFAR_MIN_SIDE = _cifar_min_side()   # 9: 9 -> 5 (conv1) -> 3 (pool1) -> 2 (pool2) -> 1 (pool5)


def alexnet(input_shape=(227, 227, 3), num_classes=1000, lrn=False, groups=1, dropout=0.5):
    """Build the full-size AlexNet as an uncompiled ``keras.Model`` (see the module's table).

    Parameters
    ----------
    input_shape : (height, width, channels)
        ``(227, 227, 3)`` tiles exactly; ``(224, 224, 3)``, the paper's figure, works too.
        Height and width at least 67 so that pool5 keeps a pixel.
    num_classes : int >= 2
        Units of the softmax output ``fc8`` (1000 ImageNet classes).
    lrn : bool
        Local response normalization after the ReLU of conv1 and conv2 (the paper's
        constants, :data:`LRN_PAPER`); no parameters, so counts do not change.
    groups : 1 or 2
        1: one tower (62,378,344 parameters). 2: the paper's two-GPU layout where
        conv2, conv4 and conv5 see only half the channels (60,965,224).
    dropout : float in [0, 1)
        Dropout rate after fc6 and fc7 (0.5 in the paper).

    Returns
    -------
    keras.Model named ``alexnet``; input ``(batch, h, w, c)``, output ``(batch, num_classes)``
    probabilities. Layers are named conv1..conv5, pool1, pool2, pool5, flatten, fc6..fc8.

    Raises
    ------
    TypeError, ValueError
        When an argument has the wrong type or value; the message names it and what is allowed.

    Examples
    --------
    >>> model = alexnet()
    >>> model.get_layer("pool5").output.shape
    (None, 6, 6, 256)
    >>> alexnet(input_shape=(224, 224, 3)).get_layer("conv1").output.shape
    (None, 54, 54, 96)
    """
    import keras
    from keras import layers

    from cnncourse.layers import LocalResponseNormalization, head_dtype

    input_shape = check_image_shape(
        input_shape, FULL_MIN_SIDE, "so that conv1 (11x11, stride 4) and three 3x3/2 poolings keep a pixel")
    num_classes = check_whole(num_classes, "num_classes", 2)
    lrn = check_bool(lrn, "lrn")
    groups_rule = f"groups must be 1 (one tower) or 2 (the paper's two GPUs), got {groups!r}"
    if not is_whole(groups):
        raise TypeError(groups_rule)
    if groups not in (1, 2):
        raise ValueError(groups_rule)
    dropout = check_number(dropout, "dropout", 0, 1, high_open=True)

    def conv(x, filters, size, name, strides=1, padding="same"):
        g = groups if name in GROUPED_LAYERS else 1
        return layers.Conv2D(filters, size, strides=strides, padding=padding, groups=g,
                             activation="relu", name=name)(x)

    inputs = keras.Input(shape=input_shape, name="image")
    x = conv(inputs, FILTERS[0], 11, "conv1", strides=4, padding="valid")
    if lrn:
        x = LocalResponseNormalization(**LRN_PAPER, name="lrn1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = conv(x, FILTERS[1], 5, "conv2")
    if lrn:
        x = LocalResponseNormalization(**LRN_PAPER, name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = conv(x, FILTERS[2], 3, "conv3")
    x = conv(x, FILTERS[3], 3, "conv4")
    x = conv(x, FILTERS[4], 3, "conv5")
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc6")(x)
    x = layers.Dropout(dropout, name="drop6")(x)
    x = layers.Dense(4096, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="drop7")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="fc8", dtype=head_dtype())(x)
    return keras.Model(inputs, outputs, name="alexnet")


def alexnet_cifar(input_shape=(32, 32, 3), num_classes=10, lrn=False, batch_norm=False,
                  dropout=0.5, augment=True, dense_units=1024):
    """Build AlexNet scaled to 32x32 images (CIFAR-10), uncompiled.

    Layer by layer at 32x32x3 (the same names as :func:`alexnet`)::

        standardize  4x - 2: pixels in [0, 1] become roughly zero-mean, unit-spread
        augment  random flip + shift of up to 4 pixels (training only; option)
        conv1    96 filters 5x5, stride 2, same, ReLU   16x16x96   (big first filter with a stride)
        pool1    max 3x3, stride 2, same                 8x8x96     (overlapping)
        conv2    256 filters 5x5, same, ReLU             8x8x256
        pool2    max 3x3, stride 2, same                 4x4x256
        conv3    384 filters 3x3                         4x4x384
        conv4    384 filters 3x3                         4x4x384
        conv5    256 filters 3x3                         4x4x256
        pool5    max 3x3, stride 2, same                 2x2x256
        fc6, fc7 dense ``dense_units`` (1024), ReLU, dropout
        fc8      dense ``num_classes``, softmax

    Parameters
    ----------
    input_shape : (height, width, channels), height and width >= 9
    num_classes : int >= 2
    lrn : bool
        Local response normalization after conv1 and conv2 (the paper's constants).
    batch_norm : bool
        Batch normalization after every convolution (a 2015 idea, not AlexNet's; off by default).
    dropout : float in [0, 1)
        Dropout after fc6 and fc7.
    augment : bool
        Start with :func:`~cnncourse.layers.augmentation` (random flips and 4-pixel shifts).
    dense_units : int >= 1
        Width of fc6 and fc7 (the paper's 4096, scaled down).

    Returns
    -------
    keras.Model named ``alexnet_cifar``; input ``(batch, h, w, c)`` in [0, 1],
    output ``(batch, num_classes)`` probabilities.

    Examples
    --------
    >>> model = alexnet_cifar()
    >>> model.get_layer("pool5").output.shape
    (None, 2, 2, 256)
    >>> model.count_params()
    5829002
    """
    import keras
    from keras import layers

    from cnncourse.layers import LocalResponseNormalization, augmentation, head_dtype

    input_shape = check_image_shape(
        input_shape, CIFAR_MIN_SIDE, "so that conv1 (stride 2) and pool1, pool2 leave pool5 2 pixels to pool")
    num_classes = check_whole(num_classes, "num_classes", 2)
    lrn = check_bool(lrn, "lrn")
    batch_norm = check_bool(batch_norm, "batch_norm")
    augment = check_bool(augment, "augment")
    dropout = check_number(dropout, "dropout", 0, 1, high_open=True)
    dense_units = check_whole(dense_units, "dense_units", 1)

    def conv(x, filters, size, name, strides=1):
        x = layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=not batch_norm,
                          activation=None if batch_norm else "relu", name=name)(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
        return x

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(4.0, offset=-2.0, name="standardize")(inputs)
    if augment:
        x = augmentation(image_size=min(input_shape[:2]))(x)
    x = conv(x, FILTERS[0], 5, "conv1", strides=2)
    if lrn:
        x = LocalResponseNormalization(**LRN_PAPER, name="lrn1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = conv(x, FILTERS[1], 5, "conv2")
    if lrn:
        x = LocalResponseNormalization(**LRN_PAPER, name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    x = conv(x, FILTERS[2], 3, "conv3")
    x = conv(x, FILTERS[3], 3, "conv4")
    x = conv(x, FILTERS[4], 3, "conv5")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="fc6")(x)
    x = layers.Dropout(dropout, name="drop6")(x)
    x = layers.Dense(dense_units, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="drop7")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="fc8", dtype=head_dtype())(x)
    return keras.Model(inputs, outputs, name="alexnet_cifar")
