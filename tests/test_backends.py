"""The three Keras backends agree: the same probe (tests/backend_probe.py) run under each.

The whole suite also runs on each backend in CI (``.ci/run``: ``KERAS_BACKEND=... pytest``); this
test compares the backends with one another directly, each in a fresh process, so it runs once: in
the pass on the default backend, TensorFlow (the other passes report it skipped, with that reason).
A backend that is not installed is skipped with its reason, unless ``CNNCOURSE_BACKENDS`` names it
(CI sets it to all three): then it fails.
"""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from cnncourse.device import BACKENDS

PROBE = pathlib.Path(__file__).with_name("backend_probe.py")
REQUIRED = [b for b in os.environ.get("CNNCOURSE_BACKENDS", "").split(",") if b]
PACKAGE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


@pytest.fixture(scope="module")
def probes():
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the backends are compared once, in the pass on the default backend (tensorflow)")
    found, missing = {}, []
    for backend in BACKENDS:
        if importlib.util.find_spec(PACKAGE[backend]) is None:
            missing.append(backend)
            continue
        env = dict(os.environ, KERAS_BACKEND=backend)
        run = subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"the probe failed on {backend}:\n{run.stderr[-3000:]}"
        found[backend] = json.loads(run.stdout)
        assert found[backend]["backend"] == backend
    required_missing = sorted(set(missing) & set(REQUIRED))
    assert not required_missing, f"CNNCOURSE_BACKENDS requires {required_missing}, not installed"
    if len(found) < 2:
        pytest.skip(f"only {list(found)} installed: pip install -r requirements-backends.txt to compare")
    return found


def pairs(probes):
    names = list(probes)
    return [(names[0], other) for other in names[1:]]


def test_networks_have_the_same_parameters_macs_and_shapes(probes):
    for a, b in pairs(probes):
        assert probes[a]["networks"] == probes[b]["networks"], (a, b)
    assert probes["tensorflow"]["networks"]["vgg16"]["params"] == 138_357_544   # the paper's 138 million


def test_numpy_operations_equal_keras_on_every_backend(probes):
    for backend, probe in probes.items():
        for name, difference in probe["equalities"].items():
            assert difference < 1e-5, (backend, name, difference)


def test_gradients_agree_across_backends(probes):
    for a, b in pairs(probes):
        ga, gb = probes[a]["gradients"], probes[b]["gradients"]
        assert np.isclose(ga["loss"], gb["loss"], rtol=1e-5), (a, b)
        for x, y in zip(ga["grads"], gb["grads"]):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6, err_msg=f"{a} vs {b}")
        np.testing.assert_allclose(ga["input_grad"], gb["input_grad"], rtol=1e-4, atol=1e-6)
        assert np.abs(ga["input_grad"]).max() > 0


def test_exercise_checkers_give_the_same_verdicts(probes):
    for a, b in pairs(probes):
        assert probes[a]["verdicts"] == probes[b]["verdicts"], (a, b)
    verdicts = next(iter(probes.values()))["verdicts"]
    assert len(verdicts) >= 39 and all(not ok for answers in verdicts.values() for ok, _ in answers)
