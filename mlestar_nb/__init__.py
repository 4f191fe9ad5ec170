"""mlestar-nb: MLE-STAR's search, ablation and refinement as IPython magics.

In a notebook: ``%load_ext mlestar_nb``, then ``%%mlestar_tune --space SPACE``
on a cell that computes a score, or ``%ablate pipe --data X y`` to rank what
each step of a pipeline contributes. Without IPython: ``mlestar_nb.tune(objective,
space)``, ``mlestar_nb.ablate(pipe, X, y)``, ``mlestar_nb.refine(pipe, X, y)``. Heavy imports (scikit-optimize,
scikit-learn) wait until first use.
"""
__version__ = "0.1.0"

__all__ = ["tune", "TuneResult", "Trial", "ablate", "AblationResult", "component", "refine", "RefineResult",
           "RunHandle", "load", "SavedModel", "ConfigError",
           "load_ipython_extension", "unload_ipython_extension"]

_LAZY = {
    "tune": ("search.tuner", "tune"),
    "TuneResult": ("search.result", "TuneResult"),
    "Trial": ("search.result", "Trial"),
    "ConfigError": ("errors", "ConfigError"),
    "ablate": ("ablation.api", "ablate"),
    "AblationResult": ("ablation.result", "AblationResult"),
    "component": ("components", "component"),
    "refine": ("refinement.loop", "refine"),
    "RefineResult": ("refinement.result", "RefineResult"),
    "RunHandle": ("runs.background", "RunHandle"),
    "load": ("production", "load"),
    "SavedModel": ("production", "SavedModel"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ip):
    """Called by ``%load_ext mlestar_nb``: register the magics."""
    from .magics import MAGICS
    for magics in MAGICS:
        ip.register_magics(magics)


def unload_ipython_extension(ip):
    """Called by ``%unload_ext mlestar_nb``: remove the magics, cancel background runs, stop warm worker pools."""
    from .executors.local import LokyExecutor
    from .magics import MAGICS
    from .magics.monitor import stop_running
    from .runs.background import runs
    stop_running()
    for run in runs():
        if run.alive:
            run.cancel().wait(30)
    registry = ip.magics_manager.magics
    for magics in MAGICS:
        for kind, names in magics.magics.items():
            for name in names:
                registry[kind].pop(name, None)
    LokyExecutor.close_warm_pools()
