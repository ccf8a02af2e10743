"""cnncourse: the helper package of a Keras course on convolutional neural networks.

Modules (import the one you need; none imports TensorFlow at package import):

- :mod:`cnncourse.config`  — fast/full mode and dataset folder switches, sizes per mode
- :mod:`cnncourse.session` — the first cell of every notebook (seeds, versions, mode)
- :mod:`cnncourse.data`    — MNIST and CIFAR-10 loaders, subsets, shifts
"""
__version__ = "0.1.0"
