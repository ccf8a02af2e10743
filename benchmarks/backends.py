"""The course on Keras's three backends, side by side on this machine: which one should a CPU student pick?

In one run, for each backend (TensorFlow, JAX, PyTorch):

1. **the notebooks**: the wall time of each of the nine executed top to bottom in fast mode
   (``CNNCOURSE_FAST=1``, what CI runs), with a fresh kernel each, as a student's
   "Restart and run all";
2. **training throughput**, in training images per second, of the two networks that take most of
   a full run: LeNet-5 compiled with notebook 05's recipe (``train.compile_lenet5``, float32, batch
   128, 32x32x1) and notebook 07's CIFAR-10 network (``vgg7_cifar`` compiled by
   ``cifar_recipe.compile_recipe``, batch 512, the precision ``device.use_mixed_precision("auto")``
   picks), each timed as the median of ``--repeats`` runs of ``--steps`` ``train_on_batch`` calls
   after a warm-up (the first steps compile).

Each notebook runs on the three backends in turn (interleaved, so that a change in the machine's
load weighs on all three alike), each in a fresh kernel; the throughput workers run one after the
other in fresh processes. Ratios are to TensorFlow in the same run. Prints a Markdown table (the README's "Three backends" section holds
one) and a last line per backend, machine-readable.

Examples (from the repository root, after ``pip install -r requirements-backends.txt``)::

    CNNCOURSE_DATA=/path/to/datasets python benchmarks/backends.py          # everything, ~30 min on 2 cores
    python benchmarks/backends.py --notebooks none --steps 5 --repeats 2    # throughput only, quick
    python benchmarks/backends.py --backends tensorflow,jax --notebooks 02,03
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
from cnncourse.device import BACKENDS  # noqa: E402  (imports no backend)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated, from tensorflow, jax, torch (default: all three)")
    parser.add_argument("--notebooks", default="all",
                        help="'all', 'none' or comma-separated numbers such as 02,05 (default: all)")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed run (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per network (default 3)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if not backends or unknown:
        parser.error(f"--backends must name some of {', '.join(BACKENDS)}, got {args.backends!r}")
    args.backends = backends
    for name in ("steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    args.notebooks = select_notebooks(args.notebooks, parser.error)
    return args


def select_notebooks(spec, error):
    """The notebook paths that ``spec`` ('all', 'none' or '02,05') names."""
    found = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if spec == "all":
        return found
    if spec == "none":
        return []
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = [p for p in found if p.name[:2] in wanted]
    missing = sorted(set(wanted) - {p.name[:2] for p in chosen})
    if missing or not chosen:
        error(f"--notebooks must be 'all', 'none' or numbers of notebooks/NN_*.ipynb, got {spec!r}")
    return chosen


# ---------------------------------------------------------------------------- inside one backend

def images_per_second(model, x, y, steps, repeats):
    """Median training images per second over ``repeats`` runs of ``steps`` train_on_batch calls."""
    for _ in range(3):                                     # warm-up: the first calls compile
        model.train_on_batch(x, y)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        rates.append(steps * len(x) / (time.perf_counter() - start))
    return statistics.median(rates)


def worker(args):
    """Measure both networks' throughput on the backend of this process; print one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from cnncourse import cifar_recipe, train
    from cnncourse.device import backend_and_version, use_mixed_precision
    from cnncourse.models import lenet5, vgg7_cifar

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    batch = train.LENET5_RECIPE["batch_size"]
    model = train.compile_lenet5(lenet5(), steps_per_epoch=100, epochs=10)
    lenet = images_per_second(model, rng.random((batch, 32, 32, 1), dtype="float32"),
                              rng.integers(0, 10, batch), args.steps, args.repeats)

    policy = use_mixed_precision("auto")
    batch = cifar_recipe.RECIPE["batch_size"]
    x = rng.random((batch, 32, 32, 3), dtype="float32")
    model = cifar_recipe.compile_recipe(vgg7_cifar(x), total_steps=1000)
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, batch)]          # the recipe takes one-hot labels
    cifar = images_per_second(model, x, y, args.steps, args.repeats)
    name, version = backend_and_version()
    print(json.dumps({"backend": name, "version": version, "lenet5": lenet, "cifar": cifar, "policy": policy}))


