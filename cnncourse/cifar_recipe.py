"""The fast CIFAR-10 training recipe of notebook 07 (after Keller Jordan's airbench94).

It trains :func:`cnncourse.models.vgg7_cifar` to airbench94's accuracy in about ten epochs
(measured accuracy and time: the README's CIFAR-10 benchmark section). Its general pieces
live in :mod:`cnncourse.train`, next to the course's other training helpers:
:class:`~cnncourse.train.FlipShiftBatches` (mini-batches with **alternating flips**, an
image mirrored in every other epoch, and random **shifts of up to 2 pixels**) and
:class:`~cnncourse.train.TriangularSchedule` (the learning rate rises linearly from
``start x peak`` to ``peak``, then falls linearly to ``end x peak``).
What is this recipe's own stays here, each piece usable alone:

:data:`RECIPE`
    The hyper-parameters.
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
>>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
>>> predict_tta(model, np.zeros((4, 8, 8, 3)), level=2).shape     # 6 passes, averaged
(4, 10)
"""
from __future__ import annotations

import time

import keras
import numpy as np
from keras import ops

from cnncourse.checks import check_batch, check_images_and_labels, check_model, check_number, check_whole
from cnncourse.train import FlipShiftBatches, TriangularSchedule, jit_compile_default

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


# ------------------------------------------------------------------ optimization

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
        self.final_decay = check_number(final_decay, "final_decay", 0, 1)

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
    check_model(model)
    total_steps = check_whole(total_steps, "total_steps", 2)
    learning_rate = check_number(learning_rate, "learning_rate", 0, low_open=True)
    momentum = check_number(momentum, "momentum", 0, 1)
    weight_decay = check_number(weight_decay, "weight_decay", 0)
    label_smoothing = check_number(label_smoothing, "label_smoothing", 0, 1)
    schedule = TriangularSchedule(learning_rate, total_steps, **RECIPE["schedule"])
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum, nesterov=True,
                                     weight_decay=weight_decay or None)
    # No XLA on TensorFlow (it made vgg7_cifar's CPU step slower), jax.jit on JAX: train.jit_compile_default.
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")], jit_compile=jit_compile_default())
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
    x = check_batch(x).astype("float32", copy=False)

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
    x, y = check_images_and_labels(x, y, channels=3)
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
        xv, yv = check_images_and_labels(*validation_data, channels=3)
        val = (np.asarray(xv, "float32"), keras.utils.to_categorical(yv, model.output_shape[-1]))
    lookahead = Lookahead(total, every=RECIPE["lookahead_every"], final_decay=RECIPE["lookahead_decay"])
    return model.fit(batches, epochs=epochs, validation_data=val, verbose=verbose,
                     callbacks=[lookahead, *callbacks])
