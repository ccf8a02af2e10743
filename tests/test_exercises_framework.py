"""The exercise framework (cnncourse.exercises) and what every exercise module must honour.

The second half runs over every ``cnncourse/exercises/exNN.py``: keys ``NN.k`` matching the
module and the attribute ``qk``, at least three exercises, and checkers that answer nonsense
(None, a string, a wrongly shaped array...) with a message of their own instead of crashing.
"""
import importlib
import io
import pkgutil
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

import cnncourse.exercises as exercises
from cnncourse.exercises import NOT_ANSWERED, Exercise, core, expect_array, expect_int


@pytest.fixture(autouse=True)
def clean_state():
    """Each test sees (and leaves) the framework's records as they were."""
    stores = (core._REGISTRY, core._RESULTS, core._FEEDBACK, core._SOLUTION_SEEN)   # the records themselves
    saved = [store.copy() for store in stores]
    yield
    for store, old in zip(stores, saved):
        store.clear()
        store.update(old)


def _is_three(answer):
    problem = expect_int(answer, "the count")
    if problem:
        return problem
    return None if answer == 3 else ("Off by one." if abs(answer - 3) == 1 else "Not the count.")


def make(key="98.1", checker=_is_three):
    return Exercise(key, "How many colour channels has an RGB image?", checker,
                    hint="R, G and B.", solution="channels = 3", expects="an int", level=1)


def printed(fn, *args):
    out = io.StringIO()
    with redirect_stdout(out):
        value = fn(*args)
    return value, out.getvalue()


# ------------------------------------------------------------------ Exercise

def test_check_says_correct_or_what_is_wrong_and_records_it():
    q = make()
    returned, said = printed(q.check, 3)
    assert returned is None and said == "[98.1] ✔ Correct!\n"   # None: a check cell echoes nothing more
    assert exercises.results()["98.1"] is True
    returned, said = printed(q.check, 4)
    assert returned is None and said == "[98.1] ✘ Off by one.\n"
    assert exercises.results()["98.1"] is False                  # the last check counts
    assert exercises.feedback()["98.1"] == {"passed": False, "answered": True, "message": "Off by one."}
    printed(q.check, 3)
    assert exercises.results()["98.1"] is True


def test_check_never_crashes_on_nonsense():
    def fragile(answer):
        return None if answer.shape == (3, 3) else "wrong shape"   # crashes on non-arrays

    q = make("98.2", fragile)
    for nonsense in (None, "three", object(), [1, 2], {"a": 1}):
        passed, message = q.evaluate(nonsense)
        assert passed is False
        assert message.startswith("Could not check this answer (AttributeError")
        assert message.endswith("Expected an int.")
    assert q.evaluate(np.zeros((3, 3))) == (True, "Correct!")


def test_not_answered_is_said_and_recorded_as_such():
    q = make()
    printed(q.check, 3)
    _, said = printed(q.check)                                    # forgot the argument
    assert "No answer yet: expected an int." in said and exercises.results()["98.1"] is False
    for placeholder in (NOT_ANSWERED, ...):
        printed(q.check, 3)
        _, said = printed(q.check, placeholder)
        assert "No answer yet: expected an int." in said
        assert exercises.results()["98.1"] is False
        assert exercises.feedback()["98.1"]["answered"] is False


def test_hint_solution_registry_and_repr():
    q = make()
    assert printed(q.hint)[1] == "[98.1] Hint: R, G and B.\n"
    assert "98.1" not in exercises.solutions_seen()
    assert printed(q.solution)[1] == "[98.1] Solution:\nchannels = 3\n"
    assert "98.1" in exercises.solutions_seen()                 # the grader reports it
    assert exercises.registry()["98.1"] is q
    assert "98.1" in repr(q) and "RGB" in repr(q)
    exercises.clear_results()
    assert exercises.results() == {} and exercises.feedback() == {} and exercises.solutions_seen() == []


def test_exercise_arguments_are_validated():
    with pytest.raises(ValueError, match="key must be a non-empty string without spaces"):
        make("")
    with pytest.raises(ValueError, match="key must be"):
        make("98 .1")
    with pytest.raises(TypeError, match="key must be"):           # not a string: a wrong type
        make(981)
    with pytest.raises(TypeError, match="checker must be callable"):
        make("98.1", checker="not a function")
    with pytest.raises(ValueError, match="hint of exercise 98.1 must be a non-empty string"):
        Exercise("98.1", "Statement.", _is_three, hint="", solution="x", expects="an int", level=1)
    with pytest.raises(TypeError, match="expects of exercise 98.1 must be a non-empty string"):
        Exercise("98.1", "Statement.", _is_three, hint="h", solution="x", expects=None, level=1)


