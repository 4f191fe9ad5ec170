"""How a search looks while it runs: its text line, and the panel's best score, convergence plot and top trials;
with several objectives, the front as it grows (its size, the selected trial, its drawing and its trials).

A `live.views.Model` for the engine's snapshot (`engine.Search.snapshot`).
"""
import html
import io
import time

from .. import format as fmt
from ..live import views
from .pareto_views import FrontPlot, front_line, front_table_html


class SearchModel(views.Model):
    title = "mlestar_tune"
    css_class = "mlestar-panel"
    plot_interval = 2.0

    def __init__(self, show_output=False):
        self.show_output = show_output
        self._plotter = None
        self._plotted = -1
        self._last_plot = 0.0
        self._plot_cost = 0.0

    def line(self, snap):
        best = snap["best"]
        best_text = f"best {best['value']:.5g}" if best else "no score yet"
        if snap.get("front") is not None:   # several objectives: the front, not one best score
            best_text = front_line(snap["front"])
        eta = f", ETA {snap['eta_s']:.0f} s" if snap.get("eta_s") is not None else ""
        rungs = ""
        if snap.get("rungs"):      # a progressive budget: trials done per rung's budget; the best is full-budget
            rungs = ", rungs " + " ".join(f"{budget:g}:{done}" for budget, done, _ in snap["rungs"])
            best_text = best_text.replace("best", "best full-budget") if best else "no full-budget score yet"
        return (f"{snap['finished']}/{snap['budget']} trials, {snap['running']} running, {snap['failed']} failed, "
                f"{snap['pruned']} pruned, {best_text}{rungs}, {snap['elapsed_s']:.1f} s{eta}")

    def log(self, event, snap):
        trial = snap.get("trial") if event == "trial" else None
        if not (self.show_output and trial and trial.get("output")):
            return []
        return [f"[trial {trial['number']}] {line}" for line in trial["output"].splitlines()]

    def progress(self, snap):
        return min(snap["finished"], snap["budget"]), snap["budget"]

    def body(self, w):
        self._plotter = ConvergencePlot()  # matplotlib's import and set-up happen before the search starts
        self.best = w.HTML()
        self.plot = w.Image(format="png")
        self.table = w.HTML()
        return [self.best, w.HBox([self.plot, self.table])]

    def render(self, snap, final):
        front = snap.get("front")
        if front is None:
            best = snap["best"]
            self.best.value = ("<span class='mlestar-best'>best <b>{:.6g}</b> (trial {}) {}</span>".format(
                best["value"], best["number"], html.escape(fmt.params(best["params"]))) if best else "no score yet")
            self.table.value = top_table_html(snap["top"])
        else:   # several objectives: the front as it grows, and its trials
            self._show_front(front)
        now = time.monotonic()
        # redraw the plot every plot_interval, or rarer if drawing is slow: at most ~1 % of the time
        interval = max(self.plot_interval, 100 * self._plot_cost)
        if len(snap["history"]) != self._plotted and (final or now - self._last_plot >= interval):
            self._plotted = len(snap["history"])
            self.plot.value = (self._plotter.png(front) if front is not None
                               else self._plotter.png(snap["history"], snap["maximize"]))
            self._last_plot = time.monotonic()
            self._plot_cost = self._last_plot - now

    def _show_front(self, points):
        selected = next((p for p in points["front"] if p["number"] == points["selected"]), None)
        values = ", ".join(f"{n} {v:.4g}" for n, v in zip(points["names"], selected["values"])) if selected else ""
        self.best.value = (f"<span class='mlestar-best'>{front_line(points)}; selected: trial "
                           f"<b>{selected['number']}</b> {html.escape(values)}</span>" if selected
                           else "no feasible trial yet")
        self.table.value = front_table_html(points)
        if not isinstance(self._plotter, FrontPlot):
            self._plotter = FrontPlot()


def top_table_html(top):
    rows = "".join(f"<tr><td>{t['number']}</td><td>{t['value']:.5g}</td>"
                   f"<td>{html.escape(fmt.params(t['params']))}</td></tr>" for t in top)
    return ("<table class='mlestar-top'><thead><tr><th>trial</th><th>score</th><th>params</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


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
        self.partial = self.ax.scatter([], [], s=6, color="tab:gray", alpha=0.4)   # below a progressive full budget
        (self.line,) = self.ax.step([], [], where="post", color="tab:orange")
        self.ax.set_xlabel("trial", fontsize=8)
        self.ax.set_ylabel("score", fontsize=8)
        self.ax.tick_params(labelsize=7)

    def png(self, history, maximize):
        xs, ys, line, best = [], [], [], None
        lower = []
        for i, (value, state) in enumerate(history, 1):
            if state == "partial" and value is not None:
                lower.append((i, value))
            if state == "complete":
                xs.append(i)
                ys.append(value)
                if best is None or (value > best if maximize else value < best):
                    best = value
            line.append(best if best is not None else float("nan"))
        self.points.set_offsets(list(zip(xs, ys)) or [[float("nan"), float("nan")]])
        self.partial.set_offsets(lower or [[float("nan"), float("nan")]])
        ys = ys + [value for _, value in lower]
        self.line.set_data(range(1, len(line) + 1), line)
        if ys:
            low, high = min(ys), max(ys)
            pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
            self.ax.set_ylim(low - pad, high + pad)
        self.ax.set_xlim(0, max(2, len(history) + 1))
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def make_search_view(kind=True, show_output=False):
    return views.make_view(kind, SearchModel(show_output=show_output))
