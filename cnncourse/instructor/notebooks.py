"""Reading notebooks, and finding their exercise checks and the answer cell of each.

>>> from nbformat.v4 import new_code_cell, new_notebook
>>> nb = new_notebook(cells=[new_code_cell("from cnncourse.exercises import ex02 as ex"),
...                          new_code_cell("### BEGIN SOLUTION\\nw = 26\\n### END SOLUTION"),
...                          new_code_cell("ex.q1.check(w)")])
>>> [(c.label, c.cells) for c in find_checks(nb)]
[('ex.q1', [2])]
>>> answer_cell_before(nb, 2)
1
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from cnncourse import colab
from cnncourse.instructor.markers import has_solution

# ex.q1.check(   -> ("ex", "q1")
CHECK_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.check\(")
# from cnncourse.exercises import ex02 as ex   -> ("02", "ex")
EXERCISE_IMPORT_RE = re.compile(r"from\s+cnncourse\.exercises\s+import\s+ex(\d+)\s+as\s+([A-Za-z_]\w*)")


def read_notebook(path):
    """The notebook at ``path`` (an ``nbformat`` node, version 4).

    Raises FileNotFoundError when there is no such file, ValueError when it is not a notebook.
    """
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook {str(path)!r} does not exist")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook
        raise ValueError(f"{str(path)!r} is not a readable Jupyter notebook ({type(exc).__name__}: {exc})") from None


def notebook_paths(source):
    """``[source]`` for one ``.ipynb`` file, else the notebooks of the folder ``source``
    (:func:`cnncourse.colab.notebooks_in`); refused when there are none."""
    source = Path(source)
    if source.is_file():
        if source.suffix != ".ipynb":
            raise ValueError(f"source must be a folder of notebooks or an .ipynb file, got {str(source)!r}")
        return [source]
    if not source.exists():
        raise FileNotFoundError(f"source {str(source)!r} does not exist")
    paths = colab.notebooks_in(source)
    if not paths:
        raise FileNotFoundError(f"source {str(source)!r} holds no .ipynb notebook")
    return paths


@dataclass
class CheckCall:
    """One ``ALIAS.ATTR.check(`` found in a notebook's code."""

    alias: str
    attr: str
    cells: list = field(default_factory=list)   # indices of the code cells calling it

    @property
    def label(self):
        return f"{self.alias}.{self.attr}"


def check_labels(source):
    """The ``ALIAS.ATTR`` of every check called in the code ``source``, in order, each once;
    commented-out lines left out.

    >>> check_labels("ex.q2.check(b); ex.q1.check(a)\\n# ex.q9.check(c)\\nex.q2.check(b)")
    ['ex.q2', 'ex.q1']
    """
    labels = []
    for line in source.split("\n"):
        if line.lstrip().startswith("#"):      # a commented-out check is no check
            continue
        for alias, attr in CHECK_RE.findall(line):
            if f"{alias}.{attr}" not in labels:
                labels.append(f"{alias}.{attr}")
    return labels


def find_checks(nb):
    """The exercises a notebook checks: ``[CheckCall, ...]`` in the order they first appear.

    Found in the code (``ex.q1.check(...)``), not in any output, so an exercise whose
    check never ran still counts.
    """
    calls = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for label in check_labels(cell.source):
            call = calls.setdefault(label, CheckCall(*label.split(".")))
            call.cells.append(index)
    return list(calls.values())


def checked_name(source, call):
    """The variable given to ``call`` (a :class:`CheckCall`) in the code ``source``, or None
    when it is given something else (or not called there).

    >>> checked_name("# NBVAL_CHECK_OUTPUT\\nex.q1.check(conv_out)", CheckCall("ex", "q1"))
    'conv_out'
    """
    found = re.search(rf"(?<![\w.]){re.escape(call.alias)}\.{re.escape(call.attr)}\.check\(\s*([A-Za-z_]\w*)\s*\)",
                      source)
    return found.group(1) if found else None


def transform_all(source, out, transform, what):
    """Apply ``transform(nb) -> (new_nb, count)`` to every notebook of ``source`` (a folder or one
    ``.ipynb``) and write the results into ``out`` (:func:`write_copies`): every notebook is
    transformed before anything is written. A ValueError (bad markers, say) names the notebook.

    Returns ``[(target_path, count), ...]``.
    """
    copies = []
    for path in notebook_paths(source):
        nb = read_notebook(path)
        try:
            new, count = transform(nb)
        except ValueError as exc:
            raise type(exc)(f"{path}: {exc}") from None
        copies.append((path.name, new, count))
    written = write_copies([(name, nb) for name, nb, _ in copies], out, what)
    return [(target, count) for target, (_, _, count) in zip(written, copies)]


def write_copies(copies, out, what):
    """Write ``[(file name, notebook), ...]`` into the folder ``out`` (created if needed).

    Every target is checked before anything is written: when one exists, nothing is
    written and FileExistsError names it; nothing is ever overwritten, even in a race.
    ``what`` names the copies in the messages ("student copies"). Returns the paths written.
    """
    import nbformat

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out {str(out)!r} is a file; give a folder (new or empty) for the {what}")
    existing = [out / name for name, _ in copies if (out / name).exists()]
    if existing:
        names = ", ".join(str(p) for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise FileExistsError(
            f"{len(existing)} target file(s) already exist: {names}. Nothing is ever overwritten: "
            f"write the {what} into a new or empty folder (e.g. OUT-2/), or move the old copies away first."
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, nb in copies:
        with open(out / name, "x", encoding="utf-8") as handle:   # "x": never overwrite, even in a race
            nbformat.write(nb, handle)
        written.append(out / name)
    return written


def answer_cell_before(nb, index, after=-1, stub=True):
    """Index of the answer cell of the check in cell ``index``, or None.

    The nearest code cell at or before ``index`` (and after cell ``after``) that holds a
    solution region, or, with ``stub``, the ``# YOUR CODE HERE`` left by ``release``;
    the search stops at an earlier check cell (that one has its own answer cell).
    """
    for i in range(index, after, -1):
        source = nb.cells[i].source
        if nb.cells[i].cell_type != "code":
            continue
        if has_solution(source) or (stub and "YOUR CODE HERE" in source):
            return i
        if i != index and CHECK_RE.search(source):
            return None
    return None


def parse_code(source):
    """The ``ast`` tree of a code cell's ``source`` (IPython's ``%`` and ``!`` lines left out,
    line numbers kept), or None when it is not valid Python.

    >>> parse_code("%matplotlib inline\\nx = 1").body[0].lineno, parse_code("x = ")
    (2, None)
    """
    clean = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    try:
        return ast.parse(clean)
    except (SyntaxError, ValueError):   # ValueError: a null byte
        return None


def error_text(error):
    """``"Name: first line of the message"`` of an error output or an execute reply."""
    ename = error.get("ename", "Error")
    evalue = str(error.get("evalue", "")).strip().split("\n")[0]
    return f"{ename}: {evalue}" if evalue else ename
