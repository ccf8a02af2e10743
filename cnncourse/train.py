"""Training: compile helpers, learning-rate schedules, a timer and the data pipelines.

Compiling
    :func:`compile_classifier` (Adam or SGD, integer labels), :func:`compile_sgd` (SGD with
    momentum, a schedule and decoupled weight decay: AlexNet and VGG), :func:`compile_lenet5`
    (notebook 05's recipe, :data:`LENET5_RECIPE`). The CIFAR-10 VGG recipe of notebook 07
    compiles with :func:`cnncourse.cifar_recipe.compile_recipe`, next to its other parts.
    :func:`pixel_crossentropy`: sparse cross-entropy per pixel, for segmentation (notebook 09).
Schedules
    :func:`warmup_cosine_schedule` (linear warm-up, then a cosine: the one builder of Keras's
    ``CosineDecay`` here), expressed in fractions of the run by :func:`one_cycle_schedule` and
    in epochs by :func:`lenet5_schedule`; :class:`TriangularSchedule` (piecewise linear).
Timing
    :class:`EpochTimer`; :func:`verbose` (what ``fit`` prints in fast and full mode).
Data pipelines
    :func:`batch_shift_dataset` (``tf.data``: one random shift per batch, LeNet-5) and
    :class:`FlipShiftBatches` (NumPy: alternating flips and per-image shifts, the CIFAR-10 VGG).

Importing this module imports Keras (two of its classes subclass Keras's); import it after
:func:`cnncourse.session.begin`.

>>> s = one_cycle_schedule(0.1, 100, warmup_fraction=0.2)
>>> [round(float(s(step)), 3) for step in (0, 10, 20, 60, 100)]
[0.0, 0.05, 0.1, 0.05, 0.0]
"""
from __future__ import annotations

import time

import keras
import numpy as np
from keras import ops

from cnncourse import config
from cnncourse.checks import check_batch, check_bool, check_images_and_labels, check_model, check_number, check_whole

#: The course's training recipe for LeNet-5 on padded MNIST (notebook 05 and
#: ``benchmarks/lenet5.py`` both use it): Adam whose learning rate climbs linearly
#: from 0 to ``peak_learning_rate`` during ``warmup_epochs``, then follows a cosine
#: down to 0 at the last epoch; mini-batches of ``batch_size``, each moved by a
#: random whole number of pixels in [-shift, shift] (a new position every epoch).
LENET5_RECIPE = {"batch_size": 128, "peak_learning_rate": 3e-3, "warmup_epochs": 0.3, "shift": 2}


def verbose():
    """Keras ``verbose=`` for ``fit``/``evaluate``: 0 in fast mode (nothing in compared
    output), 2 in full mode (one line per epoch, no progress bar)."""
    return 0 if config.fast_mode() else 2


# ------------------------------------------------------------------ compiling

def compile_classifier(model, learning_rate=1e-3, optimizer="adam"):
    """Compile ``model`` for integer labels: sparse categorical cross-entropy and accuracy.

    ``optimizer`` is ``"adam"`` or ``"sgd"`` (with momentum 0.9). Returns ``model``.

    >>> m = compile_classifier(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), optimizer="sgd")
    >>> type(m.optimizer).__name__, float(m.optimizer.momentum)
    ('SGD', 0.9)
    """
    check_model(model)
    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate, momentum=0.9)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def jit_compile_default():
    """The ``jit_compile`` the course's SGD recipes pass to ``model.compile`` on the backend in use.

    Keras's own default, ``"auto"``, compiles with XLA on TensorFlow and JAX. On TensorFlow the
    course turns it off: XLA made the CPU training steps of ``vgg7_cifar`` 3.2x and of
    ``alexnet_cifar`` 1.3x slower (the README's benchmarks). On JAX it stays on: without
    ``jax.jit`` every operation is dispatched on its own (measured on the course's 2-core CPU:
    LeNet-5 2.4x and ``vgg7_cifar`` 1.9x slower). PyTorch: off, as Keras's ``"auto"`` has it.

    >>> jit_compile_default() in (True, False)
    True
    """
    from cnncourse.device import on_backend

    return on_backend(jax=lambda: True, default=lambda: False)


