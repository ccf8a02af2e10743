"""Student copies: solutions stubbed out, outputs cleared, nothing else changed; no file overwritten."""
from __future__ import annotations

import copy
from pathlib import Path

from cnncourse.instructor.markers import SolutionMarkerError, strip_solutions
from cnncourse.instructor.notebooks import notebook_paths, read_notebook


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
    """
    student = copy.deepcopy(nb)
    total = 0
    for index, cell in enumerate(student.cells):
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
    import nbformat

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out {str(out)!r} is a file; give a folder (new or empty) for the student copies")
    paths = notebook_paths(source)
    existing = [out / p.name for p in paths if (out / p.name).exists()]
    if existing:
        names = ", ".join(str(p) for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise FileExistsError(
            f"{len(existing)} target file(s) already exist: {names}. Release never overwrites a file: "
            "release into a new or empty folder (e.g. OUT-2/), or move the old copies away first."
        )
    copies = []
    for path in paths:
        try:
            student, n = release_notebook(read_notebook(path))
        except SolutionMarkerError as exc:
            raise SolutionMarkerError(f"{path}: {exc}") from None
        copies.append((out / path.name, student, n))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for target, student, n in copies:
        with open(target, "x", encoding="utf-8") as handle:   # "x": never overwrite, even in a race
            nbformat.write(student, handle)
        written.append((target, n))
    return written
