"""Grading: run a submission in a fresh kernel, in fast mode, and score its exercises.

The exercises tell the grader what happened through a file the grader names: before the
run it creates a fresh, empty file and puts its path in the kernel's environment variable
:data:`cnncourse.exercises.RESULTS_FILE_VARIABLE`; every ``check`` and ``solution()`` of
an exercise appends one JSON line to it at once. After the run the grader reads the file
(the last check of each exercise counts). Nothing is added to the notebook and nothing the
notebook prints is read, so a printed imitation of a result counts for nothing, and what
was recorded before a kernel died or a cell was stopped is kept. (Code that deliberately
writes into the file it finds in its environment is another matter: the submission runs
with the same rights as the exercises it imports.)

Which exercise a check call ``ALIAS.qK`` is: the key its check recorded while its cell
ran, else the key read from the exercise module the notebook imports as ``ALIAS``
(imported here when it is one of ``cnncourse.exercises``, only read, never run, when it
lies beside the submission), else the label ``ALIAS.qK`` itself.
"""
from __future__ import annotations

import ast
import bisect
import contextlib
import importlib
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnncourse.exercises import RESULTS_FILE_VARIABLE
from cnncourse.instructor.notebooks import (EXERCISE_IMPORT_RE, answer_cell_before, check_labels, error_text,
                                            find_checks, parse_code, read_notebook)

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"


# ----------------------------------------------------------------- what the exercises recorded

@dataclass
class Recorded:
    """What the exercises wrote into the results file during a run.

    ``checks``: ``{key: the last check event}``; ``seen``: keys whose solution was shown;
    ``by_cell``: ``{cell index: [keys checked while that cell ran, in order]}``.
    """

    checks: dict = field(default_factory=dict)
    seen: set = field(default_factory=set)
    by_cell: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, data, cell_ends=()):
        """Read the bytes ``data`` of a results file, one JSON event a line.

        ``cell_ends``: ``[(cell index, size of the file once that cell had run), ...]`` in the
        order the cells ran, to tell which cell recorded each check. Lines that are not a
        well-formed event (cut short by a dying kernel, say) are skipped.

        >>> data = (b'{"event": "check", "key": "02.1", "passed": false, "answered": true, "message": "No."}\\n'
        ...         b'{"event": "check", "key": "02.1", "passed": true, "answered": true, "message": "Yes."}\\n'
        ...         b'{"event": "solution", "key": "02.2"}\\n{"event": "check", "key": "02.3", "pas')
        >>> recorded = Recorded.parse(data, cell_ends=[(4, 90), (6, 180)])
        >>> recorded.checks["02.1"]["message"], sorted(recorded.checks), recorded.seen, recorded.by_cell
        ('Yes.', ['02.1'], {'02.2'}, {4: ['02.1'], 6: ['02.1']})
        """
        recorded = cls()
        sizes = [size for _, size in cell_ends]
        end = 0
        for line in data.split(b"\n"):
            end += len(line) + 1
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not _is_event(event):
                continue
            key = event["key"]
            if event["event"] == "solution":
                recorded.seen.add(key)
                continue
            recorded.checks[key] = event
            at = bisect.bisect_left(sizes, end - 1)     # the first cell after which the line was there
            if at < len(cell_ends):
                keys = recorded.by_cell.setdefault(cell_ends[at][0], [])
                if key not in keys:
                    keys.append(key)
        return recorded


def _is_event(event):
    if not isinstance(event, dict) or not isinstance(event.get("key"), str):
        return False
    if event.get("event") == "solution":
        return True
    return (event.get("event") == "check" and isinstance(event.get("passed"), bool)
            and isinstance(event.get("answered", True), bool) and isinstance(event.get("message", ""), str))


