"""CIFAR-10 in minutes: notebook 07's fast VGG recipe, timed to 90 % and 93 %, against the old recipe.

In one run on one machine:

1. the **new recipe** (``vgg7_cifar`` + ``cnncourse.cifar_recipe``: patch whitening, Dirac
   initialization, Nesterov SGD, label smoothing, alternating flips, lookahead, test-time
   augmentation) trains for ``--epochs`` epochs; after every epoch the test accuracy (with
   test-time augmentation) is measured *only to time the milestones*, as time-to-accuracy
   benchmarks do (DAWNBench, airbench); nothing is chosen from it. Training time leaves
   that evaluation out;
2. the **old recipe** (notebook 07 before: the 13-convolution ``vgg_cifar``, 30 epochs of
   45,000 images) is timed for two epochs on ``--old-images`` images, and its full run is
   estimated as seconds per image x 45,000 x 30.

Last line, machine-readable; this one is from the full run quoted in the README (the machine to itself)::

    vgg-cifar10 acc=0.9406 minutes=19.6 t90_min=13.0 t93_min=18.1 speedup=7.1x device="tensorflow 2.21.0 on CPU (2 cores, x86_64)"

``--val N`` holds out N training images and reports the milestones on them instead of
the test set, which is then never evaluated: that is how the recipe was tuned.

Examples (from the repository root)::

    CNNCOURSE_DATA=/path/to/datasets python benchmarks/cifar10.py            # the benchmark, ~25 min on 2 cores
    python benchmarks/cifar10.py --val 5000                                  # tuning run: validation split only
    python benchmarks/cifar10.py --train 2000 --test 500 --epochs 1 --old-images 200   # a smoke run
    python benchmarks/cifar10.py --model alexnet --epochs 2 --train 5000    # notebook 06's model, its recipe
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def peak_memory_mb():
    """Peak memory in MB: the accelerator's when known, else this process's resident peak."""
    from cnncourse.device import on_backend

    def jax_peak():
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        return stats["peak_bytes_in_use"] / 2**20 if "peak_bytes_in_use" in stats else None

    def tf_peak():
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        return None

    def torch_peak():
        import torch

        return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None

    try:
        peak = on_backend(tensorflow=tf_peak, jax=jax_peak, torch=torch_peak)
    except Exception:  # pragma: no cover - a backend without memory statistics
        peak = None
    if peak is not None:
        return peak, "device"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "host RSS"


#: Peak learning rates of the notebooks' one-cycle SGD recipes (old VGG, AlexNet), batch 500.
VGG_PEAK_LR = 0.1
ALEXNET_PEAK_LR = 0.05
#: The old recipe of notebook 07: 30 epochs of 45,000 images.
OLD_EPOCHS, OLD_IMAGES = 30, 45_000


def parse_args(argv=None):
    from cnncourse.config import budget

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("vgg", "alexnet"), default="vgg",
                        help="vgg: the fast recipe of notebook 07 (default); alexnet: notebook 06's "
                             "alexnet_cifar with its one-cycle recipe")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the notebook's budget)")
    parser.add_argument("--train", type=int, default=None,
                        help="training images, validation included (default: all 50,000 in full mode)")
    parser.add_argument("--val", type=int, default=0,
                        help="hold out this many training images and time the milestones on them; "
                             "the test set is then not used at all (default 0)")
    parser.add_argument("--test", type=int, default=None, help="test images (default: the budget)")
    parser.add_argument("--old-images", type=int, default=4_500,
                        help="images for timing two epochs of the old recipe; 0 to skip (default 4500)")
    parser.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16"), default="auto",
                        help="auto: bfloat16 where the CPU or GPU computes it natively")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    prefix = "vgg7" if args.model == "vgg" else "alexnet"
    args.epochs = args.epochs if args.epochs is not None else budget(f"{prefix}_epochs")
    args.train = args.train if args.train is not None else budget("cifar10_train")
    args.test = args.test if args.test is not None else budget("cifar10_test")
    for name in ("epochs", "train", "test"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.val < 0 or args.old_images < 0:
        parser.error("--val and --old-images must be >= 0")
    if args.train - args.val < 20:
        parser.error(f"--train minus --val must leave at least 20 training images, got {args.train - args.val}")
    if args.old_images and args.old_images < 20:
        parser.error(f"--old-images must be 0 or at least 20, got {args.old_images}")
    return args


def milestone(accuracies, seconds, target):
    """Minutes of training until ``accuracies`` first reach ``target`` (None if never)."""
    elapsed = 0.0
    for acc, sec in zip(accuracies, seconds):
        elapsed += sec
        if acc >= target:
            return elapsed / 60
    return None


def time_old_recipe(x, y, n_images, batch=500):
    """Seconds per training image of the old ``vgg_cifar`` recipe (second of two epochs)."""
    import keras
    import numpy as np

    from cnncourse.models import vgg_cifar
    from cnncourse.train import EpochTimer, compile_sgd, one_cycle_schedule

    keras.utils.set_random_seed(0)
    model = vgg_cifar()
    steps = int(np.ceil(n_images / batch))
    compile_sgd(model, one_cycle_schedule(VGG_PEAK_LR, 2 * steps, warmup_fraction=0.2))
    timer = EpochTimer()
    model.fit(x[:n_images], y[:n_images], epochs=2, batch_size=batch, callbacks=[timer], verbose=0)
    return timer.seconds[1] / n_images


def run_alexnet(args, x_train, y_train, x_eval, y_eval):
    import keras
    import numpy as np

    from cnncourse.models import alexnet_cifar
    from cnncourse.train import EpochTimer, compile_sgd, one_cycle_schedule

    keras.utils.set_random_seed(args.seed)
    model = alexnet_cifar(lrn=True)
    batch = 500
    steps = int(np.ceil(len(x_train) / batch))
    compile_sgd(model, one_cycle_schedule(ALEXNET_PEAK_LR, max(2, args.epochs * steps), warmup_fraction=0.2))
    timer = EpochTimer()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=batch, callbacks=[timer], verbose=2)
    _, acc = model.evaluate(x_eval, y_eval, batch_size=batch, verbose=0)
    return acc, timer.seconds


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    import keras
    import numpy as np

    from cnncourse import cifar_recipe
    from cnncourse.data import load_cifar10
    from cnncourse.models import vgg7_cifar
    from cnncourse.device import choose_precision, device_description, use_mixed_precision

    if args.precision == "auto":
        policy = use_mixed_precision("auto")
        reason = choose_precision()[1]
    else:
        policy, reason = use_mixed_precision(args.precision == "mixed_bfloat16"), "asked for"
    device = device_description()
    print(f"device: {device} | Keras {keras.__version__} | policy {policy} ({reason})", flush=True)
    start = time.perf_counter()
    (x_all, y_all), (x_test, y_test) = load_cifar10(n_train=args.train, n_test=args.test, seed=args.seed)
    if args.val:
        x_train, y_train = x_all[:-args.val], y_all[:-args.val]
        x_eval, y_eval, on = x_all[-args.val:], y_all[-args.val:], "validation"
    else:
        x_train, y_train, x_eval, y_eval, on = x_all, y_all, x_test, y_test, "test"
    print(f"data: {len(x_train)} training images, milestones on {len(x_eval)} {on} images "
          f"({time.perf_counter() - start:.1f} s to load)", flush=True)

    if args.model == "alexnet":
        acc, seconds = run_alexnet(args, x_train, y_train, x_eval, y_eval)
        memory, where = peak_memory_mb()
        print(f'alexnet-cifar10 acc={acc:.4f} epochs={len(seconds)} minutes={sum(seconds) / 60:.1f} '
              f's/epoch={np.median(seconds):.1f} peak_mem_mb={memory:.0f} device="{device}"', flush=True)
        return 0

    keras.utils.set_random_seed(args.seed)
    model = vgg7_cifar(x_train[:5000])
    print(f"model: {model.name}, {model.count_params():,} parameters; {args.epochs} epochs of "
          f"{int(np.ceil(len(x_train) / cifar_recipe.RECIPE['batch_size']))} steps; recipe {cifar_recipe.RECIPE}",
          flush=True)
    evaluate = cifar_recipe.EvalEachEpoch(x_eval, y_eval, name=on[:4])
    cifar_recipe.train(model, x_train, y_train, args.epochs, callbacks=[evaluate], seed=args.seed, verbose=2)
    final = cifar_recipe.accuracy_tta(model, x_eval, y_eval)       # after lookahead's last pull
    seconds = evaluate.train_seconds
    minutes = sum(seconds) / 60
    accs = evaluate.accuracy[:-1] + [final]
    t90, t93 = milestone(accs, seconds, 0.90), milestone(accs, seconds, 0.93)
    images_per_s = len(x_train) * len(seconds) / sum(seconds)
    memory, where = peak_memory_mb()
    print(f"{on} accuracy (test-time augmentation) after each epoch: "
          + " ".join(f"{a:.4f}" for a in accs))
    print(f"training seconds per epoch: " + " ".join(f"{s:.0f}" for s in seconds)
          + f" | {images_per_s:.0f} images/s | {np.median(seconds) / len(x_train) * 1e3:.2f} ms per image")
    speedup_text = "n/a"
    fmt = lambda t: "none" if t is None else f"{t:.1f}"   # noqa: E731
    if args.old_images:
        old_per_image = time_old_recipe(x_train, y_train, min(args.old_images, len(x_train)))
        old_minutes = old_per_image * OLD_IMAGES * OLD_EPOCHS / 60
        speedup_text = f"{old_minutes / t93:.1f}x" if t93 is not None else "none"   # only to the same goal
        print(f"old recipe (vgg_cifar, {policy}): {old_per_image * 1e3:.2f} ms per training image "
              f"-> {OLD_EPOCHS} epochs x {OLD_IMAGES:,} images = {old_minutes:.0f} min; new recipe to 93 %: "
              f"{fmt(t93)} min", flush=True)
    print(f"peak memory {memory:.0f} MB ({where}); accuracy measured on the {on} set")
    print(f'vgg-cifar10 acc={final:.4f} minutes={minutes:.1f} t90_min={fmt(t90)} t93_min={fmt(t93)} '
          f'speedup={speedup_text} device="{device}"', flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
