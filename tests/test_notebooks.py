"""Structure checks over every committed notebook, without running them (nbval runs them).

For each ``notebooks/NN_*.ipynb`` (see CONTRIBUTING.md and :func:`cnncourse.instructor.check_notebook`):
cell 0 is the Colab badge pointing at the notebook itself on ``colab.REPOSITORY``, cell 1 the
setup cell; the title cell; ``begin(`` first, its output from a full-mode run; every cell run
in order; no error output, progress bar or absolute local path; ``## Summary`` and
``## Exercises`` with at least three checks, each after its answer cell; the notebook checks
exactly the exercises its module ``cnncourse.exercises.exNN`` defines; and it is the students'
copy: starters instead of solutions, the "No answer yet" verdicts that nbval compares, each
exercise's difficulty shown.
"""
import importlib
import warnings
import re
from pathlib import Path

import nbformat
import pytest

from cnncourse import instructor
from cnncourse.exercises import Exercise
from cnncourse.instructor.structure import STARS_RE

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


# ------------------------------------------------------------------ what a student opens: no solutions

def _module(path):
    return importlib.import_module(f"cnncourse.exercises.ex{path.name[:2]}")


def _exercises(path, nb):
    """``[(exercise, answer cell index, check cell index, name checked), ...]`` in notebook order."""
    module, out = _module(path), []
    for call in instructor.find_checks(nb):
        check = call.cells[0]
        out.append((getattr(module, call.attr), instructor.answer_cell_before(nb, check), check,
                    instructor.checked_name(nb.cells[check].source, call)))
    return out


def test_ships_no_solution_only_starters(notebook):
    # The notebooks students open (README links, Colab badges) hold no solution: each answer cell is the
    # starter "# YOUR CODE HERE" / "NAME = ...", no solution's code appears in the notebook, and no line of
    # one in the exercise section.
    path, nb = notebook
    markers = [i for i, c in enumerate(nb.cells) if instructor.solution_regions(c.source, c.cell_type)
               or instructor.has_solution(c.source)]
    assert markers == [], f"{path.name}: solution markers in cell(s) {markers}"
    text = "\n".join(c.source for c in nb.cells)
    squeezed = re.sub(r"\s+", "", text)
    heading = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    section = "\n".join(c.source for c in nb.cells[heading:])
    for exercise, answer, check, name in _exercises(path, nb):
        assert nb.cells[answer].source == instructor.starter(name), f"{path.name} cell {answer}: not the starter"
        solution = exercise.solution_code
        assert re.sub(r"\s+", "", solution) not in squeezed, f"{path.name}: the solution of {exercise.key} is in it"
        own_lines = [line.strip() for line in solution.split("\n")
                     if len(line.strip()) > 25 and not line.strip().startswith("#")]
        leaked = [line for line in own_lines if line in section]      # the lessons above may share a line
        assert leaked == [], f"{path.name}: lines of {exercise.key}'s solution in its exercise section: {leaked}"


def test_every_check_shows_no_answer_yet_and_nbval_compares_it(notebook):
    # The committed verdicts are "No answer yet", and nbval compares them (# NBVAL_CHECK_OUTPUT) when it
    # executes the notebook: so the test run proves that the notebook runs top to bottom with every
    # exercise unanswered and reported "not attempted".
    path, nb = notebook
    for exercise, answer, check, name in _exercises(path, nb):
        cell = nb.cells[check]
        assert cell.source.startswith("# NBVAL_CHECK_OUTPUT"), f"{path.name} cell {check}"
        said = "".join(o.get("text", "") for o in cell.outputs)
        assert said == f"[{exercise.key}] ✘ No answer yet: expected {exercise.expects}.\n", (path.name, check, said)


def test_statements_show_the_exercise_level_and_one_builds_the_main_skill(notebook):
    path, nb = notebook
    levels = []
    for exercise, answer, check, name in _exercises(path, nb):
        statement = next(i for i in range(answer - 1, 0, -1) if nb.cells[i].cell_type == "markdown")
        shown = STARS_RE.findall(nb.cells[statement].source)
        assert shown == [exercise.stars], f"{path.name} cell {statement}: shows {shown} for {exercise.key} " \
                                          f"(level {exercise.level})"
        assert re.search(rf"\*\*Exercise {re.escape(exercise.key)} — ", nb.cells[statement].source), \
            f"{path.name} cell {statement}: the statement should start '**Exercise {exercise.key} — '"
        levels.append(exercise.level)
    assert len(levels) >= 3 and max(levels) >= 2, f"{path.name}: levels {levels}: at least one ★★ or ★★★"