def compile_sgd(model, schedule, momentum=0.9, weight_decay=5e-3, nesterov=True, jit_compile=None):
    """Compile ``model`` for integer labels with SGD + momentum, a schedule and weight decay.

    ``jit_compile`` is passed to ``model.compile``; ``None`` means :func:`jit_compile_default`
    (no XLA on TensorFlow, where it made these models' CPU steps slower; ``jax.jit`` on JAX).

    ``weight_decay`` is Keras's decoupled decay (each step ``w -= lr * weight_decay * w``);
    with momentum 0.9 it matches ten times smaller L2 in frameworks that add it to the
    gradient (5e-3 here is the 5e-4 of the papers). Biases and batch-norm scales and
    offsets are not decayed.
    """
    check_model(model)
    momentum = check_number(momentum, "momentum", 0, 1, high_open=True)
    weight_decay = check_number(weight_decay, "weight_decay", 0, 1, high_open=True)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum, nesterov=nesterov,
                                     weight_decay=weight_decay or None)
    if weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile_default() if jit_compile is None else jit_compile)
    return model


def pixel_crossentropy(y_true, y_pred):
    """Sparse categorical cross-entropy of every pixel: the loss of a segmentation head.

    ``y_true`` holds integer classes ``(batch, h, w)``, ``y_pred`` probabilities
    ``(batch, h, w, classes)``; returns the loss of each pixel ``(batch, h, w)``, so that a
    per-pixel ``sample_weight`` applies. The same numbers as Keras's
    ``"sparse_categorical_crossentropy"``, computed on the pixels laid out as rows
    ``(batch * h * w, classes)``: Keras on PyTorch fails on the 4-D form in training
    ("grad_input must be contiguous"), and every backend accepts this one.

    >>> import numpy as np
    >>> p = np.full((1, 2, 2, 4), 0.25, dtype="float32")
    >>> loss = keras.ops.convert_to_numpy(pixel_crossentropy(np.zeros((1, 2, 2)), p))
    >>> loss.shape, bool(np.allclose(loss, np.log(4)))           # four equally likely classes: ln 4
    ((1, 2, 2), True)
    """
    y_pred = ops.convert_to_tensor(y_pred)
    classes = y_pred.shape[-1]
    rows = keras.losses.sparse_categorical_crossentropy(ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1, classes)))
    return ops.reshape(rows, ops.shape(y_pred)[:-1])


