"""Warnings from several threads at once, each to its own place.

`warnings.catch_warnings` swaps process-wide state and puts it back on exit, so
two threads using it at once leave the process with the wrong filters, or with
every later warning appended to a list nobody reads: a search on the threads
backend did that to the kernel. Instead, while any thread has registered a
handler, one router stands in for `warnings.showwarning`: a registered thread's
warnings go to its handler (a task keeps them; a proposer drops the noise it
expects), every other thread's are shown as they always were. An "always" filter
at the front of the filters lets a task see a warning that an earlier task (or
the user) already triggered at the same line. The router, and only its own
filter, go when the last thread leaves; nothing else the process set meanwhile is
undone.
"""
import contextlib
import os
import threading
import warnings

_ALWAYS = ("always", None, Warning, None, 0)

_lock = threading.Lock()
_handlers = {}          # thread id -> callable(warnings.WarningMessage)
_state = {"original": None}   # warnings.showwarning as it was when the router went in


def _show_as_usual(item):
    original = _state["original"] or warnings._showwarning_orig
    original(item.message, item.category, item.filename, item.lineno, item.file, item.line)


def _route(message, category, filename, lineno, file=None, line=None):
    item = warnings.WarningMessage(message, category, filename, lineno, file, line)
    _handlers.get(threading.get_ident(), _show_as_usual)(item)


def _install():
    _state["original"] = warnings.showwarning
    warnings.showwarning = _route
    warnings.filters.insert(0, _ALWAYS)
    warnings._filters_mutated()


def _uninstall():
    if warnings.showwarning is _route:
        warnings.showwarning = _state["original"]
    warnings.filters[:] = [entry for entry in warnings.filters if entry is not _ALWAYS]
    warnings._filters_mutated()
    _state["original"] = None


@contextlib.contextmanager
def handled_here(handler):
    """Send this thread's warnings to `handler(WarningMessage)` while inside (nestable per thread)."""
    ident = threading.get_ident()
    with _lock:
        if not _handlers:
            _install()
        previous = _handlers.get(ident)
        _handlers[ident] = handler
    try:
        yield
    finally:
        with _lock:
            if previous is None:
                _handlers.pop(ident, None)
            else:
                _handlers[ident] = previous
            if not _handlers:
                _uninstall()


@contextlib.contextmanager
def recorded():
    """Collect this thread's warnings in a list, as `catch_warnings(record=True)` would, without its races."""
    caught = []
    with handled_here(caught.append):
        yield caught


@contextlib.contextmanager
def quiet(*categories, package=None):
    """Drop this thread's warnings of these categories (expected noise), only those raised inside `package` if
    one is named; show the others as usual."""
    def handler(item):
        inside = package is None or f"{os.sep}{package}{os.sep}" in str(item.filename)
        if not (inside and issubclass(item.category, categories)):
            _show_as_usual(item)

    with handled_here(handler):
        yield
