"""Live views: one contract for the search, the ablation study and refinement.

A view is a listener, ``view(event, snapshot)``. Every run publishes "start",
its own progress events and "end"; the snapshot is a plain dict with at least
``kind``, ``status`` (running | completed | stopped | interrupted | error),
``elapsed_s`` and, once known, ``error`` (docs/design.md lists each kind's
keys). Views only read snapshots and never touch the run.

What differs between kinds is a `Model`: the one text line that states the
progress (`line`), permanent log lines (`log`), the progress fraction, and for
the widget panel the body below the progress bar. As in tqdm's notebook bar,
there is one text model: the `TextView` prints it, and the `PanelView` shows it
beside its bar and falls back to it (text/plain) wherever widgets cannot be
drawn: a terminal, nbconvert, GitHub's notebook preview.

When the run's result is built, `tune()`, `ablate()` and `refine()` hand it to
every view that defines ``finished(result)`` (`announce_finished`); the panel
then offers actions on it in a row of buttons below it (`PanelView.add_action`,
hidden while it has none), such as "Save report".
"""
import collections
import html
import sys
import time

from ..errors import ConfigError
from ..kernel import in_notebook_kernel
from ..runs import control as run_control
from .monitor import ResourceMonitor

STATES = {  # status -> (words, ipywidgets bar style, colour)
    "running": ("running", "", "#1565c0"),
    "paused": ("paused", "warning", "#6d4c41"),
    "stopping": ("stopping: running tasks finish", "info", "#1565c0"),
    "completed": ("done", "success", "#2e7d32"),
    "stopped": ("stopped early", "info", "#1565c0"),
    "interrupted": ("interrupted", "warning", "#ef6c00"),
    "error": ("error", "danger", "#c62828"),
}
VIEWS = ("auto", "widget", "text")


class Model:
    """How one kind of run reads its snapshot. Subclasses set `title` and implement `line`."""

    title = "run"
    css_class = "mlestar-panel"

    def line(self, snap):
        """The progress in one line of text."""
        raise NotImplementedError

    def log(self, event, snap):
        """Lines worth keeping above the live line (a finished round, worker output); none by default."""
        return []

    def progress(self, snap):
        """(done, total) for the progress bar."""
        return 0, 1

    def body(self, widgets):
        """The panel's own widgets below the progress row, made once."""
        return []

    def render(self, snap, final):
        """Update the body's widgets from a snapshot."""


def status_words(snap):
    words, _, _ = STATES.get(snap["status"], (snap["status"], "", "#444"))
    reason = snap.get("stop_reason")
    if snap["status"] == "stopped" and reason:
        words += f": {reason}"
    elif snap["status"] == "completed" and reason == "grid exhausted":
        words += " (whole grid)"
    elif snap["status"] == "error" and snap.get("error"):
        words += f": {snap['error']}"
    return words


def final_line(model, snap):
    return f"{model.line(snap)} - {status_words(snap)}"


def announce_finished(views, result):
    """Give the finished result to the views that want it; a view that fails here costs a warning, not the run."""
    for view in views:
        finished = getattr(view, "finished", None)
        if finished is None:
            continue
        try:
            finished(result)
        except Exception as err:
            import warnings

            warnings.warn(f"mlestar_nb: a view could not take the result ({type(err).__name__}: {err})",
                          RuntimeWarning, stacklevel=2)


# -- choosing a view ------------------------------------------------------------------------------
def make_view(kind, model):
    """The view for `progress`: True/"auto" picks the panel in a notebook kernel, text elsewhere."""
    if kind is not True and kind not in VIEWS:
        raise ConfigError(f"unknown view {kind!r}; use one of {', '.join(VIEWS)}, or False for none")
    if kind in (True, "auto"):
        kind = "widget" if in_notebook_kernel() else "text"
    if kind == "widget":
        try:
            import ipywidgets  # noqa: F401  (deferred: only a shown panel needs it)
        except ImportError:
            print("mlestar_nb: the live panel needs ipywidgets (pip install ipywidgets); showing text progress")
        else:
            return PanelView(model)
    return TextView(model)


# -- the text view --------------------------------------------------------------------------------
class TextView:
    """One status line redrawn a few times a second, log lines and alerts as they arise, then a final line."""

    def __init__(self, model, stream=None, min_interval=0.25):
        self.model = model
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last = 0.0
        self._alerts_shown = 0
        self._width = 0

    def __call__(self, event, snap):
        kept = list(self.model.log(event, snap))
        alerts = snap.get("alerts") or []
        kept += [f"! {a['kind']}: {a['message']}" for a in alerts[self._alerts_shown:]]
        self._alerts_shown = len(alerts)
        for text in kept:
            self._write(text, end="\n")
        now = time.monotonic()
        if event != "end" and now - self._last < self.min_interval:
            return
        self._last = now
        if event == "end":
            self._write(final_line(self.model, snap), end="\n")
        else:
            self._write(self.model.line(snap), end="")

    def _write(self, text, end):
        padding = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + padding + end)
        self._width = 0 if end else len(text)
        self.stream.flush()


