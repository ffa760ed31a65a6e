"""Argument types for the numeric options of the ``hwr`` commands.

argparse calls an option's ``type`` with the text given; when it raises
:class:`argparse.ArgumentTypeError`, argparse prints the usage and one line
``hwr eval: error: argument --batch-size: must be a positive integer, got 0``
and exits with code 2, before any data is opened or torch is imported. A
count, a size or a budget of zero or less has no meaning, and a value that
passes here unchecked surfaces later as a traceback from deep inside torch, or
worse, as a result computed under a setting nobody asked for (a negative beam
width silently meaning greedy decoding).

Where zero has a documented meaning (``--threads 0``: the default thread
count; ``--line-width 0``: skip that measurement), an option takes
:data:`non_negative_int` and its help says what 0 means.

This module imports nothing but the standard library: every command's
``configure`` uses it, and ``hwr --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable


def number_type(parse: Callable[[str], float], what: str, accept: Callable[[float], bool],
                name: str) -> Callable[[str], float]:
    """An argparse type: ``parse`` the text, then refuse it unless ``accept(value)``.

    Args:
        parse: ``int`` or ``float``.
        what: the rule in words, as the message shows it ("a positive integer").
        accept: whether a parsed value keeps the rule.
        name: the converter's ``__name__`` (readable in reprs and tracebacks).

    Returns:
        A function ``text -> value`` raising :class:`argparse.ArgumentTypeError`
        with ``must be <what>, got <text>``.
    """

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        # nan and inf parse as floats but are no budget, width or share anyone means
        if not math.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    convert.__name__ = name
    convert.__doc__ = f"argparse type: {what}."
    return convert


#: a count or size of at least one: lines per batch, a beam width, an image height
positive_int = number_type(int, "a positive integer", lambda v: v >= 1, "positive_int")

#: zero or more: a seed, a number of lines a synthetic split may leave empty, or 0 with a documented meaning
non_negative_int = number_type(int, "a non-negative integer (0 or more)", lambda v: v >= 0, "non_negative_int")

#: a finite number above zero: a budget in minutes
positive_float = number_type(float, "a positive number", lambda v: v > 0, "positive_float")

#: a finite number of zero or more: a weight decay
non_negative_float = number_type(float, "a non-negative number (0 or more)", lambda v: v >= 0, "non_negative_float")

#: a share of a whole, from 0 to 1 (0.01 = 1 %)
share = number_type(float, "a share from 0 to 1 (0.01 = 1 %)", lambda v: 0 <= v <= 1, "share")
