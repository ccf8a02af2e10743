"""The exercise core: :class:`Exercise` and the records the grader reads.

An exercise is an :class:`Exercise`; its checker is a callable that takes the
student's answer and returns ``None`` when it is right, or a string saying what
exactly is wrong, without giving the answer away. ``check`` never crashes on
nonsense (a string, ``None``, a wrongly shaped array): anything the checker
raises is turned into a message saying what was expected.

Every call of :meth:`Exercise.check` is recorded in :func:`results` (and, with its
message, in :func:`feedback`); :meth:`Exercise.solution` in :func:`solutions_seen`.
The grader (``python -m cnncourse.instructor grade``) reads them after running a notebook.

>>> q = Exercise("90.1", "How many colour channels has an RGB image?",
...              lambda answer: None if answer == 3 else "Count R, G and B.",
...              hint="R, G and B.", solution="channels = 3", expects="an int", level=1)
>>> q.check(3)
[90.1] ✔ Correct!
>>> q.stars
'★'
>>> q.evaluate(4)
(False, 'Count R, G and B.')
>>> q.evaluate(NOT_ANSWERED)
(False, 'No answer yet: expected an int.')
>>> results()["90.1"], feedback()["90.1"]["message"]
(True, 'Correct!')
>>> _ = [store.pop("90.1") for store in (_RESULTS, _FEEDBACK, _REGISTRY)]   # leave no trace
"""
from __future__ import annotations

import json
import os

_RESULTS: dict[str, bool] = {}
_FEEDBACK: dict[str, dict] = {}
_SOLUTION_SEEN: set = set()
_REGISTRY: dict[str, "Exercise"] = {}

#: What each difficulty level asks of the student (``Exercise.level``; the notebook shows its stars).
LEVELS = {1: "apply: use what the notebook showed",
          2: "build: make something the notebook did not show, from its parts",
          3: "extend: go beyond the notebook (a method of your own, checked against a reference)"}

#: Give this (or ``...``) as an answer to mean "not answered yet": ``check`` says so.
NOT_ANSWERED = object()

# --- results channel of the grader (cnncourse.instructor): begin
#: The environment variable that names the file into which ``check`` and ``solution()`` append
#: one JSON line each: ``{"event": "check", "key", "passed", "answered", "message"}`` or
#: ``{"event": "solution", "key"}``. The grader sets it; elsewhere it is unset and nothing is written.
RESULTS_FILE_VARIABLE = "CNNCOURSE_RESULTS_FILE"


def _record(event):
    """Append ``event`` as one JSON line to the file named by :data:`RESULTS_FILE_VARIABLE`, if any,
    at once (a kernel that dies later keeps it); a file that cannot be written is left alone."""
    path = os.environ.get(RESULTS_FILE_VARIABLE)
    if path:
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(event) + "\n")
        except OSError:
            pass
# --- results channel of the grader: end


