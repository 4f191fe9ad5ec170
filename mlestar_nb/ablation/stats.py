"""Paired statistics: each variant against the baseline on the same folds.

The unit of comparison is one (repeat, fold): the baseline and the variant are
fitted on the same training rows and scored on the same test rows, so their
difference ``d`` cancels the luck of the split. Over n such pairs:

- delta = mean(d), oriented so that a positive delta means the component helps
  (the score falls without it);
- the standard error uses the Nadeau-Bengio correction for overlapping training
  sets, ``se = sqrt((1/n + n_test/n_train) * var(d))`` (Nadeau & Bengio 2003;
  Bouckaert & Frank 2004 for repeated k-fold), and the two-sided p-value comes
  from Student's t with n - 1 degrees of freedom. With ``n_test/n_train = 0``
  this is the plain paired t-test, used when each pair is an independent run;
- the label combines that evidence with the size of the effect relative to the
  baseline's own fold-to-fold spread (see `label` and docs/ablation.md). No
  evidence yet is not evidence of no effect: a difference that is not
  significant is "none" only when its confidence interval rules out a medium
  effect, and "unclear" otherwise, with the repeats that would settle it.
"""
import math
import statistics

ALPHA = 0.05          # evidence needed for high, medium, low and harmful
HIGH_ALPHA = 0.01     # ... and for "high"
HIGH_EFFECT = 1.0     # |delta| / spread for "high": at least one baseline standard deviation
MEDIUM_EFFECT = 0.3   # ... for "medium"
MIN_EFFECT = 0.1      # below this a significant difference is still "none": too small to matter
NONE_BOUND = MEDIUM_EFFECT  # "none" without significance: the 95 % CI of delta stays within this many spreads
MAX_REPEATS = 100     # beyond this, "more repeats" is not advice
LABELS = ("high", "medium", "low", "unclear", "none", "harmful", "n/a", "failed")


def corrected_t_test(diffs, test_train_ratio, tolerance=0.0):
    """(mean, standard error, two-sided p) of paired differences; se and p are None for fewer than 2 pairs."""
    n = len(diffs)
    if n == 0:
        return None, None, None
    mean = math.fsum(diffs) / n
    if n < 2:
        return mean, None, None
    var = statistics.variance(diffs)
    se = math.sqrt((1.0 / n + test_train_ratio) * var)
    if se <= tolerance:
        return mean, 0.0, (1.0 if abs(mean) <= tolerance else 0.0)
    from scipy import stats

    t = mean / se
    return mean, se, float(2.0 * stats.t.sf(abs(t), n - 1))


def ci_half_width(se, n_pairs, level=0.95):
    """Half the width of the confidence interval of delta (Student's t), for error bars."""
    if se is None or n_pairs is None or n_pairs < 2:
        return 0.0
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, n_pairs - 1) * se)


def label(delta, p_value, spread, tolerance=0.0, ci=None):
    """high | medium | low | unclear | none | harmful from the evidence (p, ci) and the size (delta / spread).

    Significant at ALPHA: "harmful" when removing the component helps, else
    high, medium or low by size (high also needing p < HIGH_ALPHA), and "none"
    when smaller than MIN_EFFECT baseline standard deviations. Not
    significant: "none" only when the 95 % confidence interval of delta (`ci`,
    its half width) lies within NONE_BOUND standard deviations, so that no
    medium or high effect is plausible; otherwise "unclear": the measured
    effect may be real, and more repeats would tell. "n/a" when a nonzero
    delta has no p-value to judge it by (a single pair, or repeats that
    measured no noise); "failed" when no pair completed.
    """
    if delta is None:
        return "failed"
    if abs(delta) <= tolerance and not ci:
        return "none"   # no pair moved (a no-op step); a mean of 0 over pairs that moved is weighed below
    if p_value is None:
        return "n/a" if abs(delta) > tolerance else "none"
    effect = effect_size(delta, spread, tolerance)
    if p_value >= ALPHA:
        bound = NONE_BOUND * (spread or 0.0)
        return "none" if abs(delta) + (ci or 0.0) < bound else "unclear"
    if abs(effect) < MIN_EFFECT:
        return "none"
    if delta < 0:
        return "harmful"
    if p_value < HIGH_ALPHA and effect >= HIGH_EFFECT:
        return "high"
    return "medium" if effect >= MEDIUM_EFFECT else "low"


def repeats_to_settle(delta, se, n_pairs, pairs_per_repeat, test_train_ratio):
    """How many repeats (of the same folds) would make this delta significant at ALPHA, if it held.

    The variance of the paired differences is read back from the standard
    error. With the Nadeau-Bengio correction the standard error never falls
    below sqrt(ratio * var): a delta under that floor is never settled by
    repeats alone (None); more folds or more rows would.
    """
    if delta is None or se is None or not n_pairs or n_pairs < 2 or pairs_per_repeat < 1:
        return None
    variance = se ** 2 / (1.0 / n_pairs + test_train_ratio)
    from scipy import stats

    done = max(1, math.ceil(n_pairs / pairs_per_repeat))
    for repeats in range(done + 1, MAX_REPEATS + 1):
        n = repeats * pairs_per_repeat
        if stats.t.ppf(1 - ALPHA / 2, n - 1) * math.sqrt((1.0 / n + test_train_ratio) * variance) < abs(delta):
            return repeats
    return None


def effect_size(delta, spread, tolerance=0.0):
    """delta in units of the baseline's standard deviation across folds (infinite when it has none)."""
    if delta is None:
        return None
    if spread is None or spread <= tolerance:
        return 0.0 if abs(delta) <= tolerance else math.copysign(math.inf, delta)
    return delta / spread


def spread_of(scores):
    return statistics.stdev(scores) if len(scores) >= 2 else 0.0


def tolerance_for(scores):
    """Differences this small are rounding, not effects (a no-op step can change the last bits)."""
    scale = max([1.0] + [abs(s) for s in scores])
    return 1e-12 * scale
