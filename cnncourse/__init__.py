"""cnncourse: the helper package of a Keras course on convolutional neural networks.

Modules (import the one you need; importing the package imports no TensorFlow). Each idea has
one home; CONTRIBUTING.md has the full table and which notebook uses which module.

- :mod:`cnncourse.config`       — fast/full mode and dataset folder switches, sizes per mode
- :mod:`cnncourse.session`      — the first cell of every notebook (seeds, versions, mode)
- :mod:`cnncourse.device`       — the one backend switch: GPU or CPU, bfloat16 or float32
- :mod:`cnncourse.checks`       — every argument check (TypeError for a wrong type, ValueError for a wrong value)
- :mod:`cnncourse.data`         — MNIST and CIFAR-10 loaders, subsets, shifts
- :mod:`cnncourse.ops`          — NumPy convolution and pooling; sizes, receptive fields, counts
- :mod:`cnncourse.losses`       — NumPy reference losses
- :mod:`cnncourse.layers`       — the layers and initializers the course adds to Keras
- :mod:`cnncourse.models`       — every model builder
- :mod:`cnncourse.train`        — compile helpers, schedules, timer, data pipelines
- :mod:`cnncourse.cifar_recipe` — notebook 07's CIFAR-10 training recipe
- :mod:`cnncourse.interpret`    — what a trained ConvNet computes, as arrays
- :mod:`cnncourse.plots`        — everything that draws
- :mod:`cnncourse.applications` — localization and segmentation data and measures
- :mod:`cnncourse.colab`        — the Colab badge and setup cells (the address is in ``colab.json``)
- :mod:`cnncourse.exercises`    — the exercises' checkers: core, answer checks, problem types, ``exNN``
- :mod:`cnncourse.instructor`   — release student copies, grade submissions, check notebook structure
"""
__version__ = "0.1.0"