def compile_lenet5(model, steps_per_epoch, epochs, peak_learning_rate=None, warmup_epochs=None):
    """Compile ``model`` with notebook 05's recipe: Adam on :func:`lenet5_schedule`,
    sparse categorical cross-entropy (integer labels) and accuracy. Returns ``model``.

    >>> from cnncourse.models import lenet5
    >>> model = compile_lenet5(lenet5(), steps_per_epoch=430, epochs=10)
    >>> model.optimizer.__class__.__name__
    'Adam'
    """
    check_model(model)
    schedule = lenet5_schedule(steps_per_epoch, epochs, peak_learning_rate, warmup_epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# ------------------------------------------------------------------ schedules

def warmup_cosine_schedule(peak_learning_rate, total_steps, warmup_steps=0, final_fraction=0.0):
    """Learning rate that climbs linearly from 0 to its peak in ``warmup_steps``, then falls
    along half a cosine to ``final_fraction * peak`` at step ``total_steps``.

    A big rate early on, once the weights are no longer random, moves fast; a small rate
    at the end settles into a minimum.

    Parameters
    ----------
    peak_learning_rate : float > 0
    total_steps : int >= 1
        Batches in the whole run (``epochs * steps_per_epoch``).
    warmup_steps : int in [0, total_steps]
        0: start at the peak.
    final_fraction : float in [0, 1)
        Rate at the last step, as a fraction of the peak.

    Returns
    -------
    ``keras.optimizers.schedules.CosineDecay`` (a callable step -> rate).

    >>> s = warmup_cosine_schedule(1.0, 10, warmup_steps=2)
    >>> [round(float(s(step)), 3) for step in (0, 1, 2, 6, 10)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    peak = check_number(peak_learning_rate, "peak_learning_rate", 0, low_open=True)
    total_steps = check_whole(total_steps, "total_steps", 1)
    warmup_steps = check_whole(warmup_steps, "warmup_steps", 0, total_steps)
    final_fraction = check_number(final_fraction, "final_fraction", 0, 1, high_open=True)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else peak,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_fraction,
        warmup_target=peak if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def one_cycle_schedule(peak_learning_rate, total_steps, warmup_fraction=0.2, final_fraction=0.0):
    """:func:`warmup_cosine_schedule` with the warm-up given as a share of the run.

    This "one cycle" shape (Smith & Topin 2017) trains CIFAR-10 networks in a few dozen epochs.

    Parameters
    ----------
    peak_learning_rate : float > 0
    total_steps : int >= 2
        Batches in the whole run (``epochs * steps_per_epoch``).
    warmup_fraction : float in [0, 1)
        Share of the steps spent climbing from 0 to the peak.
    final_fraction : float in [0, 1)
        Rate at the last step, as a fraction of the peak.
    """
    check_number(peak_learning_rate, "peak_learning_rate", 0, low_open=True)
    total_steps = check_whole(total_steps, "total_steps", 2)
    warmup_fraction = check_number(warmup_fraction, "warmup_fraction", 0, 1, high_open=True)
    return warmup_cosine_schedule(peak_learning_rate, total_steps, int(round(total_steps * warmup_fraction)),
                                  final_fraction)


def lenet5_schedule(steps_per_epoch, epochs, peak_learning_rate=None, warmup_epochs=None):
    """:func:`warmup_cosine_schedule` counted in epochs, down to 0 at the end of epoch ``epochs``.

    The rate rises linearly from 0 to ``peak_learning_rate`` over the first ``warmup_epochs``
    epochs. Defaults come from :data:`LENET5_RECIPE`.

    Parameters
    ----------
    steps_per_epoch : int >= 1
        Mini-batches per epoch (``ceil(n_train / batch_size)``).
    epochs : int >= 1
    peak_learning_rate : float in (0, 1)
    warmup_epochs : float, 0 <= warmup_epochs < epochs

    Examples
    --------
    >>> schedule = lenet5_schedule(100, 10, peak_learning_rate=1e-3, warmup_epochs=1)
    >>> round(float(schedule(100)), 6), float(schedule(1000))
    (0.001, 0.0)
    """
    steps_per_epoch = check_whole(steps_per_epoch, "steps_per_epoch", 1)
    epochs = check_whole(epochs, "epochs", 1)
    peak = LENET5_RECIPE["peak_learning_rate"] if peak_learning_rate is None else peak_learning_rate
    warmup = LENET5_RECIPE["warmup_epochs"] if warmup_epochs is None else warmup_epochs
    peak = check_number(peak, "peak_learning_rate", 0, 1, low_open=True, high_open=True)
    warmup = check_number(warmup, "warmup_epochs", 0, epochs, high_open=True)
    return warmup_cosine_schedule(peak, epochs * steps_per_epoch, int(round(warmup * steps_per_epoch)))


@keras.saving.register_keras_serializable(package="cnncourse")
class TriangularSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Piecewise-linear learning rate: ``start*peak`` -> ``peak`` (at ``peak_at`` of the steps) -> ``end*peak``.

    Parameters
    ----------
    peak : float > 0
    total_steps : int >= 2
    start, end : float in [0, 1]
        Rates at the first and last step, as fractions of the peak.
    peak_at : float in (0, 1)
        Where the peak is, as a fraction of the steps.

    >>> s = TriangularSchedule(1.0, total_steps=100)
    >>> [round(float(s(step)), 3) for step in (0, 23, 100)]
    [0.2, 1.0, 0.07]
    """

    def __init__(self, peak, total_steps, start=0.2, peak_at=0.23, end=0.07):
        self.peak = check_number(peak, "peak", 0, low_open=True)
        self.total_steps = check_whole(total_steps, "total_steps", 2)
        self.start = check_number(start, "start", 0, 1)
        self.end = check_number(end, "end", 0, 1)
        self.peak_at = check_number(peak_at, "peak_at", 0, 1, low_open=True, high_open=True)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        top = self.peak_at * self.total_steps
        up = self.start + (1.0 - self.start) * step / top
        down = 1.0 + (self.end - 1.0) * (step - top) / (self.total_steps - top)
        return self.peak * ops.where(step < top, up, ops.maximum(down, self.end))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "start": self.start,
                "peak_at": self.peak_at, "end": self.end}


# ------------------------------------------------------------------ timing

