"""A search's sections: the history with the best so far, parallel coordinates, slices, parameter importance,
top trials and failures. A refinement reuses them for the trials of its rounds.
"""
import collections
import dataclasses
import html
import math

from .. import format as fmt
from ..results import table_html
from ..search.conditional import chart_view
from . import layout, svg
from .importance import parameter_importance

MAX_FAILURES = 40


def search_sections(result, package=None):
    """(anchor, title, body) for every section of a TuneResult's report."""
    m = result.metrics
    payload = result.payload
    X, y = payload.data if payload is not None and payload.data is not None else (None, None)
    counts = collections.Counter(t.state for t in result.trials)
    card = layout.run_card([
        ("what ran", f"search '{result.name}': {result.strategy} strategy, "
                     + (result.direction if result.objectives is None else result.objectives.describe())),
        ("space", "; ".join(_describe(result.space))),
        ("where", layout.where(m)),
        ("when", layout.when(m.get("started_at"), m.get("wall_s"))),
        ("how long", f"{fmt.seconds(m.get('wall_s'))} (start-up {fmt.seconds(m.get('startup_s'))}), worker "
                     f"utilization {m.get('worker_utilization', 0):.0%}" if m else None),
        ("budget used", f"{len(result.trials)} of {m.get('budget', '?')} trials "
                        f"({', '.join(f'{n} {s}' for s, n in counts.items())})"),
        ("status", result._status_line()),
        ("best" if result.objectives is None else "selected",
         f"{fmt.score(result.best_score, 6)} (trial {result.best_trial.number}): "
         f"{fmt.params(result.best_params)}" if result.best_trial else "no completed trial"),
        ("data", layout.data_line(X, y)),
        ("seed", m.get("seed")),
        ("journal", result.journal_path),
    ])
    sections = [("run-card", "Run card", card)]
    sections += trial_sections(result.trials, result.space, result.maximize, counts=result.counts)
    if result.fidelity is not None:
        sections.append(("budget", "Progressive budget: rungs and anytime curve", budget_section(result)))
    sections.append(("resources", "CPU, memory and alerts", layout.resources_section(result.resources, result.alerts)))
    if package is not None:
        sections.append(("model-package", "Model package", layout.package_section(package)))
    sections.append(("notes", "Notes", layout.notes_section(result.notes)))
    return sections


def trial_sections(trials, space, maximize, counts=None):
    """The sections drawn from trials alone: history, parallel coordinates, slices, importance, top, failures.
    `counts` picks the trials that can be the best (a progressive budget's full-budget ones); a conditional space
    is drawn one column per dimension and per layer, an inactive value left out."""
    done = [t for t in trials if t.state == "complete" and _finite(t.value) and (counts is None or counts(t))]
    space, values = chart_view(space)
    done = [dataclasses.replace(t, params=values(t.params)) for t in done]
    return [
        ("history", "History and best so far", history_chart(trials, maximize, counts)),
        ("parallel-coordinates", "Parallel coordinates", parallel_coordinates(done, space, maximize)),
        ("slices", "Score by parameter", slices(done, space, maximize)),
        ("importance", "Parameter importance", importance(done, space)),
        ("top-trials", "Top trials", top_table(done, maximize)),
        ("failures", "Failures", failures_table(trials)),
    ]


def history_chart(trials, maximize, counts=None):
    """Every trial's score and the best so far; a progressive budget's lower rungs are drawn apart and are never
    the best."""
    ordered = sorted(trials, key=lambda t: t.end or 0)
    xs = list(range(1, len(ordered) + 1))
    if not ordered:
        return "<div class='hidden-note'>no trials</div>"
    best, line = None, []
    for t in ordered:
        if t.state == "complete" and _finite(t.value) and (counts is None or counts(t)) and \
                (best is None or (t.value > best if maximize else t.value < best)):
            best = t.value
        line.append(best)
    values = [t.value for t in ordered if t.state in ("complete", "pruned") and _finite(t.value)]
    left, right, bottom, top = svg.plot_area()
    x = svg.Axis(0.5, len(ordered) + 0.5, left, right)
    y = svg.Axis(*svg.extent(values), bottom, top)
    body = ""
    lower = [(i, t) for i, t in zip(xs, ordered) if t.state == "complete" and counts is not None and not counts(t)]
    body += svg.points([i for i, _ in lower], [t.value for _, t in lower], x, y, svg.PALETTE["pruned"],
                       titles=[f"trial {t.number}: {t.value:.5g} (lower rung)" for _, t in lower])
    for state in ("pruned", "complete"):
        chosen = [(i, t) for i, t in zip(xs, ordered) if t.state == state and _finite(t.value)
                  and (counts is None or state != "complete" or counts(t))]
        body += svg.points([i for i, _ in chosen], [t.value for _, t in chosen], x, y, svg.PALETTE[state],
                           titles=[f"trial {t.number}: {t.value:.5g} ({state})" for _, t in chosen])
    body += svg.polyline(xs, line, x, y, svg.PALETTE["best"], width=2, step=True)
    body += svg.legend([("complete", svg.PALETTE["complete"]),
                        ("lower rung" if lower else "pruned", svg.PALETTE["pruned"]), ("best so far", svg.PALETTE["best"])])
    ticks = [t for t in svg.nice_ticks(1, len(ordered), 6) if float(t).is_integer()]
    return svg.frame(x, y, body, x_label="trial, in finishing order",
                     y_label="score (" + ("higher" if maximize else "lower") + " is better)",
                     title="history", x_ticks=ticks)


