"""Instructor tools: solved copies, student copies, grading, notebook structure.

The notebooks in ``notebooks/`` are the students' copies: each answer cell is a starter, ::

    # YOUR CODE HERE
    kernel_answer = ...

checked by the next cell, ``ex.q1.check(kernel_answer)`` ("No answer yet" until the student
answers). Each solution has one home, its exercise in ``cnncourse/exercises/exNN.py``:
``ex.q1.solution()`` prints it and ``solve`` writes it into the answer cell, between
nbgrader's markers::

    ### BEGIN SOLUTION
    kernel_answer = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    ### END SOLUTION

Commands (run from the repository's root)::

    python -m cnncourse.instructor solve notebooks/ SOLVED/
        Solved copies of the student notebooks (the instructor's version). Refuses to
        write into an existing file.

    python -m cnncourse.instructor release SOLVED/ OUT/
        Student copies of solved notebooks (yours, or the course's after edits): an answer
        cell becomes the starter again (any other solution region ``# YOUR CODE HERE`` /
        ``raise NotImplementedError()``, as nbgrader does), outputs and execution counts
        are cleared, nothing else changes. Refuses to write into an existing file.

    python -m cnncourse.instructor grade SUBMITTED.ipynb [--timeout 120] [--total-timeout 900]
                                         [--json PATH | --json -]
        Runs the notebook in a fresh kernel in fast mode (``CNNCOURSE_FAST=1``), in
        the notebook's folder, cell by cell with a time limit per cell and in all, and
        reports each exercise as passed / failed / not attempted, with a total. The
        exercises' results come through a file the grader names (:mod:`.grading`).

    python -m cnncourse.instructor check notebooks/
        Structure checks of committed notebooks (badge, setup cell, exercises, no
        errors or local paths in outputs...), without running them.

The notebooks also work with nbgrader: its ``ClearSolutions`` step removes the same
regions (nbgrader wants its own cell metadata too, or ``--ClearSolutions.enforce_metadata=False``).

Grading runs the submitted code: do it in a container or an account that holds nothing else.

Modules: :mod:`.markers` (solution regions, starters), :mod:`.notebooks` (reading and writing
notebooks, finding checks and their answer cells), :mod:`.solving` (``solve``), :mod:`.releasing` (``release``), :mod:`.grading` (``grade``),
:mod:`.structure` (``check``), :mod:`.cli` (the command line, run by ``__main__``).

Example
-------
>>> strip_solutions("x = 1\\n### BEGIN SOLUTION\\nanswer = 42\\n### END SOLUTION\\nprint(answer)")
('x = 1\\n# YOUR CODE HERE\\nraise NotImplementedError()\\nprint(answer)', 1)
"""
from cnncourse.instructor.cli import main
from cnncourse.instructor.grading import (FAILED, NOT_ATTEMPTED, PASSED, Recorded, exercise_keys, format_report,
                                          grade, read_results)
from cnncourse.instructor.markers import (CODE_STUB, MARKDOWN_STUB, SolutionMarkerError, has_solution,
                                          solution_cell, solution_regions, starter, starter_name, strip_solutions,
                                          whole_region)
from cnncourse.instructor.notebooks import (CheckCall, answer_cell_before, check_labels, checked_name, find_checks,
                                            notebook_paths, read_notebook, write_copies)
from cnncourse.instructor.releasing import release, release_notebook
from cnncourse.instructor.solving import solve, solve_notebook
from cnncourse.instructor.structure import EXERCISES_INTRO, check_notebook, fast_outputs_reason

__all__ = [
    "main",
    "solve", "solve_notebook", "release", "release_notebook", "strip_solutions", "solution_regions", "has_solution",
    "SolutionMarkerError", "CODE_STUB", "MARKDOWN_STUB", "starter", "starter_name", "solution_cell", "whole_region",
    "grade", "format_report", "read_results", "Recorded", "exercise_keys", "PASSED", "FAILED", "NOT_ATTEMPTED",
    "check_notebook", "fast_outputs_reason", "EXERCISES_INTRO",
    "find_checks", "check_labels", "checked_name", "CheckCall", "answer_cell_before", "read_notebook", "notebook_paths",
    "write_copies",
]
