"""Pieces AlexNet, VGG and the notebooks about them share: sizes, counts, augmentation, training.

Arithmetic of convolutional networks
    :func:`conv_output_size` (the side of a convolution's or pooling's output),
    :func:`receptive_field` (how much of the input one unit sees),
    :func:`params_by_layer`, :func:`macs_by_layer` and :func:`count_macs`
    (where a model's parameters and its multiply-adds sit).
Layers
    :class:`LocalResponseNormalization` (AlexNet's LRN, which Keras does not ship),
    :func:`augmentation` (random flips and shifts as Keras preprocessing layers).
Training
    :func:`one_cycle_schedule`, :func:`compile_sgd`, :class:`EpochTimer`,
    :func:`gpu_available`, :func:`gpu_compute_capability`, :func:`cpu_computes_bfloat16`,
    :func:`choose_precision`, :func:`use_mixed_precision`,
    :func:`device_description`.

Everything here is backend-agnostic Keras 3 (``keras.ops``): it runs on
TensorFlow, JAX and PyTorch alike.

Example
-------
>>> conv_output_size(227, kernel=11, stride=4)     # AlexNet's first layer
55
>>> receptive_field([(3, 1), (3, 1)])              # two stacked 3x3 convolutions
5
"""
from __future__ import annotations

import numbers
import time
from collections import OrderedDict

import keras
import numpy as np
from keras import ops

from cnncourse.models.layers import PatchWhitening
from cnncourse.session import gpu_available  # noqa: F401  (part of this module's API)

PADDINGS = ("valid", "same")


# ------------------------------------------------------------------ argument checks

