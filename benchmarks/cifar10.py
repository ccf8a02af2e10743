"""Train the CIFAR-10 VGG variant (notebook 07's recipe) for an epoch or time budget, and time it.

Prints the device, then one line per epoch, then a summary whose last line is
machine-readable::

    vgg-cifar10 acc=0.9312 epochs=30 s/epoch=4.1 peak_mem_mb=2310 device="jax 0.4.35 on gpu:0 (NVIDIA H100 80GB HBM3)"

``s/epoch`` leaves out the first epoch when there are several (it also compiles).
``peak_mem_mb`` is the accelerator's peak memory when the backend reports it (JAX,
TensorFlow on a GPU), else the process's peak resident memory.

Examples (from the repository root)::

    CNNCOURSE_DATA=/path/to/datasets python benchmarks/cifar10.py                 # notebook 07's budget
    python benchmarks/cifar10.py --epochs 1 --train 2000 --test 1000               # a quick CPU timing
    python benchmarks/cifar10.py --minutes 10                                      # as many epochs as fit
    KERAS_BACKEND=jax python benchmarks/cifar10.py --model alexnet --epochs 18     # notebook 06's model

With ``--minutes`` the schedule is planned for ``--epochs`` epochs and training stops
at the first epoch end past the time limit (the accuracy is then that of a cut-short run).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def peak_memory_mb():
    """Peak memory in MB: the accelerator's when known, else this process's resident peak."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            stats = jax.devices()[0].memory_stats() or {}
            if "peak_bytes_in_use" in stats:
                return stats["peak_bytes_in_use"] / 2**20, "device"
        elif backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_physical_devices("GPU"):
                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20, "device"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.max_memory_allocated() / 2**20, "device"
    except Exception:  # pragma: no cover - a backend without memory statistics
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "host RSS"


def parse_args(argv=None):
    from cnncourse.config import budget

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("vgg", "alexnet"), default="vgg",
                        help="vgg_cifar (notebook 07, default) or alexnet_cifar (notebook 06)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs (default: the notebook's budget for the current mode)")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--train", type=int, default=None, help="training images (default: the budget)")
    parser.add_argument("--test", type=int, default=None, help="test images (default: the budget)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: the budget)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the notebook's)")
    parser.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16"), default="auto",
                        help="auto: bfloat16 on a GPU, float32 on a CPU")
    args = parser.parse_args(argv)
    prefix = "vgg" if args.model == "vgg" else "alexnet"
    args.epochs = args.epochs if args.epochs is not None else budget(f"{prefix}_epochs")
    args.train = args.train if args.train is not None else budget(f"{prefix}_train")
    args.test = args.test if args.test is not None else budget(f"{prefix}_test")
    args.batch = args.batch if args.batch is not None else budget(f"{prefix}_batch")
    args.lr = args.lr if args.lr is not None else (VGG_PEAK_LR if args.model == "vgg" else ALEXNET_PEAK_LR)
    for name in ("epochs", "train", "test", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.train < 20:
        parser.error(f"--train must be at least 20 (10 % are held out for validation), got {args.train}")
    if args.minutes is not None and args.minutes <= 0:
        parser.error(f"--minutes must be > 0, got {args.minutes}")
    if args.lr <= 0:
        parser.error(f"--lr must be > 0, got {args.lr}")
    return args


#: The notebooks' peak learning rates (SGD, momentum 0.9, batch 500).
VGG_PEAK_LR = 0.1
ALEXNET_PEAK_LR = 0.05


def time_limit(seconds):
    """A Keras callback that stops training at the end of the first epoch past ``seconds``."""
    import keras

    class TimeLimit(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.start > seconds:
                self.model.stop_training = True

    return TimeLimit()


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    import keras
    import numpy as np

    from cnncourse.data import load_cifar10
    from cnncourse.models import alexnet_cifar, vgg_cifar
    from cnncourse.models.common import (EpochTimer, compile_sgd, count_macs, device_description,
                                         one_cycle_schedule, use_mixed_precision)

    policy = (use_mixed_precision("auto") if args.precision == "auto"
              else use_mixed_precision(args.precision == "mixed_bfloat16"))
    device = device_description()
    print(f"device: {device} | Keras {keras.__version__} | policy {policy}", flush=True)
    start = time.perf_counter()
    (x_all, y_all), (x_test, y_test) = load_cifar10(n_train=args.train, n_test=args.test)
    n_val = len(x_all) // 10
    x_train, y_train, x_val, y_val = x_all[:-n_val], y_all[:-n_val], x_all[-n_val:], y_all[-n_val:]
    print(f"data: {len(x_train)} train, {len(x_val)} validation, {len(x_test)} test "
          f"({time.perf_counter() - start:.1f} s to load)", flush=True)

    keras.utils.set_random_seed(0)
    model = vgg_cifar() if args.model == "vgg" else alexnet_cifar(lrn=True)
    steps = int(np.ceil(len(x_train) / args.batch))
    compile_sgd(model, one_cycle_schedule(args.lr, max(2, args.epochs * steps), warmup_fraction=0.2))
    print(f"model: {model.name}, {model.count_params():,} parameters, "
          f"{count_macs(model) / 1e6:.0f} M multiply-adds per image; {args.epochs} epochs of {steps} "
          f"steps (batch {args.batch}), peak learning rate {args.lr}", flush=True)

    timer = EpochTimer()
    callbacks = [timer] + ([time_limit(args.minutes * 60)] if args.minutes else [])
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
                        batch_size=args.batch, callbacks=callbacks, verbose=2)
    _, test_acc = model.evaluate(x_test, y_test, batch_size=args.batch, verbose=0)
    done = len(timer.seconds)
    per_epoch = float(np.mean(timer.seconds[1:] if done > 1 else timer.seconds))
    memory, where = peak_memory_mb()
    print(f"epochs run {done}, first epoch {timer.seconds[0]:.1f} s (with compilation), "
          f"then {per_epoch:.2f} s/epoch = {per_epoch / len(x_train) * 1e3:.3f} ms per training image; "
          f"total {sum(timer.seconds):.0f} s; final validation accuracy {history.history['val_accuracy'][-1]:.4f}; "
          f"peak memory {memory:.0f} MB ({where})")
    name = "vgg-cifar10" if args.model == "vgg" else "alexnet-cifar10"
    print(f'{name} acc={test_acc:.4f} epochs={done} s/epoch={per_epoch:.2f} '
          f'peak_mem_mb={memory:.0f} device="{device}"', flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