def test_level_is_one_to_three_stars():
    assert [Exercise("98.1", "S.", _is_three, hint="h", solution="x", expects="e", level=k).stars
            for k in (1, 2, 3)] == ["★", "★★", "★★★"]
    with pytest.raises(ValueError, match=r"level of exercise 98.1 must be one of \[1, 2, 3\]"):
        Exercise("98.1", "S.", _is_three, hint="h", solution="x", expects="e", level=4)
    for wrong in ("2", 2.0, True, None):
        with pytest.raises(TypeError, match="level of exercise 98.1 must be an int"):
            Exercise("98.1", "S.", _is_three, hint="h", solution="x", expects="e", level=wrong)
    with pytest.raises(TypeError, match="level"):                  # no default: every exercise says how hard it is
        Exercise("98.1", "S.", _is_three, hint="h", solution="x", expects="e")


def test_a_key_used_by_another_module_is_refused_but_a_reload_is_fine():
    make("98.3")
    make("98.3")                          # the same module defining it again (a reload)

    def other(answer):
        return None

    other.__module__ = "cnncourse.exercises.ex42"
    with pytest.raises(ValueError, match="key '98.3' is already used by an exercise of module"):
        make("98.3", other)


# ------------------------------------------------------------------ building blocks

@pytest.mark.parametrize("answer", [6, np.int64(6), 6.0, np.float32(6), np.array(6)])
def test_expect_int_accepts_whole_numbers(answer):
    assert expect_int(answer) is None


@pytest.mark.parametrize("answer, says", [
    (6.5, "float 6.5"), (True, "bool True"), ("6", "str '6'"), (None, "NoneType None"),
    (np.array([6]), "ndarray"), (float("nan"), "float nan"),
])
def test_expect_int_refuses_the_rest(answer, says):
    message = expect_int(answer, "the stride")
    assert message.startswith("the stride should be a whole number (an int), got ") and says in message


def test_expect_array():
    assert expect_array(np.zeros((2, 3)), shape=(2, 3)) is None
    assert expect_array([[1, 2, 3], [4, 5, 6]], shape=[2, 3]) is None
    assert expect_array(np.ones(4)) is None
    assert expect_array(np.zeros((3, 2)), shape=(2, 3), name="w") == "w has shape (3, 2); expected shape (2, 3)."
    assert "should be a NumPy array of numbers, got str" in expect_array("abc", shape=(2, 3))
    assert "should be a NumPy array of shape (2, 3), got None" in expect_array(None, shape=(2, 3))
    assert "should be a NumPy array" in expect_array(None)
    assert "rows have different lengths" in expect_array([[1, 2], [3]])
    assert "should be a NumPy array of shape (2, 3), got 5" in expect_array(5, shape=(2, 3))
    assert expect_array(np.array([1.0, np.nan])) == "the answer holds NaN or infinite values."
    assert "got dict" in expect_array({"a": 1})


# ------------------------------------------------------------------ every exercise module

def _modules():
    return sorted(m.name for m in pkgutil.iter_modules(exercises.__path__) if re.fullmatch(r"ex\d+", m.name))


NONSENSE = {
    "None": None,
    "a string": "my answer",
    "a function (not called)": lambda x: x,
    "a wrongly shaped NaN array": np.full((7, 5, 3), np.nan),
    "an empty list": [],
}


def _exercises_of(name):
    module = importlib.import_module(f"cnncourse.exercises.{name}")
    return {attr: value for attr, value in vars(module).items() if isinstance(value, Exercise)}


@pytest.mark.parametrize("name", _modules())
def test_module_keys_follow_the_convention(name):
    number = name[2:]
    found = _exercises_of(name)
    assert len(found) >= 3, f"{name} defines {len(found)} exercises; each notebook needs at least 3"
    for attr, q in found.items():
        assert re.fullmatch(rf"{number}\.\d+", q.key), f"{name}.{attr} has key {q.key!r}, not '{number}.k'"
        assert attr == f"q{q.key.split('.')[1]}", f"{name}.{attr} has key {q.key}: name it q{q.key.split('.')[1]}"
        for field in ("statement", "_hint", "_solution", "expects"):
            assert isinstance(getattr(q, field), str) and getattr(q, field).strip(), f"{q.key}: empty {field}"
    ks = sorted(int(q.key.split(".")[1]) for q in found.values())
    assert ks == list(range(1, len(ks) + 1)), f"{name}: exercise numbers {ks} should be 1..{len(ks)}"


@pytest.mark.parametrize("name", _modules())
def test_checkers_answer_nonsense_with_a_message_of_their_own(name):
    for attr, q in sorted(_exercises_of(name).items()):
        for what, nonsense in NONSENSE.items():
            try:
                problem = q.checker(nonsense)
            except Exception as exc:  # the framework would catch it, but the checker should say more
                pytest.fail(f"{q.key}: the checker crashed on {what} ({type(exc).__name__}: {exc}); "
                            f"it should say what was expected ({q.expects})")
            assert isinstance(problem, str) and problem.strip(), f"{q.key}: {what} was accepted as right"


