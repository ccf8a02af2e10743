"""Structure rules of a committed notebook (CONTRIBUTING.md), checked without running it.

:func:`check_notebook` lists what breaks them; each group of rules is a function of its own.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from cnncourse import colab
from cnncourse.instructor.markers import MARKER_LINE_RE, SolutionMarkerError, starter_name, strip_solutions
from cnncourse.instructor.notebooks import (EXERCISE_IMPORT_RE, answer_cell_before, checked_name, error_text,
                                            find_checks, parse_code)

# Unix home/work/temp folders, and a Windows drive path (C:\\Users\\...; not LaTeX's f:\\mathbb)
_LOCAL_PATH_RE = re.compile(r"(?<![\w.])(/work/|/tmp/|/home/|/root/|/Users/)|(?<![\w\\])[A-Z]:\\[\w .-]+\\")
_PLACEHOLDER_RE = re.compile(r"\b(?:TODO|TBD|FIXME|XXX|TIME_[A-Z]+)\b")
_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")
# A Keras progress bar ("12/12 ━━━━━━━━━━ 2s 5ms/step"), not the box drawing of model.summary().
_PROGRESS_BAR_RE = re.compile(r"\d+/\d+\s+━{2,}")
# An exercise's difficulty in its statement: "(★)", "(★★)" or "(★★★)".
STARS_RE = re.compile(r"\((★{1,3})\)")

#: The ``## Exercises`` cell, the same in every notebook: how to answer, check, get a hint, see a solution.
EXERCISES_INTRO = """## Exercises

How to work on them (the same in every notebook):

- **Answer**: in the cell under `# YOUR CODE HERE`, replace the `...` with your answer, keeping the name it
  assigns, and run the cell.
- **Check**: run the cell below it, `ex.qK.check(...)`: it prints ✔, or says what is wrong without giving the
  answer away. Until you answer it says "No answer yet", and the rest of the notebook runs either way.
- **Stuck?** `ex.qK.hint()` prints a hint and `ex.qK.solution()` a solution (a grader's report lists the
  solutions you looked at).
