"""Solved copies: each answer cell of a student notebook filled with its exercise's solution.

The notebooks students open hold no solution: each answer cell is a
:func:`~cnncourse.instructor.markers.starter` (``# YOUR CODE HERE`` / ``NAME = ...``), checked
by the next cell, ``ex.qK.check(NAME)``. The solution has one home, the exercise
(``Exercise(..., solution=...)`` in ``cnncourse/exercises/exNN.py``), which ``ex.qK.solution()``
prints; :func:`solve_notebook` writes that same text into the answer cell, between nbgrader's
markers, so the solved copy works with nbgrader and with ``release``, and releasing it gives
back the student notebook (:func:`~cnncourse.instructor.releasing.release_notebook`).
"""
from __future__ import annotations

import copy
import importlib

from cnncourse.instructor.markers import solution_cell, starter_name
from cnncourse.instructor.notebooks import (EXERCISE_IMPORT_RE, answer_cell_before, checked_name, find_checks,
                                            transform_all)


def _exercise_modules(nb):
    """``{alias: module}`` of every ``from cnncourse.exercises import exNN as ALIAS`` in ``nb``."""
    modules = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for number, alias in EXERCISE_IMPORT_RE.findall(cell.source):
                modules[alias] = importlib.import_module(f"cnncourse.exercises.ex{number}")
    return modules


def solve_notebook(nb):
    """A solved copy of the student notebook ``nb`` (an ``nbformat`` node); ``nb`` is not changed.

    Each answer cell (the starter before a check cell ``ALIAS.qK.check(NAME)``) becomes
    :func:`~cnncourse.instructor.markers.solution_cell` of ``ALIAS.qK``'s solution; the
    outputs and execution counts of the answer and check cells are cleared; every other
    cell is kept as it is.

    Returns ``(copy, n_solved)``.

    Raises
    ------
    ValueError
        When a checked exercise does not come from ``cnncourse.exercises``, or its answer
        cell is not a starter for the name checked (a student already answered it, say):
        solve works on the notebooks as the course ships them.

    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> nb = new_notebook(cells=[new_code_cell("from cnncourse.exercises import ex02 as ex"),
    ...                          new_code_cell("# YOUR CODE HERE\\nstack_params = ..."),
    ...                          new_code_cell("ex.q2.check(stack_params)")])
    >>> solved, n = solve_notebook(nb)
    >>> n, solved.cells[1].source.splitlines()[0], solved.cells[1].source.splitlines()[-1]
    (1, '### BEGIN SOLUTION', '### END SOLUTION')
    """
    solved = copy.deepcopy(nb)
    modules = _exercise_modules(solved)
    n = 0
    for call in find_checks(solved):
        check_index = call.cells[0]
        module = modules.get(call.alias)
        if module is None:
            raise ValueError(f"cell {check_index}: {call.label}.check( is not an exercise of cnncourse.exercises "
                             "(no 'from cnncourse.exercises import exNN as " f"{call.alias}' before it)")
        exercise = getattr(module, call.attr, None)
        if exercise is None or not hasattr(exercise, "solution_code"):
            raise ValueError(f"cell {check_index}: {module.__name__} has no exercise {call.attr}")
        name = checked_name(solved.cells[check_index].source, call)
        answer = answer_cell_before(solved, check_index)
        if answer is None or answer == check_index or name is None \
                or starter_name(solved.cells[answer].source) != name:
            raise ValueError(f"cell {check_index}: the answer cell of {call.label} is not the starter "
                             f"'# YOUR CODE HERE' / '{name} = ...' (already answered or edited?); solve works "
                             "on the student notebooks as the course ships them")
        solved.cells[answer].source = solution_cell(exercise.solution_code)
        for index in (answer, check_index):
            solved.cells[index].outputs = []
            solved.cells[index].execution_count = None
        n += 1
    return solved, n


def solve(source, out):
    """Write a solved copy of every notebook of ``source`` (a folder or one ``.ipynb``) into ``out``.

    ``out/NAME.ipynb`` for each ``source/NAME.ipynb``; every notebook is solved and every
    target checked before anything is written; nothing is ever overwritten
    (:func:`~cnncourse.instructor.notebooks.write_copies`).

    Returns ``[(target_path, n_solved), ...]``.
    """
    return transform_all(source, out, solve_notebook, "solved copies")
