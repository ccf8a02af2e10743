"""The first code cell of every notebook: quiet logs, check versions, seed, say the mode.

>>> from cnncourse.session import begin
>>> begin(seed=0)  # doctest: +SKIP
cnncourse 0.1.0 | Keras 3.15.1 on tensorflow 2.21.0 (CPU) | FAST mode: small subsets, few epochs (...)
Backend: tensorflow. Every notebook runs on tensorflow, jax and torch. To switch, restart the kernel and set ...
"""
from __future__ import annotations

import contextlib
import os
import random
import sys

import numpy as np

from cnncourse import config
from cnncourse.checks import check_whole
from cnncourse.device import BACKENDS, accelerator, backend_and_version

MIN_KERAS = (3, 0)


def quiet_tensorflow():
    """Keep TensorFlow's C++ start-up log out of notebook output (call before importing it).

    oneDNN stays on (``TF_ENABLE_ONEDNN_OPTS`` is left alone): without it TensorFlow's CPU
    convolutions in bfloat16 fall back to a slow path (how much slower: the README's CIFAR-10
    benchmark section), and its start-up line is silenced by :func:`begin`.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TensorFlow's Python warnings (e.g. "triggered tf.function retracing" when several
    # models are trained one after the other) are advice for library authors, not students.
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def set_seed(seed=0):
    """Seed Python, NumPy and the Keras backend, so a run can be repeated.

    GPU kernels may still differ in the last bits between runs; on a CPU the
    same seed gives the same weights and the same training curve.
    """
    seed = check_whole(seed, "seed", 0)
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)


def check_versions():
    """Return ``(keras_version, backend, backend_version)``; raise a helpful error on Keras 2."""
    import keras

    version = tuple(int(p) for p in keras.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_KERAS:
        raise RuntimeError(
            f"This course needs Keras 3 or newer; this kernel has Keras {keras.__version__}.\n"
            "Fix: pip install -U 'keras>=3' 'tensorflow>=2.16', then restart the kernel."
        )
    backend, backend_version = backend_and_version()
    return keras.__version__, backend, backend_version


def switch_hint(backend):
    """One line naming the running Keras ``backend`` and how to switch to another.

    >>> print(switch_hint("jax"))  # doctest: +ELLIPSIS
    Backend: jax. Every notebook runs on tensorflow, jax and torch. To switch, restart the kernel and set KERAS_BACKEND ...
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, got {type(backend).__name__}")
    supported = ", ".join(BACKENDS[:-1]) + " and " + BACKENDS[-1]
    caveat = "" if backend in BACKENDS else f" ({backend} cannot train: the course needs one of those three.)"
    return (f"Backend: {backend}.{caveat} Every notebook runs on {supported}. To switch, restart the kernel "
            "and set KERAS_BACKEND before the first `import keras` (from a shell: `KERAS_BACKEND=jax jupyter lab`; "
            "on Colab, a first cell `import os; os.environ[\"KERAS_BACKEND\"] = \"jax\"`).")


def _warm_up_backend():
    """Run one tiny op so the backend's first-use log lines (e.g. "no CUDA driver found")
    land in this cell, not in a later cell whose output nbval compares."""
    import keras

    keras.ops.convert_to_numpy(keras.ops.zeros((1,)) + 1)


def _inline_figures():
    """In a Jupyter kernel, draw figures inline even when ``MPLBACKEND`` names a
    non-interactive backend (with ``MPLBACKEND=Agg`` a notebook would save no figure)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to do
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Silence what C++ code writes to file descriptor 2 (TensorFlow's start-up lines such as
    "Could not find cuda drivers", which ``TF_CPP_MIN_LOG_LEVEL`` does not stop). Python
    exceptions are unaffected: they are raised, not written to the descriptor."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real descriptor 2 (some IDEs)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def begin(seed=0, verbose=True):
    """Prepare a notebook: quiet logs, check versions, seed everything, print the mode.

    Returns ``"fast"`` or ``"full"``.
    """
    quiet_tensorflow()
    with _native_stderr_silenced():
        keras_version, backend, backend_version = check_versions()
        set_seed(seed)
        _warm_up_backend()
        device = accelerator()
    _inline_figures()
    mode = config.mode_name()
    if verbose:
        from cnncourse import __version__

        what = ("FAST mode: small subsets, few epochs (set CNNCOURSE_FAST=0 to train for real)"
                if mode == "fast" else
                "FULL mode: full datasets, real training (set CNNCOURSE_FAST=1 for a quick run)")
        print(f"cnncourse {__version__} | Keras {keras_version} on {backend} {backend_version} ({device}) | {what}")
        print(switch_hint(backend))
    return mode
