"""Errors a user can fix.

`ConfigError` marks bad input to the public API (a malformed space, an option out
of range, an unknown journal). The magics turn it into IPython's plain
`UsageError`, which prints as one line; anything else is a bug and keeps its
traceback.
"""


class ConfigError(ValueError):
    """Input the user must change; the message names the problem and the fix."""


def expected(what, got):
    """Format the 'expected X, got Y' half of a message the same way everywhere."""
    return f"expected {what}, got {got!r}"
