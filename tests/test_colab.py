"""One-click Colab: badge and setup cell, sync, repoint for a fork, and what Colab installs.

Nothing here touches the real notebooks or the real address file ``cnncourse/colab.json``:
``repoint`` runs on copies in ``tmp_path`` with the address file redirected to a copy.
"""
import contextlib
import io
import json
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnncourse import colab

ROOT = Path(__file__).resolve().parents[1]


def run_setup_cell(source):
    """Execute a setup cell's code as a kernel would; return what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<setup cell>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


# ------------------------------------------------------------------ the two cells

def test_badge_points_at_the_notebook_itself():
    url = colab.badge_url("notebooks/05_lenet5.ipynb", "alice/cnn", "dev")
    assert url == "https://colab.research.google.com/github/alice/cnn/blob/dev/notebooks/05_lenet5.ipynb"
    badge = colab.badge_source("notebooks/05_lenet5.ipynb")
    assert badge.startswith("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](")
    assert badge.endswith(f"/github/{colab.REPOSITORY}/blob/{colab.BRANCH}/notebooks/05_lenet5.ipynb)")


def test_setup_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)

    def no_install(*args, **kwargs):
        raise AssertionError("the setup cell must not install anything off Colab")

    monkeypatch.setattr(subprocess, "run", no_install)
    said = run_setup_cell(colab.setup_source())
    assert said.strip() == colab.NOT_ON_COLAB
    assert "nothing to install" in said


@pytest.mark.parametrize("gpu", [True, False])
def test_setup_cell_installs_from_the_same_repository_on_colab(monkeypatch, gpu):
    calls = []
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    import shutil
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/nvidia-smi" if gpu else None)
    said = run_setup_cell(colab.setup_source("alice/fork", "dev"))
    assert len(calls) == 1
    cmd, kw = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[-1] == "cnncourse @ git+https://github.com/alice/fork@dev"
    assert kw.get("check") is True                     # a failed install stops the notebook
    assert "Colab: installed cnncourse from alice/fork (dev)." in said
    assert ("Runtime > Change runtime type > GPU" in said) is (not gpu)


def test_repository_and_branch_are_validated():
    assert colab.check_repository("alice/cnncourse") == "alice/cnncourse"
    assert colab.check_repository("https://github.com/alice/cnn.course.git") == "alice/cnn.course"
    for bad in ["alice", "alice/", "/cnn", "../..", "alice/..", "a b/c", "alice/cnn/extra",
                "-alice/cnn", "alice/cnn'; rm -rf", None, 42]:
        error = ValueError if isinstance(bad, str) else TypeError     # not a string: a wrong type
        with pytest.raises(error, match="repository must be a GitHub repository written OWNER/NAME"):
            colab.check_repository(bad)
    assert colab.check_branch("feature/colab-2") == "feature/colab-2"
    for bad in ["", "a b", "x..y", "/main", "main/", 'ma"in', None]:
        error = ValueError if isinstance(bad, str) else TypeError
        with pytest.raises(error, match="branch must be a git branch name"):
            colab.check_branch(bad)


# ------------------------------------------------------------------ sync and repoint on copies

def make_folder(tmp_path):
    folder = tmp_path / "repo" / "notebooks"
    folder.mkdir(parents=True)
    fresh = new_notebook(cells=[new_markdown_cell("# 01 · Fresh"), new_code_cell("x = 1")])
    nbformat.write(fresh, folder / "01_fresh.ipynb")
    stale = new_notebook(cells=[
        new_markdown_cell(colab.badge_source("notebooks/somewhere_else.ipynb", "old/repo", "main")),
        new_code_cell(colab.setup_source("old/repo", "main")),
        new_markdown_cell("# 02 · Stale"),
    ])
    stale.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="kept\n")]
    nbformat.write(stale, folder / "02_stale.ipynb")
    return folder


def test_sync_writes_badge_and_setup_and_is_idempotent(tmp_path):
    folder = make_folder(tmp_path)
    root = folder.parent
    assert colab.sync_notebook(folder / "01_fresh.ipynb", root) is True
    assert colab.sync_notebook(folder / "02_stale.ipynb", root) is True
    for name, title in [("01_fresh.ipynb", "# 01 · Fresh"), ("02_stale.ipynb", "# 02 · Stale")]:
        nb = nbformat.read(folder / name, as_version=4)
        assert nb.cells[0].source == colab.badge_source(f"notebooks/{name}")
        assert nb.cells[1].source == colab.setup_source()
        assert nb.cells[2].source == title                      # the rest is untouched
    assert len(nbformat.read(folder / "01_fresh.ipynb", as_version=4).cells) == 4
    stale = nbformat.read(folder / "02_stale.ipynb", as_version=4)
    assert len(stale.cells) == 3 and stale.cells[1].outputs[0].text == "kept\n"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert colab.sync_notebook(folder / "01_fresh.ipynb", root) is False
    assert colab.sync_notebook(folder / "02_stale.ipynb", root) is False
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    with pytest.raises(ValueError, match="root .* must be a folder holding the notebook"):
        colab.sync_notebook(folder / "01_fresh.ipynb", tmp_path / "elsewhere")


@pytest.fixture
def address_copy(tmp_path, monkeypatch):
    """The address file lives in a copy; the module's globals are restored after the test."""
    copy = tmp_path / "colab_copy.json"
    copy.write_text(colab.ADDRESS_FILE.read_text())
    monkeypatch.setattr(colab, "ADDRESS_FILE", copy)
    monkeypatch.setattr(colab, "REPOSITORY", colab.REPOSITORY)
    monkeypatch.setattr(colab, "BRANCH", colab.BRANCH)
    return copy


