"""LeNet-5 with the course's recipe against the keras-io ``mnist_convnet`` example, on one machine.

Both models train on the same MNIST files, on the same machine, in the same run,
each in a fresh subprocess (so each one's peak memory is its own):

(a) ``lenet5``: ``cnncourse.models.lenet5()`` on digits padded to 32x32, trained with
    notebook 05's recipe (``cnncourse.train.LENET5_RECIPE``): a ``tf.data`` pipeline
    with random shifts of up to 2 pixels, batches of 128, Adam with a short
    warm-up and a cosine decay, 5,000 training digits held out for validation.
(b) ``keras-io``: the example https://keras.io/examples/vision/mnist_convnet/ as
    published: 28x28 digits, conv 3x3x32, max-pool, conv 3x3x64, max-pool, flatten,
    dropout 0.5, dense 10 softmax; categorical labels, Adam (default rate),
    batch size 128, 15 epochs, ``validation_split=0.1``.

After every epoch the test accuracy (all 10,000 test digits) is measured.
``t99`` is the *training* wall time (each epoch's ``fit`` time, its own
validation pass included, the first epoch's graph building too) summed up to the
end of the first epoch whose test accuracy reaches the target (0.990). The
test evaluations themselves are excluded, for both models alike. Peak memory is
the subprocess's maximum resident set size. The last line printed is::

    lenet5 acc=0.9931 t99=41.2s | keras-io acc=0.9912 t99=95.0s | speedup=2.31x

Usage::

    python benchmarks/lenet5.py              # the full benchmark (about 5 minutes on 2 free cores)
    python benchmarks/lenet5.py --quick      # a smoke run on a subset, seconds
    python benchmarks/lenet5.py --epochs 10 --keras-io-epochs 15 --target 0.99

Needs the MNIST files: ``CNNCOURSE_DATA`` pointing at the offline folder, or internet.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MARK = "BENCHMARK-RESULT "


# ----------------------------------------------------------------------------- arguments

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (exclusive), got {text!r}")
    return value


def parse_args(argv=None):
    from cnncourse import config

    default_epochs = config.BUDGETS["lenet_epochs"][0]
    parser = argparse.ArgumentParser(
        description="Time LeNet-5 (course recipe) and keras-io's mnist_convnet to 99% test accuracy.")
    parser.add_argument("--epochs", type=_positive_int, default=default_epochs,
                        help=f"epochs of LeNet-5's recipe (default {default_epochs}, as notebook 05)")
    parser.add_argument("--keras-io-epochs", type=_positive_int, default=15,
                        help="epochs of the keras-io example (default 15, as published)")
    parser.add_argument("--target", type=_fraction, default=0.99,
                        help="test accuracy whose first reaching is timed (default 0.99)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 6,000 training and 2,000 test digits, 2 epochs each")
    parser.add_argument("--seed", type=int, default=0, help="seed of both runs (default 0)")
    parser.add_argument("--worker", choices=("lenet5", "keras-io"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.keras_io_epochs = min(args.epochs, 2), min(args.keras_io_epochs, 2)
    return args


# ----------------------------------------------------------------------------- one model, in a subprocess

def _load(quick, pad):
    from cnncourse import data

    n_train, n_test = (6000, 2000) if quick else (60_000, 10_000)
    return data.load_mnist(pad=pad, n_train=n_train, n_test=n_test, seed=0)


def _timing_callback(x_test, y_test, target, evaluate):
    import keras

    class Timer(keras.callbacks.Callback):
        """Sums each epoch's fit time; measures the test accuracy outside that time."""

        def __init__(self):
            super().__init__()
            self.train_time, self.epochs = 0.0, []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.train_time += time.perf_counter() - self._start   # epoch + its validation pass
            accuracy = evaluate(self.model, x_test, y_test)
            self.epochs.append({"epoch": epoch + 1, "train_s": round(self.train_time, 2),
                                "test_acc": round(accuracy, 4)})
            print(f"  epoch {epoch + 1:2d}  train {self.train_time:7.1f}s  test acc {accuracy:.4f}",
                  file=sys.stderr, flush=True)

    return Timer()


def run_lenet5(args):
    import numpy as np

    from cnncourse import config
    from cnncourse.models import lenet5
    from cnncourse.train import LENET5_RECIPE, batch_shift_dataset, compile_lenet5

    (x, y), (x_test, y_test) = _load(args.quick, pad=True)
    # the notebook's split: the last 5,000 of a shuffled training set are held out for validation
    order = np.random.default_rng(args.seed).permutation(len(x))
    n_val = 500 if args.quick else config.BUDGETS["lenet_val"][0]   # 5,000, as the notebook
    val, tr = order[:n_val], order[n_val:]
    ds = batch_shift_dataset(x[tr], y[tr], seed=args.seed)
    steps = math.ceil(len(tr) / LENET5_RECIPE["batch_size"])
    model = compile_lenet5(lenet5(), steps_per_epoch=steps, epochs=args.epochs)

    def evaluate(m, xt, yt):
        return float(m.evaluate(xt, yt, batch_size=1000, verbose=0)[1])

    timer = _timing_callback(x_test, y_test, args.target, evaluate)
    # shuffle=False: the pipeline shuffles already (Keras would warn that it cannot)
    model.fit(ds, epochs=args.epochs, validation_data=(x[val], y[val]), shuffle=False, verbose=0,
              callbacks=[timer])
    return timer.epochs, model.count_params()


