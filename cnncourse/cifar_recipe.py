"""The fast CIFAR-10 training recipe of notebook 07 (after Keller Jordan's airbench94).

It trains :func:`cnncourse.models.vgg7_cifar` to about 93-94 % test accuracy in about ten
epochs. The pieces, each usable alone:

:class:`FlipShiftBatches`
    Mini-batches with **alternating flips** (an image is mirrored in every other epoch,
    not at random, so no epoch repeats the previous one's view) and random **shifts of up to
    2 pixels** (reflect-padded crops), drawn anew each epoch, in NumPy.
:class:`TriangularSchedule`
    The learning rate rises linearly from ``start x peak`` to ``peak`` in the first
    ``peak_at`` of the steps, then falls linearly to ``end x peak``.
:class:`Lookahead`
    Every 5 steps, the weights are pulled back towards a slow running average of
    themselves (Zhang et al. 2019), more and more strongly as training ends.
:func:`compile_recipe`
    Nesterov SGD with decoupled weight decay and label smoothing 0.2.
:func:`predict_tta`
    Test-time augmentation: average the logits of the image, its mirror and two
    1-pixel shifts of both.
:func:`train`
    All of it at once, as notebook 07 and ``benchmarks/cifar10.py`` use it.

The hyper-parameters are in :data:`RECIPE`; they were chosen on a validation split of
the training images (see the README's benchmark section), not on the test set.

Example
-------
>>> s = TriangularSchedule(1.0, total_steps=100)
>>> [round(float(s(step)), 3) for step in (0, 23, 100)]
[0.2, 1.0, 0.07]
"""
from __future__ import annotations

import time

import keras
import numpy as np
from keras import ops

from cnncourse.checks import check_number, check_whole

#: The recipe's hyper-parameters (batch 500). The learning rate and weight decay are
#: airbench94's (per example: lr 11.5 per 1024 examples with its scaling, decay 0.0153),
#: translated to Keras's mean loss and decoupled weight decay.
RECIPE = {
    "batch_size": 500,
    "learning_rate": 0.73,       # peak, for the mean loss over a batch of 500
    "momentum": 0.85,            # Nesterov
    "weight_decay": 0.0089,      # decoupled: each step w -= lr * weight_decay * w
    "label_smoothing": 0.2,
    "schedule": {"start": 0.2, "peak_at": 0.23, "end": 0.07},
    "lookahead_every": 5,
    "lookahead_decay": 0.95 ** 5,   # reached at the end; grows as (step / total)**3
    "shift": 2,
    "tta_level": 2,
}


# ------------------------------------------------------------------ argument checks

def _images_labels(x, y):
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"x must have shape (n, height, width, 3), got shape {x.shape}")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must hold one integer label per image ({len(x)}), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    return x, y


# ------------------------------------------------------------------ data

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
        x, y = _images_labels(x, y)
        self.batch_size = check_whole(batch_size, "batch_size", 1)
        self.num_classes = check_whole(num_classes, "num_classes", 2)
        self.shift = check_whole(shift, "shift", 0)
        if self.shift >= min(x.shape[1:3]):
            raise ValueError(f"shift must be smaller than the images' side ({min(x.shape[1:3])}), got {shift}")
        if not isinstance(flip, bool):
            raise TypeError(f"flip must be True or False, got {type(flip).__name__}")
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


# ------------------------------------------------------------------ optimization

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
    """

    def __init__(self, peak, total_steps, start=0.2, peak_at=0.23, end=0.07):
        self.peak = check_number(peak, "peak", 0.0, low_open=True)
        self.total_steps = check_whole(total_steps, "total_steps", 2)
        self.start = check_number(start, "start", 0.0, 1.0)
        self.end = check_number(end, "end", 0.0, 1.0)
        self.peak_at = check_number(peak_at, "peak_at", 0.0, 1.0, low_open=True)
        if self.peak_at >= 1.0:
            raise ValueError(f"peak_at must be < 1, got {peak_at!r}")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        top = self.peak_at * self.total_steps
        up = self.start + (1.0 - self.start) * step / top
        down = 1.0 + (self.end - 1.0) * (step - top) / (self.total_steps - top)
        return self.peak * ops.where(step < top, up, ops.maximum(down, self.end))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "start": self.start,
                "peak_at": self.peak_at, "end": self.end}


class Lookahead(keras.callbacks.Callback):
    """Lookahead with a growing pull: every ``every`` steps, ``slow = d*slow + (1-d)*w; w = slow``.

    ``d = final_decay * (step / total_steps)**3``: no pull at the start, when the weights
    must move fast, and a strong one at the end, where averaging the last steps' weights
    lands nearer the middle of the minimum. At the end of training the weights are set
    to the slow average. All float variables of the model take part (BatchNorm's running
    statistics too).

    Parameters
    ----------
    total_steps : int >= 1
    every : int >= 1
    final_decay : float in [0, 1)
    """

    def __init__(self, total_steps, every=5, final_decay=0.95 ** 5):
        super().__init__()
        self.total_steps = check_whole(total_steps, "total_steps", 1)
        self.every = check_whole(every, "every", 1)
        self.final_decay = check_number(final_decay, "final_decay", 0.0, 1.0)

    def _variables(self):
        return [v for v in self.model.variables
                if "float" in str(v.dtype) and not v.path.startswith("seed_generator")]

    def on_train_begin(self, logs=None):
        self.step = 0
        self.slow = [np.array(ops.convert_to_numpy(v)) for v in self._variables()]

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            decay = self.final_decay * min(self.step / self.total_steps, 1.0) ** 3
            self._pull(decay)

    def on_train_end(self, logs=None):
        self._pull(1.0)

    def _pull(self, decay):
        for slow, v in zip(self.slow, self._variables()):
            slow *= decay
            slow += (1.0 - decay) * ops.convert_to_numpy(v)
            v.assign(slow)


def compile_recipe(model, total_steps, learning_rate=RECIPE["learning_rate"], momentum=RECIPE["momentum"],
                   weight_decay=RECIPE["weight_decay"], label_smoothing=RECIPE["label_smoothing"]):
    """Compile a logits model for one-hot labels: Nesterov SGD, :class:`TriangularSchedule`,
    decoupled weight decay on every trainable weight, label-smoothed cross-entropy.

    Label smoothing trains towards 0.82 for the right class and 0.02 for each wrong one
    (with 0.2 and 10 classes) instead of 1 and 0, so the network is not pushed to
    ever larger, over-confident logits.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    total_steps = check_whole(total_steps, "total_steps", 2)
    learning_rate = check_number(learning_rate, "learning_rate", 0.0, low_open=True)
    momentum = check_number(momentum, "momentum", 0.0, 1.0)
    weight_decay = check_number(weight_decay, "weight_decay", 0.0)
    label_smoothing = check_number(label_smoothing, "label_smoothing", 0.0, 1.0)
    schedule = TriangularSchedule(learning_rate, total_steps, **RECIPE["schedule"])
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum, nesterov=True,
                                     weight_decay=weight_decay or None)
    # No XLA: on the course's 2-core CPU (TensorFlow 2.21, bfloat16) a training step of vgg7_cifar
    # took 3.2x longer with jit_compile (Keras's "auto" default) and compiling took tens of seconds.
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")], jit_compile=False)
    return model