def read_results(path, cell_ends=()):
    """:class:`Recorded` from the results file at ``path`` (empty when it is gone)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    return Recorded.parse(data, cell_ends)


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# ----------------------------------------------------------------- running the notebook

@dataclass
class _Run:
    """What happened while the notebook ran."""

    errors: list = field(default_factory=list)       # [{"cell", "error"}], cells that raised
    timed_out: list = field(default_factory=list)    # cells stopped by a time limit
    skipped: list = field(default_factory=list)      # cells not run
    kernel_died: bool = False
    cell_ends: list = field(default_factory=list)    # [(cell, results file size once it had run)]
    seconds: float = 0.0


def _kernel_env(results_file):
    env = dict(os.environ)
    env["CNNCOURSE_FAST"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env[RESULTS_FILE_VARIABLE] = str(results_file)
    # the kernel imports the same cnncourse as the grader, installed or not
    package_root = str(Path(__file__).resolve().parents[2])
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


def _run_notebook(nb, path, timeout, total_timeout, results_file):
    """Run the code cells of ``nb`` in order in a fresh kernel; a :class:`_Run`."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    run, replies = _Run(), {}

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
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()]
    start = time.monotonic()
    deadline = start + total_timeout
    try:
        # the kernel's own stderr (start-up chatter of TensorFlow, CUDA probes) is not the student's output
        with client.setup_kernel(env=_kernel_env(results_file), cleanup_kc=True, stderr=subprocess.DEVNULL):
            for n, index in enumerate(code):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    run.skipped.extend(code[n:])
                    break
                limit = min(timeout, remaining)
                client.timeout = max(1, int(round(limit)))
                try:
                    client.execute_cell(nb.cells[index], index)
                except DeadKernelError:
                    run.kernel_died = True
                    run.errors.append({"cell": index,
                                       "error": "the kernel died (out of memory, or the code ended Python)"})
                    run.skipped.extend(code[n + 1:])
                    break
                finally:
                    run.cell_ends.append((index, _size(results_file)))
                reply = replies.get(index)
                if reply is None:
                    continue
                if reply.get("ename") != "Timeout":
                    run.errors.append({"cell": index, "error": error_text(reply)})
                    continue
                by_total = limit < timeout
                run.timed_out.append(index)
                run.errors.append({"cell": index, "error": (
                    f"Timeout: stopped after {client.timeout} s "
                    + ("(the notebook's total time limit)" if by_total else "(the per-cell limit, --timeout)"))})
                if by_total:                      # the whole budget went: run nothing more
                    run.skipped.extend(code[n + 1:])
                    break
    except DeadKernelError:                       # while the kernel was shut down
        run.kernel_died = True
    except RuntimeError as exc:   # the kernel could not start
        raise RuntimeError(f"could not start a Python kernel to run {path}: {exc}") from exc
    run.seconds = time.monotonic() - start
    return run


# ----------------------------------------------------------------- which exercise each check is

def _imported_modules(nb):
    """``{alias: module name}`` of the notebook's imports (the last import of an alias wins)."""
    modules = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = parse_code(cell.source)
        if tree is None:                           # not Python: the course's own import form still counts
            modules.update((alias, f"cnncourse.exercises.ex{number}")
                           for number, alias in EXERCISE_IMPORT_RE.findall(cell.source))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update((a.asname or a.name, a.name) for a in node.names if a.asname or "." not in a.name)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.update((a.asname or a.name, f"{node.module}.{a.name}") for a in node.names)
    return modules


