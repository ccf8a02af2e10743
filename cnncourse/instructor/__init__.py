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
        reports each exercise as passed / failed / not attempted, with a total. The
        exercises' results come through a file the grader names (:mod:`.grading`).

    python -m cnncourse.instructor check notebooks/
        Structure checks of committed notebooks (badge, setup cell, exercises, no
        errors or local paths in outputs...), without running them.

The notebooks also work with nbgrader: its ``ClearSolutions`` step removes the same
regions (nbgrader wants its own cell metadata too, or ``--ClearSolutions.enforce_metadata=False``).

Grading runs the submitted code: do it in a container or an account that holds nothing else.

Modules: :mod:`.markers` (solution regions), :mod:`.notebooks` (reading notebooks, finding
checks and their answer cells), :mod:`.releasing` (``release``), :mod:`.grading` (``grade``),
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
                                          solution_regions, strip_solutions)
from cnncourse.instructor.notebooks import (CheckCall, answer_cell_before, check_labels, find_checks,
                                            notebook_paths, read_notebook)
from cnncourse.instructor.releasing import release, release_notebook
from cnncourse.instructor.structure import check_notebook, fast_outputs_reason

__all__ = [
    "main",
    "release", "release_notebook", "strip_solutions", "solution_regions", "has_solution", "SolutionMarkerError",
    "CODE_STUB", "MARKDOWN_STUB",
    "grade", "format_report", "read_results", "Recorded", "exercise_keys", "PASSED", "FAILED", "NOT_ATTEMPTED",
    "check_notebook", "fast_outputs_reason",
    "find_checks", "check_labels", "CheckCall", "answer_cell_before", "read_notebook", "notebook_paths",
]
