"""A multi-objective search's report: the search's sections, with the Pareto front after the run card.

The front section draws the first two objectives (every completed trial: dominated grey, infeasible crossed, the
front joined, the selected trial starred), says which rule selected it and the hypervolume against which
reference, and lists the front's trials with each objective.
"""
import html

from .. import format as fmt
from ..results import table_html
from ..search.pareto_views import axis_label
from . import svg
from .search import search_sections

COLOURS = {"front": "#1f77b4", "dominated": "#9e9e9e", "infeasible": "#c62828", "selected": "#ff7f0e"}


def pareto_sections(result, package=None):
    sections = search_sections(result, package)
    sections.insert(1, ("pareto-front", "Pareto front", front_section(result)))
    return sections


def front_section(result):
    from ..search.front import front_points
    from ..search.selection import describe_rule

    spec = result.objectives
    points = front_points(result)
    picked = result.selected
    facts = [f"objectives {spec.describe()}",
             f"{len(points['front'])} trial(s) on the front of {len(points['front']) + len(points['dominated'])} "
             f"feasible" + (f", {len(points['infeasible'])} infeasible" if spec.constraints else ""),
             f"selected by {describe_rule(result.selection)}: "
             + (f"trial {picked.number}" if picked is not None else "none (no feasible trial)")]
    if spec.multi and points["front"]:
        volume = result.hypervolume
        reference = ", ".join(f"{k}={fmt.value(v)}" for k, v in volume.reference.items())
        facts.append(f"hypervolume {volume.value:.6g} against ({reference}), "
                     + ("derived from the trials" if volume.derived else "given"))
    chart = scatter(points) if spec.multi else ""
    names = spec.names
    rows = [[("&#9733; " if p["number"] == points["selected"] else "") + str(p["number"])]
            + [fmt.score(v, 5) for v in p["values"]] + [html.escape(fmt.params(p["params"]))]
            for p in points["front"]]
    table = table_html(["trial"] + [html.escape(str(o)) for o in spec.objectives] + ["params"], rows) if rows \
        else "<div class='hidden-note'>no feasible trial</div>"
    more = "" if len(names) <= 2 else (f"<div class='muted'>the chart shows {names[0]} and {names[1]}; the table "
                                       "has every objective</div>")
    return "".join(f"<div>{html.escape(fact)}</div>" for fact in facts) + chart + more + table


def scatter(points):
    rows = points["dominated"] + points["infeasible"] + [p["values"] for p in points["front"]]
    if not rows:
        return "<div class='hidden-note'>no completed trial</div>"
    left, right, bottom, top = svg.plot_area()
    x = svg.Axis(*svg.extent([r[0] for r in rows]), left, right)
    y = svg.Axis(*svg.extent([r[1] for r in rows]), bottom, top)
    body = svg.points([r[0] for r in points["dominated"]], [r[1] for r in points["dominated"]], x, y,
                      COLOURS["dominated"])
    body += "".join(_cross(x(r[0]), y(r[1])) for r in points["infeasible"])
    front = points["front"]
    body += svg.polyline([p["values"][0] for p in front], [p["values"][1] for p in front], x, y, COLOURS["front"],
                         width=1)
    body += svg.points([p["values"][0] for p in front], [p["values"][1] for p in front], x, y, COLOURS["front"],
                       radius=3.5, opacity=0.9, titles=[f"trial {p['number']}: " + fmt.params(p["params"])
                                                        for p in front])
    picked = next((p for p in front if p["number"] == points["selected"]), None)
    if picked is not None:
        body += _star(x(picked["values"][0]), y(picked["values"][1]), f"selected: trial {picked['number']}")
    body += svg.legend([("front", COLOURS["front"]), ("dominated", COLOURS["dominated"]),
                        ("infeasible (x)", COLOURS["infeasible"]), ("selected", COLOURS["selected"])])
    names, directions = points["names"], points["directions"]
    return svg.frame(x, y, body, title="Pareto front", x_label=axis_label(names[0], directions[0]),
                     y_label=axis_label(names[1], directions[1]))


def _cross(px, py, size=3.5):
    return (f"<path class='infeasible' d='M{svg.num(px - size)},{svg.num(py - size)}L{svg.num(px + size)},"
            f"{svg.num(py + size)}M{svg.num(px - size)},{svg.num(py + size)}L{svg.num(px + size)},"
            f"{svg.num(py - size)}' stroke='{COLOURS['infeasible']}' stroke-width='1.3'/>")


def _star(px, py, title, size=9):
    import math

    corners = []
    for i in range(10):
        radius = size if i % 2 == 0 else size * 0.45
        angle = math.pi / 2 + i * math.pi / 5
        corners.append(f"{svg.num(px + radius * math.cos(angle))},{svg.num(py - radius * math.sin(angle))}")
    return (f"<polygon class='selected' points='{' '.join(corners)}' fill='{COLOURS['selected']}' stroke='#333' "
            f"stroke-width='0.7'><title>{svg.esc(title)}</title></polygon>")
