"""How an ablation looks while it runs: its text line, and the ranking as bars that fill in as components finish.

A `live.views.Model` for the study's snapshot (`study.Study.snapshot`).
"""
import html

from .. import format as fmt
from ..live import views


class AblationModel(views.Model):
    title = "ablate"
    css_class = "mlestar-ablation-panel"

    def line(self, snap):
        ranking = snap["ranking"]
        top = f", top: {ranking[0]['component']} ({fmt.signed(ranking[0]['delta'])})" if ranking else ""
        return (f"{snap['done']}/{snap['total']} fits, {snap['running']} running, {snap['failed']} failed, "
                f"{snap['variants_done']}/{snap['variants_total']} components ranked{top}, "
                f"{snap['elapsed_s']:.1f} s")

    def progress(self, snap):
        return snap["done"], snap["total"]

    def body(self, w):
        self.chart = w.HTML()
        return [self.chart]

    def render(self, snap, final):
        self.chart.value = ablation_bars_html(snap["ranking"])


def ablation_bars_html(ranking, width=220):
    """One bar per component, its length the score lost without it (blue when removing it helps)."""
    deltas = [abs(r["delta"]) for r in ranking if r["delta"] is not None] or [1.0]
    scale = max(deltas) or 1.0
    rows = []
    for r in ranking:
        if r["delta"] is None:
            continue
        length = int(width * abs(r["delta"]) / scale)
        colour = "#1565c0" if r["delta"] < 0 else "#c62828"
        rows.append(f"<div><span style='display:inline-block;width:180px'>{html.escape(r['component'])}</span>"
                    f"<span style='display:inline-block;width:{length}px;height:9px;background:{colour}'></span> "
                    f"{fmt.signed(r['delta'])} ({r['label']})</div>")
    return "<div class='mlestar-ablation'>" + "".join(rows) + "</div>"


def make_ablation_view(kind=True):
    return views.make_view(kind, AblationModel())
