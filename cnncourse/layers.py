"""Every layer and initializer the course adds to Keras (backend-agnostic Keras 3, ``keras.ops``).

:class:`LocalResponseNormalization`
    AlexNet's LRN across channels, which Keras does not ship.
:class:`RandomShift`, :func:`augmentation`
    Random whole-pixel shifts drawn per image, and the flip + shift block put in front of a model.
:class:`PatchWhitening`
    A frozen 2x2 convolution whose filters decorrelate the pixels of every 2x2 patch
    (computed from training images with :meth:`PatchWhitening.adapt`, as Keras's
    ``Normalization.adapt`` computes a mean and a variance).
:class:`Dirac`
    Initializer: the first filters of a convolution start as the identity
    (they pass their input channel through), the others at random.
:func:`head_dtype`
    The dtype of a model's output layer (float32 under mixed precision).
:class:`ScaledBias`
    A bias added after a normalization, with its learning rate multiplied
    (``x + scale * b``: a gradient step on ``b`` moves the output ``scale**2`` times as far).

The serializable ones are registered under the package name ``cnncourse``
(``"cnncourse>PatchWhitening"``...), so saved models load wherever this module is imported.

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

from cnncourse.checks import check_bool, check_number, check_whole

def head_dtype():
    """The dtype for a model's output layer: ``"float32"`` under a mixed-precision policy (a
    softmax or the logits computed in float32 are numerically safe), else ``None`` (the policy's).

    >>> head_dtype() is None or head_dtype() == "float32"
    True
    """
    return "float32" if keras.config.dtype_policy().name.startswith("mixed") else None


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


# ------------------------------------------------------------------ AlexNet's normalization, augmentation

@keras.saving.register_keras_serializable(package="cnncourse")
class LocalResponseNormalization(keras.layers.Layer):
    """AlexNet's local response normalization across channels (Krizhevsky et al. 2012, sec. 3.3).

    Each activation is divided by a power of the summed squares of its
    neighbours along the channel axis, at the same pixel::

        b[..., c] = a[..., c] / (bias + alpha * sum_{j=c-r}^{c+r} a[..., j]**2) ** beta

    where ``r = depth_radius`` and channels beyond the ends count as zero. The
    paper's values are ``n = 2r + 1 = 5``, ``bias (k) = 2``, ``alpha = 1e-4``,
    ``beta = 0.75``; like ``tf.nn.local_response_normalization`` (and unlike
    PyTorch's ``LocalResponseNorm``) ``alpha`` is not divided by ``n``.
    It has no parameters to learn.

    Input and output: ``(batch, height, width, channels)``.

    >>> x = np.ones((1, 1, 1, 3), "float32")
    >>> y = LocalResponseNormalization(depth_radius=1, bias=1.0, alpha=1.0, beta=1.0)(x)
    >>> np.round(keras.ops.convert_to_numpy(y)[0, 0, 0], 3)   # 1/(1+2), 1/(1+3), 1/(1+2)
    array([0.333, 0.25 , 0.333], dtype=float32)
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = check_whole(depth_radius, "depth_radius", 0)
        self.bias, self.alpha, self.beta = (check_number(value, name, 0) for name, value in
                                            (("bias", bias), ("alpha", alpha), ("beta", beta)))

    def call(self, inputs):
        r = self.depth_radius
        squares = ops.square(inputs)
        padded = ops.pad(squares, [[0, 0], [0, 0], [0, 0], [r, r]])
        channels = ops.shape(inputs)[-1]
        window = squares * 0
        for offset in range(2 * r + 1):
            window = window + padded[..., offset:offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)
        return config


class RandomShift(keras.layers.Layer):
    """Move every image by its own random whole-pixel offset, filling with zeros (training only).

    The classic CIFAR-10 "pad by 4 and crop a random window", drawn per image. Written with
    one-hot shift matrices and ``einsum`` — plain matrix products that every backend runs fast
    on a GPU — instead of ``RandomTranslation``'s general affine resampling, which cost as much
    as half of a training step on the JAX backend.

    ``out[b, i, j] = x[b, i - dy[b], j - dx[b]]`` (zero where that falls outside), with
    ``dy, dx`` uniform in ``[-max_shift, max_shift]``.

    Input and output: ``(batch, height, width, channels)``.

    >>> layer = RandomShift(1, seed=0)
    >>> x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    >>> bool((keras.ops.convert_to_numpy(layer(x, training=False)) == x).all())
    True
    """

    def __init__(self, max_shift, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift = check_whole(max_shift, "max_shift", 0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.max_shift == 0:
            return inputs
        s = self.max_shift
        batch = ops.shape(inputs)[0]
        height, width = inputs.shape[1], inputs.shape[2]
        dy = keras.random.randint((batch,), -s, s + 1, seed=self.seed_generator)
        dx = keras.random.randint((batch,), -s, s + 1, seed=self.seed_generator)

        def shift_matrix(offsets, size):   # (batch, size_out, size_in): 1 where in = out - offset
            out_idx = ops.arange(size)[None, :, None]
            in_idx = ops.arange(size)[None, None, :]
            return ops.cast(ops.equal(out_idx - offsets[:, None, None], in_idx), inputs.dtype)

        return ops.einsum("bij,bjkc,blk->bilc", shift_matrix(dy, height), inputs, shift_matrix(dx, width))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(max_shift=self.max_shift, seed=self.seed)
        return config


def augmentation(flip=True, shift=4, image_size=32, name="augment"):
    """Random horizontal flips and shifts as Keras preprocessing layers (active only in training).

    A shift of up to ``shift`` pixels in each direction, filled with black, is the
    classic CIFAR-10 "pad by 4 and crop a random 32x32 window" — drawn for every
    image separately (Keras's ``RandomCrop`` draws one window per batch).
    Put it first in a model: at inference (``training=False``) it passes images through.

    Parameters
    ----------
    flip : bool
        Mirror left-right with probability 1/2.
    shift : int >= 0
        Largest shift in pixels; 0 for none.
    image_size : int
        Side of the images, to turn ``shift`` into Keras's fraction of the side.

    Returns
    -------
    keras.Sequential named ``name``; input and output ``(batch, h, w, c)``.

    >>> aug = augmentation(shift=4)
    >>> [layer.__class__.__name__ for layer in aug.layers]
    ['RandomFlip', 'RandomShift']
    """
    flip = check_bool(flip, "flip")
    shift = check_whole(shift, "shift", 0)
    image_size = check_whole(image_size, "image_size", 1)
    if shift >= image_size:
        raise ValueError(f"shift must be smaller than image_size ({image_size}), got {shift}")
    steps = []
    if flip:
        steps.append(keras.layers.RandomFlip("horizontal", name=f"{name}_flip"))
    if shift:
        steps.append(RandomShift(shift, name=f"{name}_shift"))
    if not steps:
        steps.append(keras.layers.Identity(name=f"{name}_none"))
    return keras.Sequential(steps, name=name)
