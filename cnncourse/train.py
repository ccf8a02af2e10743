"""Small training conveniences shared by the notebooks."""
from __future__ import annotations

from cnncourse import config


def verbose():
    """Keras ``verbose=`` for ``fit``/``evaluate``: 0 in fast mode (nothing in compared
    output), 2 in full mode (one line per epoch, no progress bar)."""
    return 0 if config.fast_mode() else 2


def compile_classifier(model, learning_rate=1e-3, optimizer="adam"):
    """Compile ``model`` for integer labels: sparse categorical cross-entropy and accuracy.

    ``optimizer`` is ``"adam"`` or ``"sgd"`` (with momentum 0.9).
    """
    import keras

    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate, momentum=0.9)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
