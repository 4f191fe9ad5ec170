"""Drawing a front: one function for the live panel's image and for `TuneResult.plot_pareto()`, and the panel's
table of front trials. Both read the same plain dict (`front.front_points`, or the snapshot's "front").
"""
import html
import io

from .. import format as fmt

COLOURS = {"front": "tab:blue", "dominated": "#9e9e9e", "infeasible": "tab:red", "selected": "tab:orange"}


def axis_label(name, direction):
    return f"{name} ({'higher' if direction == 'max' else 'lower'} is better)"


def draw_front(ax, points, small=False):
    """Two objectives: a scatter (dominated grey, infeasible crossed, the front joined, the selected trial
    starred); more: parallel coordinates, each axis scaled so that better is up."""
    if len(points["names"]) == 2:
        _scatter(ax, points, small)
    else:
        _parallel(ax, points, small)


def _scatter(ax, points, small):
    size = 8 if small else 16
    for kind, marker in (("dominated", "o"), ("infeasible", "x")):
        rows = points[kind]
        if rows:
            ax.scatter([r[0] for r in rows], [r[1] for r in rows], s=size, marker=marker, color=COLOURS[kind],
                       alpha=0.6, label=kind)
    front = points["front"]
    if front:
        xs, ys = [p["values"][0] for p in front], [p["values"][1] for p in front]
        ax.plot(xs, ys, color=COLOURS["front"], linewidth=1, alpha=0.7)
        ax.scatter(xs, ys, s=size * 1.6, color=COLOURS["front"], label=f"front ({len(front)})", zorder=3)
        picked = next((p for p in front if p["number"] == points.get("selected")), None)
        if picked is not None:
            ax.scatter([picked["values"][0]], [picked["values"][1]], s=size * 10, marker="*",
                       color=COLOURS["selected"], edgecolor="black", linewidth=0.6, zorder=4,
                       label=f"selected (trial {picked['number']})")
    names, directions = points["names"], points["directions"]
    fontsize = 8 if small else None
    ax.set_xlabel(axis_label(names[0], directions[0]), fontsize=fontsize)
    ax.set_ylabel(axis_label(names[1], directions[1]), fontsize=fontsize)
    if small:
        ax.tick_params(labelsize=7)
    if front or points["dominated"] or points["infeasible"]:
        ax.legend(loc="best", fontsize=6 if small else "small")


def _parallel(ax, points, small):
    names, directions = points["names"], points["directions"]
    rows = [r for kind in ("dominated", "infeasible") for r in points[kind]] + [p["values"] for p in points["front"]]
    if not rows:
        ax.set_xticks(range(len(names)), [axis_label(n, d) for n, d in zip(names, directions)])
        return
    low = [min(r[i] for r in rows) for i in range(len(names))]
    high = [max(r[i] for r in rows) for i in range(len(names))]

    def scaled(row):
        out = []
        for i, value in enumerate(row):
            share = (value - low[i]) / (high[i] - low[i]) if high[i] > low[i] else 0.5
            out.append(share if directions[i] == "max" else 1 - share)
        return out

    xs = list(range(len(names)))
    for kind, style in (("dominated", dict(alpha=0.3)), ("infeasible", dict(alpha=0.3, linestyle=":"))):
        for row in points[kind]:
            ax.plot(xs, scaled(row), color=COLOURS[kind], linewidth=0.8, **style)
    for p in points["front"]:
        chosen = p["number"] == points.get("selected")
        ax.plot(xs, scaled(p["values"]), color=COLOURS["selected" if chosen else "front"],
                linewidth=2.5 if chosen else 1.2, zorder=4 if chosen else 3,
                label=f"selected (trial {p['number']})" if chosen else None)
    ax.set_xticks(xs, [f"{n}\n{fmt.score(lo, 3)}..{fmt.score(hi, 3)}" for n, lo, hi in zip(names, low, high)],
                  fontsize=7 if small else 9)
    ax.set_yticks([0, 1], ["worst", "best"], fontsize=7 if small else 9)
    if points.get("selected") is not None:
        ax.legend(loc="best", fontsize=6 if small else "small")


class FrontPlot:
    """The panel's image of the front, as PNG bytes (one Agg figure kept, redrawn from the snapshot)."""

    def __init__(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4.4, 2.8), dpi=90)
        FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.17, right=0.97, top=0.95, bottom=0.2)
        self.ax = self.figure.add_subplot()

    def png(self, points):
        self.ax.clear()
        draw_front(self.ax, points, small=True)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def front_line(points):
    """The front in a few words for the progress line."""
    return f"front {len(points['front'])} of {points['feasible']} feasible"


def front_table_html(points, limit=8):
    """The panel's table: the front's trials (the selected one starred), their objectives and parameters."""
    names = points["names"]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for p in points["front"][:limit]:
        star = "&#9733; " if p["number"] == points.get("selected") else ""
        cells = "".join(f"<td>{fmt.score(v, 4)}</td>" for v in p["values"])
        rows.append(f"<tr><td>{star}{p['number']}</td>{cells}<td>{html.escape(fmt.params(p['params']))}</td></tr>")
    more = (f"<div class='mlestar-more'>... {len(points['front']) - limit} more on the front</div>"
            if len(points["front"]) > limit else "")
    return (f"<table class='mlestar-front'><thead><tr><th>trial</th>{head}<th>params</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{more}")
