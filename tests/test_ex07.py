"""Checkers of notebook 07's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np

from exercise_helpers import message, passes  # noqa: E402
from cnncourse.exercises import ex07 as ex
from cnncourse.ops import receptive_field

NONSENSE = [None, "40", 3.5, np.zeros((2, 2)), [1, 2], ...]


def test_q1_stack_params():
    assert passes(ex.q1, lambda n, k, c: n * (k * k * c * c + c))
    assert "bias" in message(ex.q1, lambda n, k, c: n * k * k * c * c)
    assert "n_layers of them" in message(ex.q1, lambda n, k, c: k * k * c * c + c)
    assert "k * k" in message(ex.q1, lambda n, k, c: n * (k * c * c + c))
    assert "all `channels` input" in message(ex.q1, lambda n, k, c: n * (k * k * c + c))
    assert "one bias per filter" in message(ex.q1, lambda n, k, c: n * (k * k * c * c + 1))
    assert "count_params" in message(ex.q1, lambda n, k, c: 99)
    assert "raised" in message(ex.q1, lambda n, k: 0)
    assert "whole number" in message(ex.q1, lambda n, k, c: None)
    for bad in NONSENSE:
        assert not passes(ex.q1, bad)


def test_q2_stack_field():
    assert passes(ex.q2, lambda n: 2 * n + 1)
    assert passes(ex.q2, lambda n: receptive_field([(3, 1)] * n))
    assert "overlap" in message(ex.q2, lambda n: 3 * n)
    assert "one short" in message(ex.q2, lambda n: 2 * n)
    assert "addition" in message(ex.q2, lambda n: 3 ** n)
    assert "not its area" in message(ex.q2, lambda n: (2 * n + 1) ** 2)
    assert "Draw one unit" in message(ex.q2, lambda n: 4)
    for bad in NONSENSE:
        assert not passes(ex.q2, bad)


def test_q3_field_block3():
    right = receptive_field([(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)])
    assert right == 40
    assert passes(ex.q3, right) and passes(ex.q3, 40.0)
    assert "poolings are left out" in message(ex.q3, 15)
    assert "strides are ignored" in message(ex.q3, 17)
    assert "block3_pool" in message(ex.q3, 44)
    assert "r += (kernel - 1)" in message(ex.q3, 7)
    for bad in NONSENSE:
        assert not passes(ex.q3, bad)


def test_q4_fc1_after_gap():
    assert passes(ex.q4, 2_101_248)
    assert "bias" in message(ex.q4, 512 * 4096)
    assert "after Flatten" in message(ex.q4, 102_764_544)
    assert "not the 512 channels" in message(ex.q4, 7 * 7 * 4096 + 4096)
    assert "every (input, unit) pair" in message(ex.q4, 512 + 4096)
    assert "not it" in message(ex.q4, 5)
    for bad in NONSENSE:
        assert not passes(ex.q4, bad)
