import numpy as np
import pytest

from cnncourse import session


def test_begin_prints_mode_and_seeds(capsys, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_FAST", "1")
    assert session.begin(seed=3) == "fast"
    out = capsys.readouterr().out
    assert "FAST mode" in out and "Keras 3" in out
    import keras

    # which backend runs, and how to switch: before the first import of keras, then restart
    assert f"Backend: {keras.backend.backend()}." in out
    assert "KERAS_BACKEND" in out and "restart the kernel" in out and "before the first `import keras`" in out
    a = np.random.rand(3)
    session.begin(seed=3, verbose=False)
    np.testing.assert_array_equal(a, np.random.rand(3))
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    assert session.begin(seed=3, verbose=False) == "full"


def test_same_seed_same_keras_weights():
    import keras


    session.set_seed(7)
    w1 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)]).get_weights()[0]
    session.set_seed(7)
    w2 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)]).get_weights()[0]
    session.set_seed(8)
    w3 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)]).get_weights()[0]
    np.testing.assert_array_equal(w1, w2)
    assert not np.array_equal(w1, w3)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError),
                                         (True, TypeError)])
def test_bad_seed(seed, error):
    with pytest.raises(error, match="seed must be a whole number >= 0"):
        session.set_seed(seed)


def test_numpy_integer_seed_is_a_whole_number():
    session.set_seed(np.int64(5))
    a = np.random.rand(2)
    session.set_seed(5)
    np.testing.assert_array_equal(a, np.random.rand(2))


def test_keras_2_gets_a_helpful_message(monkeypatch):
    import keras

    monkeypatch.setattr(keras, "__version__", "2.15.0")
    with pytest.raises(RuntimeError, match="(?s)needs Keras 3.*pip install -U"):
        session.check_versions()


def test_switch_hint_names_the_backend_and_refuses_non_strings():
    assert session.switch_hint("torch").startswith("Backend: torch. Every notebook runs on tensorflow, jax and torch.")
    assert "cannot train" in session.switch_hint("numpy") and "cannot train" not in session.switch_hint("jax")
    with pytest.raises(TypeError, match="backend must be a str"):
        session.switch_hint(None)
