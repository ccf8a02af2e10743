"""python -m cnncourse.instructor: release student copies, grade submissions, check structure.

Release and grading are tested on the small fixture notebooks of ``tests/fixtures`` (a toy
exercise module, keys 99.k, and notebooks with a syntax error, an infinite loop and a
kernel that dies), then release over the real ``notebooks/`` folder.
"""
import copy
import importlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnncourse import colab, instructor
from cnncourse.instructor import SolutionMarkerError, strip_solutions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOTEBOOKS = ROOT / "notebooks"


def read(path):
    return nbformat.read(path, as_version=4)


def statuses(report):
    return {e["key"]: e["status"] for e in report["exercises"]}


# ------------------------------------------------------------------ strip_solutions

def test_strip_keeps_lines_before_and_after_the_region():
    src = "x = 1\n### BEGIN SOLUTION\nanswer = x + 41\nmore = 2\n### END SOLUTION\nprint(answer)"
    new, n = strip_solutions(src)
    assert n == 1
    assert new == "x = 1\n# YOUR CODE HERE\nraise NotImplementedError()\nprint(answer)"


def test_strip_keeps_the_indentation_of_the_region():
    src = "def f(a):\n    ### BEGIN SOLUTION\n    return a * 2\n    ### END SOLUTION\n\ny = f(3)"
    new, n = strip_solutions(src)
    assert n == 1
    assert new == "def f(a):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\ny = f(3)"
    compile(new, "<student>", "exec")          # the student copy is valid Python


def test_strip_handles_several_regions_and_markdown():
    src = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = 2\n### BEGIN SOLUTION\nc = 3\n### END SOLUTION"
    new, n = strip_solutions(src)
    assert n == 2 and "a = 1" not in new and "c = 3" not in new and "b = 2" in new
    assert new.count("raise NotImplementedError()") == 2
    md, n = strip_solutions("Why?\n### BEGIN SOLUTION\nBecause weights are shared.\n### END SOLUTION", "markdown")
    assert n == 1 and md == "Why?\nYOUR ANSWER HERE"


def test_strip_in_code_takes_any_line_naming_a_marker_as_nbgrader_does():
    src = "a = 1  # BEGIN SOLUTION\nsecret = 42\nb = 2  # END SOLUTION\nprint(a)"
    new, n = strip_solutions(src)
    assert n == 1 and "secret" not in new and new.endswith("print(a)")
    prose = "Answers go between the `### BEGIN SOLUTION` and `### END SOLUTION` markers."
    assert strip_solutions(prose, "markdown") == (prose, 0)        # prose about markers is kept


def test_strip_without_markers_changes_nothing():
    src = "print('no exercise here')\n# BEGIN is not a marker"
    assert strip_solutions(src) == (src, 0)


@pytest.mark.parametrize("src, where", [
    ("### BEGIN SOLUTION\na = 1", "line 1: BEGIN SOLUTION without an END"),
    ("a = 1\n### END SOLUTION", "line 2: END SOLUTION without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2: a second BEGIN"),
])
def test_strip_refuses_unbalanced_markers(src, where):
    with pytest.raises(SolutionMarkerError, match=where):
        strip_solutions(src)


def test_strip_refuses_bad_arguments():
    with pytest.raises(TypeError, match="source must be a string"):
        strip_solutions(None)
    with pytest.raises(ValueError, match="cell_type must be 'code', 'markdown' or 'raw'"):
        strip_solutions("x", "python")


# ------------------------------------------------------------------ release

