"""How a refinement looks while it runs: its text line and round log, and the panel's rounds table and the
current round's ablation chart.

A `live.views.Model` for the refinement's snapshot (`loop._Refinement.snapshot`).
"""
import html

from .. import format as fmt
from ..ablation.views import ablation_bars_html
from ..live import views


class RefineModel(views.Model):
    title = "mlestar_refine"
    css_class = "mlestar-refine-panel"

    def line(self, snap):
        if snap.get("round") is None:
            where = "scoring the start"
        else:
            where = f"round {snap['round']}/{snap['rounds']}: {snap.get('phase') or ''}"
            if snap.get("phase") in ("tuning", "polish") and snap.get("step"):
                where += f" {snap['step']} ({snap.get('trials')} trials)"
        best = snap.get("best_score")
        score = (f", CV {fmt.score(snap.get('initial_score'))} -> {fmt.score(best)}" if best is not None else "")
        return f"{where}{score}, {snap['elapsed_s']:.1f} s"

    def log(self, event, snap):
        if event != "round_done" or not snap.get("history"):
            return []
        r = snap["history"][-1]
        verdict = "accepted" if r["accepted"] else "not accepted"
        return [f"round {r['round']}: {r['action']} {r['step']}: {fmt.score(r['score_before'])} -> "
                f"{fmt.score(r['score_after'])} ({verdict})"]

    def progress(self, snap):
        return len(snap.get("history") or ()), snap.get("rounds") or 1

    def body(self, w):
        self.table = w.HTML(rounds_table_html([]))
        self.chart = w.HTML()
        return [self.table, self.chart]

    def render(self, snap, final):
        self.table.value = rounds_table_html(snap.get("history") or [])
        self.chart.value = ablation_bars_html(snap.get("ranking") or [])


def rounds_table_html(history):
    rows = "".join(
        f"<tr><td>{r['round']}</td><td>{html.escape(r['step'])}</td><td>{r['action']}</td><td>{r['label']}</td>"
        f"<td>{fmt.score(r['score_before'])}</td><td>{fmt.score(r['score_after'])}</td>"
        f"<td style='color:{'#2e7d32' if r['accepted'] else '#757575'}'>{'yes' if r['accepted'] else 'no'}</td></tr>"
        for r in history)
    return ("<table class='mlestar-rounds'><thead><tr><th>round</th><th>component</th><th>action</th><th>ablation</th>"
            f"<th>before</th><th>after</th><th>accepted</th></tr></thead><tbody>{rows}</tbody></table>")


def make_refine_view(kind=True):
    return views.make_view(kind, RefineModel())
