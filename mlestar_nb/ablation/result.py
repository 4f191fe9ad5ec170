"""`AblationResult`: the baseline, and every component ranked by what removing it costs.

Values are plain Python types. The result renders as text (terminal, `repr`),
pretty text (IPython) and HTML with a bar per component (Jupyter).
"""
import html
from dataclasses import asdict, dataclass, field

from .. import format as fmt
from ..results import Result, new_axes, notes_html
from .stats import ci_half_width

LABEL_COLOURS = {"high": "#c62828", "medium": "#ef6c00", "low": "#f9a825", "unclear": "#8d6e63",
                 "none": "#9e9e9e", "harmful": "#1565c0", "n/a": "#bdbdbd", "failed": "#000000"}
IMPACT_LABELS = ("high", "medium", "low", "unclear", "n/a")   # a positive delta that may be real


@dataclass
class ComponentImpact:
    """One row of the ranking: what the score does when this component is taken out."""

    component: str
    kind: str               # step | param | features | block
    score: float            # mean score without it
    delta: float            # score lost without it: positive when the component helps
    se: float               # standard error of delta (Nadeau-Bengio corrected)
    p_value: float          # two-sided, paired
    label: str              # high | medium | low | unclear | none | harmful | n/a | failed
    effect: float           # delta / the baseline's standard deviation across folds
    n_pairs: int            # (repeat, fold) pairs compared
    failed: int = 0         # fits of this variant that raised
    detail: str = ""        # what was changed, e.g. "StandardScaler -> passthrough"
    error: str = None       # the most frequent failure, one line
    warnings: list = field(default_factory=list)
    ci: float = None        # half width of the 95 % confidence interval of delta
    repeats_needed: int = None   # unclear: the repeats that would make this delta significant, if it held

    def to_dict(self):
        return asdict(self)

    def evidence(self):
        """What the measurement says, in words: delta, its uncertainty, the test's verdict."""
        size = fmt.signed(self.delta) + (f" ± {fmt.score(self.ci, 3)}" if self.ci else "")
        if self.label == "n/a":
            return f"delta {size}, no p-value: the pairs measured no noise to judge it by"
        verdict = f"delta {size}, p {fmt.p_value(self.p_value)}"
        if self.label != "unclear":
            return f"{verdict}: {self.label}"
        if self.repeats_needed is None:
            return (f"{verdict}: not significant yet, and more repeats alone would not settle it (the folds "
                    "disagree too much): more folds or more rows would")
        return (f"{verdict}: not significant yet; about {self.repeats_needed} repeats would settle it "
                f"(--repeats {self.repeats_needed})")


def sort_ranking(rows):
    """Most impactful first; harmful components (negative delta) last but before variants that failed."""
    return sorted(rows, key=lambda r: (r.delta is None, -(r.delta if r.delta is not None else 0.0)))


