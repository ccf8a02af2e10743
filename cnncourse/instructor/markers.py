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