class Exercise:
    """One exercise.

    Parameters
    ----------
    key : str
        Unique id, ``"NN.k"`` (notebook number, exercise number), e.g. ``"02.1"``.
    statement : str
        What the student must do, one paragraph.
    checker : callable(answer) -> str | None
        ``None`` when the answer is right, else what is wrong: a problem of
        :mod:`cnncourse.exercises.problems`, or a function of the exercise module.
    hint : str
        A nudge that does not give the answer away.
    solution : str
        The solution, as code or prose, shown by :meth:`solution`. For an exercise of a
        notebook it is the code of the solved notebook's answer cell, verbatim
        (``python -m cnncourse.instructor solve`` writes it there): its one source.
    expects : str
        What kind of answer is expected ("an int", "a NumPy array of shape (3, 3)"):
        shown when the answer is of the wrong kind or the checker crashes.
    level : {1, 2, 3}
        How hard it is (:data:`LEVELS`): 1 ★ apply, 2 ★★ build, 3 ★★★ extend. The
        notebook's statement shows the stars (:attr:`stars`).
    """

    def __init__(self, key, statement, checker, hint, solution, expects, *, level):
        key_rule = f"key must be a non-empty string without spaces such as '02.1', got {key!r}"
        if not isinstance(key, str):
            raise TypeError(key_rule)
        if not key or key != key.strip() or " " in key:
            raise ValueError(key_rule)
        if not callable(checker):
            raise TypeError(f"checker must be callable (answer -> None or a message), got {checker!r}")
        for name, value in (("statement", statement), ("hint", hint),
                            ("solution", solution), ("expects", expects)):
            rule = f"{name} of exercise {key} must be a non-empty string, got {value!r:.60}"
            if not isinstance(value, str):
                raise TypeError(rule)
            if not value.strip():
                raise ValueError(rule)
        if isinstance(level, bool) or not isinstance(level, int):
            raise TypeError(f"level of exercise {key} must be an int in {sorted(LEVELS)}, got {level!r}")
        if level not in LEVELS:
            raise ValueError(f"level of exercise {key} must be one of {sorted(LEVELS)} "
                             f"(1 apply, 2 build, 3 extend), got {level!r}")
        previous = _REGISTRY.get(key)
        module = getattr(checker, "__module__", None)
        if previous is not None and getattr(previous.checker, "__module__", None) != module:
            raise ValueError(
                f"key {key!r} is already used by an exercise of module "
                f"{getattr(previous.checker, '__module__', '?')}; each exercise needs its own key 'NN.k'"
            )
        self.key = key
        self.statement = statement
        self.checker = checker
        self._hint = hint
        self._solution = solution
        self.expects = expects
        self.level = level
        _REGISTRY[key] = self

    @property
    def stars(self):
        """The difficulty as the notebook shows it: ``"★"``, ``"★★"`` or ``"★★★"``."""
        return "★" * self.level

    @property
    def solution_code(self):
        """The solution's text, as the solved notebook's answer cell holds it."""
        return self._solution

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

    def check(self, answer=NOT_ANSWERED):
        """Print whether ``answer`` is right (or what is wrong); record it in :func:`results`.

        Returns None, so that a check cell shows only the printed line (a returned
        bool would be echoed as ``True`` under it). Use :meth:`evaluate` for the
        ``(passed, message)`` pair without printing or recording.
        """
        passed, message = self.evaluate(answer)
        _RESULTS[self.key] = passed
        answered = not (answer is NOT_ANSWERED or answer is Ellipsis)
        _FEEDBACK[self.key] = {"passed": passed, "answered": answered, "message": message}
        _record({"event": "check", "key": self.key, **_FEEDBACK[self.key]})
        print(f"[{self.key}] {'✔' if passed else '✘'} {message}")

    def hint(self):
        """Print a hint."""
        print(f"[{self.key}] Hint: {self._hint}")

    def solution(self):
        """Print the solution (the grader reports that it was shown)."""
        _SOLUTION_SEEN.add(self.key)
        _record({"event": "solution", "key": self.key})
        print(f"[{self.key}] Solution:\n{self._solution}")

    def __repr__(self):
        return f"Exercise({self.key!r}): {self.statement}"


def results():
    """``{key: passed}`` for every exercise checked in this process, in the order checked."""
    return dict(_RESULTS)


def feedback():
    """``{key: {"passed": bool, "answered": bool, "message": str}}`` of the last check of each exercise.

    ``answered`` is False when the answer given was :data:`NOT_ANSWERED` or ``...``.
    """
    return {key: dict(value) for key, value in _FEEDBACK.items()}


def solutions_seen():
    """Sorted keys of the exercises whose :meth:`Exercise.solution` was shown in this process."""
    return sorted(_SOLUTION_SEEN)


def clear_results():
    """Forget every check recorded so far (:func:`results`, :func:`feedback`, :func:`solutions_seen`)."""
    _RESULTS.clear()
    _FEEDBACK.clear()
    _SOLUTION_SEEN.clear()


def registry():
    """``{key: Exercise}`` of every exercise defined (modules imported so far)."""
    return dict(_REGISTRY)
