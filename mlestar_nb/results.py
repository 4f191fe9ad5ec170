"""The contract every result follows: text, pretty text and HTML, a DataFrame, a plot, a report, a saved model.

`TuneResult`, `AblationResult` and `RefineResult` subclass `Result` and supply
their summary lines, their HTML body, their rows and their plot; the views a
terminal, IPython and Jupyter ask for are written once, here. `save()` and
`report()` are written once too: they hand the result to `production` and
`report`, imported only when called (so a result never imports skops or mlflow).
"""
import html

from . import format as fmt


class Result:
    css_class = "mlestar-result"

    def summary_lines(self):
        """The result in a few lines of text: the headline first."""
        raise NotImplementedError

    def _html(self):
        """The result as HTML (inside the result's div)."""
        raise NotImplementedError

    def _frame(self):
        """(rows as dicts, index column) for `to_frame`."""
        raise NotImplementedError

    def plot(self, ax=None):
        raise NotImplementedError

    def interrupted_late(self):
        """Ctrl-C came after the run's last safe point: its work was done, but the user asked to stop."""
        self.status = "interrupted"
        self.notes.append("interrupted as the run ended: everything it started had finished")

    def to_frame(self):
        """The result as a pandas DataFrame (needs pandas)."""
        pd = require("pandas", "to_frame()")
        rows, index = self._frame()
        return pd.DataFrame(rows).set_index(index) if rows else pd.DataFrame()

    def save(self, path, *, model=None, data=None, trial=None, format="skops", overwrite=False):
        """Write the model this result stands for as a deployment package in directory `path`.

        A search refits its best trial (or `trial`, a trial number) when its cell ends with an estimator and
        has data; a refinement saves its `best_pipeline`; any result saves `model` (a fitted estimator) when
        given, with ``data=(X, y)`` when the result holds none. `format` is "skops" (default), "mlflow" (MLflow's
        model format, skops inside) or "joblib" (a pickle: only when asked). Returns the `SavedModel`.
        Load it with `mlestar_nb.load(path)`; docs/production.md says what is written and why.
        """
        from .production import save

        return save(self, path, model=model, data=data, trial=trial, format=format, overwrite=overwrite)

    def report(self, path=None):
        """Write this run's report as one self-contained HTML file (no external URL; opens offline) and return
        its path; without `path`, reports/NAME-TIME.html in the working directory."""
        from .report import write_report

        return write_report(self, path)

    def __repr__(self):
        return "\n".join(self.summary_lines())

    def _repr_pretty_(self, p, cycle):
        p.text(f"{type(self).__name__}(...)" if cycle else repr(self))

    def _repr_html_(self):
        return f"<div class='{self.css_class}'>{self._html()}</div>"


def require(module, what):
    """Import an optional dependency, or say which pip install brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what} needs {module}: pip install {module}") from None


def new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def notes_html(notes, alerts=()):
    """Alerts (with a warning sign) and notes (in italics), escaped."""
    out = "".join(f"<div style='color:#b26a00'>&#9888; {html.escape(a.kind)}: {html.escape(a.message)}</div>"
                  for a in alerts)
    return out + "".join(f"<div><i>note: {html.escape(n)}</i></div>" for n in notes)


def table_html(header, rows, css_class=""):
    """An HTML table; `rows` are lists of already-escaped cell HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    attribute = f" class='{css_class}'" if css_class else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


__all__ = ["Result", "require", "new_axes", "notes_html", "table_html", "fmt"]