def parallel_coordinates(done, space, maximize):
    if not done:
        return "<div class='hidden-note'>no completed trial</div>"
    names = list(space)
    width, height = max(360, 120 * (len(names) + 1)), 300
    left, right, bottom, top = 50, width - 50, height - 36, 18
    step = (right - left) / max(1, len(names))
    axes = [_ParamAxis(space[name], bottom, top) for name in names]
    score_axis = svg.Axis(*svg.extent([t.value for t in done], 0.02), bottom, top)
    colours = svg.colour_scale([t.value for t in done], reverse=not maximize)
    order = sorted(range(len(done)), key=lambda i: done[i].value, reverse=not maximize)   # best drawn last, on top
    lines = []
    for i in order:
        t = done[i]
        coords = [f"{svg.num(left + j * step)},{svg.num(axes[j](t.params[name]))}"
                  if t.params.get(name) is not None else None for j, name in enumerate(names)]
        coords.append(f"{svg.num(right)},{svg.num(score_axis(t.value))}")
        for run in _runs(coords):      # an inactive parameter breaks the line
            lines.append(f"<polyline points='{' '.join(run)}' stroke='{colours[i]}'/>")
    parts = [f"<svg class='chart parallel' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
             f"<title>parallel coordinates</title><g fill='none' stroke-width='1' stroke-opacity='0.55'>"
             + "".join(lines) + "</g>"]
    for j, name in enumerate(short_names(names) + ["score"]):
        px = left + j * step if j < len(names) else right
        axis = axes[j] if j < len(names) else score_axis
        parts.append(f"<line x1='{svg.num(px)}' x2='{svg.num(px)}' y1='{top}' y2='{bottom}' stroke='#444'/>"
                     f"<text x='{svg.num(px)}' y='{height - 8}' class='label' text-anchor='middle'>"
                     f"{svg.esc(name)}<title>{svg.esc(names[j] if j < len(names) else name)}</title></text>")
        for label, py in axis.labels():
            parts.append(f"<text x='{svg.num(px + 4)}' y='{svg.num(py + 3)}' class='tick'>{svg.esc(label)}</text>")
    parts.append("</svg>")
    low, high = min(t.value for t in done), max(t.value for t in done)
    return "".join(parts) + ("<div class='muted'>one line per completed trial, coloured by score (yellow: best, "
                             f"dark: worst) {svg.colour_bar(low, high, reverse=not maximize)}</div>")


def _runs(coords):
    run = []
    for coord in coords + [None]:
        if coord is None:
            if run:
                yield run
            run = []
        else:
            run.append(coord)


def short_names(names, limit=18):
    """Axis names that fit side by side: a pipeline's 'step__param' as 'param' when that is unique."""
    tails = [name.rsplit("__", 1)[-1] for name in names]
    chosen = tails if len(set(tails)) == len(tails) else list(names)
    return [n if len(n) <= limit else n[:limit - 1] + "\u2026" for n in chosen]


class _ParamAxis:
    """A vertical axis for one parameter: numeric (log when the prior is) or categorical (evenly spaced)."""

    def __init__(self, dim, bottom, top):
        from skopt.space import Categorical

        self.categories = [repr(c) for c in dim.categories] if isinstance(dim, Categorical) else None
        if self.categories is not None:
            self.axis = svg.Axis(-0.5, len(self.categories) - 0.5, bottom, top)
        else:
            log = getattr(dim, "prior", None) == "log-uniform"
            self.axis = svg.Axis(float(dim.low), float(dim.high), bottom, top, log=log)

    def position(self, value):
        return self.categories.index(repr(value)) if self.categories is not None else float(value)

    def __call__(self, value):
        return self.axis(self.position(value))

    def labels(self):
        if self.categories is not None:
            return [(c[:14], self.axis(i)) for i, c in enumerate(self.categories)]
        return self.axis.labels(4)


