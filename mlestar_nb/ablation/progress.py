"""A text view of a running ablation: one status line, redrawn a few times a second.

A listener like the search's views: ``view(event, snapshot, unit)``; it only
reads the plain snapshot, so a richer panel can replace it.
"""
import sys
import time


class TextProgress:
    def __init__(self, stream=None, min_interval=0.25):
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last = 0.0

    def __call__(self, event, snap, unit=None):
        now = time.monotonic()
        if event == "fit" and now - self._last < self.min_interval:
            return
        self._last = now
        ranking = snap["ranking"]
        top = f", top: {ranking[0]['component']} ({ranking[0]['delta']:+.4g})" if ranking else ""
        line = (f"{snap['done']}/{snap['total']} fits, {snap['running']} running, {snap['failed']} failed, "
                f"{snap['variants_done']}/{snap['variants_total']} components ranked{top}, "
                f"{snap['elapsed_s']:.1f} s")
        if event == "end":
            line += f" - {snap['status']}\n"
        self.stream.write("\r" + line)
        self.stream.flush()


def make_ablation_view(kind=True):
    """The live panel in a notebook kernel (ipywidgets), the text line elsewhere."""
    from ..views import pick_view

    return pick_view(kind, AblationPanel, TextProgress)


class AblationPanel:
    """Progress, resources and the ranking as a bar chart that fills in as components finish."""

    def __init__(self, min_interval=0.25):
        import ipywidgets as w
        from IPython.display import display

        from ..monitor import ResourceMonitor

        self.min_interval = min_interval
        self._last = 0.0
        self.monitor = ResourceMonitor(min_interval=0.5)
        self.title = w.HTML("<b>ablate</b> &middot; running")
        self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="45%"))
        self.counts = w.HTML()
        self.chart = w.HTML()
        self.meters = w.HTML()
        self.widget = w.VBox([self.title, w.HBox([self.bar, self.counts]), self.chart, self.meters])
        self.widget.add_class("mlestar-ablation-panel")
        display(self.widget)

    def __call__(self, event, snap, unit=None):
        from ..refinement.views import ablation_bars_html
        from ..views import meters_html

        now = time.monotonic()
        if event == "fit" and now - self._last < self.min_interval:
            return
        self._last = now
        final = event == "end"
        words, style, colour = {"completed": ("done", "success", "#2e7d32"),
                                "interrupted": ("interrupted", "warning", "#ef6c00")}.get(
            snap["status"], ("running", "", "#1565c0")) if final else ("running", "", "#1565c0")
        self.title.value = (f"<b>ablate</b> &middot; <span class='mlestar-status' style='color:{colour};"
                            f"font-weight:bold'>{words}</span>")
        self.bar.max, self.bar.value = max(1, snap["total"]), snap["done"]
        self.bar.bar_style = style
        self.counts.value = (f"&nbsp;{snap['done']}/{snap['total']} fits, {snap['running']} running, "
                             f"{snap['failed']} failed, {snap['variants_done']}/{snap['variants_total']} components "
                             f"ranked, {snap['elapsed_s']:.1f} s")
        self.chart.value = ablation_bars_html(snap["ranking"])
        self.meters.value = meters_html(self.monitor.sample())