def _literal_keys(path):
    """``{name: key}`` for each ``name = Something("KEY", ...)`` (or ``key="KEY"``) at the top of
    the Python file ``path``, read without running it."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    keys = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        key = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "key"), None)
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys.update((target.id, key.value) for target in node.targets if isinstance(target, ast.Name))
    return keys


def _module_key(module, attr, folder):
    if module.startswith("cnncourse.exercises."):   # the course's own exercises: safe to import here
        try:
            return getattr(importlib.import_module(module), attr).key
        except Exception:
            return None
    return _literal_keys(Path(folder, *module.split(".")).with_suffix(".py")).get(attr)


def exercise_keys(nb, checks, recorded, folder):
    """``{label: key}`` for the checks of ``nb`` (see the module's docstring); ``folder``
    is the submission's."""
    keys = {}
    for index, cell_keys in recorded.by_cell.items():
        labels = check_labels(nb.cells[index].source)
        if len(labels) == len(cell_keys):
            for label, key in zip(labels, cell_keys):
                keys.setdefault(label, key)
    modules = _imported_modules(nb)
    for call in checks:
        if call.label not in keys:
            module = modules.get(call.alias)
            keys[call.label] = (module and _module_key(module, call.attr, folder)) or call.label
    return keys


# ----------------------------------------------------------------- scoring

def _score(nb, call, key, recorded, run, error_at):
    """The report's entry for the exercise checked by ``call``."""
    event = recorded.checks.get(key)
    answer_cells = [answer_cell_before(nb, i) for i in call.cells]
    stub_left = any(a is not None and error_at.get(a, "").startswith("NotImplementedError")
                    for a in answer_cells)     # the answer cell still raises the release stub
    if event is not None and event.get("answered", True) and not stub_left:
        status = PASSED if event["passed"] else FAILED
        message = event.get("message", "Correct!" if event["passed"] else "wrong answer")
    else:
        status = NOT_ATTEMPTED
        reasons = []
        for cell_index, answer_cell in zip(call.cells, answer_cells):
            if answer_cell is not None and answer_cell in error_at:
                reasons.append(f"answer cell {answer_cell}: {error_at[answer_cell]}")
            elif cell_index in error_at:
                reasons.append(f"check cell {cell_index}: {error_at[cell_index]}")
            elif cell_index in run.skipped:
                reasons.append(f"check cell {cell_index} was not run")
        message = "; ".join(reasons) or (event or {}).get("message") or "the check was never run"
    return {"key": key, "label": call.label, "status": status, "message": message,
            "solution_viewed": key in recorded.seen, "cells": list(call.cells)}


def _notes(checks, recorded, run, error_at, total_timeout):
    notes = []
    check_cells = {i for call in checks for i in call.cells}
    if not recorded.checks and any(i in check_cells and i not in error_at for i, _ in run.cell_ends):
        notes.append(f"check cells ran but no exercise result was recorded (does the kernel's cnncourse "
                     f"write the file named by {RESULTS_FILE_VARIABLE}?)")
    if not checks:
        notes.append("no exercise checks (ALIAS.qK.check(...)) were found in this notebook")
    if run.skipped and not run.kernel_died:
        notes.append(f"the total time limit ({total_timeout} s) was spent; {len(run.skipped)} cell(s) were not run")
    return notes


def _sort_key(key):
    parts = re.split(r"(\d+)", str(key))
    return [int(p) if p.isdigit() else p for p in parts]


def _check_limits(timeout, total_timeout):
    for name, value in (("timeout", timeout), ("total_timeout", total_timeout)):
        message = f"{name} must be a positive number of seconds, got {value!r}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(message)
        if not value > 0:
            raise ValueError(message)


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
        "status", "message", "solution_viewed", "cells"}``, status one of ``"passed"``,
        ``"failed"``, ``"not attempted"``; ``solution_viewed``: the notebook called its
        ``solution()``), counts ``passed``/``failed``/``not_attempted``/``total``,
        ``score`` (``"2/3"``), ``errors`` (cells that raised, ``{"cell", "error"}``),
        ``timed_out`` (cells stopped by the time limit), ``skipped`` (cells not run),
        ``kernel_died`` and ``notes``.

    Raises
    ------
    FileNotFoundError, ValueError
        When ``path`` is missing or not a notebook, or a time limit is not a positive number.
    """
    _check_limits(timeout, total_timeout)
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"path must be a Jupyter notebook (.ipynb), got {str(path)!r}")
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    checks = find_checks(nb)

    handle, results_file = tempfile.mkstemp(prefix="cnncourse-results-", suffix=".jsonl")
    os.close(handle)
    try:
        run = _run_notebook(nb, path, timeout, total_timeout, results_file)
        recorded = read_results(results_file, run.cell_ends)
    finally:
        with contextlib.suppress(OSError):
            os.remove(results_file)

    keys = exercise_keys(nb, checks, recorded, path.resolve().parent)
    error_at = {e["cell"]: e["error"] for e in run.errors}
    exercises = sorted((_score(nb, call, keys[call.label], recorded, run, error_at) for call in checks),
                       key=lambda e: _sort_key(e["key"]))
    counts = {s: sum(e["status"] == s for e in exercises) for s in (PASSED, FAILED, NOT_ATTEMPTED)}
    return {
        "notebook": path.name,
        "mode": "fast",
        "seconds": round(run.seconds, 1),
        "exercises": exercises,
        "passed": counts[PASSED],
        "failed": counts[FAILED],
        "not_attempted": counts[NOT_ATTEMPTED],
        "total": len(exercises),
        "score": f"{counts[PASSED]}/{len(exercises)}",
        "errors": run.errors,
        "timed_out": run.timed_out,
        "skipped": run.skipped,
        "kernel_died": run.kernel_died,
        "notes": _notes(checks, recorded, run, error_at, total_timeout),
    }


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
