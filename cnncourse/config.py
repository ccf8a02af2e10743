"""The course's two switches, read here and nowhere else, and the sizes they decide.

``CNNCOURSE_FAST=1``
    Fast mode: small subsets and few epochs, so that every notebook runs in
    seconds. Tests and CI run in it. Unset (or ``0``), notebooks train for real.
``CNNCOURSE_DATA=DIR``
    A folder holding the datasets' canonical files (``mnist/*.gz`` and
    ``cifar-10-python.tar.gz``), read instead of downloading with ``keras.datasets``.

Notebooks never hard-code a subset size or an epoch count: they ask
:func:`budget`, which looks the name up in :data:`BUDGETS` and answers for the
current mode.

Example
-------
>>> import os
>>> os.environ["CNNCOURSE_FAST"] = "1"
>>> budget("mnist_train")
2000
"""
from __future__ import annotations

import os
from pathlib import Path

FAST_VAR = "CNNCOURSE_FAST"
DATA_VAR = "CNNCOURSE_DATA"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

#: name -> (full mode, fast mode). One table for the whole course.
BUDGETS: dict[str, tuple[int, int]] = {
    # default subset sizes of the data loaders
    "mnist_train": (60_000, 2_000),
    "mnist_test": (10_000, 1_000),
    "cifar10_train": (50_000, 1_000),
    "cifar10_test": (10_000, 500),
    # 01_why_convnets
    "why_epochs": (2, 2),          # epochs of the dense net and the two ConvNets
    "why_aug_epochs": (6, 3),      # the dense net trained on shifted digits needs more
    "why_shift_test": (2000, 500), # test digits moved by 0..8 px in four directions
    "why_map_test": (400, 100),    # test digits moved over a 2-D grid of shifts
    # 03_pooling
    "pool_shift_images": (2000, 200),   # MNIST digits shifted to measure what pooling keeps
    # 04_fully_connected_and_training
    "fc_train": (20_000, 1_000),        # training images for the GradientTape loop and model.fit
    "fc_test": (10_000, 500),
    "fc_epochs": (3, 2),
    "fc_triplet_steps": (1_000, 40),    # custom training steps of the triplet embedding net
    "fc_triplet_eval": (2_000, 300),    # test triplets used to measure distances before/after
    # 05_lenet5 (also benchmarks/lenet5.py)
    "lenet_epochs": (10, 3),            # epochs of the course's training recipe
    "lenet_val": (5_000, 200),          # training digits held out for validation
    "lenet_precision_steps": (20, 3),   # timed steps, float32 against mixed_float16
    # 06_alexnet and 07_vgg16 (also benchmarks/cifar10.py): CIFAR-10 images, epochs, batch size
    "alexnet_train": (50_000, 300),     # of which 10 % are held out for validation
    "alexnet_test": (10_000, 200),
    "alexnet_epochs": (24, 1),          # 18 still underfit (training ≈ validation accuracy, both rising)
    "alexnet_batch": (500, 100),
    "vgg_train": (50_000, 300),
    "vgg_test": (10_000, 200),
    "vgg_epochs": (30, 1),
    "vgg_batch": (500, 100),
    "vgg_lenet_epochs": (30, 1),        # LeNet-5 on CIFAR-10, the comparison in 07
    "vgg7_epochs": (12, 1),             # the fast VGG recipe of 07 (cnncourse.cifar_recipe); 12 beat 10 on validation
    "vgg7_batch": (500, 50),
    "vgg7_ablation_train": (10_000, 300),   # 07's ablation: training images of each short run
    "vgg7_ablation_epochs": (4, 1),
    # 08_visualizing_convnets
    "vis_mnist_train": (30_000, 1_000), # LeNet-5's training digits
    "vis_lenet_epochs": (3, 1),
    "vis_cifar_train": (20_000, 500),   # the small CIFAR-10 ConvNet's training images
    "vis_cifar_epochs": (8, 1),
    "vis_test": (2_000, 200),           # test images to find right and wrong predictions, probes
    "vis_probe_train": (3_000, 300),    # images for the linear probes of each layer
    "vis_am_steps": (120, 10),          # gradient-ascent steps of activation maximization
    "vis_gap_epochs": (4, 1),           # the MNIST ConvNet with a global-average-pooling head, for Grad-CAM
    "vis_vgg16": (1, 0),                # 1: try the optional ImageNet VGG-16 section
    # 09_applications
    "apps_train": (6_000, 400),         # training canvases (one digit each)
    "apps_test": (1_000, 100),
    "apps_epochs": (10, 1),
    "apps_scenes": (100, 10),           # multi-digit scenes for the detection taste
    # 01_why_convnets
    "why_val": (5_000, 200),            # training digits held out for validation
    "why_timed_steps": (20, 3),         # training steps timed per network, apart from the fits
}


def fast_mode() -> bool:
    """True when ``CNNCOURSE_FAST`` asks for fast mode (``1``, ``true``, ``yes``, ``on``)."""
    value = os.environ.get(FAST_VAR, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{FAST_VAR}={value!r} is not understood: use 1 (fast mode) or 0 / unset (full mode)."
    )


def mode_name() -> str:
    """``"fast"`` or ``"full"``."""
    return "fast" if fast_mode() else "full"


def data_dir() -> Path | None:
    """The folder named by ``CNNCOURSE_DATA``, or ``None`` when it is unset.

    Raises
    ------
    FileNotFoundError
        When the variable names a folder that does not exist.
    """
    value = os.environ.get(DATA_VAR, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{DATA_VAR}={value!r} is not a folder. Point it at a folder holding "
            "mnist/*.gz and cifar-10-python.tar.gz, or unset it to download with keras.datasets."
        )
    return path


def budget(name: str) -> int:
    """The size or count called ``name`` for the current mode (see :data:`BUDGETS`)."""
    if not isinstance(name, str) or name not in BUDGETS:
        known = ", ".join(sorted(BUDGETS))
        raise KeyError(f"budget name {name!r} is unknown; known names: {known}")
    full, fast = BUDGETS[name]
    return fast if fast_mode() else full
