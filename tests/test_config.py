import pytest

from cnncourse import config


def test_fast_switch(monkeypatch):
    for value, fast in [("1", True), ("true", True), ("0", False), ("", False)]:
        monkeypatch.setenv("CNNCOURSE_FAST", value)
        assert config.fast_mode() is fast
        assert config.mode_name() == ("fast" if fast else "full")
    monkeypatch.delenv("CNNCOURSE_FAST")
    assert config.fast_mode() is False
    monkeypatch.setenv("CNNCOURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="CNNCOURSE_FAST='maybe' is not understood"):
        config.fast_mode()


def test_budget_follows_mode(monkeypatch):
    monkeypatch.setenv("CNNCOURSE_FAST", "1")
    assert config.budget("mnist_train") == config.BUDGETS["mnist_train"][1]
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    assert config.budget("mnist_train") == 60000
    with pytest.raises(KeyError, match="budget name 'nope' is unknown"):
        config.budget("nope")


def test_every_fast_budget_is_smaller_or_equal():
    # fast may be 0 for an optional extra that fast mode leaves out (e.g. vis_vgg16: no download)
    for name, (full, fast) in config.BUDGETS.items():
        assert 0 <= fast <= full and full > 0, name
        assert isinstance(full, int) and isinstance(fast, int), name


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)
    assert config.data_dir() is None
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path
