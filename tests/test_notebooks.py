"""Structure checks over every committed notebook, without running them (nbval runs them).

For each ``notebooks/NN_*.ipynb`` (see CONTRIBUTING.md and :func:`cnncourse.instructor.check_notebook`):
cell 0 is the Colab badge pointing at the notebook itself on ``colab.REPOSITORY``, cell 1 the
setup cell; the title cell; ``begin(`` first, its output from a full-mode run; every cell run
in order; no error output, progress bar or absolute local path; ``## Summary`` and
``## Exercises`` with at least three checks, each after its solution-marked answer cell; and
the notebook checks exactly the exercises its module ``cnncourse.exercises.exNN`` defines.
"""
import importlib
import warnings
import re
from pathlib import Path

import nbformat
import pytest

from cnncourse import instructor
from cnncourse.exercises import Exercise

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_notebook_is_named_NN_topic():
    others = [p.name for p in (ROOT / "notebooks").glob("*.ipynb") if not re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name)]
    assert others == [], f"notebooks not named NN_topic.ipynb: {others}"


def test_structure(notebook):
    path, nb = notebook
    problems = instructor.check_notebook(nb, f"notebooks/{path.name}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)
    reason = instructor.fast_outputs_reason(nb)
    if reason is not None:  # allowed, but never silently
        warnings.warn(f"{path.name} is committed with FAST-mode outputs: {reason}", UserWarning)


def test_checks_exactly_the_exercises_of_its_module(notebook):
    path, nb = notebook
    number = path.name[:2]
    try:
        module = importlib.import_module(f"cnncourse.exercises.ex{number}")
    except ModuleNotFoundError:
        pytest.fail(f"{path.name} has no exercise module cnncourse/exercises/ex{number}.py")
    defined = {attr for attr, value in vars(module).items() if isinstance(value, Exercise)}
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    imports = re.findall(rf"from\s+cnncourse\.exercises\s+import\s+ex{number}\s+as\s+(\w+)", source)
    assert imports, f"{path.name} never imports its exercises: from cnncourse.exercises import ex{number} as ex"
    alias = imports[-1]
    checked = {c.attr for c in instructor.find_checks(nb) if c.alias == alias}
    assert checked - defined == set(), f"{path.name} checks {sorted(checked - defined)}, not in ex{number}"
    assert defined - checked == set(), f"ex{number} defines {sorted(defined - checked)}, never checked in {path.name}"


def test_check_cells_show_only_the_printed_verdict(notebook):
    # Exercise.check returns None; a committed output echoing a value comes from older code.
    path, nb = notebook
    check_cells = sorted({i for call in instructor.find_checks(nb) for i in call.cells})
    stale = [nb.cells[i].source.strip().splitlines()[-1] for i in check_cells
             if any(o.output_type == "execute_result" for o in nb.cells[i].outputs)]
    assert stale == [], f"{path.name}: check cells echo a value under their verdict: {stale}"
