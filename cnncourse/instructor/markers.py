"""Solution markers: the regions between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.

Which lines are markers: in a code cell, as in nbgrader, any line holding the words (so
that no solution can leak through an odd spelling); in a markdown cell only a line that
starts with them (after ``#``'s), so that prose about the markers is left alone.
:func:`cnncourse.instructor.check_notebook` flags prose that nbgrader would take for a marker.

>>> strip_solutions("a = 1  # BEGIN SOLUTION\\nsecret = 42\\nb = 2  # END SOLUTION\\nprint(a)")
('# YOUR CODE HERE\\nraise NotImplementedError()\\nprint(a)', 1)
>>> solution_regions("Why?\\n### BEGIN SOLUTION\\nWeights are shared.\\n### END SOLUTION", "markdown")
['Weights are shared.']
"""
from __future__ import annotations

import re

CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
#: The first line of an answer cell in a student notebook (then ``NAME = ...``; see :func:`starter`).
STARTER_HEAD = "# YOUR CODE HERE"
_STARTER_RE = re.compile(r"\A# YOUR CODE HERE\n([A-Za-z_]\w*) = \.\.\.\Z")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)

_BEGIN_RE = re.compile(r"^\s*(?:#+\s*)?BEGIN SOLUTION\b")
_END_RE = re.compile(r"^\s*(?:#+\s*)?END SOLUTION\b")
#: A marker as the course writes it: alone on its line, in a code cell.
MARKER_LINE_RE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class SolutionMarkerError(ValueError):
    """A ``### BEGIN SOLUTION`` without its ``### END SOLUTION`` (or the other way round)."""


def _is_begin(line, cell_type="code"):
    return "BEGIN SOLUTION" in line if cell_type == "code" else bool(_BEGIN_RE.match(line))


def _is_end(line, cell_type="code"):
    return "END SOLUTION" in line if cell_type == "code" else bool(_END_RE.match(line))


def starter(name):
    """The answer cell of a student notebook for the answer ``name``: it runs, and leaves ``name``
    as ``...``, which ``check`` reports as "No answer yet".

    >>> print(starter("conv_out"))
    # YOUR CODE HERE
    conv_out = ...
    >>> starter_name(starter("conv_out")), starter_name("conv_out = 3")
    ('conv_out', None)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    return f"{STARTER_HEAD}\n{name} = ..."


def starter_name(source):
    """The answer's name when the code ``source`` is exactly a :func:`starter` (trailing blanks
    ignored), else None."""
    found = _STARTER_RE.match(source.rstrip())
    return found.group(1) if found else None


def solution_cell(code):
    """An answer cell of a solved notebook: ``code`` between the markers, each alone on its line.

    >>> print(solution_cell("w = 26"))
    ### BEGIN SOLUTION
    w = 26
    ### END SOLUTION
    """
    return f"### BEGIN SOLUTION\n{code.strip(chr(10))}\n### END SOLUTION"


def whole_region(source):
    """The code of ``source`` when the cell is one solution region and nothing else, else None.

    >>> whole_region(solution_cell("w = 26")), whole_region("x = 1\\n" + solution_cell("w = 26"))
    ('w = 26', None)
    """
    lines = source.strip().split("\n")
    if len(lines) >= 2 and MARKER_LINE_RE.match(lines[0]) and "BEGIN" in lines[0] \
            and MARKER_LINE_RE.match(lines[-1]) and "END" in lines[-1] \
            and not any(_is_begin(x) or _is_end(x) for x in lines[1:-1]):
        return "\n".join(lines[1:-1])
    return None


def has_solution(source):
    """Whether the code ``source`` holds a solution region (a BEGIN marker).

    >>> has_solution("### BEGIN SOLUTION\\nx = 1\\n### END SOLUTION"), has_solution("x = 1")
    (True, False)
    """
    return any(_is_begin(line) for line in source.split("\n"))


def strip_solutions(source, cell_type="code"):
    """``(new_source, n_regions)``: ``source`` with every solution region replaced by a stub.

    The lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` (both included) become
    ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the indentation of the
    BEGIN line (``YOUR ANSWER HERE`` in a markdown cell); lines before and after are kept.

    Raises
    ------
    SolutionMarkerError
        When a BEGIN has no END, an END no BEGIN, or a BEGIN comes inside a region.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a string, got {type(source).__name__}")
    if cell_type not in ("code", "markdown", "raw"):
        raise ValueError(f"cell_type must be 'code', 'markdown' or 'raw', got {cell_type!r}")
    stub = CODE_STUB if cell_type == "code" else MARKDOWN_STUB
    out, n, begin_line = [], 0, None
    for number, line in enumerate(source.split("\n"), start=1):
        if _is_begin(line, cell_type):
            if begin_line is not None:
                raise SolutionMarkerError(
                    f"line {number}: a second BEGIN SOLUTION before the END SOLUTION of line {begin_line}")
            begin_line = number
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
            n += 1
        elif _is_end(line, cell_type):
            if begin_line is None:
                raise SolutionMarkerError(f"line {number}: END SOLUTION without a BEGIN SOLUTION before it")
            begin_line = None
        elif begin_line is None:
            out.append(line)
    if begin_line is not None:
        raise SolutionMarkerError(f"line {begin_line}: BEGIN SOLUTION without an END SOLUTION after it")
    return "\n".join(out), n


def solution_regions(source, cell_type="code"):
    """The text of every solution region in ``source`` (markers excluded), in order."""
    regions, current = [], None
    for line in source.split("\n"):
        if _is_begin(line, cell_type):
            current = []
        elif _is_end(line, cell_type):
            if current is not None:
                regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions
