"""Live views of a refinement: the round-by-round table, the current round's ablation chart, resources."""
import html
import sys

from ..views import meters_html, pick_view


def make_refine_view(kind=True):
    return pick_view(kind, RefinePanel, TextRefineView)


class TextRefineView:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, event, snap):
        if event == "round":
            self.stream.write(f"round {snap['round']}: {snap.get('phase', 'ablation')}...\n")
        elif event == "tune":
            self.stream.write(f"round {snap['round']}: tuning {snap['step']} ({snap['trials']} trials)...\n")
        elif event == "round_done":
            r = snap["history"][-1]
            verdict = "accepted" if r["accepted"] else "not accepted"
            self.stream.write(f"round {r['round']}: {r['action']} {r['step']}: {r['score_before']:.5g} -> "
                              f"{_score(r['score_after'])} ({verdict})\n")
        elif event == "end":
            done = "interrupted" if snap.get("status") == "interrupted" else "done"
            self.stream.write(f"refinement {done}: best CV score {snap['best_score']:.5g}\n")
        self.stream.flush()


def _score(value):
    return "n/a" if value is None else f"{value:.5g}"


def rounds_table_html(history):
    rows = "".join(
        f"<tr><td>{r['round']}</td><td>{html.escape(r['step'])}</td><td>{r['action']}</td><td>{r['label']}</td>"
        f"<td>{r['score_before']:.5g}</td><td>{_score(r['score_after'])}</td>"
        f"<td style='color:{'#2e7d32' if r['accepted'] else '#757575'}'>{'yes' if r['accepted'] else 'no'}</td></tr>"
        for r in history)
    return ("<table class='mlestar-rounds'><thead><tr><th>round</th><th>component</th><th>action</th><th>ablation</th>"
            f"<th>before</th><th>after</th><th>accepted</th></tr></thead><tbody>{rows}</tbody></table>")


def ablation_bars_html(ranking, width=220):
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
                    f"{r['delta']:+.4g} ({r['label']})</div>")
    return "<div class='mlestar-ablation'>" + "".join(rows) + "</div>"


class RefinePanel:
    def __init__(self):
        import ipywidgets as w
        from IPython.display import display

        from ..monitor import ResourceMonitor

        self.monitor = ResourceMonitor(min_interval=0.5)
        self.title = w.HTML("<b>mlestar_refine</b> &middot; starting")
        self.table = w.HTML(rounds_table_html([]))
        self.chart = w.HTML()
        self.meters = w.HTML()
        self.widget = w.VBox([self.title, self.table, self.chart, self.meters])
        self.widget.add_class("mlestar-refine-panel")
        display(self.widget)

    def __call__(self, event, snap):
        if "history" in snap:
            self.table.value = rounds_table_html(snap["history"])
        if event == "round":
            self.title.value = f"<b>mlestar_refine</b> &middot; round {snap['round']}: {snap.get('phase', 'ablation')}"
        elif event == "ablation":
            self.chart.value = ablation_bars_html(snap["ranking"])
        elif event == "tune":
            self.title.value = (f"<b>mlestar_refine</b> &middot; round {snap['round']}: tuning "
                                f"{html.escape(snap['step'])} ({snap['trials']} trials)")
        elif event == "end":
            done, colour = (("interrupted", "#ef6c00") if snap.get("status") == "interrupted"
                            else ("done", "#2e7d32"))
            self.title.value = (f"<b>mlestar_refine</b> &middot; <span class='mlestar-status' style='color:{colour}'>"
                                f"{done}</span>: best CV score {snap['best_score']:.5g}")
        self.meters.value = meters_html(self.monitor.sample())
