"""A run's report as one self-contained HTML file: readable offline, without a server, with no external URL.

`write_report(result, path)` (called as ``result.report(path)`` or
``%mlestar_report RESULT PATH``) picks the sections for the result's kind:

- search: run card, history with the best so far, parallel coordinates, score
  by parameter, parameter importance, top trials, failures, CPU and memory
  over time with the alerts, notes;
- ablation: run card, the ranking with 95 % confidence intervals, failures,
  resources, notes;
- refinement: run card, rounds, the trial sections over every round's
  search, round 1's ablation ranking, resources and alerts, notes;
- multi-objective search: the search's sections, with the Pareto front (the
  front drawn, the selected trial, the hypervolume, the front's trials) after
  the run card.
"""
import datetime
import os
import re

from ..errors import ConfigError
from .layout import page


# result kind -> (module of this package, its section builder, the report's title)
SECTIONS = {"search": ("search", "search_sections", "Search '{name}'"),
            "ablation": ("studies", "ablation_sections", "Ablation study"),
            "refinement": ("studies", "refinement_sections", "Refinement"),
            "multiobjective": ("pareto", "pareto_sections", "Multi-objective search '{name}'")}


def build_report(result, package=None):
    """The report's HTML text; `package` is a saved model's manifest, shown as one more section."""
    import importlib

    kind = getattr(result, "kind", None)
    if kind not in SECTIONS:
        raise ConfigError(f"no report for a {type(result).__name__}; reports cover searches, ablations and "
                          "refinements")
    module, builder, title = SECTIONS[kind]
    sections = getattr(importlib.import_module(f"{__name__}.{module}"), builder)(result, package)
    return page(title.format(name=getattr(result, "name", "")), result.summary_lines()[0], sections)


def write_report(result, path=None, package=None):
    """Write the report to `path` (folders made as needed; default reports/NAME-TIME.html) and return the path."""
    if path is None:
        path = default_path(result)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ConfigError(f"{path} is a directory; give the report a file name, e.g. {os.path.join(path, 'run.html')}")
    text = build_report(result, package)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return path


def default_path(result):
    name = getattr(result, "name", None) or getattr(result, "kind", "run")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-") or "run"
    return os.path.join("reports", f"{safe}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}.html")