# ------------------------------------------------------------------ evaluation

def _translate(x, dy, dx):
    """Shift a batch by (dy, dx) pixels, reflect-padding the border."""
    p = max(abs(dy), abs(dx))
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
    h, w = x.shape[1:3]
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w]


def predict_tta(model, x, level=RECIPE["tta_level"], batch_size=1000):
    """Logits of ``model`` on ``x`` averaged over test-time augmentations.

    ``level`` 0: the images as they are; 1: the mean of each image and its mirror;
    2: half of level 1 plus half the level-1 mean over two copies shifted by one pixel
    (up-left and down-right). 6 forward passes at level 2.

    Returns
    -------
    float32 array (n, classes)
    """
    if level not in (0, 1, 2):
        raise ValueError(f"level must be 0, 1 or 2, got {level!r}")
    x = np.asarray(x, "float32")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (n, height, width, channels), got shape {x.shape}")

    def plain(images):
        return np.asarray(model.predict(images, batch_size=batch_size, verbose=0), "float32")

    def mirrored(images):
        return 0.5 * (plain(images) + plain(images[:, :, ::-1]))

    if level == 0:
        return plain(x)
    if level == 1:
        return mirrored(x)
    shifted = 0.5 * (mirrored(_translate(x, -1, -1)) + mirrored(_translate(x, 1, 1)))
    return 0.5 * mirrored(x) + 0.5 * shifted


def accuracy_tta(model, x, y, level=RECIPE["tta_level"]):
    """Share of ``x`` whose :func:`predict_tta` argmax equals the integer label ``y``."""
    x, y = _images_labels(x, y)
    return float(np.mean(predict_tta(model, x, level).argmax(axis=1) == y))


# ------------------------------------------------------------------ everything at once

class EvalEachEpoch(keras.callbacks.Callback):
    """After every epoch, measure ``accuracy_tta`` on ``(x, y)``; time spent here is
    recorded in ``self.eval_seconds`` so that training time can leave it out."""

    def __init__(self, x, y, level=RECIPE["tta_level"], name="eval"):
        super().__init__()
        self.x, self.y, self.level, self.name = x, y, level, name
        self.accuracy, self.eval_seconds, self.train_seconds = [], [], []

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        t0 = time.perf_counter()
        self.train_seconds.append(t0 - self._start - sum(self.eval_seconds) - sum(self.train_seconds))
        self.accuracy.append(accuracy_tta(self.model, self.x, self.y, self.level))
        self.eval_seconds.append(time.perf_counter() - t0)
        if logs is not None:
            logs[f"{self.name}_tta_accuracy"] = self.accuracy[-1]


def train(model, x, y, epochs, validation_data=None, batch_size=RECIPE["batch_size"], callbacks=(),
          verbose=2, seed=0, **recipe):
    """Train a :func:`~cnncourse.models.vgg7_cifar` model with the whole recipe; return the History.

    ``x`` in [0, 1] and integer ``y``; ``validation_data=(x_val, y_val)`` with integer labels
    is evaluated (without test-time augmentation) after every epoch. ``recipe`` overrides
    :func:`compile_recipe`'s keyword arguments.
    """
    epochs = check_whole(epochs, "epochs", 1)
    batches = FlipShiftBatches(x, y, batch_size=batch_size, shift=RECIPE["shift"], seed=seed,
                               num_classes=model.output_shape[-1])
    total = epochs * len(batches)
    compile_recipe(model, max(total, 2), **recipe)
    val = None
    if validation_data is not None:
        xv, yv = _images_labels(*validation_data)
        val = (np.asarray(xv, "float32"), keras.utils.to_categorical(yv, model.output_shape[-1]))
    lookahead = Lookahead(total, every=RECIPE["lookahead_every"], final_decay=RECIPE["lookahead_decay"])
    return model.fit(batches, epochs=epochs, validation_data=val, verbose=verbose,
                     callbacks=[lookahead, *callbacks])