def keras_io_model(input_shape=(28, 28, 1), num_classes=10):
    """The model of https://keras.io/examples/vision/mnist_convnet/, layer for layer."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])


def run_keras_io(args):
    import keras

    (x, y), (x_test, y_test) = _load(args.quick, pad=False)
    y_cat = keras.utils.to_categorical(y, 10)
    y_test_cat = keras.utils.to_categorical(y_test, 10)
    model = keras_io_model()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    def evaluate(m, xt, yt):
        return float(m.evaluate(xt, yt, batch_size=1000, verbose=0)[1])

    timer = _timing_callback(x_test, y_test_cat, args.target, evaluate)
    model.fit(x, y_cat, batch_size=128, epochs=args.keras_io_epochs, validation_split=0.1,
              verbose=0, callbacks=[timer])
    return timer.epochs, model.count_params()


def worker(args):
    import resource

    import keras

    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    epochs, params = run_lenet5(args) if args.worker == "lenet5" else run_keras_io(args)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(MARK + json.dumps({"model": args.worker, "epochs": epochs, "params": params,
                             "peak_mib": round(peak_kib / 1024),
                             "wall_s": round(time.perf_counter() - start, 1)}), flush=True)


# ----------------------------------------------------------------------------- the comparison

def summarize(result, target):
    """Final accuracy, epochs and training seconds until ``target`` was first reached (or None)."""
    epochs = result["epochs"]
    hit = next((e for e in epochs if e["test_acc"] >= target), None)
    return {
        "model": result["model"],
        "final_acc": epochs[-1]["test_acc"],
        "best_acc": max(e["test_acc"] for e in epochs),
        "epochs_run": len(epochs),
        "train_s": epochs[-1]["train_s"],
        "t_target": hit["train_s"] if hit else None,
        "epochs_target": hit["epoch"] if hit else None,
        "peak_mib": result["peak_mib"],
        "params": result["params"],
    }


def final_line(ours, theirs):
    def t(s):
        return "never" if s["t_target"] is None else f"{s['t_target']:.1f}s"

    if ours["t_target"] and theirs["t_target"]:
        speedup = f"{theirs['t_target'] / ours['t_target']:.2f}x"
    else:
        speedup = "n/a"
    return (f"lenet5 acc={ours['final_acc']:.4f} t99={t(ours)} | "
            f"keras-io acc={theirs['final_acc']:.4f} t99={t(theirs)} | speedup={speedup}")


def _load_average():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "?"


def main(argv=None):
    sys.path.insert(0, ROOT)
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    from importlib.metadata import PackageNotFoundError, version

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
          f"Python {platform.python_version()}, Keras {installed('keras')}, "
          f"TensorFlow {installed('tensorflow')} (backend {os.environ.get('KERAS_BACKEND', 'tensorflow')})")
    print(f"load average before: {_load_average()}  (other processes share these cores)")
    print(f"mode: {'QUICK smoke run (subset)' if args.quick else 'full MNIST'}; target test accuracy "
          f"{args.target}; t = training time incl. each epoch's validation, excl. test evaluation\n")
    results = {}
    for name in ("lenet5", "keras-io"):
        print(f"training {name} ...", flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--epochs", str(args.epochs),
               "--keras-io-epochs", str(args.keras_io_epochs), "--target", str(args.target),
               "--seed", str(args.seed)] + (["--quick"] if args.quick else [])
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # TensorFlow's start-up chatter off
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
        if proc.returncode != 0 or not lines:
            print(f"{name} failed (exit code {proc.returncode}); its output:\n{proc.stdout}", file=sys.stderr)
            return 1
        results[name] = summarize(json.loads(lines[-1][len(MARK):]), args.target)
    print(f"\nload average after: {_load_average()}\n")

    pct = f"{args.target:.1%}"
    header = (f"{'model':9s} {'params':>7s} {'epochs':>6s} {'final acc':>9s} {'best acc':>8s} "
              f"{'train s':>8s} {'to ' + pct:>10s} {'epochs to':>9s} {'peak MiB':>8s}")
    print(header)
    print("-" * len(header))
    for name, s in results.items():
        t = "never" if s["t_target"] is None else f"{s['t_target']:.1f}s"
        e = "-" if s["epochs_target"] is None else str(s["epochs_target"])
        print(f"{name:9s} {s['params']:7,d} {s['epochs_run']:6d} {s['final_acc']:9.4f} {s['best_acc']:8.4f} "
              f"{s['train_s']:8.1f} {t:>10s} {e:>9s} {s['peak_mib']:8d}")
    print()
    print(final_line(results["lenet5"], results["keras-io"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
