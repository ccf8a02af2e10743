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

import numbers

from cnncourse.models.common import check_image_shape, check_num_classes

#: Units of the second fully connected layer (``fc2``) for each variant.
FC2_UNITS = {"course": 100, "classic": 84}

#: Names of LeNet-5's layers, in order (the input layer aside). Stable: other
#: code (visualisations, exercises) picks layers by these names.
LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "output")

#: Total parameter count of each variant at its default input (32x32x1) and 10 classes.
PARAMS = {"course": 63_802, "classic": 61_706}

_MIN_SIDE = 16  # smallest input side for which pool2 still holds at least one pixel

#: The course's training recipe for LeNet-5 on padded MNIST (notebook 05 and
#: ``benchmarks/lenet5.py`` both use it): Adam whose learning rate climbs linearly
#: from 0 to ``peak_learning_rate`` during ``warmup_epochs``, then follows a cosine
#: down to 0 at the last epoch; mini-batches of ``batch_size``, each moved by a
#: random whole number of pixels in [-shift, shift] (a new position every epoch).
RECIPE = {"batch_size": 128, "peak_learning_rate": 3e-3, "warmup_epochs": 0.3, "shift": 2}


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
    ValueError
        When an argument is not one of the allowed values (the message says which are).

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

    if not isinstance(variant, str) or variant not in FC2_UNITS:
        raise ValueError(f"variant must be one of {sorted(FC2_UNITS)}, got {variant!r}")
    activation = _check_activation(activation)
    input_shape = _check_input_shape(input_shape)
    num_classes = check_num_classes(num_classes)

    # Under a mixed-precision policy the softmax is still computed in float32 (numerically safe).
    policy = keras.config.dtype_policy()
    output_dtype = "float32" if policy.name.startswith("mixed") else None

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(6, 5, strides=1, padding="valid", activation=activation, name="conv1")(inputs)
    x = layers.MaxPooling2D(pool_size=2, strides=2, name="pool1")(x)
    x = layers.Conv2D(16, 5, strides=1, padding="valid", activation=activation, name="conv2")(x)
    x = layers.MaxPooling2D(pool_size=2, strides=2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="fc1")(x)
    x = layers.Dense(FC2_UNITS[variant], activation=activation, name="fc2")(x)
    outputs = layers.Dense(int(num_classes), activation="softmax", name="output",
                           dtype=output_dtype)(x)
    return keras.Model(inputs, outputs, name=f"lenet5_{variant}")


def _check_activation(activation):
    import keras

    if not isinstance(activation, str) or not activation:
        raise ValueError(f"activation must be the name of a Keras activation "
                         f"(e.g. 'relu', 'tanh', 'sigmoid'), got {activation!r}")
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"activation {activation!r} is not a Keras activation; "
                         "use e.g. 'relu', 'tanh', 'sigmoid', 'elu' or 'gelu'") from exc
    return activation


def _check_input_shape(input_shape):
    return check_image_shape(input_shape, _MIN_SIDE,
                             "so that two 5x5 convolutions and two 2x2 poolings leave a pixel")


# --------------------------------------------------------------------------- training recipe

def learning_rate_schedule(steps_per_epoch, epochs, peak_learning_rate=None, warmup_epochs=None):
    """Warm-up then cosine decay, as a ``keras.optimizers.schedules.CosineDecay``.

    The rate rises linearly from 0 to ``peak_learning_rate`` over the first
    ``warmup_epochs`` epochs and then falls along half a cosine to 0 at the end of
    epoch ``epochs``. Defaults come from :data:`RECIPE`.

    Parameters
    ----------
    steps_per_epoch : int >= 1
        Mini-batches per epoch (``ceil(n_train / batch_size)``).
    epochs : int >= 1
    peak_learning_rate : float > 0
    warmup_epochs : float, 0 <= warmup_epochs < epochs

    Returns
    -------
    keras.optimizers.schedules.LearningRateSchedule
        Call it with a step number to read the rate.

    Examples
    --------
    >>> schedule = learning_rate_schedule(100, 10, peak_learning_rate=1e-3, warmup_epochs=1)
    >>> round(float(schedule(100)), 6), float(schedule(1000))
    (0.001, 0.0)
    """
    import keras

    steps_per_epoch = _check_whole(steps_per_epoch, "steps_per_epoch")
    epochs = _check_whole(epochs, "epochs")
    peak = RECIPE["peak_learning_rate"] if peak_learning_rate is None else peak_learning_rate
    warmup = RECIPE["warmup_epochs"] if warmup_epochs is None else warmup_epochs
    if isinstance(peak, bool) or not isinstance(peak, numbers.Real) or not 0 < peak < 1:
        raise ValueError(f"peak_learning_rate must be a number in (0, 1), got {peak!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Real) or not 0 <= warmup < epochs:
        raise ValueError(f"warmup_epochs must be a number >= 0 and smaller than epochs ({epochs}), "
                         f"got {warmup!r}")
    warmup_steps = int(round(warmup * steps_per_epoch))
    total = epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=total - warmup_steps, alpha=0.0,
        warmup_target=float(peak), warmup_steps=warmup_steps)


