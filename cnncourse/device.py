"""What the Keras backend computes on, and in which precision: the package's one backend switch.

Keras 3 runs on TensorFlow, JAX or PyTorch, and each asks about its devices in its own way.
:func:`on_backend` is the one place that asks "which backend?"; every function here (and
:mod:`cnncourse.autodiff`) gives it one small function per backend.

:func:`backend_and_version`
    The backend's name and version, for what a notebook prints.

:func:`gpu_available`, :func:`accelerator`
    Is there a GPU to compute on?
:func:`gpu_compute_capability`, :func:`cpu_computes_bfloat16`
    Does the hardware compute bfloat16 natively?
:func:`choose_precision`, :func:`use_mixed_precision`
    The dtype policy that trains fastest here, and setting it.
:func:`device_description`
    One line naming the backend and the device, for printed timings.

Keras and the backends are imported inside the functions: importing this module is cheap and
does not start TensorFlow (the first cell of a notebook quietens its logs first).

>>> use_mixed_precision(False)
'float32'
"""
from __future__ import annotations

__all__ = ["BACKENDS", "on_backend", "backend_and_version", "gpu_available", "accelerator", "gpu_compute_capability",
           "cpu_computes_bfloat16", "choose_precision", "use_mixed_precision", "device_description"]

#: The Keras backends the course runs on (and trains on), the default first.
BACKENDS = ("tensorflow", "jax", "torch")

#: GPUs that report no compute capability through JAX but are Ampere or newer (bfloat16 in hardware).
AMPERE_OR_NEWER = ("A100", "A10", "H100", "H200", "GH200", "B200", "L4")


def on_backend(tensorflow=None, jax=None, torch=None, default=None):
    """Call the function given for the Keras backend in use and return its result.

    A backend without a function gives ``default()`` (``None`` when ``default`` is ``None``).

    >>> on_backend(tensorflow=lambda: "tf", jax=lambda: "jax", torch=lambda: "torch") in ("tf", "jax", "torch")
    True
    """
    import keras

    probe = {"tensorflow": tensorflow, "jax": jax, "torch": torch}.get(keras.backend.backend())
    if probe is not None:
        return probe()
    return default() if default is not None else None


def backend_and_version():
    """``(name, version)`` of the Keras backend in use, e.g. ``("tensorflow", "2.21.0")``.

    >>> backend_and_version()[0] in ("tensorflow", "jax", "torch", "numpy", "openvino")
    True
    """
    import importlib

    import keras

    name = keras.backend.backend()
    try:
        version = getattr(importlib.import_module(name), "__version__", "?")
    except ImportError:  # pragma: no cover - the backend imported for keras already
        version = "?"
    return name, version


def _tf_gpus():
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def gpu_available():
    """True when the Keras backend computes on a GPU (TensorFlow, JAX or PyTorch)."""
    def tf_probe():
        return bool(_tf_gpus())

    def jax_probe():
        import jax

        return jax.default_backend() == "gpu"

    def torch_probe():
        import torch

        return bool(torch.cuda.is_available())

    try:
        return bool(on_backend(tensorflow=tf_probe, jax=jax_probe, torch=torch_probe))
    except Exception:  # a broken driver is not a reason to stop the notebook
        return False


def accelerator():
    """``"GPU"`` when the Keras backend computes on one, else ``"CPU"``."""
    return "GPU" if gpu_available() else "CPU"


def gpu_compute_capability():
    """``(major, minor)`` of the GPU the backend computes on, or ``None`` (no GPU, or unknown)."""
    def tf_probe():
        import tensorflow as tf

        gpus = _tf_gpus()
        if gpus:
            cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
            return tuple(cc) if cc else None
        return None

    def jax_probe():
        import jax

        dev = jax.devices()[0]
        if dev.platform != "gpu":
            return None
        if getattr(dev, "compute_capability", None):
            return tuple(int(p) for p in str(dev.compute_capability).split(".")[:2])
        kind = str(getattr(dev, "device_kind", ""))
        return (8, 0) if any(name in kind for name in AMPERE_OR_NEWER) else None

    def torch_probe():
        import torch

        return tuple(torch.cuda.get_device_capability(0)) if torch.cuda.is_available() else None

    try:
        return on_backend(tensorflow=tf_probe, jax=jax_probe, torch=torch_probe)
    except Exception:  # pragma: no cover
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
    (:func:`cpu_computes_bfloat16`; measured speed-ups: the README's benchmark section).
    ``"float32"`` elsewhere: older GPUs (Colab's T4) and CPUs without bfloat16 arithmetic
    emulate it, and bfloat16 on the JAX and PyTorch CPU backends has not been measured to be
    faster.
    """
    import keras

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
    import keras

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

    def tf_probe():
        import tensorflow as tf

        gpus = _tf_gpus()
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else None
        return f"tensorflow {tf.__version__}", name

    def jax_probe():
        import jax

        dev = jax.devices()[0]
        if dev.platform == "cpu":                          # said as for the other backends: cores, machine
            return f"jax {jax.__version__}", None
        return f"jax {jax.__version__}", f"{dev.platform}:{dev.id} ({getattr(dev, 'device_kind', '')})"

    def torch_probe():
        import torch

        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        return f"torch {torch.__version__}", name

    try:
        found = on_backend(tensorflow=tf_probe, jax=jax_probe, torch=torch_probe)
    except Exception:  # pragma: no cover
        found = None
    label, device = found or (backend_and_version()[0], None)
    if device:
        return f"{label} on {device}"
    return f"{label} on CPU ({os.cpu_count()} cores, {platform.machine()})"
