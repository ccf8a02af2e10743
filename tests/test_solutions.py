"""Every exercise's solution, proved: the solved copy of each notebook runs in fast mode and passes all its checks.

The course ships the students' notebooks (starters, no solutions); each solution lives in its
exercise (``cnncourse/exercises/exNN.py``). Here ``python -m cnncourse.instructor solve`` writes
the solved copies and the grader runs each one in a fresh kernel, in fast mode: every exercise
of the notebook's module must be checked and pass, with no cell raising. A solution broken in
its module (or a checker that stopped accepting it, or a lesson cell it relies on that changed)
fails here. The students' copies are executed by nbval, which compares their "No answer yet"
verdicts (``tests/test_notebooks.py``).
"""
import importlib
from pathlib import Path

import pytest

from cnncourse import instructor
from cnncourse.exercises import Exercise

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_solved_notebook_passes_every_exercise(path, tmp_path):
    [(solved, n)] = instructor.solve(path, tmp_path)
    module = importlib.import_module(f"cnncourse.exercises.ex{path.name[:2]}")
    keys = sorted(value.key for value in vars(module).values() if isinstance(value, Exercise))
    assert n == len(keys) >= 3
    report = instructor.grade(solved, timeout=300, total_timeout=900)
    summary = instructor.format_report(report)
    assert report["errors"] == [] and report["skipped"] == [] and not report["kernel_died"], summary
    assert sorted(e["key"] for e in report["exercises"]) == keys, summary
    assert report["passed"] == len(keys), summary