def test_release_removes_solutions_and_outputs_and_nothing_else(tmp_path):
    out = tmp_path / "student"
    written = instructor.release(FIXTURES, out)
    assert sorted(p.name for p, _ in written) == sorted(p.name for p in FIXTURES.glob("*.ipynb"))
    assert dict((p.name, n) for p, n in written)["toy_solution.ipynb"] == 3

    original, student = read(FIXTURES / "toy_solution.ipynb"), read(out / "toy_solution.ipynb")
    assert any(c.get("outputs") for c in original.cells)         # the fixture was executed
    assert original.metadata == student.metadata
    assert len(original.cells) == len(student.cells)
    for before, after in zip(original.cells, student.cells):
        assert before.cell_type == after.cell_type
        assert before.metadata == after.metadata                  # tags kept
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None
        regions = instructor.solution_regions(before.source, before.cell_type)
        if not regions:
            assert after.source == before.source                  # untouched
            continue
        assert "BEGIN SOLUTION" not in after.source and "END SOLUTION" not in after.source
        assert after.source.count("# YOUR CODE HERE") == len(regions)
        assert after.source.count("raise NotImplementedError()") == len(regions)
        outside = before.source
        for region in regions:
            outside = outside.replace(region, "")
        for region in regions:
            for line in filter(None, (l.strip() for l in region.split("\n"))):
                if line not in outside:
                    assert line not in after.source, f"solution line {line!r} leaked"
    # lines around a region survive
    assert student.cells[7].source.startswith("kernel_answer = None\n")
    assert student.cells[7].source.endswith("print(kernel_answer.shape)")


def test_release_never_overwrites_and_writes_nothing_when_refusing(tmp_path):
    out = tmp_path / "student"
    out.mkdir()
    mine = out / "toy_died.ipynb"
    mine.write_text("a student's own work")
    with pytest.raises(FileExistsError, match=r"toy_died.ipynb.*new or empty folder"):
        instructor.release(FIXTURES, out)
    assert mine.read_text() == "a student's own work"
    assert sorted(p.name for p in out.iterdir()) == ["toy_died.ipynb"]   # nothing else written
    with pytest.raises(FileExistsError, match="is a file"):
        instructor.release(FIXTURES, mine)


