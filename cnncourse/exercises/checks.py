"""Answer-shape checks shared by the exercise checkers.

Each ``expect_*`` function returns ``None`` when the answer has the expected kind
(a whole number, a real number, an array of some shape, a dict with given keys, a
function) and otherwise a message saying what was expected, naming the answer as
the student called it. None of them raises, whatever the answer. :func:`calls` and
:func:`names_used` tell whether a student's function uses the package's own version of
what the exercise asks them to write.

>>> expect_int(6) is None
True
>>> expect_callable(6, "f(x)")
'Expected a function f(x), got int 6. Pass the function itself (no parentheses).'
"""
from __future__ import annotations

import math
import numbers
import sys

import numpy as np

__all__ = ["expect_int", "expect_number", "expect_array", "expect_keys", "expect_callable", "try_call",
           "to_float", "close", "names_used", "calls"]


def expect_int(answer, name="the answer"):
    """Message when ``answer`` is not a whole number (bools refused too), else None.

    Accepted: ``int``, NumPy integers, floats with no fractional part (``6.0``) and
    0-d arrays holding one of these (``np.array(6)``).

    >>> expect_int(6) is None, expect_int(6.0) is None
    (True, True)
    >>> expect_int(6.5)
    'the answer should be a whole number (an int), got float 6.5.'
    """
    if isinstance(answer, np.ndarray) and answer.ndim == 0 and answer.dtype.kind in "iuf":
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        if isinstance(answer, (float, np.floating)) and float(answer).is_integer():
            return None
        return f"{name} should be a whole number (an int), got {type(answer).__name__} {answer!r:.60}."
    return None


def expect_number(answer, name="the answer"):
    """Message when ``answer`` is not one finite real number, else None.

    A 0-d or one-element array counts as a number; bools, strings and ``None`` do not.
    Read the value with ``float(np.asarray(answer, dtype=float).reshape(()))``.

    >>> expect_number(np.float32(1.5)) is None, expect_number(np.array([1.5])) is None
    (True, True)
    >>> expect_number([1.0, 2.0], "the loss")
    'the loss should be one number, got an array of shape (2,).'
    >>> expect_number(float("inf"), "the loss")  # doctest: +ELLIPSIS
    'the loss is inf: NaN or infinite. Is a logarithm of 0 ...'
    """
    if isinstance(answer, (bool, np.bool_)) or answer is None or isinstance(answer, (str, bytes)):
        return f"{name} should be a number (a float), got {type(answer).__name__} {answer!r:.60}."
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return f"{name} should be a number (a float), got {type(answer).__name__}."
    if arr.size != 1:
        return f"{name} should be one number, got an array of shape {arr.shape}."
    value = float(arr.reshape(()))
    if not math.isfinite(value):
        return f"{name} is {value}: NaN or infinite. Is a logarithm of 0 or a division by 0 hiding in it?"
    return None


def expect_array(answer, shape=None, name="the answer"):
    """Message when ``answer`` is not a numeric array (of ``shape``), else None.

    Lists and Keras/TensorFlow tensors count as arrays. NaN or infinite values are refused.

    >>> expect_array(np.zeros((3, 3)), shape=(3, 3)) is None
    True
    >>> expect_array(np.zeros((3, 4)), shape=(3, 3), name="kernel")
    'kernel has shape (3, 4); expected shape (3, 3).'
    """
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        if isinstance(answer, (list, tuple)):
            return (f"{name} could not be read as an array of numbers: a {type(answer).__name__} "
                    "whose rows have different lengths, or that holds something other than numbers.")
        return f"{name} should be a NumPy array of numbers, got {type(answer).__name__}."
    if answer is None or arr.ndim == 0 and shape not in (None, ()):
        return f"{name} should be a NumPy array{'' if shape is None else f' of shape {shape}'}, got {answer!r:.60}."
    if shape is not None and arr.shape != tuple(shape):
        return f"{name} has shape {arr.shape}; expected shape {tuple(shape)}."
    if not np.all(np.isfinite(arr)):
        return f"{name} holds NaN or infinite values."
    return None


def expect_keys(answer, keys, name, kind, missing="lacks the key(s) {list}",
                extra="has unexpected key(s) {list!r:.100}; use exactly the keys of the statement"):
    """Message when ``answer`` is not a dict with exactly the keys ``keys``, else None.

    The message is ``f"{name} should be {kind}, got <type>."`` for a non-dict, else
    ``name`` followed by ``missing`` (or ``extra``) and a full stop. ``missing`` and
    ``extra`` are :meth:`str.format` templates of the offending keys, given as
    ``list`` (a list, in order) and ``joined`` (their ``str`` joined by ", ").

    >>> expect_keys({"a": 1, "b": 2}, ("a", "b"), "sizes", "a dict {name: size}") is None
    True
    >>> expect_keys([1, 2], ("a", "b"), "sizes", "a dict {name: size}")
    'sizes should be a dict {name: size}, got list.'
    >>> expect_keys({"a": 1}, ("a", "b"), "sizes", "a dict", missing="lacks the size(s) of {joined}")
    'sizes lacks the size(s) of b.'
    >>> expect_keys({"a": 1, "b": 2, "c": 3}, ("a", "b"), "sizes", "a dict")
    "sizes has unexpected key(s) ['c']; use exactly the keys of the statement."
    """
    if not isinstance(answer, dict):
        return f"{name} should be {kind}, got {type(answer).__name__}."
    for template, found in ((missing, [k for k in keys if k not in answer]),
                            (extra, [k for k in answer if k not in keys])):
        if found:
            return f"{name} {template.format(list=found, joined=', '.join(map(str, found)))}."
    return None


