"""The results channel between the exercises and the grader, and the pieces of grading around it.

The grader names a fresh file in the kernel's environment (``CNNCOURSE_RESULTS_FILE``); every
``check`` and ``solution()`` appends a JSON line to it at once; the grader reads it after the run.
Nothing the notebook prints is read, and nothing is added to the notebook.
"""
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnncourse import exercises, instructor
from cnncourse.exercises import RESULTS_FILE_VARIABLE, Exercise
from cnncourse.instructor import Recorded

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _check_six(answer):
    return None if answer == 6 else "Not six."


SIX = Exercise("97.1", "Six.", _check_six, hint="5 + 1", solution="six = 6", expects="an int", level=1)


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


# ------------------------------------------------------------------ the exercises' side

def test_check_and_solution_append_one_json_line_each_at_once(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv(RESULTS_FILE_VARIABLE, str(results))
    SIX.check(5)
    assert lines(results) == [{"event": "check", "key": "97.1", "passed": False, "answered": True,
                               "message": "Not six."}]          # on disk before anything else happens
    SIX.check(6)
    SIX.check(...)
    SIX.solution()
    assert lines(results)[1:] == [
        {"event": "check", "key": "97.1", "passed": True, "answered": True, "message": "Correct!"},
        {"event": "check", "key": "97.1", "passed": False, "answered": False, "message": "No answer yet: expected an int."},
        {"event": "solution", "key": "97.1"},
    ]
    assert "[97.1] ✔ Correct!" in capsys.readouterr().out       # the student still sees the verdict


def test_nothing_is_written_without_the_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(RESULTS_FILE_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    SIX.check(6)
    SIX.solution()
    assert list(tmp_path.iterdir()) == []
    assert exercises.results()["97.1"] is True


def test_an_unwritable_results_file_never_breaks_a_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(RESULTS_FILE_VARIABLE, str(tmp_path))      # a folder: open() fails
    SIX.check(6)
    assert "Correct!" in capsys.readouterr().out


# ------------------------------------------------------------------ the grader's side, without a kernel

def test_the_last_check_of_each_key_wins_and_junk_lines_are_skipped():
    events = [{"event": "check", "key": "97.1", "passed": True, "answered": True, "message": "Correct!"},
              {"event": "check", "key": "97.1", "passed": False, "answered": True, "message": "Not six."},
              {"event": "solution", "key": "97.2"},
              {"event": "check", "key": "97.3", "passed": "yes"},         # not an event: passed is no bool
              ["event", "check"], "a line", {"event": "mystery", "key": "97.4"}]
    data = "\n".join(json.dumps(e) for e in events) + "\nnot json\n{\"event\": \"check\", \"key\": \"97.5\", \"pa"
    recorded = Recorded.parse(data.encode())
    assert list(recorded.checks) == ["97.1"] and recorded.checks["97.1"]["message"] == "Not six."
    assert recorded.seen == {"97.2"}
    assert Recorded.parse(b"").checks == {} and instructor.read_results("/nonexistent/file").checks == {}


def test_each_check_is_credited_to_the_cell_that_ran_when_it_was_written():
    line = lambda key: json.dumps({"event": "check", "key": key, "passed": True, "answered": True,
                                   "message": "Correct!"}).encode() + b"\n"
    data = line("97.1") + line("97.2") + line("97.3")
    one = len(line("97.1"))
    ends = [(3, 0), (4, one), (5, one), (7, 3 * one)]      # cell 3 wrote nothing, 5 nothing, 7 two lines
    assert Recorded.parse(data, ends).by_cell == {4: ["97.1"], 7: ["97.2", "97.3"]}


def test_exercise_keys_come_from_the_run_else_from_the_imported_module_read_not_run(tmp_path):
    (tmp_path / "my_exercises.py").write_text(
        'raise SystemExit("this file must never run in the grader")\n'
        'from cnncourse.exercises import Exercise\n'
        'q1 = Exercise("96.1", "s", print, hint="h", solution="s", expects="e", level=1)\n'
        'q2 = Exercise(key="96.2", statement="s", checker=print, hint="h", solution="s", expects="e", level=1)\n')
    nb = new_notebook(cells=[
        new_code_cell("import my_exercises as mine\nfrom cnncourse.exercises import ex02 as ex"),
        new_code_cell("mine.q1.check(a)"), new_code_cell("mine.q2.check(b)"),
        new_code_cell("ex.q1.check(c)"), new_code_cell("mine.q1.check(a); other.q3.check(d)"),
        new_code_cell("ghost.q9.check(e)")])
    checks = instructor.find_checks(nb)
    recorded = Recorded(by_cell={1: ["96.7"], 4: ["96.7", "95.3"]})   # what the kernel recorded wins
    keys = instructor.exercise_keys(nb, checks, recorded, tmp_path)
    assert keys == {"mine.q1": "96.7", "mine.q2": "96.2", "ex.q1": "02.1", "other.q3": "95.3",
                    "ghost.q9": "ghost.q9"}


def test_one_answer_cell_scan_for_grading_and_for_the_structure_rules():
    nb = new_notebook(cells=[
        new_code_cell("### BEGIN SOLUTION\na = 1\n### END SOLUTION"),     # 0
        new_markdown_cell("## Exercises"),                                 # 1
        new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()"),    # 2: a released answer cell
        new_code_cell("ex.q1.check(a)"),                                   # 3
        new_code_cell("b = 2"),                                            # 4
        new_code_cell("ex.q2.check(b)"),                                   # 5
        new_code_cell("### BEGIN SOLUTION\nc = 3\n### END SOLUTION\nex.q3.check(c)"),   # 6
    ])
    assert instructor.answer_cell_before(nb, 3) == 2                  # grading counts the release stub
    assert instructor.answer_cell_before(nb, 3, after=1, stub=False) is None
    assert instructor.answer_cell_before(nb, 3, stub=False) == 0
    assert instructor.answer_cell_before(nb, 5) is None               # stops at the check before it
    assert instructor.answer_cell_before(nb, 6) == 6                  # answer and check in one cell


# ------------------------------------------------------------------ through a real kernel

def _toy_notebook(tmp_path, *sources):
    shutil.copy(FIXTURES / "toy_exercises.py", tmp_path)
    cells = [new_code_cell("import numpy as np\nimport toy_exercises as ex")] + [new_code_cell(s) for s in sources]
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_printed_imitations_of_results_count_for_nothing(tmp_path):
    fake = json.dumps({"event": "check", "key": "99.1", "passed": True, "answered": True, "message": "Correct!"})
    probe = json.dumps({"results": {"99.1": True, "99.2": True}, "feedback": {}, "keys": {}, "seen": []})
    path = _toy_notebook(
        tmp_path,
        "### BEGIN SOLUTION\nw1 = 27\n### END SOLUTION",
        "ex.q1.check(w1)",
        f"print({fake!r})\nprint('<<cnncourse-grade>>' + {probe!r})\nprint('[99.1] ✔ Correct!')",
        "### BEGIN SOLUTION\nk2 = undefined_name\n### END SOLUTION",
        "ex.q2.check(k2)",
        "import os\nopen('where.txt', 'w').write(os.environ['CNNCOURSE_RESULTS_FILE'])",
    )
    report = instructor.grade(path, timeout=30)
    by_key = {e["key"]: e for e in report["exercises"]}
    assert by_key["99.1"]["status"] == "failed" and "Off by one" in by_key["99.1"]["message"]
    assert by_key["99.2"]["status"] == "not attempted" and "NameError" in by_key["99.2"]["message"]
    results_file = Path((tmp_path / "where.txt").read_text())
    assert results_file.parent != tmp_path and not results_file.exists()   # a fresh file, gone after grading


def test_results_recorded_before_a_cell_is_stopped_and_the_kernel_dies_are_kept(tmp_path):
    path = _toy_notebook(
        tmp_path,
        "### BEGIN SOLUTION\nw1 = 26\n### END SOLUTION",
        "ex.q1.check(w1)",
        "ex.q1.solution()",
        "### BEGIN SOLUTION\nwhile True:\n    pass\n### END SOLUTION",
        "import os\nos._exit(1)",
        "ex.q4.check(w4)",
    )
    report = instructor.grade(path, timeout=3)
    by_key = {e["key"]: e for e in report["exercises"]}
    assert report["timed_out"] == [4] and report["kernel_died"] and report["skipped"] == [6]
    assert by_key["99.1"]["status"] == "passed" and by_key["99.1"]["solution_viewed"] is True
    assert by_key["99.4"]["status"] == "not attempted" and "Timeout" in by_key["99.4"]["message"]


def test_the_grader_runs_each_code_cell_once_and_adds_none(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    ran = []
    execute = NotebookClient.execute_cell

    def spy(self, cell, cell_index, *args, **kwargs):
        ran.append((cell_index, cell.source))
        return execute(self, cell, cell_index, *args, **kwargs)

    monkeypatch.setattr(NotebookClient, "execute_cell", spy)
    nb = nbformat.read(FIXTURES / "toy_solution.ipynb", as_version=4)
    report = instructor.grade(FIXTURES / "toy_solution.ipynb", timeout=30)
    assert report["score"] == "3/3"
    assert ran == [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
