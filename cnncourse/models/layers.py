"""Layers and an initializer the fast CIFAR-10 VGG needs and Keras does not ship.

:class:`PatchWhitening`
    A frozen 2x2 convolution whose filters decorrelate the pixels of every 2x2 patch
    (computed from training images with :meth:`PatchWhitening.adapt`, as Keras's
    ``Normalization.adapt`` computes a mean and a variance).
:class:`Dirac`
    Initializer: the first filters of a convolution start as the identity
    (they pass their input channel through), the others at random.
:class:`ScaledBias`
    A bias added after a normalization, with its learning rate multiplied
    (``x + scale * b``: a gradient step on ``b`` moves the output ``scale**2`` times as far).

All three are backend-agnostic Keras 3 (``keras.ops``).

Example
-------
>>> import numpy as np
>>> layer = PatchWhitening()
>>> layer.adapt(np.random.default_rng(0).random((64, 32, 32, 3), dtype="float32"))
>>> out = layer(np.zeros((1, 32, 32, 3), "float32"))
>>> tuple(out.shape)            # 2x2 "valid": one pixel less; 2 x 12 filters (+ and -)
(1, 31, 31, 24)
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from cnncourse.checks import check_number, check_whole

#: Fewest images :meth:`PatchWhitening.adapt` accepts: below that the 12x12 patch
#: covariance of a 2x2x3 patch is estimated from too few images to be trusted.
MIN_WHITENING_IMAGES = 16


def torch_uniform(seed=None):
    """Uniform in ``+-1/sqrt(fan_in)``: PyTorch's default initialization of convolutions and
    dense layers, which the airbench recipe's hyper-parameters were tuned with."""
    return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform", seed=seed)


def patch_whitening_kernel(images, patch=2, eps=5e-4):
    """Filters that whiten the ``patch`` x ``patch`` patches of ``images``.

    The patches' second-moment matrix ``C`` (12 x 12 for 2x2x3 patches) has
    eigenvectors ``v_i`` and eigenvalues ``l_i``; filter ``i`` is ``v_i / sqrt(l_i + eps)``,
    so the filtered patches have (almost) identity covariance: every output channel
    carries one independent "direction" of the patch, scaled to unit variance, from
    the smooth average colour (largest ``l``) to pixel-to-pixel noise (smallest).
    Each filter is returned twice, ``+v`` and ``-v``, so that a ReLU or GELU after it
    keeps both signs.

    Parameters
    ----------
    images : array, shape (n, height, width, channels)
        Normalized training images, ``n >= MIN_WHITENING_IMAGES``.
    patch : int >= 1
        Side of the patches (and of the filters).
    eps : float > 0
        Added to each eigenvalue so that the near-zero ones do not blow up.

    Returns
    -------
    float32 array, shape (patch, patch, channels, 2 * patch * patch * channels)
        A Keras ``Conv2D`` kernel, largest eigenvalue first.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(32, 8, 8, 3)).astype("float32")
    >>> patch_whitening_kernel(x).shape
    (2, 2, 3, 24)
    """
    patch = check_whole(patch, "patch", 1)
    eps = check_number(eps, "eps", 0.0, low_open=True)
    try:
        x = np.asarray(keras.ops.convert_to_numpy(images), dtype="float64")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"images must be an array of shape (n, height, width, channels), got "
                        f"{type(images).__name__}") from exc
    if x.ndim != 4:
        raise ValueError(f"images must have shape (n, height, width, channels), got shape {x.shape}")
    n, h, w, c = x.shape
    if n < MIN_WHITENING_IMAGES:
        raise ValueError(f"images must hold at least {MIN_WHITENING_IMAGES} images to estimate the "
                         f"patch covariance, got {n}")
    if h < patch or w < patch:
        raise ValueError(f"images must be at least {patch}x{patch} pixels for patch={patch}, "
                         f"got {h}x{w}")
    if not np.isfinite(x).all():
        raise ValueError("images must hold finite values (no NaN or inf)")
    windows = np.lib.stride_tricks.sliding_window_view(x, (patch, patch), axis=(1, 2))
    # (n, h', w', c, ph, pw) -> one row per patch, ordered (ph, pw, c) as a Keras kernel is
    flat = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, patch * patch * c)
    cov = flat.T @ flat / len(flat)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)               # ascending
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    filters = eigenvectors / np.sqrt(np.clip(eigenvalues, 0.0, None) + eps)   # columns
    kernel = filters.reshape(patch, patch, c, patch * patch * c)
    return np.concatenate([kernel, -kernel], axis=-1).astype("float32")