# ------------------------------------------------------------------ more checks

def test_expect_number():
    from cnncourse.exercises import expect_number

    for answer in (1.5, np.float32(1.5), np.array(1.5), np.array([1.5]), 2):
        assert expect_number(answer, "ce") is None
    assert expect_number(True, "ce") == "ce should be a number (a float), got bool True."
    assert expect_number("1.5", "ce") == "ce should be a number (a float), got str '1.5'."
    assert expect_number({"a": 1}, "ce") == "ce should be a number (a float), got dict."
    assert expect_number(np.ones(3), "ce") == "ce should be one number, got an array of shape (3,)."
    assert expect_number(float("nan"), "ce").startswith("ce is nan: NaN or infinite.")


def test_expect_keys():
    from cnncourse.exercises import expect_keys

    keys = ("a", "b")
    assert expect_keys({"b": 1, "a": 2}, keys, "d", "a dict") is None
    assert expect_keys(None, keys, "d", "a dict {x: y}") == "d should be a dict {x: y}, got NoneType."
    assert expect_keys({"a": 1}, keys, "d", "a dict") == "d lacks the key(s) ['b']."
    assert expect_keys({"a": 1}, keys, "d", "a dict", missing="lacks {joined}") == "d lacks b."
    extra = expect_keys({"a": 1, "b": 2, "c": 3}, keys, "d", "a dict", extra="has extra {list!r:.5}")
    assert extra == "d has extra ['c']."


def test_expect_callable_and_try_call():
    from cnncourse.exercises import expect_callable, try_call

    assert expect_callable(print, "f(x)") is None
    assert expect_callable(3, "f(x)") == "Expected a function f(x), got int 3. Pass the function itself (no parentheses)."
    assert expect_callable(3, "f(x)", name="f") == "f should be a function f(x), got int."

    def stub(x):
        raise NotImplementedError

    assert try_call(stub, (1,), "stub(1)") == (None, "stub(1) raised NotImplementedError: ")
    assert try_call(stub, (1,), "stub(1)", stub="stub") == (None, "stub raises NotImplementedError: write its body.")
    assert try_call(lambda x: 1 / x, (0,), "f(0)", stub="f") == (None, "f(0) raised ZeroDivisionError: division by zero.")


# ------------------------------------------------------------------ problem types

def test_value_problem_int():
    from cnncourse.exercises import ValueProblem

    p = ValueProblem("the count", 26, [(28, "The input width."), ((25, 27), "Off by one."),
                                       (lambda v: v < 0, "Negative.")], otherwise="{value:,} is not it.")
    assert p(26) is None and p(26.0) is None and p(np.int64(26)) is None
    assert p(28) == "The input width."
    assert p(25) == p(27) == "Off by one."
    assert p(-3) == "Negative."
    assert p(1234) == "1,234 is not it."
    assert ValueProblem("n", 1, otherwise=lambda value: f"{value * 2} is twice it.")(3) == "6 is twice it."
    assert p(26.5) == "the count should be a whole number (an int), got float 26.5."
    for nonsense in NONSENSE.values():
        assert isinstance(p(nonsense), str)


def test_value_problem_number_compares_relative_to_at_least_one():
    from cnncourse.exercises import ValueProblem

    p = ValueProblem("loss", 1000.0, [(2.0, "Twice.")], otherwise="No.", kind="number", tol=1e-3)
    assert p(1000.9) is None and p(np.array([1000.0])) is None
    assert p(1002.0) == "No."
    assert p(2.0019) == "Twice." and p(2.003) == "No."   # 1e-3 of max(1, 2)
    assert p("1000") == "loss should be a number (a float), got str '1000'."
    with pytest.raises(ValueError, match="kind must be"):
        ValueProblem("x", 1, kind="float")


def _sizes():
    from cnncourse.exercises import FunctionProblem

    def also(problem, fn, results):
        return "Negative sizes." if any(r < 0 for r in results) else None

    return FunctionProblem(
        "size", "size(n, f)", [(5, 3), (7, 3), (28, 5)], lambda n, f: n - f + 1,
        mistakes=[(lambda n, f: n - f, "one short."), (lambda n, f: n + f - 1, "the kernel takes room.")],
        otherwise="{call} returned {got}; {wrong} of {total} are wrong.", also=also)


