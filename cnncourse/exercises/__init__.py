"""Exercises with instant feedback: ``q.check(answer)``, ``q.hint()``, ``q.solution()``.

Each notebook's exercises live in a module of their own (``ex01``, ``ex02``, ...).
An exercise is an :class:`Exercise`; its checker is a function that takes the
student's answer and returns ``None`` when it is right, or a string saying what
exactly is wrong — without giving the answer away. ``check`` never crashes on
nonsense (a string, ``None``, a wrongly shaped array): anything the checker
raises is turned into a message saying what was expected.

In a notebook::

    from cnncourse.exercises import ex02 as ex
    ex.q1.check(answer)     # prints "Correct" or what is wrong; returns True/False
    ex.q1.hint()
    ex.q1.solution()

Every call of ``check`` is recorded in :func:`results`, which the grader
(``python -m cnncourse.instructor grade``) reads after running a notebook.
"""
from __future__ import annotations

import numpy as np

_RESULTS: dict[str, bool] = {}
_REGISTRY: dict[str, "Exercise"] = {}

NOT_ANSWERED = object()


class Exercise:
    """One exercise.

    Parameters
    ----------
    key : str
        Unique id, ``"NN.k"`` (notebook number, exercise number), e.g. ``"02.1"``.
    statement : str
        What the student must do, one paragraph.
    checker : callable(answer) -> str | None
        ``None`` when the answer is right, else what is wrong.
    hint : str
        A nudge that does not give the answer away.
    solution : str
        The solution, as code or prose, shown by :meth:`solution`.
    expects : str
        What kind of answer is expected ("an int", "a NumPy array of shape (3, 3)"):
        shown when the answer is of the wrong kind or the checker crashes.
    """

    def __init__(self, key, statement, checker, hint, solution, expects):
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        if not callable(checker):
            raise TypeError(f"checker must be callable, got {checker!r}")
        self.key = key
        self.statement = statement
        self.checker = checker
        self._hint = hint
        self._solution = solution
        self.expects = expects
        _REGISTRY[key] = self

    def evaluate(self, answer):
        """``(passed, message)`` for ``answer``, without printing or recording."""
        if answer is NOT_ANSWERED or answer is Ellipsis:
            return False, f"No answer yet: expected {self.expects}."
        try:
            problem = self.checker(answer)
        except Exception as exc:  # nonsense input must never crash the student's notebook
            return False, (f"Could not check this answer ({type(exc).__name__}: {exc}). "
                           f"Expected {self.expects}.")
        if problem is None:
            return True, "Correct!"
        return False, str(problem)

    def check(self, answer):
        """Print whether ``answer`` is right (or what is wrong) and return True/False."""
        passed, message = self.evaluate(answer)
        _RESULTS[self.key] = passed
        print(f"[{self.key}] {'✔' if passed else '✘'} {message}")
        return passed

    def hint(self):
        """Print a hint."""
        print(f"[{self.key}] Hint: {self._hint}")

    def solution(self):
        """Print the solution."""
        print(f"[{self.key}] Solution:\n{self._solution}")

    def __repr__(self):
        return f"Exercise({self.key!r}): {self.statement}"


def results():
    """``{key: passed}`` for every exercise checked in this process, in the order checked."""
    return dict(_RESULTS)


def registry():
    """``{key: Exercise}`` of every exercise defined (modules imported so far)."""
    return dict(_REGISTRY)


# ----------------------------------------------------------------- checker building blocks
# Small helpers the per-notebook modules share; each returns None or a message.

def expect_int(answer, name="the answer"):
    """Message when ``answer`` is not a whole number (bools refused too), else None."""
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        if isinstance(answer, (float, np.floating)) and float(answer).is_integer():
            return None
        return f"{name} should be a whole number (an int), got {type(answer).__name__} {answer!r:.60}."
    return None


def expect_array(answer, shape=None, name="the answer"):
    """Message when ``answer`` is not a numeric array (of ``shape``), else None."""
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return f"{name} should be a NumPy array of numbers, got {type(answer).__name__}."
    if answer is None or arr.ndim == 0 and shape not in (None, ()):
        return f"{name} should be a NumPy array{'' if shape is None else f' of shape {shape}'}, got {answer!r:.60}."
    if shape is not None and arr.shape != tuple(shape):
        return f"{name} has shape {arr.shape}; expected shape {tuple(shape)}."
    if not np.all(np.isfinite(arr)):
        return f"{name} holds NaN or infinite values."
    return None
