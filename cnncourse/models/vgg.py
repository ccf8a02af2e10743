"""VGG-16 (Simonyan & Zisserman, 2014): the full ImageNet model and two CIFAR-10 variants (vgg_cifar, vgg7_cifar).

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

import numpy as np

from cnncourse.checks import check_bool, check_image_shape, check_number, check_whole, is_whole

#: Filters of each block and convolutions per block of VGG-16 (configuration D).
WIDTHS = (64, 128, 256, 512, 512)
CONVS = (2, 2, 3, 3, 3)
#: Total parameters of the full model at 224x224x3, 1000 classes (paper, Table 2: 138 million).
TOTAL_PARAMS = 138_357_544


def _check_blocks(widths, convs):
    def ints(seq, name):
        try:
            values = tuple(seq)
        except TypeError:
            raise TypeError(f"{name} must be a sequence of whole numbers >= 1, got {seq!r}") from None
        rule = f"{name} must be a non-empty sequence of whole numbers >= 1, got {seq!r}"
        if not all(is_whole(v) for v in values):
            raise TypeError(rule)
        if not values or not all(v >= 1 for v in values):
            raise ValueError(rule)
        return tuple(int(v) for v in values)

    widths, convs = ints(widths, "widths"), ints(convs, "convs")
    if len(widths) != len(convs):
        raise ValueError(f"widths and convs must have one entry per block: got {len(widths)} widths "
                         f"and {len(convs)} convs")
    return widths, convs


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

    from cnncourse.layers import head_dtype

    input_shape = check_image_shape(input_shape, 2 ** len(CONVS),
                                    f"so that {len(CONVS)} 2x2 poolings keep a pixel")
    num_classes = check_whole(num_classes, "num_classes", 2)
    dropout = check_number(dropout, "dropout", 0, 1, high_open=True)

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
                           dtype=head_dtype())(x)
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
        Random flips and shifts (:func:`~cnncourse.layers.augmentation`), training only.

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

    from cnncourse.layers import augmentation, head_dtype

    widths, convs = _check_blocks(widths, convs)
    input_shape = check_image_shape(input_shape, 2 ** len(widths),
                                    f"so that {len(widths)} 2x2 poolings keep a pixel")
    num_classes = check_whole(num_classes, "num_classes", 2)
    batch_norm = check_bool(batch_norm, "batch_norm")
    augment = check_bool(augment, "augment")
    dropout = check_number(dropout, "dropout", 0, 1, high_open=True)
    conv_dropout = check_number(conv_dropout, "conv_dropout", 0, 1, high_open=True)
    dense_units = check_whole(dense_units, "dense_units", 1)

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
                           dtype=head_dtype())(x)
    return keras.Model(inputs, outputs, name="vgg_cifar")


#: Widths of the three blocks of :func:`vgg7_cifar` (airbench94's).
FAST_WIDTHS = (64, 256, 256)
#: Per-channel mean and standard deviation of CIFAR-10's 50,000 training images (RGB, [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def vgg7_cifar(whitening_images=None, widths=FAST_WIDTHS, activation="relu", num_classes=10,
               batch_norm_momentum=0.6, bias_scale=8.0, head_scale=1 / 9, whitening=True, dirac=True,
               input_shape=(32, 32, 3)):
    """A small, fast VGG for CIFAR-10 (after Keller Jordan's airbench94), uncompiled.

    Still VGG: only 3x3 convolutions, two per block, a 2x2 max pooling that halves the
    map in every block and widths that grow (64, 256, 256). What makes it train to
    airbench94's accuracy in about ten epochs (measured: the README's CIFAR-10 benchmark
    section): a frozen 2x2 **patch-whitening** convolution in front
    (:class:`~cnncourse.layers.PatchWhitening`), **identity (Dirac) initialization**
    of each convolution, batch normalization with a fixed scale and a fast-learning bias
    (:class:`~cnncourse.layers.ScaledBias`), and a bias-free linear head on a global
    max pooling, scaled down by ``head_scale``. Layout, for 32x32 input::

        normalize -> whiten 2x2 (24 filters, 31x31) -> act
        block k = 1..3:  conv3x3 -> maxpool 2x2 -> BN -> act -> conv3x3 -> BN -> act
                         (31 -> 15 -> 7 -> 3)
        global max pool -> dense 10 (no bias) x head_scale -> logits

    Parameters
    ----------
    whitening_images : array (n, 32, 32, 3) in [0, 1], or None
        Training images to compute the whitening filters from (n >= 16; 5,000 is plenty).
        ``None`` leaves them zero: call ``model.get_layer("whiten").adapt(normalized_images)``.
    widths : sequence of 3 ints >= 1
        Filters of the three blocks.
    activation : "relu" or "gelu"
        ReLU is cheaper than GELU in TensorFlow on a CPU (see the README's benchmark section),
        for about the same accuracy.
    num_classes : int >= 2
    batch_norm_momentum : float in [0, 1)
        Keras's momentum of the running statistics (0.6: they follow the weights quickly).
    bias_scale : float > 0
        The normalization biases learn ``bias_scale**2`` times faster than other weights.
    head_scale : float > 0
        Multiplies the logits (the head has no bias).
    whitening, dirac : bool
        ``False`` for an ablation: a trainable, randomly initialized 2x2 convolution instead
        of the frozen whitening one; random instead of identity initialization.
    input_shape : (32, 32, 3)
        Only CIFAR-sized colour images: the blocks assume 32x32.

    Returns
    -------
    keras.Model named ``vgg7_cifar``; input ``(batch, 32, 32, 3)`` in [0, 1], output
    ``(batch, num_classes)`` **logits** (float32; softmax them for probabilities).

    Examples
    --------
    >>> model = vgg7_cifar()
    >>> model.count_params()
    1973944
    >>> model.get_layer("block3_pool").output.shape
    (None, 3, 3, 256)
    """
    import keras
    from keras import layers

    from cnncourse.layers import Dirac, PatchWhitening, ScaledBias, torch_uniform

    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape != (32, 32, 3):
        raise ValueError(f"input_shape must be (32, 32, 3): vgg7_cifar is built for CIFAR-sized colour "
                         f"images, got {input_shape!r}")
    if _len_or_none(widths) != 3:
        raise ValueError(f"widths must be 3 whole numbers >= 1 (one per block), got {widths!r}")
    widths, _ = _check_blocks(widths, (2, 2, 2))
    if activation not in ("relu", "gelu"):
        raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
    num_classes = check_whole(num_classes, "num_classes", 2)
    batch_norm_momentum = check_number(batch_norm_momentum, "batch_norm_momentum", 0, 1, high_open=True)
    whitening, dirac = check_bool(whitening, "whitening"), check_bool(dirac, "dirac")
    bias_scale = check_number(bias_scale, "bias_scale", 0, low_open=True)
    head_scale = check_number(head_scale, "head_scale", 0, low_open=True)

    def act(name):
        return layers.Activation(activation, name=name)

    inputs = keras.Input(shape=(32, 32, 3), name="image")
    normalize = layers.Normalization(mean=CIFAR10_MEAN, variance=[s * s for s in CIFAR10_STD],
                                     name="normalize")
    x = normalize(inputs)
    whiten = (PatchWhitening(name="whiten") if whitening else
              layers.Conv2D(24, 2, name="whiten", kernel_initializer=torch_uniform()))
    x = act("whiten_act")(whiten(x))
    init = Dirac if dirac else torch_uniform
    for b, width in enumerate(widths, start=1):
        for i in (1, 2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=init(),
                              name=f"block{b}_conv{i}")(x)
            if i == 1:
                x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
            x = layers.BatchNormalization(momentum=batch_norm_momentum, epsilon=1e-5, center=False,
                                          scale=False, name=f"block{b}_bn{i}")(x)
            x = ScaledBias(bias_scale, name=f"block{b}_bias{i}")(x)
            x = act(f"block{b}_act{i}")(x)
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    x = layers.Dense(num_classes, use_bias=False, name="head",
                     kernel_initializer=torch_uniform())(x)
    outputs = layers.Rescaling(head_scale, name="logits", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="vgg7_cifar")
    if whitening_images is not None and whitening:
        whiten.adapt(normalize(np.asarray(whitening_images, dtype="float32")))
    return model


def _len_or_none(seq):
    try:
        return len(seq)
    except TypeError:
        return None