def slices(done, space, maximize):
    if not done:
        return "<div class='hidden-note'>no completed trial</div>"
    width, height = 300, 210
    left, right, bottom, top = svg.plot_area(width, height)
    colours = svg.colour_scale([t.number for t in done])
    y = svg.Axis(*svg.extent([t.value for t in done]), bottom, top)
    charts = []
    for (name, dim), label in zip(space.items(), short_names(list(space), 40)):
        axis = _ParamAxis(dim, left, right)
        shown = [i for i, t in enumerate(done) if t.params.get(name) is not None]
        xs = [axis.position(done[i].params[name]) for i in shown]
        body = svg.points(xs, [done[i].value for i in shown], axis.axis, y, [colours[i] for i in shown], radius=2.2)
        ticks = list(range(len(axis.categories))) if axis.categories else axis.axis.ticks(4)
        frame = svg.frame(axis.axis, y, body, width=width, height=height, x_label=label, y_label="score",
                          title=f"score by {name}", x_ticks=ticks,
                          x_labels=[c[:12] for c in axis.categories] if axis.categories else None)
        charts.append(frame)
    return (f"<div class='charts'>{''.join(charts)}</div><div class='muted'>each point a completed trial, coloured "
            "by trial number (dark: early, yellow: late)</div>")


def importance(trials, space):
    found = parameter_importance(trials, space)
    if not found["shown"]:
        return f"<div class='hidden-note'>hidden: {html.escape(found['reason'])}</div>"
    rows = found["rows"]
    short = dict(zip([n for n, _ in rows], short_names([n for n, _ in rows], 24))).get
    width, bar_width = 520, 300
    height = 22 * len(rows) + 10
    parts = [f"<svg class='chart importance' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
             "<title>parameter importance</title>"]
    for i, (name, share) in enumerate(rows):
        y = 6 + 22 * i
        parts.append(f"<text x='150' y='{y + 12}' class='label' text-anchor='end'>{svg.esc(short(name))}</text>"
                     f"<rect x='156' y='{y}' width='{svg.num(bar_width * min(1.0, share))}' height='15' "
                     f"fill='#1976d2'/><text x='{svg.num(162 + bar_width * min(1.0, share))}' y='{y + 12}' "
                     f"class='tick'>{share:.0%}</text>")
    parts.append("</svg>")
    return "".join(parts) + f"<div class='muted'>{html.escape(found['reason'])}</div>"


def top_table(done, maximize, n=10):
    best = sorted(done, key=lambda t: t.value, reverse=maximize)[:n]
    rows = [[str(t.number), fmt.score(t.value, 5), html.escape(fmt.params(t.params)), fmt.seconds(t.duration),
             html.escape(str(t.worker or ""))] for t in best]
    return table_html(["trial", "score", "params", "time", "worker"], rows) if rows else \
        "<div class='hidden-note'>no completed trial</div>"


def failures_table(trials):
    failed = [t for t in trials if t.state in ("failed", "timeout")]
    if not failed:
        return "<div class='muted'>no trial failed</div>"
    by_error = collections.Counter(t.error or t.state for t in failed)
    summary = table_html(["trials", "error"], [[str(n), f"<span class='error'>{html.escape(e)}</span>"]
                                               for e, n in by_error.most_common()])
    rows = [[str(t.number), t.state, html.escape(fmt.params(t.params)),
             f"<span class='error'>{html.escape(t.error or '')}</span>"] for t in failed[:MAX_FAILURES]]
    more = f"<div class='muted'>... and {len(failed) - MAX_FAILURES} more</div>" if len(failed) > MAX_FAILURES else ""
    return (f"<div>{len(failed)} of {len(trials)} trials failed; by error:</div>{summary}"
            + table_html(["trial", "state", "params", "error"], rows) + more)


def budget_section(result):
    """A progressive budget's rungs (trials, promotions, how well each rung's ranking agrees with the next) and
    the anytime curve: the best full-budget score against the cumulative budget spent."""
    name = result.fidelity["name"]
    rows = [[fmt.value(r["budget"]), str(r["trials"]), str(r["complete"]),
             "" if r["promoted"] is None else str(r["promoted"]),
             fmt.score(r["spearman"], 3) if r["spearman"] is not None else f"n/a ({r['pairs']} pairs)",
             html.escape(r["note"] or "")] for r in result.rungs]
    table = table_html([html.escape(name), "trials", "complete", "went on", "Spearman with the next rung", "note"],
                       rows)
    curve = [(spent, best) for spent, best in result.anytime() if best is not None]
    if not curve:
        return table + "<div class='hidden-note'>no trial reached the full budget</div>"
    spent = [c for c, _ in curve]
    left, right, bottom, top = svg.plot_area()
    x = svg.Axis(0.0, max(result.budget_spent, max(spent)) * 1.02 or 1.0, left, right)
    y = svg.Axis(*svg.extent([b for _, b in curve]), bottom, top)
    body = svg.polyline(spent + [result.budget_spent], [b for _, b in curve] + [curve[-1][1]], x, y,
                        svg.PALETTE["best"], width=2, step=True)
    body += svg.points(spent, [b for _, b in curve], x, y, svg.PALETTE["best"])
    chart = svg.frame(x, y, body, x_label=f"cumulative {name} spent", y_label="best full-budget score",
                      title="anytime curve")
    return table + chart + (f"<div class='muted'>eta {result.fidelity['eta']:g}; budget spent "
                            f"{result.budget_spent:g} {html.escape(name)}</div>")


def _describe(space):
    from ..search.space import describe

    return describe(space)


def _finite(value):
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)