def compile_lenet5(model, steps_per_epoch, epochs, peak_learning_rate=None, warmup_epochs=None):
    """Compile ``model`` with the course's recipe: Adam on :func:`learning_rate_schedule`,
    sparse categorical cross-entropy (integer labels) and accuracy. Returns ``model``.

    >>> model = compile_lenet5(lenet5(), steps_per_epoch=430, epochs=10)
    >>> model.optimizer.__class__.__name__
    'Adam'
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    schedule = learning_rate_schedule(steps_per_epoch, epochs, peak_learning_rate, warmup_epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def training_dataset(x, y, batch_size=None, shift=None, seed=0):
    """A ``tf.data`` pipeline over ``(x, y)``: shuffled every epoch, batched, randomly shifted.

    Each mini-batch is moved by a random whole number of pixels in ``[-shift, shift]``
    along each axis (``shift=0``: no augmentation); since the batches are drawn
    afresh every epoch, every digit is seen at a new position each epoch. One
    shift per batch (one slice of the padded batch) is much cheaper on a CPU
    than a shift per image (0.5 s against 2.6 s per MNIST epoch, measured on 2
    cores) and trained LeNet-5 as well. The rows and columns
    that enter are zeros; the 2-pixel frame of padded MNIST (and the empty margin
    of its digits) means no ink is lost. The images are kept in memory once
    (``cache``) and the next batch is prepared while the model trains on this
    one (``prefetch``). Needs TensorFlow installed (any Keras backend).

    Parameters
    ----------
    x : float32 array, shape (n, h, w, c)
    y : int array, shape (n,)
    batch_size : int >= 1, default ``RECIPE["batch_size"]``
    shift : int >= 0, default ``RECIPE["shift"]``
    seed : int, seed of the shuffling and the shifts

    Returns
    -------
    tf.data.Dataset of ``(images, labels)`` batches, images ``(batch, h, w, c)``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = training_dataset(np.zeros((10, 32, 32, 1), "float32"), np.zeros(10, "int64"), batch_size=4)
    >>> [tuple(b.shape) for b, _ in ds]
    [(4, 32, 32, 1), (4, 32, 32, 1), (2, 32, 32, 1)]
    """
    import numpy as np
    import tensorflow as tf

    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images of shape (n, h, w, c), got shape {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"y must be a vector of {len(x)} labels, got shape {y.shape}")
    batch_size = _check_whole(RECIPE["batch_size"] if batch_size is None else batch_size, "batch_size")
    shift = RECIPE["shift"] if shift is None else shift
    if isinstance(shift, bool) or not isinstance(shift, numbers.Integral) or not 0 <= shift < min(x.shape[1:3]):
        raise ValueError(f"shift must be a whole number of pixels >= 0 and smaller than the image, "
                         f"got {shift!r}")
    shift = int(shift)
    ds = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).cache()
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if shift:
        h, w = x.shape[1:3]
        generator = tf.random.Generator.from_seed(seed)

        @tf.autograph.experimental.do_not_convert
        def move(images, labels):
            # Pad by `shift`, then cut the h x w window at a random offset: a translation
            # of the whole batch by -shift..shift pixels, zeros entering.
            padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
            dy, dx = tf.unstack(generator.uniform((2,), 0, 2 * shift + 1, dtype=tf.int32))
            return padded[:, dy:dy + h, dx:dx + w, :], labels

        ds = ds.map(move)
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_whole(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)