def test_release_refuses_unbalanced_markers_before_writing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\na = 1\n### END SOLUTION")])
    bad = new_notebook(cells=[new_markdown_cell("# x"), new_code_cell("### BEGIN SOLUTION\na = 1")])
    nbformat.write(good, src / "a_good.ipynb")
    nbformat.write(bad, src / "b_bad.ipynb")
    with pytest.raises(SolutionMarkerError, match=r"b_bad.ipynb: cell 1: line 1: BEGIN SOLUTION without"):
        instructor.release(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_release_refuses_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        instructor.release(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="holds no .ipynb"):
        instructor.release(tmp_path, tmp_path / "out")
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    with pytest.raises(ValueError, match="folder of notebooks or an .ipynb file"):
        instructor.release(text, tmp_path / "out")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable Jupyter notebook"):
        instructor.release(broken, tmp_path / "out")


def test_release_command_line(tmp_path, capsys):
    out = tmp_path / "student"
    assert instructor.main(["release", str(FIXTURES / "toy_solution.ipynb"), str(out)]) == 0
    said = capsys.readouterr().out
    assert "toy_solution.ipynb" in said and "3 solution regions removed" in said
    assert instructor.main(["release", str(FIXTURES / "toy_solution.ipynb"), str(out)]) == 2
    err = capsys.readouterr().err
    assert "already exist" in err and "new or empty folder" in err


def _course_notebooks():
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


# ------------------------------------------------------------------ solve

def test_solve_fills_each_answer_cell_with_its_exercise_solution_and_release_gives_the_course_back(tmp_path):
    solved_dir, student_dir = tmp_path / "solved", tmp_path / "student"
    written = {p.name: n for p, n in instructor.solve(NOTEBOOKS, solved_dir)}
    instructor.release(solved_dir, student_dir)
    for path in _course_notebooks():
        shipped, solved, back = read(path), read(solved_dir / path.name), read(student_dir / path.name)
        module = importlib.import_module(f"cnncourse.exercises.ex{path.name[:2]}")
        calls = instructor.find_checks(shipped)
        assert written[path.name] == len(calls) >= 3, path.name
        # each answer cell holds the exercise's own solution (what ex.qK.solution() prints), between the markers
        regions = [r for c in solved.cells if c.cell_type == "code" for r in instructor.solution_regions(c.source)]
        assert regions == [getattr(module, call.attr).solution_code.strip("\n") for call in calls], path.name
        # nothing else changed, and releasing the solved copy gives back the notebook the course ships
        changed = [i for i, (a, b) in enumerate(zip(shipped.cells, solved.cells)) if a.source != b.source]
        assert len(shipped.cells) == len(solved.cells) and len(changed) == len(calls), path.name
        assert [c.source for c in back.cells] == [c.source for c in shipped.cells], path.name


def test_solve_refuses_an_answered_notebook_and_never_overwrites(tmp_path):
    nb = new_notebook(cells=[new_code_cell("from cnncourse.exercises import ex02 as ex"),
                             new_code_cell(instructor.starter("stack_params")),
                             new_code_cell("ex.q2.check(stack_params)")])
    solved, n = instructor.solve_notebook(nb)
    assert n == 1 and "1 * 1 * 32 * 8" in solved.cells[1].source and nb.cells[1].source.endswith("= ...")
    answered = copy.deepcopy(nb)
    answered.cells[1].source = "stack_params = [1, 2, 3]"
    with pytest.raises(ValueError, match="cell 2: the answer cell of ex.q2 is not the starter"):
        instructor.solve_notebook(answered)
    foreign = copy.deepcopy(nb)
    foreign.cells[0].source = "import my_exercises as ex"
    with pytest.raises(ValueError, match="not an exercise of cnncourse.exercises"):
        instructor.solve_notebook(foreign)
    missing = copy.deepcopy(nb)
    missing.cells[2].source = "ex.q42.check(stack_params)"
    with pytest.raises(ValueError, match="has no exercise q42"):
        instructor.solve_notebook(missing)
    out = tmp_path / "solved"
    out.mkdir()
    mine = out / "02_convolution.ipynb"
    mine.write_text("the instructor's own notes")
    with pytest.raises(FileExistsError, match="02_convolution.ipynb.*new or empty folder"):
        instructor.solve(NOTEBOOKS, out)
    assert mine.read_text() == "the instructor's own notes" and len(list(out.iterdir())) == 1


def test_solve_command_line(tmp_path, capsys):
    out = tmp_path / "solved"
    assert instructor.main(["solve", str(NOTEBOOKS / "02_convolution.ipynb"), str(out)]) == 0
    said = capsys.readouterr().out
    assert "02_convolution.ipynb" in said and "answer cells solved" in said and "1 solved notebook(s)" in said
    assert instructor.main(["solve", str(NOTEBOOKS / "02_convolution.ipynb"), str(out)]) == 2
    assert "already exist" in capsys.readouterr().err


# ------------------------------------------------------------------ find_checks

def test_find_checks_reads_the_code_not_the_outputs():
    nb = new_notebook(cells=[
        new_code_cell("ex.q1.check(a)\n# ex.q9.check(commented)"),
        new_markdown_cell("ex.q7.check(in markdown)"),
        new_code_cell("ex.q2.check(b); ex.q1.check(a)\nother.thing.check(c)"),
    ])
    nb.cells[0].outputs = [new_output("stream", name="stdout", text="ex.q8.check(x)")]
    calls = instructor.find_checks(nb)
    assert [c.label for c in calls] == ["ex.q1", "ex.q2", "other.thing"]
    assert calls[0].cells == [0, 2]


# ------------------------------------------------------------------ grading

@pytest.fixture(scope="module")
def broken_report():
    # --timeout 3: the infinite loop of exercise 4 is stopped and the rest still runs
    return instructor.grade(FIXTURES / "toy_broken.ipynb", timeout=3)


def test_grade_the_solution_scores_full_marks_table_and_json(tmp_path, capsys):
    report_file = tmp_path / "report.json"
    code = instructor.main(["grade", str(FIXTURES / "toy_solution.ipynb"), "--json", str(report_file)])
    assert code == 0
    table = capsys.readouterr().out
    assert "Total: 3/3 passed (0 failed, 0 not attempted)" in table
    for key in ("99.1", "99.2", "99.3"):
        assert key in table
    report = json.loads(report_file.read_text())
    assert report["score"] == "3/3" and report["passed"] == 3 and report["total"] == 3
    assert statuses(report) == {"99.1": "passed", "99.2": "passed", "99.3": "passed"}
    assert report["mode"] == "fast" and report["errors"] == [] and not report["kernel_died"]
    # the file given is never overwritten
    assert instructor.main(["grade", str(FIXTURES / "toy_solution.ipynb"), "--json", str(report_file)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert json.loads(report_file.read_text()) == report


def test_grade_a_fresh_student_copy_scores_zero(tmp_path):
    out = tmp_path / "student"
    instructor.release(FIXTURES / "toy_solution.ipynb", out)
    shutil.copy(FIXTURES / "toy_exercises.py", out)        # as it would sit beside a submission
    report = instructor.grade(out / "toy_solution.ipynb", timeout=30)
    assert report["score"] == "0/3" and report["not_attempted"] == 3 and report["failed"] == 0
    assert statuses(report) == {"99.1": "not attempted", "99.2": "not attempted", "99.3": "not attempted"}
    for exercise in report["exercises"]:
        assert "NotImplementedError" in exercise["message"]


def test_grade_reports_syntax_error_and_infinite_loop_and_goes_on(broken_report):
    report = broken_report
    assert statuses(report) == {"99.1": "passed", "99.2": "failed", "99.3": "not attempted",
                                "99.4": "not attempted", "99.5": "passed"}
    assert (report["passed"], report["failed"], report["not_attempted"], report["total"]) == (2, 1, 2, 5)
    by_key = {e["key"]: e for e in report["exercises"]}
    assert "Wrong sign" in by_key["99.2"]["message"]            # the checker's own feedback
    assert [k for k, e in by_key.items() if e["solution_viewed"]] == ["99.5"]
    assert "SyntaxError" in by_key["99.3"]["message"]
    assert "Timeout" in by_key["99.4"]["message"]
    assert report["timed_out"] == [9]
    errors = {e["cell"]: e["error"] for e in report["errors"]}
    assert errors[7].startswith("SyntaxError") and errors[9].startswith("Timeout")
    assert errors[8].startswith("NameError")                    # the check of the broken answer
    table = instructor.format_report(report)
    assert "Total: 2/5 passed (1 failed, 2 not attempted)" in table and "cell 9: Timeout" in table
    assert "99.5      passed *" in table and "shows this exercise's solution" in table


def test_grade_stops_at_the_total_time_limit(tmp_path):
    report = instructor.grade(FIXTURES / "toy_broken.ipynb", timeout=60, total_timeout=8)
    assert report["timed_out"] == [9] or not report["timed_out"]   # the loop ate the rest of the time
    assert 12 in report["skipped"]                                   # exercise 5's check never ran
    assert statuses(report)["99.5"] == "not attempted"
    assert any("total time limit" in note for note in report["notes"])
    assert report["seconds"] < 30


def test_model_summary_tables_are_not_progress_bars():
    nb = nbformat.read(FIXTURES / "toy_solution.ipynb", as_version=4)
    table = "┏━━━━━━━━━━━━━━┳━━━━━━━━━━┓\n┃ Layer (type) ┃ Param #  ┃\n┡━━━━━━━━━━━━━━╇━━━━━━━━━━┩\n"
    bar = "  1/313 ━━━━━━━━━━━━━━━━━━━━ 30s 97ms/step\n"
    def flagged(text):
        copy = nbformat.from_dict(json.loads(json.dumps(nb)))
        code = [c for c in copy.cells if c.cell_type == "code"][-1]
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return any("progress bar" in p for p in instructor.check_notebook(copy, "notebooks/99_toy.ipynb"))
    assert not flagged(table)
    assert flagged(bar)


def test_grade_survives_a_dying_kernel():
    report = instructor.grade(FIXTURES / "toy_died.ipynb", timeout=30)
    assert report["kernel_died"] is True
    assert statuses(report) == {"99.1": "passed", "99.5": "not attempted"}
    assert any("kernel died" in e["error"] for e in report["errors"])


def test_grade_json_on_stdout(capsys):
    assert instructor.main(["grade", str(FIXTURES / "toy_died.ipynb"), "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)          # only JSON on stdout
    assert report["notebook"] == "toy_died.ipynb" and report["score"] == "1/2"
    assert instructor.main(["grade", str(FIXTURES / "toy_solution.ipynb"), str(FIXTURES / "toy_died.ipynb"),
                            "--json", "-"]) == 0
    reports = json.loads(capsys.readouterr().out)         # several submissions: a list
    assert [(r["notebook"], r["score"]) for r in reports] == [("toy_solution.ipynb", "3/3"),
                                                              ("toy_died.ipynb", "1/2")]


REAL = NOTEBOOKS / "02_convolution.ipynb"     # hand-written convolutions: the cheapest to run


def test_grade_a_real_course_notebook_as_shipped_scores_zero_and_goes_to_the_end():
    # what a student opens: every exercise "not attempted", no error (tests/test_solutions.py grades
    # the solved copy of every notebook)
    report = instructor.grade(REAL, timeout=120, total_timeout=240)
    assert report["total"] >= 3 and report["not_attempted"] == report["total"], instructor.format_report(report)
    assert report["errors"] == [] and report["skipped"] == []
    assert all(e["key"].startswith("02.") for e in report["exercises"])


def test_grade_names_exercises_even_when_their_import_failed(tmp_path):
    cells = [new_code_cell("raise RuntimeError('broken before the import')\nfrom cnncourse.exercises import ex02 as ex"),
             new_code_cell("### BEGIN SOLUTION\nsize_answer = 26\n### END SOLUTION"),
             new_code_cell("ex.q1.check(size_answer)")]
    path = tmp_path / "02_broken_import.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    report = instructor.grade(path, timeout=30)
    (exercise,) = report["exercises"]
    assert exercise["key"] == "02.1" and exercise["label"] == "ex.q1"
    assert exercise["status"] == "not attempted"
    assert "NameError" in exercise["message"]


def test_grade_refuses_bad_input(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        instructor.grade(tmp_path / "missing.ipynb")
    text = tmp_path / "essay.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"path must be a Jupyter notebook \(.ipynb\)"):
        instructor.grade(text)
    junk = tmp_path / "junk.ipynb"
    junk.write_text("{ this is not json")
    with pytest.raises(ValueError, match="not a readable Jupyter notebook"):
        instructor.grade(junk)
    for bad, error in ((0, ValueError), (-5, ValueError), ("ten", TypeError), (True, TypeError)):
        with pytest.raises(error, match="timeout must be a positive number of seconds"):
            instructor.grade(FIXTURES / "toy_solution.ipynb", timeout=bad)
    with pytest.raises(ValueError, match="total_timeout must be a positive number"):
        instructor.grade(FIXTURES / "toy_solution.ipynb", total_timeout=0)
    assert instructor.main(["grade", str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb" in capsys.readouterr().err
    assert instructor.main(["grade", str(junk)]) == 2
    assert "not a readable Jupyter notebook" in capsys.readouterr().err
    # several submissions: a bad one is found before any is run
    assert instructor.main(["grade", str(FIXTURES / "toy_solution.ipynb"), str(text)]) == 2
    captured = capsys.readouterr()
    assert "essay.txt" in captured.err and "Total" not in captured.out
    assert instructor.main(["grade", str(FIXTURES / "toy_solution.ipynb"), "--timeout", "-1"]) == 2
    assert "timeout must be a positive number" in capsys.readouterr().err


# ------------------------------------------------------------------ structure checks

def make_course_notebook(name="02_toy.ipynb"):
    """A notebook that follows CONTRIBUTING.md, as committed (executed in full mode)."""
    cells = [
        new_markdown_cell(colab.badge_source(f"notebooks/{name}")),
        new_code_cell(colab.setup_source()),
        new_markdown_cell("# 02 · Toy\n\n- what it teaches\n\n**Time:** fast mode 10 s; full mode 1 min on a "
                          "2-core CPU, 10 s on Colab's GPU. The outputs shown were produced by a full-mode run."),
        new_code_cell("from cnncourse.session import begin\nMODE = begin(seed=0)"),
        new_code_cell("x = 1 + 1\nprint(x)"),
        new_markdown_cell("## Summary\n\n- a point"),
        new_markdown_cell(instructor.EXERCISES_INTRO),
        new_code_cell("from cnncourse.exercises import ex02 as ex"),
    ]
    for k, var in enumerate(("width_answer", "kernel_answer", "count_answer"), start=1):
        cells.append(new_markdown_cell(f"**Exercise 02.{k} — do it ({'★' * k}).** Do it."))
        cells.append(new_code_cell(instructor.starter(var)))
        cells.append(new_code_cell(f"# NBVAL_CHECK_OUTPUT\nex.q{k}.check({var})"))
    count = 0
    for cell in cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
    cells[1].outputs = [new_output("stream", name="stdout", text=colab.NOT_ON_COLAB + "\n")]
    cells[3].outputs = [new_output("stream", name="stdout", text="cnncourse 0.1.0 | FULL mode: full datasets\n")]
    return new_notebook(cells=cells)


def test_check_notebook_accepts_a_compliant_notebook():
    assert instructor.check_notebook(make_course_notebook(), "notebooks/02_toy.ipynb") == []
    solved = make_course_notebook()               # the instructor's copy passes too
    for k, var in enumerate(("width_answer", "kernel_answer", "count_answer"), start=1):
        solved.cells[6 + 3 * k].source = instructor.solution_cell(f"{var} = {k}")
    assert instructor.check_notebook(solved, "notebooks/02_toy.ipynb") == []
    nb = make_course_notebook()                   # maths and web addresses are not local paths
    nb.cells[5].source += "\n\n$f:\\mathbb{R}^n \\to \\mathbb{R}$, see https://keras.io/home/ and a/tmp/b"
    assert instructor.check_notebook(nb, "notebooks/02_toy.ipynb") == []


def test_check_notebook_accepts_an_answer_computed_from_a_solution_function():
    nb = make_course_notebook()
    nb.cells[-2].source = ("def count(n):\n    ### BEGIN SOLUTION\n    return n + 1\n    ### END SOLUTION\n\n"
                           "count_answer = count(2)")
    assert instructor.check_notebook(nb, "notebooks/02_toy.ipynb") == []


def _mutations():
    def badge_elsewhere(nb):
        nb.cells[0].source = colab.badge_source("notebooks/03_other.ipynb")

    def no_setup(nb):
        del nb.cells[1]

    def edited_setup(nb):
        nb.cells[1].source += "\nprint('hi')"

    def error_output(nb):
        nb.cells[4].outputs = [new_output("error", ename="ValueError", evalue="bad", traceback=[])]

    def local_path_in_output(nb):
        nb.cells[4].outputs = [new_output("stream", name="stdout", text="saved /work/main/x.png\n")]

    def windows_path_in_output(nb):
        nb.cells[4].outputs = [new_output("stream", name="stdout", text="loaded C:\\Users\\bob\\mnist.npz\n")]

    def local_path_in_source(nb):
        nb.cells[4].source = "open('/home/alice/data.npy')"

    def progress_bar(nb):
        nb.cells[4].outputs = [new_output("stream", name="stdout", text="1/1 ━━━━━━━━━━ 0s\n")]

    def fast_mode_outputs(nb):
        nb.cells[3].outputs = [new_output("stream", name="stdout", text="FAST mode: small subsets\n")]

    def not_executed(nb):
        nb.cells[4].execution_count = None

    def out_of_order(nb):
        nb.cells[4].execution_count = 99

    def no_begin(nb):
        nb.cells[3].source = "import numpy as np"

    def no_summary(nb):
        nb.cells[5].source = "## Recap"

    def two_exercises(nb):
        del nb.cells[-3:]

    def check_without_answer_cell(nb):
        nb.cells[-2].source = "count_answer = 3"

    def answer_not_assigned(nb):
        nb.cells[-2].source = "### BEGIN SOLUTION\nother = 3\n### END SOLUTION"

    def answer_name_reused(nb):
        nb.cells[4].source = "width_answer = 0"

    def wrong_module(nb):
        nb.cells[7].source = "from cnncourse.exercises import ex05 as ex"

    def unbalanced(nb):
        nb.cells[-2].source = "### BEGIN SOLUTION\ncount_answer = 3"

    def prose_names_a_marker(nb):
        nb.cells[5].source = "## Summary\n\nAnswers go between `### BEGIN SOLUTION` and its end marker."

    def own_intro(nb):
        nb.cells[6].source = "## Exercises\n\nDo them."

    def no_stars(nb):
        nb.cells[11].source = "**Exercise 02.2 — do it.** Do it."

    def check_cell_not_compared(nb):
        nb.cells[-1].source = "ex.q3.check(count_answer)"

    def starter_of_another_name(nb):
        nb.cells[-2].source = instructor.starter("other_answer")

    def wrong_title(nb):
        nb.cells[2].source = "# 07 · Not this one"

    def no_timings(nb):
        nb.cells[2].source = "# 02 · Toy\n\nThe outputs shown were produced by a full-mode run."

    def placeholder(nb):
        nb.cells[2].source = nb.cells[2].source.replace("10 s on", "TIME_GPU on")

    return [
        (no_timings, "cell 2 should say how long fast mode, full mode on a CPU"),
        (placeholder, "cell 2: a placeholder is left in it (TIME_GPU)"),
        (badge_elsewhere, "cell 0 is not the Colab badge"),
        (no_setup, "cell 1 is not the setup cell"),
        (edited_setup, "cell 1 is not the setup cell"),
        (error_output, "cell 4: error output ValueError: bad"),
        (local_path_in_output, "cell 4: an output holds an absolute local path"),
        (windows_path_in_output, "cell 4: an output holds an absolute local path (C:\\Users\\"),
        (local_path_in_source, "cell 4: its source holds an absolute local path"),
        (progress_bar, "progress bar"),
        (fast_mode_outputs, "does not say FULL mode"),
        (not_executed, "code cell(s) 4 not executed"),
        (out_of_order, "executed out of order"),
        (no_begin, "should call begin("),
        (no_summary, "no '## Summary'"),
        (two_exercises, "2 exercise check(s) after '## Exercises'; at least 3"),
        (check_without_answer_cell, "ex.q3.check( has no answer cell before it"),
        (own_intro, "the '## Exercises' cell should be exactly"),
        (no_stars, "does not show the exercise's difficulty"),
        (check_cell_not_compared, "a check cell starts with '# NBVAL_CHECK_OUTPUT'"),
        (starter_of_another_name, "the starter assigns 'other_answer', not 'count_answer'"),
        (answer_not_assigned, "cell 15: the answer cell does not assign 'count_answer'"),
        (answer_name_reused, "'width_answer' (the answer to ex.q1) is also assigned in cell(s) [4]"),
        (wrong_module, "come from ex05, not ex02"),
        (unbalanced, "BEGIN SOLUTION without an END"),
        (wrong_title, "cell 2 should be the title"),
        (prose_names_a_marker, "cell 5: 'Answers go between `### BEGIN SOLUTION` and its end marker.' names a solution marker; nbgrader"),
    ]


@pytest.mark.parametrize("mutate, problem", _mutations(), ids=[m.__name__ for m, _ in _mutations()])
def test_check_notebook_finds_each_problem(mutate, problem):
    nb = make_course_notebook()
    mutate(nb)
    problems = instructor.check_notebook(nb, "notebooks/02_toy.ipynb")
    assert any(problem in p for p in problems), problems


def test_check_command_line(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(make_course_notebook(), folder / "02_toy.ipynb")
    assert instructor.main(["check", str(folder)]) == 0
    assert "1/1 notebook(s) pass" in capsys.readouterr().out
    bad = make_course_notebook("03_bad.ipynb")
    bad.cells[2].source = "# 03 · Bad"
    bad.cells[4].outputs = [new_output("error", ename="KeyError", evalue="'x'", traceback=[])]
    nbformat.write(bad, folder / "03_bad.ipynb")
    assert instructor.main(["check", str(folder)]) == 1
    said = capsys.readouterr().out
    assert "FAIL" in said and "error output KeyError" in said and "1/2 notebook(s) pass" in said
