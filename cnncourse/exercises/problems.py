"""Problem types: exercise checkers built from data instead of written out each time.

A problem is a callable ``problem(answer) -> None | message``, used as the checker of
an :class:`~cnncourse.exercises.Exercise`. Two types cover most exercises of the course:

- :class:`ValueProblem`: the answer is one value. It must be a whole number (or a
  real one, or an array of some shape), equal (or close) to the right value; a table
  maps typical wrong values to what they reveal.
- :class:`FunctionProblem`: the answer is a function. It is called on cases, each
  result must be of the right kind and is compared with a reference function; when
  some are wrong, a table of typical wrong formulas names the mistake that explains
  *every* result.

A diagnosis never shows the right answer: the messages can use the student's call,
what it returned and the mistake, never the expected value.

>>> q = ValueProblem("params", 80, [(72, "You forgot the biases: one per filter.")],
...                  otherwise="{value} is not the count.")
>>> q(80) is None, q(72), q(5), q("80")
(True, 'You forgot the biases: one per filter.', '5 is not the count.', "params should be a whole number (an int), got str '80'.")
>>> side = FunctionProblem("side", "side(n, f)", [(5, 3), (28, 5)], lambda n, f: n - f + 1,
...                        mistakes=[(lambda n, f: n - f, "one short: count the first position too.")],
...                        otherwise="{call} returned {got}, which is wrong.")
>>> side(lambda n, f: n - f + 1) is None
True
>>> side(lambda n, f: n - f)
'side(5, 3) returned 2: one short: count the first position too.'
>>> side(lambda n, f: 3)
'side(28, 5) returned 3, which is wrong.'
>>> side(lambda n: 3)
'side(5, 3) raised TypeError: <lambda>() takes 1 positional argument but 2 were given'
"""
from __future__ import annotations

import operator
import sys

import numpy as np

from cnncourse.exercises.checks import (close, expect_array, expect_callable, expect_int, expect_number, to_float,
                                        try_call)

__all__ = ["Problem", "ValueProblem", "FunctionProblem"]


class Problem:
    """Base of the problem types: a checker ``problem(answer) -> None | message``.

    Its ``__module__`` is the module that built it (``cnncourse.exercises.ex02``, say), as
    for a checker function, so that :class:`~cnncourse.exercises.Exercise` can tell
    which module an exercise key belongs to.
    """

    def __init__(self):
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__") == __name__:
            frame = frame.f_back
        self.__module__ = frame.f_globals.get("__name__") if frame is not None else __name__

    def __call__(self, answer):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({getattr(self, 'name', '')!r})"


def _matches(what, value, same):
    """Whether ``value`` is the mistake ``what``: a value, a tuple/list/set of values, or a predicate."""
    if callable(what):
        return bool(what(value))
    if isinstance(what, (tuple, list, set, frozenset)):
        return any(same(value, w) for w in what)
    return same(value, what)