def _whole(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _fraction(value, name, low=0.0, high=1.0, high_open=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in [{low}, {high}{')' if high_open else ']'}, got {value!r}")
    value = float(value)
    if not (low <= value and (value < high if high_open else value <= high)):
        raise ValueError(f"{name} must be in [{low}, {high}{')' if high_open else ']'}, got {value!r}")
    return value


def check_image_shape(input_shape, min_side, why):
    """``(h, w, c)`` as ints, or a ``ValueError`` naming ``input_shape`` and the smallest side.

    ``why`` finishes the sentence "height and width must be at least ``min_side``"
    (e.g. "so that five 2x2 poolings leave at least one pixel").
    """
    message = (f"input_shape must be (height, width, channels) with whole numbers, "
               f"height and width >= {min_side} ({why}) and channels >= 1, got {input_shape!r}")
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(message) from None
    if len(shape) != 3 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                  for s in shape):
        raise ValueError(message)
    h, w, c = (int(s) for s in shape)
    if h < min_side or w < min_side or c < 1:
        raise ValueError(message)
    return h, w, c


def check_num_classes(num_classes):
    if (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
            or num_classes < 2):
        raise ValueError(f"num_classes must be a whole number >= 2, got {num_classes!r}")
    return int(num_classes)


def check_dropout(rate, name="dropout"):
    return _fraction(rate, name)


# ------------------------------------------------------------------ arithmetic

def conv_output_size(size, kernel, stride=1, padding="valid"):
    """Side of the output of a convolution or pooling window sliding over ``size`` pixels.

    Parameters
    ----------
    size : int >= 1
        Side of the input (height or width).
    kernel : int >= 1
        Side of the window.
    stride : int >= 1
        Step between two windows.
    padding : "valid", "same" or int >= 0
        ``"valid"``: no padding, ``floor((size - kernel) / stride) + 1``.
        ``"same"``: Keras's padding, ``ceil(size / stride)``.
        An int ``p``: ``p`` zeros on each side, ``floor((size + 2p - kernel) / stride) + 1``.

    Returns
    -------
    int, 0 when the window does not fit even once.

    Examples
    --------
    >>> conv_output_size(224, 11, 4)    # the size the AlexNet paper printed does not work out
    54
    >>> conv_output_size(55, 3, 2)      # overlapping 3x3 pooling, stride 2
    27
    >>> conv_output_size(32, 3, 1, "same")
    32
    """
    size = _whole(size, "size", 1)
    kernel = _whole(kernel, "kernel", 1)
    stride = _whole(stride, "stride", 1)
    if isinstance(padding, str):
        if padding not in PADDINGS:
            raise ValueError(f"padding must be 'valid', 'same' or a whole number >= 0, got {padding!r}")
        if padding == "same":
            return -(-size // stride)
        pad = 0
    else:
        pad = _whole(padding, "padding", 0)
    span = size + 2 * pad - kernel
    return span // stride + 1 if span >= 0 else 0


def receptive_field(layers):
    """Side of the input window that one unit of the last layer of a stack sees.

    Parameters
    ----------
    layers : sequence of (kernel, stride) pairs
        The convolutions and poolings, first to last.

    Returns
    -------
    int
        ``r = 1 + sum_i (k_i - 1) * (s_1 * ... * s_{i-1})``.

    Examples
    --------
    >>> receptive_field([(3, 1)] * 3)      # three 3x3 convolutions see 7x7
    7
    >>> receptive_field([(11, 4), (3, 2)])  # AlexNet's conv1 then pool1
    19
    """
    try:
        pairs = [tuple(p) for p in layers]
    except TypeError:
        raise ValueError(f"layers must be a sequence of (kernel, stride) pairs, got {layers!r}") from None
    if not pairs:
        raise ValueError("layers must hold at least one (kernel, stride) pair, got an empty sequence")
    field, jump = 1, 1
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"layers[{i}] must be a (kernel, stride) pair, got {pair!r}")
        kernel = _whole(pair[0], f"layers[{i}] kernel", 1)
        stride = _whole(pair[1], f"layers[{i}] stride", 1)
        field += (kernel - 1) * jump
        jump *= stride
    return field


def _leaf_layers(model):
    """The layers of ``model`` with nested models (e.g. an augmentation block) opened up."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # Sequential and functional sub-models alike
            yield from _leaf_layers(layer)
        else:
            yield layer


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a built keras.Model, got {type(model).__name__}")
    if not model.built:
        raise ValueError("model must be built (give it an Input or call it once) before counting")


def params_by_layer(model):
    """``OrderedDict`` layer name -> number of parameters (trainable and not), layers in order.

    Nested models are opened up. Only layers that hold parameters are listed.

    >>> from cnncourse.models import vgg16
    >>> counts = params_by_layer(vgg16())          # doctest: +SKIP
    >>> counts["fc1"]                               # doctest: +SKIP
    102764544
    """
    _check_model(model)
    out = OrderedDict()
    for layer in _leaf_layers(model):
        n = int(sum(int(np.prod(w.shape)) for w in layer.weights))
        if n:
            out[layer.name] = n
    return out


def _shape(tensor_shape):
    return tuple(tensor_shape)


def macs_by_layer(model):
    """``OrderedDict`` layer name -> multiply-adds for ONE image, for the layers that do them.

    Counted, as the literature counts them:

    * ``Conv2D`` (and the course's ``PatchWhitening``): ``H_out * W_out * k_h * k_w * (C_in / groups) * C_out``
    * ``DepthwiseConv2D``: ``H_out * W_out * k_h * k_w * C_in * depth_multiplier``
    * ``Dense``: ``in * out`` (times the positions, if it is applied to a feature map)

    Biases, activations, pooling, normalization and augmentation are left out:
    they cost a few operations per value, not per weight, and change the totals by
    well under 1 %.

    Examples
    --------
    >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(2, name="d")])
    >>> dict(macs_by_layer(m))       # c: 6*6*3*3*3*4, d: 144*2
    {'c': 3888, 'd': 288}
    """
    _check_model(model)
    out = OrderedDict()
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, _ = _shape(layer.output.shape)
            kh, kw = layer.kernel_size
            c_in = _shape(layer.input.shape)[-1]
            out[layer.name] = int(h * w * kh * kw * c_in * layer.depth_multiplier)
        elif isinstance(layer, keras.layers.Conv2D):
            if layer.data_format != "channels_last":
                raise ValueError(f"layer {layer.name!r}: only channels_last convolutions are counted")
            _, h, w, c_out = _shape(layer.output.shape)
            kh, kw = layer.kernel_size
            c_in = _shape(layer.input.shape)[-1]
            out[layer.name] = int(h * w * kh * kw * (c_in // layer.groups) * c_out)
        elif isinstance(layer, PatchWhitening):
            _, h, w, c_out = _shape(layer.output.shape)
            c_in = _shape(layer.input.shape)[-1]
            out[layer.name] = int(h * w * layer.patch * layer.patch * c_in * c_out)
        elif isinstance(layer, keras.layers.Dense):
            in_shape = _shape(layer.input.shape)
            positions = int(np.prod(in_shape[1:-1])) if len(in_shape) > 2 else 1
            out[layer.name] = int(positions * in_shape[-1] * layer.units)
    return out


def count_macs(model):
    """Multiply-adds ``model`` does for one image (see :func:`macs_by_layer`), an int.

    >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> count_macs(m)
    12
    """
    return int(sum(macs_by_layer(model).values()))


# ------------------------------------------------------------------ layers

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
        self.depth_radius = _whole(depth_radius, "depth_radius", 0)
        for name, value in (("bias", bias), ("alpha", alpha), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.bias, self.alpha, self.beta = float(bias), float(alpha), float(beta)

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
    as half of a training step on the JAX backend (measured on a CPU).

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
        self.max_shift = _whole(max_shift, "max_shift", 0)
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
    if not isinstance(flip, bool):
        raise ValueError(f"flip must be True or False, got {flip!r}")
    shift = _whole(shift, "shift", 0)
    image_size = _whole(image_size, "image_size", 1)
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


# ------------------------------------------------------------------ training

def one_cycle_schedule(peak_learning_rate, total_steps, warmup_fraction=0.2, final_fraction=0.0):
    """Learning rate that climbs linearly to its peak, then falls along a cosine to (almost) zero.

    A big rate early on, once the weights are no longer random, moves fast;
    a small rate at the end settles into a minimum. This "one cycle" shape
    (Smith & Topin 2017) trains CIFAR-10 networks in a few dozen epochs.

    Parameters
    ----------
    peak_learning_rate : float > 0
    total_steps : int >= 2
        Batches in the whole run (``epochs * steps_per_epoch``).
    warmup_fraction : float in [0, 1)
        Share of the steps spent climbing from 0 to the peak.
    final_fraction : float in [0, 1)
        Rate at the last step, as a fraction of the peak.

    Returns
    -------
    ``keras.optimizers.schedules.CosineDecay`` (a callable step -> rate).

    >>> s = one_cycle_schedule(0.1, 100, warmup_fraction=0.2)
    >>> [round(float(s(step)), 3) for step in (0, 10, 20, 60, 100)]
    [0.0, 0.05, 0.1, 0.05, 0.0]
    """
    if isinstance(peak_learning_rate, bool) or not isinstance(peak_learning_rate, numbers.Real) \
            or not peak_learning_rate > 0:
        raise ValueError(f"peak_learning_rate must be a number > 0, got {peak_learning_rate!r}")
    total_steps = _whole(total_steps, "total_steps", 2)
    warmup_fraction = _fraction(warmup_fraction, "warmup_fraction")
    final_fraction = _fraction(final_fraction, "final_fraction")
    warmup = int(round(total_steps * warmup_fraction))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else float(peak_learning_rate),
        decay_steps=max(total_steps - warmup, 1),
        alpha=final_fraction,
        warmup_target=float(peak_learning_rate) if warmup else None,
        warmup_steps=warmup,
    )


def compile_sgd(model, schedule, momentum=0.9, weight_decay=5e-3, nesterov=True, jit_compile=False):
    """Compile ``model`` for integer labels with SGD + momentum, a schedule and weight decay.

    ``jit_compile`` is passed to ``model.compile``. It is ``False`` (Keras's default is
    ``"auto"``, which means XLA with TensorFlow and JAX) because on the course's 2-core CPU
    (TensorFlow 2.21, bfloat16) XLA made a training step of ``alexnet_cifar`` 1.3x and of
    ``vgg7_cifar`` 3.2x slower, and its compilation took tens of seconds.

    ``weight_decay`` is Keras's decoupled decay (each step ``w -= lr * weight_decay * w``);
    with momentum 0.9 it matches ten times smaller L2 in frameworks that add it to the
    gradient (5e-3 here is the 5e-4 of the papers). Biases and batch-norm scales and
    offsets are not decayed.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    momentum = _fraction(momentum, "momentum")
    weight_decay = _fraction(weight_decay, "weight_decay")
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum, nesterov=nesterov,
                                     weight_decay=weight_decay or None)
    if weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    return model


