"""`component(name)`: mark an optional block of notebook code for `%%ablate`.

Write ``if component("scaling"):`` around a block. Outside an ablation the
call is True, so the cell runs as it always did. Inside one, the variant that
ablates "scaling" sees False there and True for every other name.

The ablated name is per thread, so variants running side by side in the
threads backend do not see each other's setting. (A thread that the cell
itself starts sees no ablation.)
"""
import contextlib
import threading

_state = threading.local()


def component(name):
    """True unless the running ablation variant removes the block called `name`."""
    if not isinstance(name, str):
        raise TypeError(f"component() takes the block's name as a string, e.g. component('scaling'), "
                        f"got {type(name).__name__}")
    return getattr(_state, "ablated", None) != name


@contextlib.contextmanager
def ablating(name):
    """Run the body with `name` ablated (None: the baseline, nothing ablated)."""
    previous = getattr(_state, "ablated", None)
    _state.ablated = name
    try:
        yield
    finally:
        _state.ablated = previous


__all__ = ["component", "ablating"]
