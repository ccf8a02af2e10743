"""Exercises with instant feedback: ``q.check(answer)``, ``q.hint()``, ``q.solution()``.

Each notebook's exercises live in a module of their own (``ex01``, ``ex02``, ...).
In a notebook::

    from cnncourse.exercises import ex02 as ex
    ex.q1.check(answer)     # prints "Correct" or what is wrong (recorded for grading)
    ex.q1.hint()
    ex.q1.solution()

The package has three layers:

- :mod:`~cnncourse.exercises.core`: :class:`Exercise` and the records the grader
  reads (:func:`results`, :func:`feedback`, :func:`solutions_seen`,
  :func:`clear_results`, :func:`registry`, :data:`NOT_ANSWERED`);
- :mod:`~cnncourse.exercises.checks`: answer-shape checks that return ``None`` or a
  message (:func:`expect_int`, :func:`expect_number`, :func:`expect_array`,
  :func:`expect_keys`, :func:`expect_callable`) and :func:`try_call`;
- :mod:`~cnncourse.exercises.problems`: reusable problem types, checkers built from
  data: :class:`ValueProblem` (one right value and a table of typical wrong ones) and
  :class:`FunctionProblem` (call the student's function on cases, compare with a
  reference, name the typical mistake that explains every result).

An ``exNN.py`` holds statements, cases, mistake tables, hints and solutions::

    from cnncourse.exercises import Exercise, ValueProblem

    q1 = Exercise("NN.1", "How many parameters has Conv2D(8, 3) on a 1-channel image?",
                  ValueProblem("params", 3 * 3 * 8 + 8,
                               [(3 * 3 * 8, "You forgot the biases: one per filter.")],
                               otherwise="{value} is not the count: weights and biases."),
                  hint="...", solution="params = 3 * 3 * 8 + 8", expects="an int", level=1)

and, for answers no problem type fits, a checker function of its own built from the checks.
"""
from cnncourse.exercises.checks import (calls, close, expect_array, expect_callable, expect_int, expect_keys,
                                        expect_number, names_used, to_float, try_call)
from cnncourse.exercises.core import (NOT_ANSWERED, RESULTS_FILE_VARIABLE, Exercise, clear_results, feedback,
                                      registry, results, solutions_seen)
from cnncourse.exercises.problems import FunctionProblem, ValueProblem

__all__ = ["Exercise", "NOT_ANSWERED", "RESULTS_FILE_VARIABLE", "results", "feedback", "solutions_seen", "clear_results", "registry",
           "expect_int", "expect_number", "expect_array", "expect_keys", "expect_callable", "try_call", "calls", "names_used",
           "to_float", "close", "ValueProblem", "FunctionProblem"]