class EpochTimer(keras.callbacks.Callback):
    """Records the seconds each epoch took in ``self.seconds`` (a list)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def gpu_compute_capability():
    """``(major, minor)`` of the GPU the backend computes on, or ``None`` (no GPU, or unknown)."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            dev = jax.devices()[0]
            if dev.platform == "gpu":
                if getattr(dev, "compute_capability", None):
                    return tuple(int(p) for p in str(dev.compute_capability).split(".")[:2])
                kind = str(getattr(dev, "device_kind", ""))
                if any(name in kind for name in ("A100", "A10", "H100", "H200", "GH200", "B200", "L4")):
                    return (8, 0)   # at least Ampere: bfloat16 in hardware
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
                return tuple(cc) if cc else None
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return tuple(torch.cuda.get_device_capability(0))
    except Exception:  # pragma: no cover
        return None
    return None


def cpu_computes_bfloat16():
    """True when this CPU has bfloat16 arithmetic in hardware (Intel AMX-BF16 or AVX512-BF16).

    Read from the CPU flags Linux lists in ``/proc/cpuinfo``; ``False`` where they cannot be
    read (macOS, Windows) or the flags are absent.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        return False
    return False


def choose_precision():
    """``(policy, reason)``: the dtype policy that trains fastest here, and why, in one sentence.

    ``"mixed_bfloat16"`` on a GPU with compute capability 8.0 or newer (A100, H100, RTX 30xx...)
    and, with the TensorFlow backend, on a CPU that computes bfloat16 natively
    (:func:`cpu_computes_bfloat16`; measured on the course's 2-core Xeon: a CIFAR-10 VGG trains
    1.5-1.7x faster than in float32). ``"float32"`` elsewhere: older GPUs (Colab's T4) and CPUs
    without bfloat16 arithmetic emulate it, and bfloat16 on the JAX and PyTorch CPU backends has
    not been measured to be faster.
    """
    backend = keras.backend.backend()
    if gpu_available():
        cc = gpu_compute_capability()
        if cc is not None and cc >= (8, 0):
            return "mixed_bfloat16", f"the GPU (compute capability {cc[0]}.{cc[1]}) computes bfloat16 natively"
        shown = "unknown" if cc is None else f"{cc[0]}.{cc[1]}"
        return "float32", f"the GPU (compute capability {shown}, below 8.0) has no fast bfloat16"
    if not cpu_computes_bfloat16():
        return "float32", "this CPU has no bfloat16 arithmetic (no AMX-BF16 or AVX512-BF16)"
    if backend != "tensorflow":
        return "float32", (f"this CPU computes bfloat16, but bfloat16 on the {backend} CPU backend "
                           "has not been measured to be faster")
    return "mixed_bfloat16", "this CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16)"


def use_mixed_precision(enable="auto", verbose=False):
    """Set Keras's global dtype policy: ``"mixed_bfloat16"`` or ``"float32"``; return its name.

    ``enable``: ``True``, ``False`` or ``"auto"`` (:func:`choose_precision` decides: bfloat16
    where the GPU or CPU computes it natively). Under ``mixed_bfloat16`` the weights stay
    float32 and the arithmetic is bfloat16 (8 bits of mantissa, float32's range, so no loss
    scaling is needed). With ``verbose=True`` it prints the choice and the reason. Call it
    before building models: layers take the policy in force when they are created.
    """
    if enable not in ("auto", True, False):
        raise ValueError(f"enable must be 'auto', True or False, got {enable!r}")
    if enable == "auto":
        policy, reason = choose_precision()
    else:
        policy, reason = ("mixed_bfloat16" if enable else "float32"), "asked for explicitly"
    keras.mixed_precision.set_global_policy(policy)
    if verbose:
        print(f"dtype policy {policy}: {reason}")
    return keras.config.dtype_policy().name


def device_description():
    """One line naming the backend and the device it computes on, e.g. ``jax 0.4.35 on cuda:0 (NVIDIA H100)``."""
    import os
    import platform

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            dev = jax.devices()[0]
            kind = getattr(dev, "device_kind", "")
            return f"jax {jax.__version__} on {dev.platform}:{dev.id} ({kind})"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
                return f"tensorflow {tf.__version__} on {name}"
            backend = f"tensorflow {tf.__version__}"
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}"
            backend = f"torch {torch.__version__}"
    except Exception:  # pragma: no cover
        pass
    return f"{backend} on CPU ({os.cpu_count()} cores, {platform.machine()})"