# ---------------------------------------------------------------------------- the driver

def run_notebook(path, backend, timeout=1800):
    """Seconds to execute ``path`` top to bottom in fast mode on ``backend`` (a fresh kernel), or None."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in ("KERAS_BACKEND", "CNNCOURSE_FAST")}
    os.environ.update(KERAS_BACKEND=backend, CNNCOURSE_FAST="1")   # the kernel inherits them
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as exc:                               # a failing notebook is reported, not timed
        print(f"  {path.name} on {backend} failed: {type(exc).__name__}: {str(exc)[-300:]}", flush=True)
        return None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return time.perf_counter() - start


def throughput(backend, args):
    env = dict(os.environ, KERAS_BACKEND=backend, CNNCOURSE_FAST="1")
    run = subprocess.run([sys.executable, __file__, "--worker", "--steps", str(args.steps),
                          "--repeats", str(args.repeats)], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        print(f"  throughput on {backend} failed:\n{run.stderr[-1500:]}", flush=True)
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])


def table(results, notebooks):
    """The Markdown table: one row per notebook and network, one column per backend (ratio to TensorFlow)."""
    backends = list(results)
    base = "tensorflow" if "tensorflow" in results else backends[0]

    def cell(value, ref, unit):
        if value is None:
            return "failed"
        text = f"{value:,.0f} {unit}"
        return text + (f" ({value / ref:.2f}x)" if ref else "")

    head = "| | " + " | ".join(f"{b} {results[b]['version']}" for b in backends) + " |"
    lines = [head, "|---" * (len(backends) + 1) + "|"]
    for path in notebooks:
        ref = results[base]["notebooks"].get(path.name)
        lines.append(f"| {path.stem} (fast mode) | " + " | ".join(
            cell(results[b]["notebooks"].get(path.name), ref, "s") for b in backends) + " |")
    if notebooks:
        totals = {b: (None if any(results[b]["notebooks"].get(p.name) is None for p in notebooks)
                      else sum(results[b]["notebooks"][p.name] for p in notebooks)) for b in backends}
        lines.append(f"| **all {len(notebooks)} notebooks** | " + " | ".join(
            cell(totals[b], totals[base], "s") for b in backends) + " |")
    for key, label in (("lenet5", "LeNet-5 training (05's recipe)"), ("cifar", "CIFAR-10 VGG training (07's recipe)")):
        ref = (results[base]["throughput"] or {}).get(key)
        lines.append(f"| {label} | " + " | ".join(
            cell((results[b]["throughput"] or {}).get(key), ref, "img/s") for b in backends) + " |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = {b: {"notebooks": {}, "version": "?", "throughput": None} for b in args.backends}
    # Interleaved (each notebook on every backend in turn), so that a change in the machine's load
    # during the run weighs on the three alike.
    for path in args.notebooks:
        for backend in args.backends:
            seconds = run_notebook(path, backend)
            results[backend]["notebooks"][path.name] = seconds
            print(f"  {path.name} on {backend}: " + ("failed" if seconds is None else f"{seconds:.0f} s"), flush=True)
    for backend in args.backends:
        entry = results[backend]
        entry["throughput"] = throughput(backend, args)
        if entry["throughput"]:
            entry["version"] = entry["throughput"]["version"]
            print(f"  {backend}: LeNet-5 {entry['throughput']['lenet5']:.0f} img/s, CIFAR VGG "
                  f"{entry['throughput']['cifar']:.0f} img/s ({entry['throughput']['policy']})", flush=True)
    print()
    print("Times in seconds (lower is better), throughput in training images per second (higher is better); "
          "in brackets, the ratio to TensorFlow measured in this run.")
    print(table(results, args.notebooks))
    for backend, entry in results.items():
        total = sum(v for v in entry["notebooks"].values() if v is not None)
        failed = sum(v is None for v in entry["notebooks"].values())
        t = entry["throughput"] or {}
        print(f"backend={backend} notebooks_s={total:.0f} failed={failed} "
              f"lenet5_img_s={t.get('lenet5', 0):.0f} cifar_img_s={t.get('cifar', 0):.0f}")
    return 1 if any(v is None for e in results.values() for v in e["notebooks"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