# -- the widget panel -----------------------------------------------------------------------------
class PanelView:
    """A compact ipywidgets panel in the output cell: title and state, progress, the model's body,
    meters, alerts and the model's log lines (the last `log_lines`); redrawn at most `min_interval` apart, its
    final state kept as text/plain too. Below it, a row of action buttons, shown once there is one (`add_action`)."""

    log_lines = 40

    def __init__(self, model, min_interval=0.25, display=True):
        import ipywidgets as w

        self.model = model
        self.min_interval = min_interval
        self._display = display
        self._last = 0.0
        self._handle = None
        self._monitor = None
        self._log = collections.deque(maxlen=self.log_lines)
        self.title = w.HTML()
        self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="45%"))
        self.counts = w.HTML()
        self.meters = w.HTML()
        self.alerts = w.HTML()
        self.body = model.body(w)
        self.panel = w.VBox([self.title, w.HBox([self.bar, self.counts]), *self.body, self.meters, self.alerts])
        self.panel.add_class(model.css_class)
        self.action_note = w.HTML()
        self.actions = w.HBox([self.action_note], layout=w.Layout(display="none"))
        self.actions.add_class("mlestar-actions")
        self.widget = w.VBox([self.panel, self.actions])
        self._control = run_control.active()   # a background run's: its buttons work, the kernel being free
        self._control_buttons = []

    def __call__(self, event, snap):
        if self._handle is None and self._display:
            from IPython.display import display

            if self._control is not None:
                self._offer_controls(self._control, snap)
            self._handle = display(self._bundle(snap), raw=True, display_id=True)
        if event == "end" and self._control_buttons:
            for button in self._control_buttons:
                button.disabled = True
            self.action_note.value = ""
        self._log.extend(self.model.log(event, snap))
        now = time.monotonic()
        if event != "end" and now - self._last < self.min_interval:
            return
        self._last = now
        self.render(snap, final=event == "end")
        if event == "end" and self._handle is not None:
            self._handle.update(self._bundle(snap), raw=True)

    def _bundle(self, snap):
        bundle = self.widget._repr_mimebundle_()
        running = snap["status"] == "running"
        bundle["text/plain"] = self.model.line(snap) if running else final_line(self.model, snap)
        return bundle

    def render(self, snap, final=False):
        words, style, colour = STATES.get(snap["status"], (snap["status"], "", "#444"))
        if final:
            words = status_words(snap)
        self.title.value = (f"<b>{html.escape(self.model.title)}</b> &middot; <span class='mlestar-status' "
                            f"style='color:{colour};font-weight:bold'>{html.escape(words)}</span>")
        done, total = self.model.progress(snap)
        self.bar.max = max(1, total)
        self.bar.value = min(done, self.bar.max)
        self.bar.bar_style = style if final else ""
        self.counts.value = f"<span class='mlestar-counts'>&nbsp;{html.escape(self.model.line(snap))}</span>"
        self.model.render(snap, final)
        self.meters.value = meters_html(snap.get("resources") or self._sample())
        self.alerts.value = alerts_html(snap.get("alerts") or []) + log_html(self._log)

    def add_action(self, label, callback, tooltip=""):
        """A button in the action row (shown from now on). A click runs ``callback()``; the line it returns
        (or the error it raises) is shown beside the buttons. Returns the button."""
        import ipywidgets as w

        button = w.Button(description=label, tooltip=tooltip)
        button.add_class("mlestar-action")

        def clicked(_):
            try:
                message = callback()
            except Exception as err:  # a failed action is said in the panel, not raised into the kernel's log
                message = f"{label} failed: {type(err).__name__}: {err}"
            self.action_note.value = f"<span class='mlestar-action-note'>{html.escape(str(message or ''))}</span>"

        button.on_click(clicked)
        self.actions.children = (*self.actions.children[:-1], button, self.action_note)
        self.actions.layout.display = "flex"
        return button

    def _offer_controls(self, control, snap):
        """Stop, Pause/Resume and "+N trials" for a background run. A foreground run gets none: its kernel does
        not handle widget messages until the cell ends, so there the kernel's Interrupt stops it."""
        def pause_or_resume():
            if control.paused:
                control.resume()
                pause.description = "Pause"
                return "resumed"
            control.pause()
            pause.description = "Resume"
            return "paused: running trials finish, none starts until Resume"

        def stop():
            control.stop()
            for button in self._control_buttons:
                button.disabled = True
            return "stopping: running trials finish, none starts"

        self._control_buttons.append(self.add_action("Stop", stop, tooltip="start no new trial; running ones finish"))
        pause = self.add_action("Pause", pause_or_resume, tooltip="start no new trial until Resume")
        self._control_buttons.append(pause)
        if control.extendable and snap.get("budget"):
            more = max(5, snap["budget"] // 4)
            self._control_buttons.append(self.add_action(
                f"+{more} trials", lambda: control.extend(more) or f"{more} more trials",
                tooltip=f"add {more} trials to the budget"))

    def finished(self, result):
        """The run's result is built: offer to write its report (`result.report()`)."""
        if hasattr(result, "report"):
            self.add_action("Save report", lambda: f"report saved to {result.report()}",
                            tooltip="write a self-contained HTML report of this run (opens offline in any browser)")

    def _sample(self):
        """Runs whose snapshot carries no resource sample get one here."""
        if self._monitor is None:
            self._monitor = ResourceMonitor(min_interval=0.5)
        return self._monitor.sample()


# -- pieces every view shares -----------------------------------------------------------------
def resources_line(resources):
    if not resources:
        return ""
    return (f"CPU {resources['cpu_percent']:.0f}% of {len(resources['cpu_per_core'])} cores, "
            f"memory {resources['memory_used'] / resources['memory_total']:.0%} used, "
            f"kernel+workers RSS {resources['rss_tree'] / 2**20:.0f} MB")


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


def log_html(lines):
    if not lines:
        return ""
    text = html.escape("\n".join(lines))
    return (f"<pre class='mlestar-log' style='max-height:12em;overflow:auto;margin:2px 0;font-size:85%'>"
            f"{text}</pre>")


def alerts_html(alerts):
    return "".join(f"<div class='mlestar-alert' style='color:#b26a00'>&#9888; <b>{html.escape(a['kind'])}</b>: "
                   f"{html.escape(a['message'])}</div>" for a in alerts)
