"""`RefineResult`: the refined pipeline, the story of its rounds, the ensemble and the holdout check."""
import html
from dataclasses import dataclass, field


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


@dataclass
class RefineResult:
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

    @property
    def accepted_rounds(self):
        return [r for r in self.history if r.accepted]

    def to_frame(self):
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame() needs pandas: pip install pandas") from None
        return pd.DataFrame([r.to_dict() for r in self.history]).set_index("round") if self.history \
            else pd.DataFrame()

    def plot(self, ax=None):
        """The CV score after each round (accepted changes step it up) and the initial score."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.2))
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

    def summary_lines(self):
        lines = [f"RefineResult: CV {self.scoring} {self.initial_score:.5g} -> {self.best_score:.5g} "
                 f"after {len(self.history)} round(s), {len(self.accepted_rounds)} accepted"]
        for r in self.history:
            mark = "accepted" if r.accepted else ("interrupted, not judged" if r.score_after is None
                                                  else "kept the old")
            lines.append(f"  round {r.round}: {r.action} {r.step} ({r.component}, {r.label}): "
                         f"{r.score_before:.5g} -> {_score(r.score_after)}, p={_p(r.p_value)}, {mark}")
        if self.ensemble:
            e = self.ensemble
            verdict = "kept" if e.get("kept") else "not kept (no better than the best single solution)"
            if e.get("score") is not None:
                lines.append(f"  {e['kind']} ensemble of {e['members']} solutions: {e['score']:.5g}, {verdict}")
        if self.holdout:
            h = self.holdout
            flag = f" - GAP {h['gap']:.1%} over 3 %: the search may overfit its folds" if h["flagged"] else ""
            lines.append(f"  holdout {h['score']:.5g} vs CV {h['cv_score']:.5g}{flag}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        lines.extend(f"  note: {n}" for n in self.notes)
        return lines

    def __repr__(self):
        return "\n".join(self.summary_lines())

    def _repr_pretty_(self, p, cycle):
        p.text("RefineResult(...)" if cycle else repr(self))

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td>{r.round}</td><td>{html.escape(r.step)}</td><td>{r.action}</td><td>{r.label}</td>"
            f"<td>{r.score_before:.5g}</td><td>{_score(r.score_after)}</td><td>{_p(r.p_value)}</td>"
            f"<td style='color:{'#2e7d32' if r.accepted else '#757575'}'>{'yes' if r.accepted else 'no'}</td></tr>"
            for r in self.history)
        extra = "".join(f"<div>{html.escape(line.strip())}</div>"
                        for line in self.summary_lines()[1 + len(self.history):])
        return (f"<div class='mlestar-refine'><b>RefineResult</b>: CV {html.escape(self.scoring)} "
                f"{self.initial_score:.5g} &rarr; <b>{self.best_score:.5g}</b>"
                "<table><thead><tr><th>round</th><th>step</th><th>action</th><th>ablation</th><th>before</th>"
                f"<th>after</th><th>p</th><th>accepted</th></tr></thead><tbody>{rows}</tbody></table>{extra}</div>")


def _score(value):
    return "n/a" if value is None else f"{value:.5g}"


def _p(value):
    return "n/a" if value is None else f"{value:.3g}"
