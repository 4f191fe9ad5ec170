"""What every magic shares: line parsing, inline dicts, names from the namespace, one-line errors.

Every user error is raised as IPython's plain `UsageError`, which prints as a
single line (a subclass would print a full traceback).
"""
import contextlib

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

from ..errors import ConfigError

INLINE_PLACEHOLDER = "__mlestar_inline__"


@contextlib.contextmanager
def usage_errors():
    """Turn the library's ConfigError into a plain UsageError."""
    try:
        yield
    except ConfigError as err:
        raise UsageError(str(err)) from None


def resolve_names(user_ns, names, option, example="X y"):
    """The values of variables named on the magic's line, or a ConfigError naming the missing one."""
    missing = [n for n in names if n not in user_ns]
    if missing:
        raise ConfigError(f"{option} names '{missing[0]}', which is not defined; pass variables defined in the "
                          f"notebook, e.g. {option} {example}")
    return [user_ns[n] for n in names]


def parse_line(magic, line):
    try:
        return parse_argstring(magic, line)
    except ValueError as err:  # shlex: "No closing quotation", "No escaped character"
        raise ConfigError(f"cannot read the options ({err}); close every quote in the magic's line") from None


def extract_inline_dict(line, marker):
    """Cut an inline ``MARKER {...}`` dict out of the line before shell-style splitting mangles its quotes.

    Returns the line with a placeholder in its place, and the dict's text (or None).
    """
    at = line.find(marker)
    if at < 0:
        return line, None
    start = at + len(marker)
    while start < len(line) and line[start] in " =\t":
        start += 1
    if start >= len(line) or line[start] != "{":
        return line, None
    depth, quote, i = 0, None, start
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                break
        i += 1
    if depth != 0 or i >= len(line):
        raise ConfigError(f"the inline {marker} has unbalanced brackets or quotes; close every {{, [, ( and quote")
    return line[:at] + f"{marker} {INLINE_PLACEHOLDER}" + line[i + 1:], line[start:i + 1]