- **Difficulty**: ★ apply what this notebook showed · ★★ build something it did not show, from its parts ·
  ★★★ extend it beyond the notebook."""


def _output_texts(output):
    kind = output.get("output_type")
    if kind == "stream":
        yield output.get("text", "")
    elif kind == "error":
        yield output.get("evalue", "")
        yield "\n".join(output.get("traceback", []))
    else:
        data = output.get("data", {})
        for mime in _TEXT_MIMES:
            if mime in data:
                value = data[mime]
                yield value if isinstance(value, str) else json.dumps(value)


def _stored_names(source):
    """Names assigned anywhere in ``source`` with their line numbers (magics ignored), or None
    when it is not Python.

    >>> sorted(_stored_names("import numpy as np\\nw = 1\\ndef f(x):\\n    return x"))
    [('f', 3), ('w', 2)]
    """
    tree = parse_code(source)
    if tree is None:
        return None
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append((node.id, node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.append((node.name, node.lineno))
    return names


def fast_outputs_reason(nb):
    """Why a notebook is committed with fast-mode outputs, or None (the rule: full-mode outputs).

    The exception is explicit and visible: the notebook's metadata holds
    ``{"cnncourse": {"outputs": "fast", "reason": "..."}}`` and its title cell says so;
    ``tests/test_notebooks.py`` reports every such notebook as a warning.
    """
    meta = nb.metadata.get("cnncourse", {}) if hasattr(nb, "metadata") else {}
    if meta.get("outputs") == "fast":
        return str(meta.get("reason") or "no reason given")
    return None


def _head_problems(cells, rel_path, fast_outputs):
    """Cell 0 the badge, cell 1 the setup cell, cell 2 the title saying the timings and the run."""
    problems = []
    number = re.match(r"(\d+)", Path(rel_path).name)
    if not cells or cells[0].cell_type != "markdown" or cells[0].source != colab.badge_source(rel_path):
        problems.append(f"cell 0 is not the Colab badge for {rel_path} on {colab.REPOSITORY} "
                        "(run: python -m cnncourse.colab sync notebooks/)")
    if len(cells) < 2 or cells[1].cell_type != "code" or cells[1].source != colab.setup_source():
        problems.append("cell 1 is not the setup cell of cnncourse.colab.setup_source() "
                        "(run: python -m cnncourse.colab sync notebooks/)")
    if len(cells) < 3 or cells[2].cell_type != "markdown" or not (
            number and re.match(rf"#\s+{number.group(1)}\b", cells[2].source.lstrip())):
        problems.append(f"cell 2 should be the title, a markdown cell starting '# {number.group(1) if number else 'NN'} · '")
        return problems
    intro = cells[2].source.lower()
    if not ("fast mode" in intro and "cpu" in intro and "gpu" in intro):
        problems.append("cell 2 should say how long fast mode, full mode on a CPU and full mode on "
                        "Colab's GPU take (CONTRIBUTING.md, A notebook, 2)")
    if fast_outputs:
        if not re.search(r"fast[- ]mode\*{0,2} run", intro):
            problems.append("cell 2 should say that the outputs shown come from a fast-mode run "
                            "(the notebook's metadata cnncourse.outputs is 'fast')")
    elif not re.search(r"full[- ]mode run", intro):
        problems.append("cell 2 should say that the outputs shown were produced by a full-mode run")
    return problems


def _text_problems(cells):
    """No placeholder left; no prose that nbgrader would take for a solution marker."""
    problems = []
    for index, cell in enumerate(cells):
        left = _PLACEHOLDER_RE.search(cell.source)
        if left:
            problems.append(f"cell {index}: a placeholder is left in it ({left.group(0)})")
        for line in cell.source.split("\n"):
            if ("BEGIN SOLUTION" in line or "END SOLUTION" in line) and not (
                    cell.cell_type == "code" and MARKER_LINE_RE.match(line)):
                problems.append(f"cell {index}: {line.strip()[:70]!r} names a solution marker; nbgrader takes "
                                "any line holding those words for a marker (and fails): write e.g. "
                                "'between the solution markers', and put markers alone on their line")
                break
    return problems


def _begin_problems(cells, fast_outputs):
    """The first code cell after the setup calls ``begin(`` and its output says the mode of the run."""
    code = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code" and i >= 2]
    if not code or "begin(" not in code[0][1].source:
        return ["the first code cell after the setup cell should call begin( (cnncourse.session)"]
    said = "".join(t for o in code[0][1].get("outputs", []) for t in _output_texts(o))
    if fast_outputs:
        if "FAST mode" not in said:
            return [f"cell {code[0][0]}: its output does not say FAST mode, yet the metadata "
                    "says the outputs come from a fast-mode run"]
    elif "FULL mode" not in said:
        return [f"cell {code[0][0]}: its output does not say FULL mode: commit the notebook "
                "executed in full mode (CNNCOURSE_FAST=0 jupyter nbconvert --execute --inplace ...)"]
    return []


def _execution_problems(cells):
    """Every code cell run, in order; no error output, progress bar or absolute local path."""
    problems = []
    last, unexecuted = 0, []
    for index, cell in enumerate(cells):
        text = cell.source
        if _LOCAL_PATH_RE.search(text):
            problems.append(f"cell {index}: its source holds an absolute local path "
                            f"({_LOCAL_PATH_RE.search(text).group(0)}...)")
        if cell.cell_type != "code":
            continue
        if text.strip():
            count = cell.get("execution_count")
            if count is None:
                unexecuted.append(index)
            elif count <= last:
                problems.append(f"cell {index}: executed out of order (execution count {count} after {last})")
            else:
                last = count
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell {index}: error output {error_text(output)}")
            for out_text in _output_texts(output):
                found = _LOCAL_PATH_RE.search(out_text)
                if found:
                    problems.append(f"cell {index}: an output holds an absolute local path ({found.group(0)}...)")
                    break
                if _PROGRESS_BAR_RE.search(out_text):
                    problems.append(f"cell {index}: an output holds a Keras progress bar (use verbose=train.verbose())")
                    break
    if unexecuted:
        shown = ", ".join(map(str, unexecuted[:8])) + (", ..." if len(unexecuted) > 8 else "")
        problems.append(f"code cell(s) {shown} not executed (commit the notebook executed in full mode)")
    return problems


def _heading(cells, title):
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and re.search(rf"^##\s+{title}\s*$", cell.source, re.M):
            return index
    return None


def _exercise_problems(nb, rel_path):
    """``## Summary`` then ``## Exercises`` (a cell of its own: :data:`EXERCISES_INTRO`); at least three
    checks, each in a cell starting ``# NBVAL_CHECK_OUTPUT`` right after its answer cell (a starter or a
    solution-marked cell) that assigns the variable checked, a name no other cell assigns, after a
    statement showing the difficulty, ``(★)`` to ``(★★★)``."""
    problems = []
    cells = nb.cells
    summary, exercises = _heading(cells, "Summary"), _heading(cells, "Exercises")
    if summary is None:
        problems.append("no '## Summary' markdown heading")
    if exercises is None:
        problems.append("no '## Exercises' markdown heading")
        return problems
    if summary is not None and summary > exercises:
        problems.append("'## Summary' should come before '## Exercises'")
    if cells[exercises].source.strip() != EXERCISES_INTRO:
        problems.append(f"cell {exercises}: the '## Exercises' cell should be exactly "
                        "cnncourse.instructor.structure.EXERCISES_INTRO, a cell of its own")

    stored = {i: _stored_names(c.source) for i, c in enumerate(cells) if c.cell_type == "code"}  # None: not Python
    checks = [c for c in find_checks(nb) if any(i > exercises for i in c.cells)]
    if len(checks) < 3:
        problems.append(f"{len(checks)} exercise check(s) after '## Exercises'; at least 3 expected")
    number = re.match(r"(\d+)", Path(rel_path).name)
    module = None
    for cell in cells:
        if cell.cell_type == "code":
            module = EXERCISE_IMPORT_RE.search(cell.source) or module
    if number and module and int(module.group(1)) != int(number.group(1)):
        problems.append(f"the exercises come from ex{module.group(1)}, not ex{number.group(1)} of this notebook")
    for call in checks:
        problems.extend(_answer_problems(nb, call, exercises, stored))
    return problems


def _answer_problems(nb, call, exercises, stored):
    """The answer cell of the check ``call`` (its last cell), after the ``## Exercises`` cell ``exercises``."""
    cells, index = nb.cells, max(call.cells)
    variable = checked_name(cells[index].source, call)
    answer_cell = answer_cell_before(nb, index, after=exercises)
    if answer_cell is None or answer_cell == index:
        return [f"cell {index}: {call.label}.check( has no answer cell before it (a starter '# YOUR CODE HERE' / "
                "'NAME = ...', or the solution between the markers)"]
    problems = []
    if not cells[index].source.startswith("# NBVAL_CHECK_OUTPUT"):
        problems.append(f"cell {index}: a check cell starts with '# NBVAL_CHECK_OUTPUT' (its verdict is the same "
                        "in fast and full mode, and nbval compares it)")
    statement = next((i for i in range(answer_cell - 1, exercises, -1) if cells[i].cell_type == "markdown"), None)
    if statement is None or not STARS_RE.search(cells[statement].source):
        problems.append(f"cell {answer_cell}: the statement before this answer cell does not show the "
                        "exercise's difficulty, (★), (★★) or (★★★)")
    if answer_cell != index and any(cells[i].cell_type == "code" for i in range(answer_cell + 1, index)):
        problems.append(f"cell {index}: {call.label}.check( does not directly follow its answer cell {answer_cell}")
    if variable is None:
        problems.append(f"cell {index}: {call.label}.check( should be given one variable, assigned in the answer cell")
        return problems
    if starter_name(cells[answer_cell].source) not in (None, variable):
        problems.append(f"cell {answer_cell}: the starter assigns {starter_name(cells[answer_cell].source)!r}, "
                        f"not {variable!r}, which {call.label}.check( is given")
    try:
        strip_solutions(cells[answer_cell].source)
    except SolutionMarkerError as exc:
        problems.append(f"cell {answer_cell}: {exc}")
        return problems
    names = stored.get(answer_cell)
    if names is not None and not any(n == variable for n, _ in names):
        problems.append(f"cell {answer_cell}: the answer cell does not assign {variable!r}, "
                        f"which {call.label}.check( is given")
    elsewhere = sorted(i for i, names in stored.items()
                       if i != answer_cell and names and any(n == variable for n, _ in names))
    if elsewhere:
        problems.append(f"{variable!r} (the answer to {call.label}) is also assigned in cell(s) {elsewhere}; "
                        "give each answer a name unique in the notebook")
    return problems


