"""An ablation's sections (the ranking with its uncertainty) and a refinement's (its rounds, and the trials,
ablation, resources and alerts of the runs inside it)."""
import html

from .. import format as fmt
from ..results import table_html
from . import layout, svg
from .search import trial_sections


# -- ablation ---------------------------------------------------------------------------------------------
def ablation_sections(result, package=None):
    m = result.metrics
    card = layout.run_card([
        ("what ran", f"ablation of a {result.form}: {len(result.ranking)} components, {result.repeats} repeat(s) x "
                     f"{result.folds} fold(s), {result.scoring}"),
        ("where", layout.where(m)),
        ("when", layout.when(m.get("started_at"), m.get("wall_s"))),
        ("how long", f"{fmt.seconds(m.get('wall_s'))}, worker utilization {m.get('worker_utilization', 0):.0%}"
         if m else None),
        ("budget used", f"{m.get('fits', 0)} of {m.get('fits_planned', '?')} fits, {m.get('failed_fits', 0)} failed"
         if m else None),
        ("status", result.status),
        ("baseline", f"{fmt.score(result.baseline, 5)} (sd {fmt.score(result.baseline_spread, 4)})"),
        ("most impactful", result.most_impactful or "none (no component shows an effect)"),
        ("test", result.test),
        ("data", layout.data_line(*(result.data or (None, None)))),
        ("seed", m.get("seed")),
    ])
    sections = [("run-card", "Run card", card),
                ("ranking", "Ranking with 95 % confidence intervals", ranking(result)),
                ("failures", "Failures", ablation_failures(result)),
                ("resources", "CPU, memory and alerts", layout.resources_section(result.resources, []))]
    if package is not None:
        sections.append(("model-package", "Model package", layout.package_section(package)))
    sections.append(("notes", "Notes", layout.notes_section(result.notes)))
    return sections


def ranking(result):
    from ..ablation.result import LABEL_COLOURS
    from ..ablation.stats import ci_half_width

    rows = [r for r in result.ranking if r.delta is not None]
    if not rows:
        return "<div class='hidden-note'>no component could be compared with the baseline</div>"
    errors = [ci_half_width(r.se, r.n_pairs) for r in rows]
    width, height = 620, 26 * len(rows) + 40
    left, right = 190, width - 20
    x = svg.Axis(*svg.extent([r.delta - e for r, e in zip(rows, errors)] + [r.delta + e for r, e in zip(rows, errors)]
                             + [0.0]), left, right)
    parts = [f"<svg class='chart ranking' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
             f"<title>ablation ranking</title><line x1='{svg.num(x(0))}' x2='{svg.num(x(0))}' y1='4' "
             f"y2='{height - 30}' stroke='#222'/>"]
    for i, (r, e) in enumerate(zip(rows, errors)):
        y = 8 + 26 * i
        low, high = sorted((x(0), x(r.delta)))
        colour = LABEL_COLOURS.get(r.label, "#9e9e9e")
        parts.append(f"<text x='{left - 6}' y='{y + 12}' class='label' text-anchor='end'>{svg.esc(r.component)} "
                     f"({svg.esc(r.label)})</text><rect x='{svg.num(low)}' y='{y}' width='{svg.num(high - low)}' "
                     f"height='16' fill='{colour}'><title>delta {r.delta:+.4g} &#177; {e:.3g}</title></rect>")
        if e:
            parts.append(f"<line x1='{svg.num(x(r.delta - e))}' x2='{svg.num(x(r.delta + e))}' y1='{y + 8}' "
                         f"y2='{y + 8}' stroke='#222'/><line x1='{svg.num(x(r.delta - e))}' "
                         f"x2='{svg.num(x(r.delta - e))}' y1='{y + 3}' y2='{y + 13}' stroke='#222'/>"
                         f"<line x1='{svg.num(x(r.delta + e))}' x2='{svg.num(x(r.delta + e))}' y1='{y + 3}' "
                         f"y2='{y + 13}' stroke='#222'/>")
    for value in x.ticks():
        parts.append(f"<text x='{svg.num(x(value))}' y='{height - 16}' class='tick' text-anchor='middle'>"
                     f"{svg.esc(svg.tick_label(value))}</text>")
    parts.append(f"<text x='{(left + right) / 2:.0f}' y='{height - 3}' class='label' text-anchor='middle'>score lost "
                 f"without it ({svg.esc(result.scoring)}); whiskers: 95 % confidence interval</text></svg>")
    table = table_html(
        ["component", "kind", "without", "delta", "95 % CI", "se", "p", "label", "what changed"],
        [[html.escape(r.component), r.kind, fmt.score(r.score, 4), fmt.signed(r.delta),
          f"&#177; {ci_half_width(r.se, r.n_pairs):.3g}" if r.se is not None else "", fmt.score(r.se, 3),
          fmt.p_value(r.p_value), r.label, html.escape(r.detail)] for r in result.ranking])
    return "".join(parts) + table


