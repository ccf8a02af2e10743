"""Instructor tools: release student copies, grade submissions, check notebook structure.

Solutions are written in the notebooks' answer cells between nbgrader's markers::

    ### BEGIN SOLUTION
    kernel_answer = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    ### END SOLUTION

and each is checked by the next cell, ``ex.q1.check(kernel_answer)``.

Commands (run from the repository's root)::

    python -m cnncourse.instructor release notebooks/ OUT/
        Student copies: every solution region becomes ``# YOUR CODE HERE`` /
        ``raise NotImplementedError()``, outputs and execution counts are cleared,
        nothing else changes. Refuses to write into an existing file.

    python -m cnncourse.instructor grade SUBMITTED.ipynb [--timeout 120] [--total-timeout 900]
                                         [--json PATH | --json -]
        Runs the notebook in a fresh kernel in fast mode (``CNNCOURSE_FAST=1``), in
        the notebook's folder, cell by cell with a time limit per cell and in all, and
        reports each exercise as passed / failed / not attempted, with a total.

    python -m cnncourse.instructor check notebooks/
        Structure checks of committed notebooks (badge, setup cell, exercises, no
        errors or local paths in outputs...), without running them.

The notebooks also work with nbgrader: its ``ClearSolutions`` step removes the same
regions (nbgrader wants its own cell metadata too, or ``--ClearSolutions.enforce_metadata=False``).

Grading runs the submitted code: do it in a container or an account that holds nothing else.

Example
-------
>>> strip_solutions("x = 1\\n### BEGIN SOLUTION\\nanswer = 42\\n### END SOLUTION\\nprint(answer)")
('x = 1\\n# YOUR CODE HERE\\nraise NotImplementedError()\\nprint(answer)', 1)
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)

# Which lines are markers. In a code cell, as in nbgrader, any line holding the words
# (so that no solution can leak through an odd spelling); in a markdown cell only a line
# that starts with them (after '#'s), so that prose about the markers is left alone.
# check_notebook() flags prose that nbgrader would take for a marker.
_BEGIN_RE = re.compile(r"^\s*(?:#+\s*)?BEGIN SOLUTION\b")
_END_RE = re.compile(r"^\s*(?:#+\s*)?END SOLUTION\b")
_MARKER_LINE_RE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _is_begin(line, cell_type="code"):
    return "BEGIN SOLUTION" in line if cell_type == "code" else bool(_BEGIN_RE.match(line))


def _is_end(line, cell_type="code"):
    return "END SOLUTION" in line if cell_type == "code" else bool(_END_RE.match(line))
# ex.q1.check(   -> ("ex", "q1")
_CHECK_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.check\(")
_EXERCISE_IMPORT_RE = re.compile(r"from\s+cnncourse\.exercises\s+import\s+ex(\d+)\s+as\s+([A-Za-z_]\w*)")

GRADE_MARK = "<<cnncourse-grade>>"

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"


def _has_region(source):
    return any(_is_begin(line) for line in source.split("\n"))


class SolutionMarkerError(ValueError):
    """A ``### BEGIN SOLUTION`` without its ``### END SOLUTION`` (or the other way round)."""


# ======================================================================= release

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
    lines = source.split("\n")
    for number, line in enumerate(lines, start=1):
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


def release_notebook(nb):
    """A student copy of the notebook ``nb`` (an ``nbformat`` node); ``nb`` is not changed.

    Solution regions replaced (see :func:`strip_solutions`), outputs and execution counts
    cleared, execution-time metadata dropped; every other cell, its metadata and the
    notebook's metadata kept as they are.

    Returns ``(copy, n_regions)``.
    """
    import copy

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


def _read_notebook(path):
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook {str(path)!r} does not exist")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook
        raise ValueError(f"{str(path)!r} is not a readable Jupyter notebook ({type(exc).__name__}: {exc})") from None


