"""Ways to show a running search. Each view is a listener: ``view(event, snapshot, trial)``.

Views render the engine's plain snapshot (see `engine.Search.snapshot`) and
never touch the engine. The live panel is ipywidgets, imported only when a
panel is shown; the text view serves terminals and missing ipywidgets.
"""
import html
import io
import sys
import time

from .errors import ConfigError

STATES = {  # status -> (words, ipywidgets bar style, colour)
    "running": ("running", "", "#1565c0"),
    "completed": ("done", "success", "#2e7d32"),
    "stopped": ("stopped early", "info", "#1565c0"),
    "interrupted": ("interrupted", "warning", "#ef6c00"),
    "error": ("error", "danger", "#c62828"),
}
VIEWS = ("auto", "widget", "text")


def make_view(kind=True):
    """The view for `progress`: True/"auto" picks the panel in a notebook kernel, text elsewhere."""
    if kind is not True and kind not in VIEWS:
        raise ConfigError(f"unknown view {kind!r}; use one of {', '.join(VIEWS)}, or False for none")
    return pick_view(kind, WidgetPanel, TextProgress)


def pick_view(kind, make_widget, make_text):
    """A widget view in a notebook kernel (or when asked for), else text; text with a hint if ipywidgets is missing.

    Every live view (search, ablation, refinement) chooses the same way.
    """
    if kind in (True, "auto"):
        kind = "widget" if _in_notebook_kernel() else "text"
    if kind == "widget":
        try:
            import ipywidgets  # noqa: F401  (deferred: only a shown panel needs it)
        except ImportError:
            print("mlestar_nb: the live panel needs ipywidgets (pip install ipywidgets); showing text progress")
        else:
            return make_widget()
    return make_text()


def _in_notebook_kernel():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


# -- pieces every view shares -------------------------------------------------
def status_words(snap):
    words, _, _ = STATES.get(snap["status"], (snap["status"], "", "#444"))
    reason = snap.get("stop_reason")
    if snap["status"] == "stopped" and reason:
        words += f": {reason}"
    elif snap["status"] == "completed" and reason == "grid exhausted":
        words += " (whole grid)"
    return words


def progress_line(snap):
    best = snap["best"]
    best_text = f"best {best['value']:.5g}" if best else "no score yet"
    eta = f", ETA {snap['eta_s']:.0f} s" if snap.get("eta_s") is not None else ""
    return (f"{snap['finished']}/{snap['budget']} trials, {snap['running']} running, {snap['failed']} failed, "
            f"{snap['pruned']} pruned, {best_text}, {snap['elapsed_s']:.1f} s{eta}")


def resources_line(resources):
    if not resources:
        return ""
    return (f"CPU {resources['cpu_percent']:.0f}% of {len(resources['cpu_per_core'])} cores, "
            f"memory {resources['memory_used'] / resources['memory_total']:.0%} used, "
            f"kernel+workers RSS {resources['rss_tree'] / 2**20:.0f} MB")


class TextProgress:
    """One status line redrawn a few times a second, alerts as they arise, then a final line."""

    def __init__(self, stream=None, min_interval=0.25):
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last = 0.0
        self._alerts_shown = 0

    def __call__(self, event, snap, trial=None):
        alerts = snap.get("alerts") or []
        for alert in alerts[self._alerts_shown:]:
            self.stream.write(f"\n! {alert['kind']}: {alert['message']}\n")
        self._alerts_shown = len(alerts)
        now = time.monotonic()
        if event != "end" and now - self._last < self.min_interval:
            return
        self._last = now
        line = progress_line(snap)
        if event == "end":
            line += f" - {status_words(snap)}"
        self.stream.write("\r" + line + ("\n" if event == "end" else ""))
        self.stream.flush()


