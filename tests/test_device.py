"""cnncourse.device: the one backend switch, the hardware probes and the precision decision.

The probes are faked (monkeypatch) so that every branch is tried on any machine.
"""
import os
import platform

import keras
import pytest

from cnncourse import device


# ------------------------------------------------------------------ the backend switch

@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_on_backend_calls_the_function_of_the_backend_in_use(monkeypatch, backend):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    probes = {name: (lambda name=name: name) for name in ("tensorflow", "jax", "torch")}
    assert device.on_backend(**probes) == backend
    others = {name: f for name, f in probes.items() if name != backend}
    assert device.on_backend(**others) is None                               # no function: None
    assert device.on_backend(**others, default=lambda: "fallback") == "fallback"


def test_backend_and_version_names_the_backend_keras_runs_on():
    import importlib

    name, version = device.backend_and_version()
    assert name == keras.backend.backend()
    assert version == importlib.import_module(name).__version__


def test_a_failing_probe_means_no_gpu(monkeypatch):
    def broken(**probes):
        raise RuntimeError("driver crashed")

    monkeypatch.setattr(device, "on_backend", broken)
    assert device.gpu_available() is False and device.accelerator() == "CPU"
    assert device.gpu_compute_capability() is None


def test_device_description_names_backend_and_device(monkeypatch):
    monkeypatch.setattr(device, "on_backend", lambda **probes: ("jax 0.4.35", "cuda:0 (NVIDIA H100)"))
    assert device.device_description() == "jax 0.4.35 on cuda:0 (NVIDIA H100)"
    monkeypatch.setattr(device, "on_backend", lambda **probes: ("tensorflow 2.21.0", None))
    assert device.device_description() == (f"tensorflow 2.21.0 on CPU ({os.cpu_count()} cores, "
                                           f"{platform.machine()})")


def test_device_description_of_this_machine():
    line = device.device_description()
    assert line.startswith(keras.backend.backend())
    assert (" on CPU (" in line) is (not device.gpu_available())


# ------------------------------------------------------------------ precision

@pytest.mark.parametrize("gpu, cc, cpu_bf16, backend, expected", [
    (False, None, True, "tensorflow", "mixed_bfloat16"),
    (False, None, False, "tensorflow", "float32"),
    (False, None, True, "jax", "float32"),
    (True, (8, 0), False, "tensorflow", "mixed_bfloat16"),
    (True, (7, 5), True, "tensorflow", "float32"),          # Colab's T4
])
def test_choose_precision_decision(monkeypatch, gpu, cc, cpu_bf16, backend, expected):
    monkeypatch.setattr(device, "gpu_available", lambda: gpu)
    monkeypatch.setattr(device, "gpu_compute_capability", lambda: cc)
    monkeypatch.setattr(device, "cpu_computes_bfloat16", lambda: cpu_bf16)
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    policy, reason = device.choose_precision()
    assert policy == expected and reason
    try:
        assert device.use_mixed_precision("auto") == expected
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_cpu_probe_reads_the_flags(monkeypatch, tmp_path):
    import builtins

    real_open = builtins.open
    for flags, expected in (("fpu sse avx512_bf16 amx_tile", True), ("fpu sse avx2", False)):
        fake = tmp_path / "cpuinfo"
        fake.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(builtins, "open",
                            lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path, *a, **k))
        assert device.cpu_computes_bfloat16() is expected
        monkeypatch.setattr(builtins, "open", real_open)