@keras.saving.register_keras_serializable(package="cnncourse")
class PatchWhitening(keras.layers.Layer):
    """A 2x2 ``valid`` convolution with frozen whitening filters and a trainable bias.

    Call :meth:`adapt` with training images before training (the filters are zero
    until then); the filters then stay as computed, only the bias learns.

    Input ``(batch, h, w, c)``, output ``(batch, h - patch + 1, w - patch + 1, 2 * patch**2 * c)``.
    """

    def __init__(self, patch=2, eps=5e-4, **kwargs):
        super().__init__(**kwargs)
        self.patch = check_whole(patch, "patch", 1)
        self.eps = check_number(eps, "eps", 0.0, low_open=True)
        self.adapted = False

    def build(self, input_shape):
        channels = input_shape[-1]
        self.filters = 2 * self.patch * self.patch * channels
        self.kernel = self.add_weight(shape=(self.patch, self.patch, channels, self.filters),
                                      initializer="zeros", trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def adapt(self, images):
        """Compute the whitening filters from ``images`` (see :func:`patch_whitening_kernel`)."""
        kernel = patch_whitening_kernel(images, self.patch, self.eps)
        if not self.built:
            self.build((None, None, None, kernel.shape[2]))
        if tuple(self.kernel.shape) != kernel.shape:
            raise ValueError(f"images must have {self.kernel.shape[2]} channels, as the layer's "
                             f"input, got {kernel.shape[2]}")
        self.kernel.assign(kernel)
        self.adapted = True

    def call(self, inputs):
        kernel = ops.cast(self.kernel, inputs.dtype)
        return ops.conv(inputs, kernel, strides=1, padding="valid") + ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        side = lambda s: None if s is None else s - self.patch + 1   # noqa: E731
        return (b, side(h), side(w), 2 * self.patch * self.patch * c)

    def get_config(self):
        config = super().get_config()
        config.update(patch=self.patch, eps=self.eps)
        return config


@keras.saving.register_keras_serializable(package="cnncourse")
class Dirac(keras.initializers.Initializer):
    """Convolution kernels whose first ``in_channels`` filters are the identity.

    Filter ``j < in_channels`` is 1 at the centre tap of input channel ``j`` and 0
    elsewhere, so at the start the convolution passes those channels through
    unchanged (as a residual connection would) and a deep stack trains from its
    first step; the remaining filters come from ``base`` (default: uniform in
    ``+-1/sqrt(fan_in)``, PyTorch's default for a convolution).

    >>> k = keras.ops.convert_to_numpy(Dirac(seed=0)((3, 3, 2, 4)))
    >>> k[1, 1, :, :2].tolist(), k[0, 0, :, :2].tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]])
    """

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        if len(shape) != 4 or shape[0] % 2 != 1 or shape[1] % 2 != 1:
            raise ValueError(f"Dirac initializes convolution kernels (kh, kw, in, out) of odd side, "
                             f"got shape {tuple(shape)}")
        kh, kw, cin, cout = shape
        kernel = np.array(keras.ops.convert_to_numpy(torch_uniform(self.seed)(shape, dtype="float32")))
        n = min(cin, cout)
        kernel[:, :, :, :n] = 0.0
        kernel[kh // 2, kw // 2, np.arange(n), np.arange(n)] = 1.0
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package="cnncourse")
class ScaledBias(keras.layers.Layer):
    """``x + scale * b`` with one trainable ``b`` per channel (last axis), starting at 0.

    With SGD, a step on ``b`` changes the output by ``scale**2`` times the step a
    plain bias would take: a per-layer learning-rate multiplier that needs no special
    optimizer. ``scale=8`` gives the 64 x learning rate fast CIFAR-10 recipes use
    for the biases after batch normalization.

    >>> layer = ScaledBias(scale=8.0)
    >>> tuple(layer(np.ones((2, 5), "float32")).shape)
    (2, 5)
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = check_number(scale, "scale", 0.0, low_open=True)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")

    def call(self, inputs):
        return inputs + ops.cast(self.scale * self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale)
        return config