class ValueProblem(Problem):
    """The answer is one value: the right one, or a typical mistake, or something else.

    Parameters
    ----------
    name : str
        What the student called the answer (``"fc6_params_224"``): used in the messages
        refusing an answer of the wrong kind.
    right : int, float or array
        The right value.
    mistakes : sequence of (what, message)
        Tried in order on a wrong value. ``what`` is a wrong value, a tuple (or list, or
        set) of wrong values, or a predicate ``value -> bool``; ``message`` says what it
        reveals.
    otherwise : str or callable
        Said when no mistake matches: a :meth:`str.format` template of ``value``
        (``"{value:,} is not fc6's parameter count."``), or a function of ``value``.
    kind : {"int", "number", "array"}
        ``"int"``: a whole number (see :func:`~cnncourse.exercises.expect_int`), compared
        exactly. ``"number"``: a finite real number (see
        :func:`~cnncourse.exercises.expect_number`), compared with
        :func:`~cnncourse.exercises.close` to ``tol``. ``"array"``: a finite array of
        numbers of shape ``shape`` (see :func:`~cnncourse.exercises.expect_array`),
        compared with :func:`numpy.allclose` to ``atol=tol``.
    tol : float
        For ``"number"``, the tolerance relative to ``max(1, |reference|)``; for
        ``"array"``, the absolute tolerance of :func:`numpy.allclose` (whose default
        ``rtol`` of 1e-5 applies too).
    shape : tuple, optional
        The shape of an ``"array"`` answer (any shape when None).

    Examples
    --------
    >>> ce = ValueProblem("ce", 1.6094, [(-1.6094, "A loss is not negative.")], kind="number", tol=1e-3,
    ...                   otherwise="Not the cross-entropy.")
    >>> ce(1.6095) is None, ce(-1.61), ce(0.5), ce(None)
    (True, 'A loss is not negative.', 'Not the cross-entropy.', 'ce should be a number (a float), got NoneType None.')
    >>> edge = ValueProblem("kernel", np.array([1.0, 0.0, -1.0]), [(np.array([-1.0, 0.0, 1.0]), "Wrong sign.")],
    ...                     otherwise="Not the edge kernel.", kind="array", tol=1e-3, shape=(3,))
    >>> edge([1, 0, -1]) is None, edge([-1, 0, 1]), edge(np.ones(3)), edge(np.ones(4))
    (True, 'Wrong sign.', 'Not the edge kernel.', 'kernel has shape (4,); expected shape (3,).')
    """

    _KINDS = ("int", "number", "array")

    def __init__(self, name, right, mistakes=(), otherwise="{value} is wrong.", *, kind="int", tol=1e-3,
                 shape=None):
        super().__init__()
        if kind not in self._KINDS:
            raise ValueError(f"kind must be one of {self._KINDS}, got {kind!r}")
        self.name, self.right, self.mistakes, self.otherwise = name, right, list(mistakes), otherwise
        self.kind, self.tol, self.shape = kind, tol, shape

    def _same(self, value, reference):
        if self.kind == "int":
            return value == reference
        if self.kind == "number":
            return close(value, reference, self.tol)
        return bool(np.allclose(value, reference, atol=self.tol))

    def read(self, answer):
        """``(value, None)`` for an answer of the right kind, else ``(None, message)``."""
        if self.kind == "int":
            problem = expect_int(answer, self.name)
            return (None, problem) if problem else (int(answer), None)
        if self.kind == "number":
            problem = expect_number(answer, self.name)
            return (None, problem) if problem else (float(np.asarray(answer, dtype=float).reshape(())), None)
        problem = expect_array(answer, self.shape, self.name)
        return (None, problem) if problem else (np.asarray(answer, dtype=float), None)

    def __call__(self, answer):
        value, problem = self.read(answer)
        if problem:
            return problem
        if self._same(value, self.right):
            return None
        for what, message in self.mistakes:
            if _matches(what, value, self._same):
                return message
        return self.otherwise(value) if callable(self.otherwise) else self.otherwise.format(value=value)


def _read_int(got, call, want):
    problem = expect_int(got, name=f"{call}'s result")
    return (None, problem) if problem else (int(got), None)


def _read_number(got, call, want):
    value = to_float(got)
    if value is None:
        return None, f"{call} returned {got!r:.60}; it should return one number."
    return value, None


_READERS = {"int": _read_int, "number": _read_number, None: lambda got, call, want: (got, None)}