def expect_callable(answer, signature, name=None):
    """Message when ``answer`` is not a function, else None.

    Without ``name``: ``"Expected a function <signature>, got ..."`` with a reminder to
    pass the function itself; with ``name`` (a function the notebook hands out as a
    stub): ``"<name> should be a function <signature>, got <type>."``.

    >>> expect_callable(len, "f(x)") is None
    True
    >>> expect_callable(None, "conv_out(n, f, p, s) returning an int", name="conv_out")
    'conv_out should be a function conv_out(n, f, p, s) returning an int, got NoneType.'
    """
    if callable(answer):
        return None
    if name is not None:
        return f"{name} should be a function {signature}, got {type(answer).__name__}."
    return (f"Expected a function {signature}, got {type(answer).__name__} {answer!r:.60}. "
            "Pass the function itself (no parentheses).")


def try_call(fn, args, label, stub=None):
    """``(fn(*args), None)``, or ``(None, message)`` saying what ``fn`` raised.

    ``label`` shows the call (``"conv_out(5, 3, 0, 1)"``). With ``stub`` (the name of a
    function the notebook hands out raising ``NotImplementedError``) that error says
    "write its body", and the other messages end with a full stop.

    >>> try_call(divmod, (7, 2), "divmod(7, 2)")
    ((3, 1), None)
    >>> try_call(divmod, (7, 0), "divmod(7, 0)")
    (None, 'divmod(7, 0) raised ZeroDivisionError: integer division or modulo by zero')
    >>> def todo(n):
    ...     raise NotImplementedError
    >>> try_call(todo, (1,), "todo(1)", stub="todo")
    (None, 'todo raises NotImplementedError: write its body.')
    """
    try:
        return fn(*args), None
    except NotImplementedError as exc:  # the student's function may raise anything
        if stub is not None:
            return None, f"{stub} raises NotImplementedError: write its body."
        error = exc
    except Exception as exc:
        error = exc
    return None, f"{label} raised {type(error).__name__}: {error}{'' if stub is None else '.'}"


def to_float(value):
    """``float(value)`` for a real number or a one-element numeric array, else None (bools too).

    >>> to_float(np.float32(0.5)), to_float(np.array([2])), to_float(True), to_float("1")
    (0.5, 2.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and np.issubdtype(value.dtype, np.number):
        return float(value.reshape(()))
    return None


def close(value, reference, tol=1e-3):
    """Whether ``value`` is within ``tol`` of ``reference``, relative to ``max(1, |reference|)``.

    Relative for large references, absolute below 1: the right test for a number worked
    out by hand, where exact equality would refuse rounding.

    >>> close(1000.4, 1000.0), close(0.0014, 0.0), close(0.0011, 0.0, tol=1e-4)
    (True, False, False)
    """
    return abs(value - reference) <= tol * max(1.0, abs(reference))


def _code_objects(code):
    """``code`` and every function, lambda or comprehension defined inside it."""
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            yield from _code_objects(const)


def names_used(fn):
    """Every name the code of the function ``fn`` (and of the functions inside it) looks up: globals,
    attributes, closure and local variables. An empty set for what is not a Python function.

    >>> sorted(names_used(lambda x: np.linalg.norm(x)))
    ['linalg', 'norm', 'np', 'x']
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return set()
    names = set()
    for c in _code_objects(code):
        names |= set(c.co_names) | set(c.co_freevars) | set(c.co_varnames) | set(c.co_cellvars)
    return names


def calls(fn, target):
    """Whether the student's function ``fn`` is ``target``, wraps it (``functools.partial``, ``wraps``), or
    reaches it by name in its code: a global or closure variable bound to it under any name, or
    ``module.target_name`` with its module (or the ``cnncourse`` package) named or bound. For exercises that
    ask the student to write what the package already has: the checker refuses the package's function.

    >>> from cnncourse import ops
    >>> calls(ops.receptive_field, ops.receptive_field), calls(lambda s: ops.receptive_field(s), ops.receptive_field)
    (True, True)
    >>> calls(lambda s: 2 * len(s) + 1, ops.receptive_field), calls("text", ops.receptive_field)
    (False, False)
    """
    if target in (fn, getattr(fn, "__wrapped__", None), getattr(fn, "func", None)):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    scope = dict(getattr(fn, "__globals__", {}))
    for var, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            scope[var] = cell.cell_contents
        except ValueError:          # an empty cell
            pass
    names = names_used(fn)
    if any(scope.get(name) is target for name in names):            # imported or bound under any name
        return True
    module_name = getattr(target, "__module__", "") or ""
    if getattr(target, "__name__", None) not in names:
        return False
    module, package = sys.modules.get(module_name), sys.modules.get(module_name.split(".")[0])
    homes = [m for m in (module, package) if m is not None]
    return any(name in (module_name, module_name.rsplit(".", 1)[-1]) or any(scope.get(name) is m for m in homes)
               for name in names)   # module_name: a "from cnncourse.ops import ..." inside the function
