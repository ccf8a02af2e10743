"""Student copies: solutions stubbed out, outputs cleared, nothing else changed; no file overwritten.

An answer cell that is one solution region and nothing else, checked by the next code cell
(``ex.qK.check(NAME)``), becomes the course's :func:`~cnncourse.instructor.markers.starter`
(``# YOUR CODE HERE`` / ``NAME = ...``): the student copy runs top to bottom and the check
says "No answer yet". Any other region becomes nbgrader's stub. So releasing a notebook that
:func:`~cnncourse.instructor.solving.solve_notebook` filled gives back the student notebook.
"""
from __future__ import annotations

import copy
from pathlib import Path

from cnncourse.instructor.markers import SolutionMarkerError, starter, strip_solutions, whole_region
from cnncourse.instructor.notebooks import CHECK_RE, CheckCall, checked_name, transform_all


def _checked_next(cells, index):
    """The name the first code cell after ``index`` gives to a check, or None."""
    for cell in cells[index + 1:]:
        if cell.cell_type == "code":
            found = CHECK_RE.search(cell.source)
            return checked_name(cell.source, CheckCall(*found.groups())) if found else None
    return None


def release_notebook(nb):
    """A student copy of the notebook ``nb`` (an ``nbformat`` node); ``nb`` is not changed.

    Solution regions replaced (see :func:`strip_solutions`), outputs and execution counts
    cleared, execution-time metadata dropped; every other cell, its metadata and the
    notebook's metadata kept as they are.

    Returns ``(copy, n_regions)``.

    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> student, n = release_notebook(new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\\nw = 26\\n### END SOLUTION")]))
    >>> n, student.cells[0].source
    (1, '# YOUR CODE HERE\\nraise NotImplementedError()')
    >>> student, n = release_notebook(new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\\nw = 26\\n### END SOLUTION"),
    ...                                                   new_code_cell("ex.q1.check(w)")]))
    >>> student.cells[0].source
    '# YOUR CODE HERE\\nw = ...'
    """
    student = copy.deepcopy(nb)
    total = 0
    for index, cell in enumerate(student.cells):
        whole = cell.cell_type == "code" and whole_region(cell.source) is not None
        name = _checked_next(student.cells, index) if whole else None
        if name:
            cell.source, n = starter(name), 1
        else:
            try:
                cell.source, n = strip_solutions(cell.source, cell.cell_type)
            except SolutionMarkerError as exc:
                raise SolutionMarkerError(f"cell {index}: {exc}") from None
        total += n
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return student, total


def release(source, out):
    """Write a student copy of every notebook of ``source`` (a folder or one ``.ipynb``) into ``out``.

    ``out/NAME.ipynb`` for each ``source/NAME.ipynb``; ``out`` is created if needed.
    Everything is checked before anything is written: when a target file exists, or a
    notebook has unbalanced solution markers, nothing is written.

    Returns ``[(target_path, n_regions), ...]``.

    Raises
    ------
    FileExistsError
        Naming the existing file(s); nothing is ever overwritten.
    SolutionMarkerError, FileNotFoundError, ValueError
        Bad markers, missing source, or a file that is not a notebook.
    """
    return transform_all(source, out, release_notebook, "student copies")