def _notebooks(source):
    source = Path(source)
    if source.is_file():
        if source.suffix != ".ipynb":
            raise ValueError(f"source must be a folder of notebooks or an .ipynb file, got {str(source)!r}")
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"source {str(source)!r} does not exist")
    paths = sorted(p for p in source.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise FileNotFoundError(f"source {str(source)!r} holds no .ipynb notebook")
    return paths


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
    paths = _notebooks(source)
    existing = [out / p.name for p in paths if (out / p.name).exists()]
    if existing:
        names = ", ".join(str(p) for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise FileExistsError(
            f"{len(existing)} target file(s) already exist: {names}. Release never overwrites a file: "
            "release into a new or empty folder (e.g. OUT-2/), or move the old copies away first."
        )
    copies = []
    for path in paths:
        nb = _read_notebook(path)
        try:
            student, n = release_notebook(nb)
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


# ======================================================================= grading

@dataclass
class CheckCall:
    """One ``ALIAS.ATTR.check(`` found in a notebook's code."""

    alias: str
    attr: str
    cells: list = field(default_factory=list)   # indices of the code cells calling it

    @property
    def label(self):
        return f"{self.alias}.{self.attr}"


def find_checks(nb):
    """The exercises a notebook checks: ``[CheckCall, ...]`` in the order they first appear.

    Found in the code (``ex.q1.check(...)``), not in any output, so an exercise whose
    check never ran still counts.
    """
    calls = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.split("\n"):
            if line.lstrip().startswith("#"):      # a commented-out check is no check
                continue
            for alias, attr in _CHECK_RE.findall(line):
                call = calls.setdefault((alias, attr), CheckCall(alias, attr))
                if index not in call.cells:
                    call.cells.append(index)
    return list(calls.values())


def _probe_source(checks):
    pairs = [(c.alias, c.attr) for c in checks]
    return f'''def __cnncourse_probe():
    import json
    try:
        from cnncourse import exercises as _e
        results = _e.results()
        feedback = _e.feedback() if hasattr(_e, "feedback") else {{}}
        seen = _e.solutions_seen() if hasattr(_e, "solutions_seen") else []
    except Exception as exc:
        results, feedback, seen = None, {{"__error__": repr(exc)}}, []
    keys = {{}}
    for alias, attr in {pairs!r}:
        try:
            keys[alias + "." + attr] = getattr(globals()[alias], attr).key
        except Exception:
            pass
    print({GRADE_MARK!r} + json.dumps({{"results": results, "feedback": feedback, "keys": keys, "seen": seen}},
                                    default=str))
__cnncourse_probe()
del __cnncourse_probe'''


def _kernel_env():
    env = dict(os.environ)
    env["CNNCOURSE_FAST"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # the kernel imports the same cnncourse as the grader, installed or not
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _current_env_kernel_manager():
    """A kernel manager that starts ``sys.executable -m ipykernel`` (this environment's Python)."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class _Specs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=_Specs())


def _error_text(reply_or_output):
    ename = reply_or_output.get("ename", "Error")
    evalue = str(reply_or_output.get("evalue", "")).strip().split("\n")[0]
    return f"{ename}: {evalue}" if evalue else ename


def _solution_cell_before(nb, index):
    """Index of the answer cell of the check in cell ``index``: the nearest code cell at or
    before it holding a solution region (or the release stub), not past an earlier check."""
    for i in range(index, 1, -1):
        cell = nb.cells[i]
        if cell.cell_type != "code":
            continue
        if _has_region(cell.source) or "YOUR CODE HERE" in cell.source:
            return i
        if i != index and _CHECK_RE.search(cell.source):
            return None
    return None


def grade(path, timeout=120, total_timeout=900):
    """Run the notebook at ``path`` in fast mode and score its exercises.

    Parameters
    ----------
    path : str or Path
        The submitted notebook. It is executed in a fresh kernel (this environment's
        Python, ``CNNCOURSE_FAST=1``) whose working folder is the notebook's folder;
        the file itself is not changed.
    timeout : float
        Seconds a single cell may run before it is interrupted (an infinite loop).
    total_timeout : float
        Seconds for the whole notebook; cells left when it is spent are not run.

    Returns
    -------
    dict
        ``notebook``, ``mode``, ``seconds``, ``exercises`` (a list of ``{"key", "label",
        "status", "message", "cells"}``, status one of ``"passed"``, ``"failed"``,
        ``"not attempted"``; ``solution_viewed``: the notebook called its ``solution()``), counts ``passed``/``failed``/``not_attempted``/``total``,
        ``score`` (``"2/3"``), ``errors`` (cells that raised, ``{"cell", "error"}``),
        ``timed_out`` (cells stopped by the time limit), ``skipped`` (cells not run),
        ``kernel_died`` and ``notes``.

    Raises
    ------
    FileNotFoundError, ValueError
        When ``path`` is missing or not a notebook, or a time limit is not a positive number.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    for name, value in (("timeout", timeout), ("total_timeout", total_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"path must be a Jupyter notebook (.ipynb), got {str(path)!r}")
    nb = _read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    checks = find_checks(nb)
    probe_src = _probe_source(checks)

    errors, timed_out, skipped, notes = [], [], [], []
    probed = {"results": None, "feedback": {}, "keys": {}, "seen": set()}
    kernel_died = False
    replies = {}

    def on_cell_error(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply.get("content", {})

    client = NotebookClient(
        nb, km=_current_env_kernel_manager(), timeout=timeout, allow_errors=True,
        interrupt_on_timeout=True, record_timing=False, startup_timeout=120, shutdown_kernel="immediate",
        error_on_timeout={"ename": "Timeout", "evalue": "the cell ran longer than the time limit and was stopped",
                          "traceback": []},
        resources={"metadata": {"path": str(path.resolve().parent)}},
        on_cell_error=on_cell_error,
    )

    n_cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(probe_src))   # the grader's own last cell, run after checks

    def probe():
        cell = nb.cells[n_cells]
        cell.outputs = []
        client.timeout = 30
        client.execute_cell(cell, n_cells, store_history=False)
        # a long print may arrive in several stream messages: join them before reading
        text = "".join(o.get("text", "") for o in cell.outputs
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        for line in text.splitlines():
            if line.startswith(GRADE_MARK):
                found = json.loads(line[len(GRADE_MARK):])
                probed["feedback"].update(found.get("feedback") or {})
                probed["keys"].update(found.get("keys") or {})
                probed["seen"].update(found.get("seen") or [])
                if found.get("results") is not None:
                    probed["results"] = found["results"]

    check_cells = {i for c in checks for i in c.cells}
    start = time.monotonic()
    deadline = start + total_timeout
    spent = False
    try:
        # the kernel's own stderr (start-up chatter of TensorFlow, CUDA probes) is not the student's output
        with client.setup_kernel(env=_kernel_env(), cleanup_kc=True, stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells[:n_cells]):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or spent:
                    skipped.append(index)
                    continue
                limit = min(timeout, remaining)
                client.timeout = max(1, int(round(limit)))
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    kernel_died = True
                    errors.append({"cell": index, "error": "the kernel died (out of memory, or the code ended Python)"})
                    skipped.extend(i for i, c in enumerate(nb.cells[index + 1:n_cells], start=index + 1)
                                   if c.cell_type == "code" and c.source.strip())
                    break
                reply = replies.get(index)
                if reply is not None:
                    if reply.get("ename") == "Timeout":
                        by_total = limit < timeout
                        spent = spent or by_total   # the whole budget went: run nothing more
                        timed_out.append(index)
                        errors.append({"cell": index, "error": (
                            f"Timeout: stopped after {client.timeout} s "
                            + ("(the notebook's total time limit)" if by_total else "(the per-cell limit, --timeout)"))})
                    else:
                        errors.append({"cell": index, "error": _error_text(reply)})
                if index in check_cells:
                    probe()
            if not kernel_died:
                probe()
    except DeadKernelError:
        kernel_died = True
        notes.append("the kernel died while the results were read")
    except RuntimeError as exc:   # the kernel could not start
        raise RuntimeError(f"could not start a Python kernel to run {path}: {exc}") from exc
    seconds = time.monotonic() - start

    _resolve_keys_statically(nb, checks, probed["keys"])
    results = probed["results"] or {}
    feedback = probed["feedback"]
    if probed["results"] is None:
        notes.append("no exercise results could be read (did the cnncourse.exercises import fail?)")
    error_at = {e["cell"]: e["error"] for e in errors}
    exercises = []
    for call in checks:
        key = probed["keys"].get(call.label, call.label)
        info = feedback.get(key, {})
        answer_cells = [_solution_cell_before(nb, i) for i in call.cells]
        stub_left = any(a is not None and error_at.get(a, "").startswith("NotImplementedError")
                        for a in answer_cells)     # the answer cell still raises the release stub
        if key in results and info.get("answered", True) and not stub_left:
            status = PASSED if results[key] else FAILED
            message = info.get("message", "Correct!" if results[key] else "wrong answer")
        else:
            status = NOT_ATTEMPTED
            reasons = []
            for cell_index in call.cells:
                answer_cell = _solution_cell_before(nb, cell_index)
                if answer_cell is not None and answer_cell in error_at:
                    reasons.append(f"answer cell {answer_cell}: {error_at[answer_cell]}")
                elif cell_index in error_at:
                    reasons.append(f"check cell {cell_index}: {error_at[cell_index]}")
                elif cell_index in skipped:
                    reasons.append(f"check cell {cell_index} was not run")
            message = "; ".join(reasons) or info.get("message") or "the check was never run"
        exercises.append({"key": key, "label": call.label, "status": status, "message": message,
                          "solution_viewed": key in probed["seen"], "cells": list(call.cells)})
    exercises.sort(key=lambda e: _sort_key(e["key"]))
    counts = {s: sum(e["status"] == s for e in exercises) for s in (PASSED, FAILED, NOT_ATTEMPTED)}
    if not checks:
        notes.append("no exercise checks (ALIAS.qK.check(...)) were found in this notebook")
    if skipped and not kernel_died:
        notes.append(f"the total time limit ({total_timeout} s) was spent; {len(skipped)} cell(s) were not run")
    return {
        "notebook": path.name,
        "mode": "fast",
        "seconds": round(seconds, 1),
        "exercises": exercises,
        "passed": counts[PASSED],
        "failed": counts[FAILED],
        "not_attempted": counts[NOT_ATTEMPTED],
        "total": len(exercises),
        "score": f"{counts[PASSED]}/{len(exercises)}",
        "errors": errors,
        "timed_out": timed_out,
        "skipped": skipped,
        "kernel_died": kernel_died,
        "notes": notes,
    }


def _resolve_keys_statically(nb, checks, keys):
    """Fill in ``keys`` (label -> exercise key) for checks the kernel could not resolve, e.g.
    because the cell importing the exercises failed: read ``from cnncourse.exercises import
    exNN as ALIAS`` in the notebook and look ``ALIAS.qK`` up in that module here."""
    import importlib

    modules = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for number, alias in _EXERCISE_IMPORT_RE.findall(cell.source):
                modules[alias] = f"cnncourse.exercises.ex{number}"
    for call in checks:
        if call.label in keys or call.alias not in modules:
            continue
        try:
            keys[call.label] = getattr(importlib.import_module(modules[call.alias]), call.attr).key
        except Exception:   # no such module or exercise: the label stands for it
            pass


def _sort_key(key):
    parts = re.split(r"(\d+)", str(key))
    return [int(p) if p.isdigit() else p for p in parts]


def format_report(report):
    """The grading report as a plain-text table (what ``grade`` prints)."""
    rows = [(e["key"], e["status"] + (" *" if e.get("solution_viewed") else ""), e["message"])
            for e in report["exercises"]]
    width_key = max([len("exercise")] + [len(r[0]) for r in rows])
    width_status = max([len("status")] + [len(r[1]) for r in rows])
    lines = [f"{report['notebook']}  (graded in {report['mode']} mode, {report['seconds']} s)", ""]
    lines.append(f"{'exercise':<{width_key}}  {'status':<{width_status}}  feedback")
    lines.append(f"{'-' * width_key}  {'-' * width_status}  {'-' * 8}")
    for key, status, message in rows:
        short = message.replace("\n", " ")
        short = short if len(short) <= 100 else short[:97] + "..."
        lines.append(f"{key:<{width_key}}  {status:<{width_status}}  {short}")
    lines.append("")
    lines.append(f"Total: {report['score']} passed ({report['failed']} failed, "
                 f"{report['not_attempted']} not attempted)")
    if any(e.get("solution_viewed") for e in report["exercises"]):
        lines.append("* the notebook shows this exercise's solution (ex.qK.solution())")
    if report["errors"]:
        lines.append("Cells that raised an error:")
        lines.extend(f"  cell {e['cell']}: {e['error']}" for e in report["errors"])
    for note in report["notes"]:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


# ======================================================================= structure checks

# Unix home/work/temp folders, and a Windows drive path (C:\\Users\\...; not LaTeX's f:\\mathbb)
_LOCAL_PATH_RE = re.compile(r"(?<![\w.])(/work/|/tmp/|/home/|/root/|/Users/)|(?<![\w\\])[A-Z]:\\[\w .-]+\\")
_PLACEHOLDER_RE = re.compile(r"\b(?:TODO|TBD|FIXME|XXX|TIME_[A-Z]+)\b")
_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


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
    """Names assigned anywhere in ``source`` with their line numbers (magics ignored)."""
    clean = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in source.split("\n"))
    try:
        tree = ast.parse(clean)
    except SyntaxError:
        return None
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append((node.id, node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.append((node.name, node.lineno))
    return names


# A Keras progress bar ("12/12 ━━━━━━━━━━ 2s 5ms/step"), not the box drawing of model.summary().
_PROGRESS_BAR_RE = re.compile(r"\d+/\d+\s+━{2,}")


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


def check_notebook(nb, rel_path):
    """Problems with the structure of a committed notebook (an empty list when there are none).

    ``rel_path`` is the notebook's path from the repository's root (``notebooks/02_x.ipynb``).
    Checked, without running anything: cell 0 is the Colab badge for ``rel_path`` and cell 1
    the setup cell (:mod:`cnncourse.colab`); a ``# NN · Title`` cell saying how long fast mode,
    full mode on a CPU and on a GPU take and that the outputs come from a full-mode run; no
    placeholder (TODO, TIME_FAST...) left; the first code cell
    after the setup calls ``begin(`` and its committed output says FULL mode; every code
    cell was run, in order; no error outputs, no progress bars, no absolute local paths;
    ``## Summary`` then ``## Exercises`` with at least three ``.check(`` calls, each right after a
    solution-marked answer cell that assigns the variable checked, a name no other cell assigns.
    """
    from cnncourse import colab

    problems = []
    fast_outputs = fast_outputs_reason(nb) is not None
    rel_path = Path(rel_path).as_posix()
    name = Path(rel_path).name
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or cells[0].source != colab.badge_source(rel_path):
        problems.append(f"cell 0 is not the Colab badge for {rel_path} on {colab.REPOSITORY} "
                        "(run: python -m cnncourse.colab sync notebooks/)")
    if len(cells) < 2 or cells[1].cell_type != "code" or cells[1].source != colab.setup_source():
        problems.append("cell 1 is not the setup cell of cnncourse.colab.setup_source() "
                        "(run: python -m cnncourse.colab sync notebooks/)")
    number = re.match(r"(\d+)", name)
    if len(cells) < 3 or cells[2].cell_type != "markdown" or not (
            number and re.match(rf"#\s+{number.group(1)}\b", cells[2].source.lstrip())):
        problems.append(f"cell 2 should be the title, a markdown cell starting '# {number.group(1) if number else 'NN'} · '")

    else:
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
    for index, cell in enumerate(cells):
        left = _PLACEHOLDER_RE.search(cell.source)
        if left:
            problems.append(f"cell {index}: a placeholder is left in it ({left.group(0)})")
        for line in cell.source.split("\n"):
            if ("BEGIN SOLUTION" in line or "END SOLUTION" in line) and not (
                    cell.cell_type == "code" and _MARKER_LINE_RE.match(line)):
                problems.append(f"cell {index}: {line.strip()[:70]!r} names a solution marker; nbgrader takes "
                                "any line holding those words for a marker (and fails): write e.g. "
                                "'between the solution markers', and put markers alone on their line")
                break

    code = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code" and i >= 2]
    if not code or "begin(" not in code[0][1].source:
        problems.append("the first code cell after the setup cell should call begin( (cnncourse.session)")
    else:
        said = "".join(t for o in code[0][1].get("outputs", []) for t in _output_texts(o))
        if fast_outputs:
            if "FAST mode" not in said:
                problems.append(f"cell {code[0][0]}: its output does not say FAST mode, yet the metadata "
                                "says the outputs come from a fast-mode run")
        elif "FULL mode" not in said:
            problems.append(f"cell {code[0][0]}: its output does not say FULL mode: commit the notebook "
                            "executed in full mode (CNNCOURSE_FAST=0 jupyter nbconvert --execute --inplace ...)")

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
                problems.append(f"cell {index}: error output {_error_text(output)}")
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

    def heading(title):
        for index, cell in enumerate(cells):
            if cell.cell_type == "markdown" and re.search(rf"^##\s+{title}\s*$", cell.source, re.M):
                return index
        return None

    summary, exercises = heading("Summary"), heading("Exercises")
    if summary is None:
        problems.append("no '## Summary' markdown heading")
    if exercises is None:
        problems.append("no '## Exercises' markdown heading")
        return problems
    if summary is not None and summary > exercises:
        problems.append("'## Summary' should come before '## Exercises'")

    stored = {}   # cell index -> [(name, line)]
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            stored[index] = _stored_names(cell.source)      # None: not parseable Python
    checks = [c for c in find_checks(nb) if any(i > exercises for i in c.cells)]
    if len(checks) < 3:
        problems.append(f"{len(checks)} exercise check(s) after '## Exercises'; at least 3 expected")
    module = None
    for cell in cells:
        if cell.cell_type == "code":
            found = _EXERCISE_IMPORT_RE.search(cell.source)
            if found:
                module = found
    if number and module and int(module.group(1)) != int(number.group(1)):
        problems.append(f"the exercises come from ex{module.group(1)}, not ex{number.group(1)} of this notebook")
    for call in checks:
        index = max(call.cells)
        args = re.findall(rf"(?<![\w.]){re.escape(call.alias)}\.{re.escape(call.attr)}\.check\(\s*([A-Za-z_]\w*)\s*\)",
                          cells[index].source)
        answer_cell = None
        for i in range(index, exercises, -1):      # back to the previous check, no further
            if cells[i].cell_type != "code":
                continue
            if _has_region(cells[i].source):
                answer_cell = i
                break
            if i != index and _CHECK_RE.search(cells[i].source):
                break
        if answer_cell is None:
            problems.append(f"cell {index}: {call.label}.check( has no solution-marked answer cell before it")
            continue
        if answer_cell != index and any(cells[i].cell_type == "code" for i in range(answer_cell + 1, index)):
            problems.append(f"cell {index}: {call.label}.check( does not directly follow its answer cell {answer_cell}")
        if not args:
            problems.append(f"cell {index}: {call.label}.check( should be given one variable, assigned in the answer cell")
            continue
        variable = args[0]
        try:
            strip_solutions(cells[answer_cell].source)
        except SolutionMarkerError as exc:
            problems.append(f"cell {answer_cell}: {exc}")
            continue
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


# ======================================================================= command line

def _cmd_release(args):
    written = release(args.source, args.out)
    for target, n in written:
        print(f"wrote {target}  ({n} solution region{'s' if n != 1 else ''} removed)")
    print(f"{len(written)} student notebook(s) in {args.out}")
    return 0


def _cmd_grade(args):
    json_path = args.json
    if json_path and json_path != "-" and Path(json_path).exists():
        raise FileExistsError(f"--json {json_path!r} already exists; grading never overwrites a file: "
                              "give a new file name")
    for path in args.notebooks:            # every file checked before the first is run
        if Path(path).suffix != ".ipynb":
            raise ValueError(f"path must be a Jupyter notebook (.ipynb), got {path!r}")
        _read_notebook(path)
    reports = [grade(p, timeout=args.timeout, total_timeout=args.total_timeout) for p in args.notebooks]
    payload = reports[0] if len(reports) == 1 else reports
    if json_path == "-":
        print(json.dumps(payload, indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
        if json_path:
            with open(json_path, "x", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2)
            print(f"JSON report written to {json_path}")
    return 0


def _cmd_check(args):
    bad = 0
    paths = _notebooks(args.folder)
    for path in paths:
        problems = check_notebook(_read_notebook(path), Path(path.parent.name) / path.name)
        print(f"{'ok  ' if not problems else 'FAIL'} {path}")
        for problem in problems:
            print(f"       {problem}")
        bad += bool(problems)
    print(f"{len(paths) - bad}/{len(paths)} notebook(s) pass the structure checks")
    return 1 if bad else 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse.instructor",
        description="Release student copies, grade submissions, check notebooks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m cnncourse.instructor release notebooks/ student/\n"
               "  python -m cnncourse.instructor grade submitted/05_lenet5.ipynb --json 05_alice.json\n"
               "  python -m cnncourse.instructor grade submitted/*.ipynb --timeout 60 --json -\n"
               "  python -m cnncourse.instructor check notebooks/")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="write student copies (solutions removed, outputs cleared)")
    p.add_argument("source", help="a folder of notebooks (or one .ipynb)")
    p.add_argument("out", help="a new or empty folder for the student copies")
    p.set_defaults(run=_cmd_release)
    p = sub.add_parser("grade", help="run submitted notebook(s) in fast mode and score the exercises")
    p.add_argument("notebooks", nargs="+", help="submitted .ipynb file(s)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one cell may run (default 120)")
    p.add_argument("--total-timeout", type=float, default=900, help="seconds for a whole notebook (default 900)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH (a new file), or '-' "
                                                  "to print only JSON")
    p.set_defaults(run=_cmd_grade)
    p = sub.add_parser("check", help="structure checks of committed notebooks (nothing is run)")
    p.add_argument("folder", nargs="?", default="notebooks")
    p.set_defaults(run=_cmd_check)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, FileExistsError, SolutionMarkerError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