@dataclass(repr=False)
class AblationResult(Result):
    form: str                       # pipeline | cell
    scoring: str
    direction: str                  # maximize | minimize (the cell form's own score may be a loss)
    baseline: float                 # mean baseline score
    baseline_spread: float          # its standard deviation across folds (or repeats)
    baseline_scores: list
    ranking: list                   # ComponentImpact, most impactful first
    repeats: int
    folds: int
    test: str                       # which statistical test produced the p-values
    status: str = "completed"       # completed | interrupted
    baseline_failed: int = 0        # baseline fits that raised (their folds pair with nothing)
    baseline_error: str = None      # the most frequent of those failures
    metrics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    # the run's resource timeline, [time, CPU %, memory used fraction, RSS bytes] per sample (for reports)
    resources: list = field(default_factory=list, compare=False)
    # (X, y) the study was scored on (references, not copies), for the report's data fingerprint and `save()`
    data: tuple = field(default=None, repr=False, compare=False)

    css_class = "mlestar-ablation"
    kind = "ablation"

    @property
    def most_impactful(self):
        """The component whose removal costs most, significant or not yet (`impact_row` says how sure);
        None when every removal costs nothing measurable (none), helps (harmful) or failed."""
        row = self.impact_row
        return row.component if row else None

    @property
    def impact_row(self):
        """The ranking row of `most_impactful`: the largest measured loss among the rows that may be real."""
        candidates = [r for r in self.ranking if r.label in IMPACT_LABELS and r.delta is not None and r.delta > 0]
        return max(candidates, key=lambda r: r.delta) if candidates else None

    def _impact_text(self):
        row = self.impact_row
        if row is None:
            return "none (removing any one component costs nothing measurable)"
        return f"{row.component} ({row.evidence()})"

    def __getitem__(self, component):
        for row in self.ranking:
            if row.component == component:
                return row
        raise KeyError(f"no component {component!r}; the components are {[r.component for r in self.ranking]}")

    def _frame(self):
        return [{k: v for k, v in r.to_dict().items() if k != "warnings"} for r in self.ranking], "component"

    def plot(self, ax=None):
        """Horizontal bars of delta with 95 % confidence intervals, most impactful on top; returns the Axes."""
        rows = [r for r in self.ranking if r.delta is not None]
        ax = new_axes(ax, (6.5, 0.45 * max(3, len(rows)) + 1.2))
        ys = list(range(len(rows)))[::-1]
        errors = [ci_half_width(r.se, r.n_pairs) for r in rows]
        ax.barh(ys, [r.delta for r in rows], xerr=errors, capsize=3,
                color=[LABEL_COLOURS.get(r.label, "#9e9e9e") for r in rows])
        ax.set_yticks(ys, [f"{r.component} ({r.label})" for r in rows])
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"score lost without it ({self.scoring}); bars: 95 % CI")
        ax.set_title(f"Ablation: baseline {_fmt(self.baseline)}, {self.repeats} x {self.folds} paired folds")
        return ax

    # -- text ---------------------------------------------------------------
    def summary_lines(self):
        m = self.metrics
        head = (f"AblationResult ({self.form}): {self.status}, baseline {self.scoring} {_fmt(self.baseline)} "
                f"(sd {_fmt(self.baseline_spread)}), {len(self.ranking)} components, {self.repeats} repeat(s) x "
                f"{self.folds} fold(s)")
        lines = [head]
        width = max([9] + [len(r.component) for r in self.ranking])
        lines.append(f"  {'component':<{width}}  {'kind':<8} {'without':>9} {'delta':>9} {'±95%':>8} {'se':>8} "
                     f"{'p':>8}  label")
        for r in self.ranking:
            lines.append(f"  {r.component:<{width}}  {r.kind:<8} {_fmt(r.score):>9} {_signed(r.delta):>9} "
                         f"{_fmt(r.ci):>8} {_fmt(r.se):>8} {_p(r.p_value):>8}  {r.label}")
        lines.append(f"  most impactful: {self._impact_text()}")
        if m:
            lines.append(f"  {m.get('fits', 0)} fits on {m.get('workers', '?')} {m.get('backend', '')} workers, "
                         f"wall {m.get('wall_s', 0):.1f} s, {m.get('failed_fits', 0)} failed; {self.test}")
        failed = ([("baseline", self.baseline_failed, self.baseline_error)] if self.baseline_failed else []) + \
            [(r.component, r.failed, r.error) for r in self.ranking if r.failed]
        for component, count, error in failed[:5]:
            lines.append(f"  {component}: {count} failed fit(s), e.g. {error}")
        if len(failed) > 5:
            lines.append(f"  ... and {len(failed) - 5} more components with failed fits (see to_frame())")
        lines.extend(f"  note: {n}" for n in self.notes)
        return lines

    def _html(self):
        top = max([abs(r.delta) for r in self.ranking if r.delta is not None] + [1e-12])
        rows = "".join(_html_row(r, top) for r in self.ranking)
        m = self.metrics
        facts = [f"{self.repeats} repeat(s) x {self.folds} fold(s)", html.escape(self.test)]
        if m:
            facts += [f"{m.get('fits', 0)} fits", f"wall {m.get('wall_s', 0):.1f} s",
                      f"{m.get('workers', '?')} {html.escape(str(m.get('backend', '')))} workers"]
        best = html.escape(self._impact_text())
        return (f"<b>AblationResult ({self.form})</b> {html.escape(self.status)}: "
                f"baseline {html.escape(self.scoring)} <b>{_fmt(self.baseline)}</b> "
                f"(sd {_fmt(self.baseline_spread)}), most impactful: <b>{best}</b>"
                f"<div style='color:#666'>{' · '.join(facts)}</div>"
                "<table><thead><tr><th>component</th><th>kind</th><th>without</th><th>delta</th><th></th>"
                f"<th>±95%</th><th>p</th><th>label</th></tr></thead><tbody>{rows}</tbody></table>"
                + notes_html(self.notes))


def _html_row(r, top):
    colour = LABEL_COLOURS.get(r.label, "#9e9e9e")
    width = 0 if r.delta is None else int(round(80 * min(1.0, abs(r.delta) / top)))
    side = "margin-left:80px" if r.delta is not None and r.delta >= 0 else f"margin-left:{80 - width}px"
    bar = f"<div style='{side};width:{width}px;height:10px;background:{colour}'></div>"
    title = html.escape(r.detail + (f" | {r.error}" if r.error else ""))
    return (f"<tr title='{title}'><td>{html.escape(r.component)}</td><td>{r.kind}</td><td>{_fmt(r.score)}</td>"
            f"<td>{_signed(r.delta)}</td><td style='width:170px'>{bar}</td><td>{_fmt(r.ci)}</td>"
            f"<td>{_p(r.p_value)}</td><td style='color:{colour}'><b>{r.label}</b></td></tr>")


def _fmt(value):
    return "" if value is None else fmt.score(value, 4)


def _signed(value):
    return "" if value is None else fmt.signed(value)


def _p(value):
    return "" if value is None else fmt.p_value(value)
