"""`RefineResult`: the refined pipeline, the story of its rounds, the ensemble and the holdout check."""
import html
from dataclasses import dataclass, field

from .. import format as fmt
from ..results import Result, new_axes, table_html


@dataclass
class RoundRecord:
    round: int
    component: str            # the component the ablation ranked highest among those not yet refined
    kind: str                 # step | param
    label: str                # its ablation label
    action: str               # tune | remove
    step: str                 # the pipeline step that was changed
    score_before: float       # mean CV score of the current solution, on the refinement folds
    score_after: float        # ... of the candidate
    accepted: bool
    p_value: float            # one-sided, corrected paired t-test: candidate better than current
    params: dict = field(default_factory=dict)   # what the candidate changed
    trials: object = None     # the TuneResult behind a 'tune' round
    ablation: object = None   # the AblationResult that chose the component
    error: str = None         # why the candidate could not be scored (a fit failed)

    def to_dict(self):
        return {k: getattr(self, k) for k in ("round", "component", "kind", "label", "action", "step",
                                              "score_before", "score_after", "accepted", "p_value", "params")}


@dataclass(repr=False)
class RefineResult(Result):
    best_pipeline: object            # refit on all development rows
    best_score: float                # mean CV score of the best solution (single or ensemble)
    initial_score: float
    history: list                    # RoundRecord
    scoring: str
    ensemble: dict = None            # kind, score, kept, members, weights
    holdout: dict = None             # score, cv_score, gap, flagged
    candidates: list = field(default_factory=list)   # (name, mean CV score) of --candidates
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    status: str = "completed"        # or "interrupted" (Ctrl-C): the finished rounds are kept
    best_fold_scores: list = field(default_factory=list)   # the best solution's scores on the judging folds
    # (X, y): the development rows best_pipeline was refit on (references, not copies), so that `save()` can
    # record the data's schema and fingerprint and time predictions; kept in memory only
    data: tuple = field(default=None, repr=False, compare=False)

    css_class = "mlestar-refine"
    kind = "refinement"

    @property
    def accepted_rounds(self):
        return [r for r in self.history if r.accepted]

    def _frame(self):
        return [r.to_dict() for r in self.history], "round"

    def plot(self, ax=None):
        """The CV score after each round (accepted changes step it up) and the initial score."""
        ax = new_axes(ax, (6, 3.2))
        scores, current = [self.initial_score], self.initial_score
        for r in self.history:
            current = r.score_after if r.accepted else current
            scores.append(current)
        ax.step(range(len(scores)), scores, where="post", color="tab:orange", label="current solution")
        for r in self.history:
            if r.score_after is None:
                continue
            ax.scatter([r.round], [r.score_after], color="tab:green" if r.accepted else "tab:gray", zorder=3)
            ax.annotate(r.step, (r.round, r.score_after), fontsize=7, xytext=(3, 3), textcoords="offset points")
        if self.ensemble and self.ensemble.get("kept"):
            ax.axhline(self.ensemble["score"], color="tab:purple", ls="--", label=f"{self.ensemble['kind']} ensemble")
        ax.set_xlabel("round")
        ax.set_ylabel(f"CV score ({self.scoring})")
        ax.set_title("refinement by round (green: accepted)")
        ax.legend(fontsize="small")
        return ax

    def _headline(self):
        return (f"CV {self.scoring} {fmt.score(self.initial_score)} -> {fmt.score(self.best_score)} after "
                f"{len(self.history)} round(s), {len(self.accepted_rounds)} accepted"
                + ("" if self.status == "completed" else f" ({self.status})"))

    def summary_lines(self):
        lines = [f"RefineResult: {self._headline()}"]
        for r in self.history:
            mark = "accepted" if r.accepted else ("interrupted, not judged" if r.score_after is None
                                                  else "kept the old")
            lines.append(f"  round {r.round}: {r.action} {r.step} ({r.component}, {r.label}): "
                         f"{fmt.score(r.score_before)} -> {fmt.score(r.score_after)}, p={fmt.p_value(r.p_value)}, "
                         f"{mark}")
        lines.extend("  " + line for line in self._detail_lines())
        return lines

    def _detail_lines(self):
        lines = []
        if self.ensemble:
            e = self.ensemble
            verdict = "kept" if e.get("kept") else "not kept (no better than the best single solution)"
            if e.get("score") is not None:
                lines.append(f"{e['kind']} ensemble of {e['members']} solutions: {fmt.score(e['score'])}, {verdict}")
        if self.holdout:
            h = self.holdout
            flag = f" - GAP {h['gap']:.1%} over 3 %: the search may overfit its folds" if h["flagged"] else ""
            lines.append(f"holdout {fmt.score(h['score'])} vs CV {fmt.score(h['cv_score'])}{flag}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        lines.extend(f"note: {n}" for n in self.notes)
        return lines

    def _html(self):
        rows = [[str(r.round), html.escape(r.step), r.action, r.label, fmt.score(r.score_before),
                 fmt.score(r.score_after), fmt.p_value(r.p_value),
                 f"<span style='color:{'#2e7d32' if r.accepted else '#757575'}'>{'yes' if r.accepted else 'no'}</span>"]
                for r in self.history]
        extra = "".join(f"<div>{html.escape(line)}</div>" for line in self._detail_lines())
        return (f"<b>RefineResult</b>: {html.escape(self._headline())}"
                + table_html(["round", "step", "action", "ablation", "before", "after", "p", "accepted"], rows)
                + extra)
