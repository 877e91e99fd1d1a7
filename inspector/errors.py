"""The one exception type users see.

Every check at a public boundary raises :class:`InfomorphError` with a one-line message that says
what was expected, what was got and, where there is a choice, the valid alternatives. The command
line prints it as one line on stderr and exits with status 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

from collections.abc import Iterable


class InfomorphError(ValueError):
    """A user-facing error: bad input, configuration or file. The message is one line."""


def choose_one(kind: str, value: object, allowed: Iterable[str]) -> InfomorphError:
    """The standard "unknown X" error: ``Unknown binning 'x'; choose one of: a, b, c.``"""
    return InfomorphError(f"Unknown {kind} {value!r}; choose one of: {', '.join(allowed)}.")