def check_notebook(nb, rel_path):
    """Problems with the structure of a committed notebook (an empty list when there are none).

    ``rel_path`` is the notebook's path from the repository's root (``notebooks/02_x.ipynb``).
    Checked, without running anything: cell 0 is the Colab badge for ``rel_path`` and cell 1
    the setup cell (:mod:`cnncourse.colab`); a ``# NN · Title`` cell saying how long fast mode,
    full mode on a CPU and on a GPU take and that the outputs come from a full-mode run; no
    placeholder (TODO, TIME_FAST...) left; the first code cell
    after the setup calls ``begin(`` and its committed output says FULL mode; every code
    cell was run, in order; no error outputs, no progress bars, no absolute local paths;
    ``## Summary`` then ``## Exercises`` (:data:`EXERCISES_INTRO`) with at least three ``.check(``
    calls, each in a ``# NBVAL_CHECK_OUTPUT`` cell right after its answer cell (a starter, or a
    solution-marked cell) that assigns the variable checked, a name no other cell assigns, after
    a statement that shows the difficulty.
    """
    fast_outputs = fast_outputs_reason(nb) is not None
    rel_path = Path(rel_path).as_posix()
    return (_head_problems(nb.cells, rel_path, fast_outputs) + _text_problems(nb.cells)
            + _begin_problems(nb.cells, fast_outputs) + _execution_problems(nb.cells)
            + _exercise_problems(nb, rel_path))