def test_repoint_moves_every_badge_setup_cell_and_the_address(tmp_path, address_copy, capsys):
    real_source = Path(colab.__file__).read_bytes()
    real_address = (Path(colab.__file__).parent / "colab.json").read_bytes()
    folder = make_folder(tmp_path)
    assert colab.main(["repoint", "https://github.com/alice/fork", "--branch", "dev", str(folder)]) == 0
    assert "alice/fork (dev)" in capsys.readouterr().out
    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].source == colab.badge_source(f"notebooks/{path.name}", "alice/fork", "dev")
        assert "/github/alice/fork/blob/dev/notebooks/" + path.name in nb.cells[0].source
        assert nb.cells[1].source == colab.setup_source("alice/fork", "dev")
        assert "git+https://github.com/alice/fork@dev" in nb.cells[1].source
    assert json.loads(address_copy.read_text()) == {"repository": "alice/fork", "branch": "dev"}
    assert Path(colab.__file__).read_bytes() == real_source   # no Python source is rewritten
    assert (Path(colab.__file__).parent / "colab.json").read_bytes() == real_address   # the real one is untouched
    # the rewritten address file is what a fresh import reads: badges point at the fork
    assert colab.read_address(address_copy) == ("alice/fork", "dev")
    assert (colab.REPOSITORY, colab.BRANCH) == ("alice/fork", "dev")
    assert colab.badge_url("notebooks/x.ipynb").startswith(
        "https://colab.research.google.com/github/alice/fork/blob/dev/")


def test_repoint_refuses_a_bad_name_and_writes_nothing(tmp_path, address_copy, capsys):
    folder = make_folder(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    address = address_copy.read_text()
    for bad in ["not a repo", "../../etc"]:
        with pytest.raises(SystemExit) as stop:
            colab.main(["repoint", bad, str(folder)])
        assert stop.value.code == 2
        assert "repository must be a GitHub repository" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        colab.main(["repoint", "alice/fork", "--branch", "no good", str(folder)])
    assert "branch must be a git branch name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        colab.main(["repoint", "alice/fork", str(folder), "stray-argument"])
    assert "unrecognized arguments: stray-argument" in capsys.readouterr().err
    with pytest.raises(ValueError, match="repository must be"):
        colab.repoint("alice", folder=folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert address_copy.read_text() == address


def test_sync_command_and_missing_folder(tmp_path, capsys):
    folder = make_folder(tmp_path)
    assert colab.main(["sync", str(folder)]) == 0
    assert capsys.readouterr().out.count("updated") == 2
    assert colab.main(["sync", str(folder)]) == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    with pytest.raises(FileNotFoundError, match="does not exist"):
        colab.notebooks_in(tmp_path / "nowhere")
    with pytest.raises(SystemExit):
        colab.main(["sync", str(tmp_path / "nowhere")])


# ------------------------------------------------------------------ what Colab installs

def test_a_non_editable_install_ships_every_subpackage():
    """Colab runs ``pip install git+...`` (not ``-e``): every subpackage must be in the wheel."""
    import setuptools

    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = config.get("tool", {}).get("setuptools", {}).get("packages")
    if isinstance(packages, list):
        shipped = set(packages)
    else:
        find = (packages or {}).get("find", {})
        shipped = set(setuptools.find_packages(where=str(ROOT / find.get("where", ["."])[0]),
                                               include=find.get("include", ["*"]),
                                               exclude=find.get("exclude", [])))
    needed = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cnncourse").rglob("__init__.py")}
    assert needed <= shipped, f"not shipped by pip install (Colab): {sorted(needed - shipped)}"


def test_the_address_is_written_in_one_place():
    """Only the address file names the repository, so that ``repoint`` moves every reference to it."""
    others = [p for p in (ROOT / "cnncourse").rglob("*") if p.is_file() and p.suffix in (".py", ".json", ".toml")
              and p.name != "colab.json" and colab.REPOSITORY in p.read_text(encoding="utf-8")]
    assert others == [], f"the repository's address is also written in {others}: use cnncourse.colab"
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        later = [i for i, c in enumerate(nb.cells[2:], start=2) if colab.REPOSITORY in c.source]
        assert later == [], f"{path.name}: cells {later} name the repository; only cells 0 and 1 may"


def test_the_address_file_is_package_data_that_pip_installs():
    """``repoint`` rewrites colab.json, so a non-editable install (Colab) must ship it."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "colab.json" in config["tool"]["setuptools"]["package-data"]["cnncourse"]
    assert colab.ADDRESS_FILE == Path(colab.__file__).with_name("colab.json") and colab.ADDRESS_FILE.is_file()
    assert colab.read_address() == (colab.REPOSITORY, colab.BRANCH)


def test_a_broken_address_file_is_reported(tmp_path):
    bad = tmp_path / "colab.json"
    bad.write_text('{"repository": "alice/fork"}')
    with pytest.raises(RuntimeError, match="must hold"):
        colab.read_address(bad)