# -- the live panel -------------------------------------------------------------
class WidgetPanel:
    """A compact ipywidgets dashboard in the output cell, redrawn at most `min_interval` apart."""

    plot_interval = 2.0

    def __init__(self, min_interval=0.25, display=True):
        import ipywidgets as w

        self.min_interval = min_interval
        self._display = display
        self._last = 0.0
        self._last_plot = 0.0
        self._plotted = -1
        self._handle = None
        self._plotter = ConvergencePlot()  # matplotlib's import and set-up happen before the search starts
        self._plot_cost = 0.0
        self.title = w.HTML()
        self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="45%"))
        self.counts = w.HTML()
        self.best = w.HTML()
        self.plot = w.Image(format="png")
        self.table = w.HTML()
        self.meters = w.HTML()
        self.alerts = w.HTML()
        self.widget = w.VBox([self.title, w.HBox([self.bar, self.counts]), self.best,
                              w.HBox([self.plot, self.table]), self.meters, self.alerts])
        self.widget.add_class("mlestar-panel")

    def __call__(self, event, snap, trial=None):
        if event == "start" and self._display:
            self._show(snap)
        now = time.monotonic()
        if event != "end" and now - self._last < self.min_interval:
            return
        self._last = now
        self.render(snap, final=event == "end")
        if event == "end" and self._handle is not None:
            self._handle.update(self._bundle(snap), raw=True)

    def _bundle(self, snap):
        bundle = self.widget._repr_mimebundle_()
        text = progress_line(snap) + f" - {status_words(snap)}"
        bundle["text/plain"] = text  # what a frontend without widgets (nbconvert, a pager) shows
        return bundle

    def _show(self, snap):
        from IPython.display import display

        self._handle = display(self._bundle(snap), raw=True, display_id=True)

    def render(self, snap, final=False):
        words, style, colour = STATES.get(snap["status"], (snap["status"], "", "#444"))
        if final:
            words = status_words(snap)
        self.title.value = (f"<b>mlestar_tune</b> &middot; <span class='mlestar-status' "
                            f"style='color:{colour};font-weight:bold'>{html.escape(words)}</span>")
        self.bar.max = max(1, snap["budget"])
        self.bar.value = min(snap["finished"], snap["budget"])
        self.bar.bar_style = style if final else ""
        self.counts.value = f"<span class='mlestar-counts'>&nbsp;{html.escape(progress_line(snap))}</span>"
        best = snap["best"]
        self.best.value = ("<span class='mlestar-best'>best <b>{:.6g}</b> (trial {}) {}</span>".format(
            best["value"], best["number"], html.escape(_params(best["params"]))) if best else "no score yet")
        self.table.value = top_table_html(snap["top"])
        self.meters.value = meters_html(snap.get("resources"))
        self.alerts.value = alerts_html(snap.get("alerts") or [])
        now = time.monotonic()
        # redraw the plot every plot_interval, or rarer if drawing is slow: at most ~1 % of the time
        interval = max(self.plot_interval, 100 * self._plot_cost)
        if len(snap["history"]) != self._plotted and (final or now - self._last_plot >= interval):
            self._plotted = len(snap["history"])
            self.plot.value = self._plotter.png(snap["history"], snap["maximize"])
            self._last_plot = time.monotonic()
            self._plot_cost = self._last_plot - now


def _params(params):
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in params.items())


def top_table_html(top):
    rows = "".join(f"<tr><td>{t['number']}</td><td>{t['value']:.5g}</td><td>{html.escape(_params(t['params']))}</td>"
                   "</tr>" for t in top)
    return ("<table class='mlestar-top'><thead><tr><th>trial</th><th>score</th><th>params</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _bar(fraction, colour, width=60):
    filled = max(0.0, min(100.0, 100.0 * fraction))
    return (f"<span style='display:inline-block;vertical-align:middle;width:{width}px;height:9px;"
            f"background:linear-gradient(to right, {colour} {filled:.0f}%, #e0e0e0 {filled:.0f}%)'></span>")


def meters_html(resources):
    if not resources:
        return ""
    cores = "".join(f"<span title='core {i}: {c:.0f}%'>{_bar(c / 100, '#1976d2', 24)}</span> "
                    for i, c in enumerate(resources["cpu_per_core"]))
    memory = resources["memory_used"] / resources["memory_total"]
    return (f"<div class='mlestar-meters'>CPU {resources['cpu_percent']:.0f}% {cores}&nbsp; "
            f"memory {_bar(memory, '#7b1fa2')} {memory:.0%} &nbsp; "
            f"kernel+workers RSS {resources['rss_tree'] / 2**20:.0f} MB</div>")


def alerts_html(alerts):
    return "".join(f"<div class='mlestar-alert' style='color:#b26a00'>&#9888; <b>{html.escape(a['kind'])}</b>: "
                   f"{html.escape(a['message'])}</div>" for a in alerts)


class ConvergencePlot:
    """Each trial's score and the best-so-far line, as PNG bytes.

    One Agg figure is kept and only its data change between draws (no pyplot,
    no layout pass), so a redraw costs a few milliseconds.
    """

    def __init__(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4.4, 2.5), dpi=90)
        FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.17, right=0.97, top=0.95, bottom=0.2)
        self.ax = self.figure.add_subplot()
        self.points = self.ax.scatter([], [], s=8, color="tab:blue", alpha=0.6)
        (self.line,) = self.ax.step([], [], where="post", color="tab:orange")
        self.ax.set_xlabel("trial", fontsize=8)
        self.ax.set_ylabel("score", fontsize=8)
        self.ax.tick_params(labelsize=7)

    def png(self, history, maximize):
        xs, ys, line, best = [], [], [], None
        for i, (value, state) in enumerate(history, 1):
            if state == "complete":
                xs.append(i)
                ys.append(value)
                if best is None or (value > best if maximize else value < best):
                    best = value
            line.append(best if best is not None else float("nan"))
        self.points.set_offsets(list(zip(xs, ys)) or [[float("nan"), float("nan")]])
        self.line.set_data(range(1, len(line) + 1), line)
        if ys:
            low, high = min(ys), max(ys)
            pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
            self.ax.set_ylim(low - pad, high + pad)
        self.ax.set_xlim(0, max(2, len(history) + 1))
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def convergence_png(history, maximize):
    return ConvergencePlot().png(history, maximize)