def test_function_problem_right_and_typical_mistakes():
    p = _sizes()
    assert p(lambda n, f: n - f + 1) is None
    assert p(lambda n, f: float(n - f + 1)) is None                  # a whole float is a whole number
    assert p(lambda n, f: n - f) == "size(5, 3) returned 2: one short."
    assert p(lambda n, f: n + f - 1) == "size(5, 3) returned 7: the kernel takes room."
    # a formula right on some cases is not named: a mistake must explain every result
    half = p(lambda n, f: n - f if n < 10 else n - f + 1)
    assert half == "size(5, 3) returned 2; 2 of 3 are wrong."
    assert p(lambda n, f: -1) == "Negative sizes."                   # the 'also' step runs before comparing


def test_function_problem_refuses_without_crashing():
    p = _sizes()
    assert p(3) == "Expected a function size(n, f), got int 3. Pass the function itself (no parentheses)."
    raised = p(lambda n: n)
    assert raised.startswith("size(5, 3) raised TypeError: ") and "takes 1 positional argument" in raised
    assert p(lambda n, f: 2.5) == "size(5, 3)'s result should be a whole number (an int), got float 2.5."
    assert p(lambda n, f: None) == "size(5, 3)'s result should be a whole number (an int), got NoneType None."
    for nonsense in NONSENSE.values():
        assert isinstance(p(nonsense), str)


def test_function_problem_numbers_stub_and_templates():
    from cnncourse.exercises import FunctionProblem

    p = FunctionProblem("half", "half(x)", [(1,), (3,)], lambda x: x / 2, returns="number",
                        same=lambda got, want: abs(got - want) < 1e-9,
                        mistakes=[(lambda x: x // 2, "rounded down.")], said="{mistake}",
                        otherwise=lambda call, got, **_: f"{call} gave {got:.1f}.", stub=True)
    assert p(lambda x: x / 2) is None
    assert p(lambda x: x // 2) == "rounded down."
    assert p(lambda x: 7) == "half(1) gave 7.0."
    assert p(lambda x: "a") == "half(1) returned 'a'; it should return one number."
    assert p(None) == "half should be a function half(x), got NoneType."

    def todo(x):
        raise NotImplementedError

    assert p(todo) == "half raises NotImplementedError: write its body."


def test_a_problem_belongs_to_the_module_that_built_it():
    from cnncourse.exercises import ValueProblem, ex06

    assert ex06.q2.checker.__module__ == "cnncourse.exercises.ex06"
    assert ValueProblem("x", 1).__module__ == __name__
    make("98.4", ValueProblem("x", 3))
    foreign = ValueProblem("x", 3)
    foreign.__module__ = "cnncourse.exercises.ex42"
    with pytest.raises(ValueError, match="key '98.4' is already used by an exercise of module " + __name__):
        make("98.4", foreign)


def test_value_problem_array():
    from cnncourse.exercises import ValueProblem

    edge = np.array([[1.0, 0.0, -1.0]] * 3)
    p = ValueProblem("kernel", edge, [((-edge, edge.T), "Flipped or turned."), (lambda v: v.sum() != 0, "Not zero-sum.")],
                     otherwise="Not the edge kernel.", kind="array", tol=1e-3, shape=(3, 3))
    assert p(edge.tolist()) is None and p(edge + 1e-4) is None
    assert p(-edge) == p(edge.T) == "Flipped or turned."
    assert p(np.ones((3, 3))) == "Not zero-sum."
    assert p(np.zeros((3, 3))) == "Not the edge kernel."
    assert p(np.zeros((2, 3))) == "kernel has shape (2, 3); expected shape (3, 3)."
    for nonsense in NONSENSE.values():
        assert isinstance(p(nonsense), str)


def test_calls_finds_the_package_function_under_any_disguise_and_nothing_else():
    import functools

    from cnncourse import ops
    from cnncourse.exercises import calls, names_used
    target = ops.receptive_field
    alias = target

    def by_module(layers):
        return ops.receptive_field(layers)

    def by_alias(layers):
        return alias(layers)

    def local_import(layers):
        from cnncourse.ops import receptive_field as rf
        return rf(layers)

    def local_module(layers):
        from cnncourse import ops as o
        return o.receptive_field(layers)

    def nested(layers):
        return (lambda ls: ops.receptive_field(ls))(layers)

    def own(layers):
        field, jump = 1, 1
        for kernel, stride in layers:
            field, jump = field + (kernel - 1) * jump, jump * stride
        return field

    def closure_maker():
        f = target
        return lambda layers: f(layers)

    for fn in (target, functools.partial(target), functools.wraps(target)(lambda x: 0), by_module, by_alias,
               local_import, local_module, nested, closure_maker()):
        assert calls(fn, target), fn
    assert not calls(own, target) and not calls(print, target) and not calls(None, target)
    assert {"field", "jump", "kernel", "stride"} <= names_used(own) and names_used(3) == set()