class FunctionProblem(Problem):
    """The answer is a function: called on cases, compared with a reference, its mistake named.

    The checker refuses a non-function, then calls the student's function on every case
    in order (the first call that raises, or returns a result of the wrong kind, is
    reported), then compares every result with ``right``. When some are wrong, it names
    the first mistake of ``mistakes`` whose formula gives *every* result the student's
    function gave, at the first wrong case; else it says ``otherwise``.

    Parameters
    ----------
    name : str
        The function's name in the notebook (``"conv_params"``); calls are shown as
        ``name(arg, arg, ...)``.
    signature : str
        Shown when the answer is not a function (``"conv_params(height, width, ...)"``).
    cases : sequence of tuples
        The arguments of each call.
    right : callable
        The reference function.
    returns : {"int", "number", None} or callable
        How a result is read: ``"int"`` a whole number, ``"number"`` one real number,
        ``None`` as it is; or ``read(got, call, want) -> (value, None) | (None, message)``.
    same : callable
        ``same(value, reference) -> bool``; ``==`` by default.
    mistakes : sequence of (formula, message)
        Typical wrong formulas (functions of a case's arguments) and what they reveal.
    said : str
        How a named mistake is said; a :meth:`str.format` template of ``mistake``,
        ``call`` (the first wrong call), ``got`` (its result), ``case``, ``wrong`` (how
        many cases are wrong), ``total`` and ``results`` (every result, in order).
    otherwise : str or callable
        Said when no mistake explains the results: a template of the same fields but
        ``mistake``, or a function of them as keywords.
    also : callable, optional
        ``also(problem, fn, results) -> None | message``: a further check run once every
        case gave a result and before comparing them; ``results`` lists them in the order
        of ``cases``, and ``problem.run(fn, other_cases)`` runs other cases the same way.
    stub : bool
        The notebook hands the function out as a stub raising ``NotImplementedError``:
        the messages then say so (see :func:`~cnncourse.exercises.try_call`).
    """

    def __init__(self, name, signature, cases, right, *, returns="int", same=operator.eq, mistakes=(),
                 said="{call} returned {got:,}: {mistake}", otherwise, also=None, stub=False):
        super().__init__()
        self.name, self.signature, self.cases, self.right = name, signature, [tuple(c) for c in cases], right
        self.read = _READERS[returns] if returns in _READERS else returns
        self.same, self.said, self.otherwise, self.also, self.stub = same, said, otherwise, also, stub
        self.wants = [right(*case) for case in self.cases]
        # the mistakes' values on the fixed cases, worked out once
        self.mistakes = [([formula(*case) for case in self.cases], message) for formula, message in mistakes]

    def label(self, case):
        """How the call on ``case`` is shown: ``name(arg, arg, ...)``."""
        return f"{self.name}({', '.join(map(str, case))})"

    def run(self, fn, cases, wants=None):
        """``([result, ...], None)``, or ``(None, message)`` at the first call that fails.

        ``wants`` (the right results, for a ``returns`` function that uses them) defaults
        to the reference function's.
        """
        wants = [self.right(*case) for case in cases] if wants is None else wants
        results = []
        for case, want in zip(cases, wants):
            call = self.label(case)
            got, problem = try_call(fn, case, call, stub=self.name if self.stub else None)
            if problem:
                return None, problem
            value, problem = self.read(got, call, want)
            if problem:
                return None, problem
            results.append(value)
        return results, None

    def __call__(self, fn):
        problem = expect_callable(fn, self.signature, self.name if self.stub else None)
        if problem:
            return problem
        got, problem = self.run(fn, self.cases, self.wants)
        if problem:
            return problem
        if self.also is not None:
            problem = self.also(self, fn, got)
            if problem:
                return problem
        wrong = [i for i, (value, want) in enumerate(zip(got, self.wants)) if not self.same(value, want)]
        if not wrong:
            return None
        first = wrong[0]
        fields = dict(call=self.label(self.cases[first]), got=got[first], case=self.cases[first],
                      wrong=len(wrong), total=len(self.cases), results=got)
        for values, message in self.mistakes:
            if all(self.same(value, v) for value, v in zip(got, values)):
                return self.said.format(mistake=message, **fields)
        if callable(self.otherwise):
            return self.otherwise(**fields)
        return self.otherwise.format(**fields)