def ablation_failures(result):
    rows = ([["baseline", str(result.baseline_failed), html.escape(result.baseline_error or "")]]
            if result.baseline_failed else [])
    rows += [[html.escape(r.component), str(r.failed), f"<span class='error'>{html.escape(r.error or '')}</span>"]
             for r in result.ranking if r.failed]
    if not rows:
        return "<div class='muted'>no fit failed</div>"
    return table_html(["component", "failed fits", "most frequent error"], rows)


# -- refinement -------------------------------------------------------------------------------------------
def refinement_sections(result, package=None):
    m = result.metrics
    X, y = result.data if result.data is not None else (None, None)
    searches = [r.trials for r in result.history if r.trials is not None]
    studies = [r.ablation for r in result.history if r.ablation is not None]
    card = layout.run_card([
        ("what ran", f"refinement: {len(result.history)} round(s), {len(result.accepted_rounds)} accepted, "
                     f"{m.get('trials', 0)} trials, scoring {result.scoring}"),
        ("where", layout.where({**(searches[0].metrics if searches else {}), **m})),
        ("when", layout.when(m.get("started_at"), m.get("wall_s"))),
        ("how long", fmt.seconds(m.get("wall_s"))),
        ("budget used", f"{m.get('rounds', 0)} round(s), {m.get('trials', 0)} search trials on "
                        f"{m.get('rows_searched', '?')} rows"),
        ("status", result.status),
        ("result", result._headline()),
        ("holdout", f"{fmt.score(result.holdout['score'])} on {result.holdout.get('rows')} rows (CV "
                    f"{fmt.score(result.holdout['cv_score'])}, gap {result.holdout['gap']:.1%})"
         if result.holdout else None),
        ("data", layout.data_line(X, y)),
        ("folds", m.get("splitter")),
        ("seed", m.get("seed")),
    ])
    trials, space = _round_trials(searches)
    sections = [("run-card", "Run card", card), ("rounds", "Rounds", rounds(result))]
    if trials:
        sections += [(anchor, f"{title} (every round's search)", body)
                     for anchor, title, body in trial_sections(trials, space, True)]
    if studies:
        sections.append(("ranking", "Ablation of round 1, with 95 % confidence intervals", ranking(studies[0])))
    resources = [s for run in searches + studies for s in run.resources]
    alerts = [a for run in searches for a in run.alerts]
    sections.append(("resources", "CPU, memory and alerts (during the searches and ablations)",
                     layout.resources_section(sorted(resources), alerts)))
    if package is not None:
        sections.append(("model-package", "Model package", layout.package_section(package)))
    sections.append(("notes", "Notes", layout.notes_section(result.notes, result.warnings)))
    return sections


def rounds(result):
    scores, current = [result.initial_score], result.initial_score
    for r in result.history:
        current = r.score_after if r.accepted else current
        scores.append(current)
    chart = ""
    if result.initial_score is not None:
        values = scores + [r.score_after for r in result.history if r.score_after is not None]
        left, right, bottom, top = svg.plot_area()
        x = svg.Axis(-0.5, len(result.history) + 0.5, left, right)
        y = svg.Axis(*svg.extent(values), bottom, top)
        body = svg.polyline(list(range(len(scores))), scores, x, y, svg.PALETTE["best"], width=2, step=True)
        for r in result.history:
            if r.score_after is not None:
                colour = svg.PALETTE["accepted" if r.accepted else "rejected"]
                body += svg.points([r.round], [r.score_after], x, y, colour, radius=5, opacity=0.9,
                                   titles=[f"round {r.round}: {r.action} {r.step}"])
        body += svg.legend([("current solution", svg.PALETTE["best"]), ("accepted", svg.PALETTE["accepted"]),
                            ("not accepted", svg.PALETTE["rejected"])])
        chart = svg.frame(x, y, body, x_label="round", y_label=f"CV {result.scoring}", title="rounds",
                          x_ticks=list(range(len(result.history) + 1)))
    table = table_html(
        ["round", "step", "action", "ablation", "before", "after", "p", "accepted", "changed"],
        [[str(r.round), html.escape(r.step), r.action, r.label, fmt.score(r.score_before), fmt.score(r.score_after),
          fmt.p_value(r.p_value), "yes" if r.accepted else "no", html.escape(fmt.params(r.params))]
         for r in result.history])
    extra = "".join(f"<div>{html.escape(line)}</div>" for line in result._detail_lines()
                    if not line.startswith(("warning:", "note:")))
    return chart + table + extra


def _round_trials(searches):
    """Every round's trials, renumbered in order, over the union of the rounds' spaces (a round's trial has
    only its own space's parameters: the others are drawn at their axis' end)."""
    if not searches:
        return [], {}
    import dataclasses

    space, trials = {}, []
    for search in searches:
        space.update(search.space)
    common = [name for name in space if all(name in s.space for s in searches)]
    space = {name: space[name] for name in common} or dict(searches[-1].space)
    for search in searches:
        for t in sorted(search.trials, key=lambda t: t.end or 0):
            if all(name in t.params for name in space):
                trials.append(dataclasses.replace(t, number=len(trials)))
    return trials, space
