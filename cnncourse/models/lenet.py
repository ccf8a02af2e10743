"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), the course's version and the classic shape.

The course's variant, layer by layer (input 32x32x1)::

    name     layer                               output      parameters
    conv1    6 filters 5x5, stride 1, valid       28x28x6     5*5*1*6  + 6   =    156
    pool1    max pooling 2x2, stride 2            14x14x6                          0
    conv2    16 filters 5x5, stride 1, valid      10x10x16    5*5*6*16 + 16  =  2,416
    pool2    max pooling 2x2, stride 2            5x5x16                           0
    flatten                                       400                              0
    fc1      dense 120                            120         400*120  + 120 = 48,120
    fc2      dense 100 (classic: 84)              100         120*100  + 100 = 12,100
    output   dense 10, softmax                    10          100*10   + 10  =  1,010
                                                                        total  63,802

The ``"classic"`` variant has the 1998 paper's 84 units in ``fc2`` (61,706
parameters). It keeps the course's modern building blocks — max pooling, a
chosen activation, a softmax output — where the paper had trainable
sub-sampling layers, a scaled tanh, a partially connected C3 layer and
Euclidean RBF output units: it reproduces the paper's *shape*, not its every
detail.

Example
-------
>>> from cnncourse.models import lenet5
>>> model = lenet5()
>>> model.count_params()
63802
>>> model.get_layer("pool2").output.shape
(None, 5, 5, 16)
"""
from __future__ import annotations

from cnncourse.checks import check_image_shape, check_whole

#: Units of the second fully connected layer (``fc2``) for each variant.
FC2_UNITS = {"course": 100, "classic": 84}

#: Names of LeNet-5's layers, in order (the input layer aside). Stable: other
#: code (visualisations, exercises) picks layers by these names.
LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "output")

#: Total parameter count of each variant at its default input (32x32x1) and 10 classes.
PARAMS = {"course": 63_802, "classic": 61_706}

_MIN_SIDE = 16  # smallest input side for which pool2 still holds at least one pixel

def lenet5(variant="course", activation="relu", input_shape=(32, 32, 1), num_classes=10):
    """Build LeNet-5 as an uncompiled ``keras.Model``.

    Parameters
    ----------
    variant : {"course", "classic"}
        ``"course"``: fully connected 120 -> 100 -> ``num_classes`` (63,802 parameters).
        ``"classic"``: the 1998 paper's 120 -> 84 -> ``num_classes`` (61,706 parameters).
    activation : str
        Activation of ``conv1``, ``conv2``, ``fc1`` and ``fc2``, any name
        ``keras.activations.get`` knows (``"relu"``, ``"tanh"``, ``"sigmoid"``, ...).
        The output layer is always a softmax.
    input_shape : tuple of 3 ints
        ``(height, width, channels)``; height and width at least 16 so that the
        second pooling layer still has a pixel. ``(32, 32, 1)`` is MNIST padded by 2.
    num_classes : int >= 2
        Units of the softmax output.

    Returns
    -------
    keras.Model
        Uncompiled, named ``lenet5_<variant>``, layers named as in :data:`LAYER_NAMES`.
        Input ``(batch, h, w, c)``, output ``(batch, num_classes)`` probabilities.

    Raises
    ------
    TypeError, ValueError
        When an argument has the wrong type or value (the message says what is allowed).

    Notebook 05 trains it with :func:`cnncourse.train.compile_lenet5` and
    :func:`cnncourse.train.batch_shift_dataset` (the recipe: :data:`cnncourse.train.LENET5_RECIPE`).

    Examples
    --------
    >>> model = lenet5(variant="classic", activation="tanh")
    >>> model.get_layer("fc2").units
    84
    >>> lenet5(input_shape=(28, 28, 1)).get_layer("pool2").output.shape
    (None, 4, 4, 16)
    """
    import keras
    from keras import layers

    from cnncourse.layers import head_dtype

    if not isinstance(variant, str):
        raise TypeError(f"variant must be one of {sorted(FC2_UNITS)}, got {variant!r}")
    if variant not in FC2_UNITS:
        raise ValueError(f"variant must be one of {sorted(FC2_UNITS)}, got {variant!r}")
    activation = _check_activation(activation)
    input_shape = _check_input_shape(input_shape)
    num_classes = check_whole(num_classes, "num_classes", 2)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(6, 5, strides=1, padding="valid", activation=activation, name="conv1")(inputs)
    x = layers.MaxPooling2D(pool_size=2, strides=2, name="pool1")(x)
    x = layers.Conv2D(16, 5, strides=1, padding="valid", activation=activation, name="conv2")(x)
    x = layers.MaxPooling2D(pool_size=2, strides=2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="fc1")(x)
    x = layers.Dense(FC2_UNITS[variant], activation=activation, name="fc2")(x)
    outputs = layers.Dense(int(num_classes), activation="softmax", name="output",
                           dtype=head_dtype())(x)
    return keras.Model(inputs, outputs, name=f"lenet5_{variant}")


def _check_activation(activation):
    import keras

    message = f"activation must be the name of a Keras activation (e.g. 'relu', 'tanh', 'sigmoid'), got {activation!r}"
    if not isinstance(activation, str):
        raise TypeError(message)
    if not activation:
        raise ValueError(message)
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"activation {activation!r} is not a Keras activation; "
                         "use e.g. 'relu', 'tanh', 'sigmoid', 'elu' or 'gelu'") from exc
    return activation


def _check_input_shape(input_shape):
    return check_image_shape(input_shape, _MIN_SIDE,
                             "so that two 5x5 convolutions and two 2x2 poolings leave a pixel")
