"""Exceptions that carry a message meant for the user.

The command line turns every :class:`InputError` into one line on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: a missing file, a wrong shape, an unknown option value."""


class ReferenceFailure(RuntimeError):
    """A reference solution could not be computed (infeasible program, solver failure).

    Raised instead of returning a number that would silently be wrong.
    """


class NotSeparableError(InputError):
    """Classification data with no separating hyperplane through the origin."""
