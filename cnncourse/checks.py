"""Argument checks shared by the fast CIFAR-10 VGG and its recipe, in scikit-learn's manner:
``TypeError`` for a value of the wrong type, ``ValueError`` for a wrong value, the message
naming the argument and what is allowed.

>>> check_number(0.5, "momentum", 0.0, 1.0)
0.5
>>> check_whole(0, "epochs", 1)
Traceback (most recent call last):
...
ValueError: epochs must be >= 1, got 0
"""
from __future__ import annotations

import numbers


def check_whole(value, name, minimum):
    """``value`` as an ``int`` when it is a whole number ``>= minimum`` (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value, name, low, high=None, low_open=False):
    """``value`` as a ``float`` when it is a real number ``>= low`` (``> low`` with ``low_open``)
    and, when ``high`` is given, ``<= high`` (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value