class EpochTimer(keras.callbacks.Callback):
    """Records the seconds each epoch took in ``self.seconds`` (a list)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


# ------------------------------------------------------------------ data pipelines

def batch_shift_dataset(x, y, batch_size=None, shift=None, seed=0):
    """A ``tf.data`` pipeline over ``(x, y)``: shuffled every epoch, batched, randomly shifted.

    Each mini-batch is moved by a random whole number of pixels in ``[-shift, shift]``
    along each axis (``shift=0``: no augmentation); since the batches are drawn
    afresh every epoch, every digit is seen at a new position each epoch. One
    shift per batch (one slice of the padded batch) is much cheaper on a CPU
    than a shift per image and trained LeNet-5 as well. The rows and columns
    that enter are zeros; the 2-pixel frame of padded MNIST (and the empty margin
    of its digits) means no ink is lost. The images are kept in memory once
    (``cache``) and the next batch is prepared while the model trains on this
    one (``prefetch``). Needs TensorFlow installed (any Keras backend). The cost of a shift
    per batch against one per image: the README's LeNet-5 benchmark section.

    Parameters
    ----------
    x : float32 array, shape (n, h, w, c)
    y : int array, shape (n,)
    batch_size : int >= 1, default ``LENET5_RECIPE["batch_size"]``
    shift : int >= 0, default ``LENET5_RECIPE["shift"]``
    seed : int, seed of the shuffling and the shifts

    Returns
    -------
    tf.data.Dataset of ``(images, labels)`` batches, images ``(batch, h, w, c)``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = batch_shift_dataset(np.zeros((10, 32, 32, 1), "float32"), np.zeros(10, "int64"), batch_size=4)
    >>> [tuple(b.shape) for b, _ in ds]
    [(4, 32, 32, 1), (4, 32, 32, 1), (2, 32, 32, 1)]
    """
    import tensorflow as tf

    x = check_batch(x)
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must be a vector of {len(x)} labels, got shape {y.shape}")
    batch_size = check_whole(LENET5_RECIPE["batch_size"] if batch_size is None else batch_size, "batch_size", 1)
    shift = check_whole(LENET5_RECIPE["shift"] if shift is None else shift, "shift", 0, min(x.shape[1:3]) - 1)
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


class FlipShiftBatches(keras.utils.PyDataset):
    """Augmented, shuffled mini-batches of ``(images, one-hot labels)``, redrawn every epoch.

    Parameters
    ----------
    x : array (n, h, w, 3), values in [0, 1]
    y : int array (n,)
    batch_size : int >= 1
    num_classes : int >= 2
    shift : int >= 0
        Largest shift in pixels (the image is reflect-padded, then cropped).
    flip : bool
        Alternating flips: a random half of the images is mirrored in even epochs,
        the other half in odd epochs.
    seed : int

    >>> ds = FlipShiftBatches(np.zeros((10, 32, 32, 3), "float32"), np.arange(10) % 10, batch_size=4)
    >>> len(ds), ds[0][0].shape, ds[0][1].shape
    (3, (4, 32, 32, 3), (4, 10))
    """

    def __init__(self, x, y, batch_size=500, num_classes=10, shift=2, flip=True, seed=0, **kwargs):
        super().__init__(**kwargs)
        x, y = check_images_and_labels(x, y, channels=3)
        self.batch_size = check_whole(batch_size, "batch_size", 1)
        self.num_classes = check_whole(num_classes, "num_classes", 2)
        self.shift = check_whole(shift, "shift", 0)
        if self.shift >= min(x.shape[1:3]):
            raise ValueError(f"shift must be smaller than the images' side ({min(x.shape[1:3])}), got {shift}")
        flip = check_bool(flip, "flip")
        if y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"y must hold labels in 0..{self.num_classes - 1}, got {y.min()}..{y.max()}")
        self.flip = flip
        s = self.shift
        self.x = np.pad(np.asarray(x, "float32"), ((0, 0), (s, s), (s, s), (0, 0)), mode="reflect")
        self.side = x.shape[1:3]
        self.y = keras.utils.to_categorical(y, self.num_classes).astype("float32")
        self.rng = np.random.default_rng(seed)
        self.flip_half = self.rng.random(len(x)) < 0.5
        self.epoch = 0
        self._draw()

    def _draw(self):
        n, (h, w), s = len(self.x), self.side, self.shift
        dy = self.rng.integers(0, 2 * s + 1, n)
        dx = self.rng.integers(0, 2 * s + 1, n)
        out = np.empty((n, h, w, 3), "float32")
        for oy in range(2 * s + 1):
            for ox in range(2 * s + 1):
                idx = np.nonzero((dy == oy) & (dx == ox))[0]
                out[idx] = self.x[idx, oy:oy + h, ox:ox + w]
        if self.flip:
            mirrored = self.flip_half ^ (self.epoch % 2 == 1)
            out[mirrored] = out[mirrored, :, ::-1]
        self.order = self.rng.permutation(n)
        self.epoch_x = out[self.order]
        self.epoch_y = self.y[self.order]

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        sl = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.epoch_x[sl], self.epoch_y[sl]

    def on_epoch_end(self):
        self.epoch += 1
        self._draw()
