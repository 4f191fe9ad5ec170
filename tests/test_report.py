"""The self-contained HTML report of every kind of run, the %mlestar_report magic and the panel's
"Save report" button (issue: from notebook to production). tests/test_report_browser.py opens the same
reports in Chromium."""
import html.parser
import os
import re

import pytest
from IPython.core.error import UsageError

import mlestar_nb
from mlestar_nb.live.views import PanelView
from mlestar_nb.report import build_report
from mlestar_nb.search.views import SearchModel

from report_runs import BROKEN, KINDS, SECTIONS, result


class Page(html.parser.HTMLParser):
    """Section ids, every attribute that could load something, and element counts per section."""

    def __init__(self, text):
        super().__init__()
        self.sections, self.links, self.counts, self._section = [], [], {}, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs["id"]
            self.sections.append(self._section)
        for name in ("href", "src", "srcset", "action", "data", "poster", "xlink:href"):
            if name in attrs:
                self.links.append((tag, name, attrs[name]))
        key = (self._section, tag)
        self.counts[key] = self.counts.get(key, 0) + 1


def no_external_reference(text):
    parsed = Page(text)
    assert all(value.startswith("#") for _, _, value in parsed.links), parsed.links
    assert not re.search(r"(https?:|ftp:|//[a-z]|url\(|@import|<script|<link|<iframe|<img)", text, re.I)
    return parsed


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gets_every_section_and_nothing_from_outside(kind):
    text = build_report(result(kind))
    parsed = no_external_reference(text)
    assert parsed.sections == SECTIONS[kind]
    assert text.startswith("<!DOCTYPE html>") and "<style>" in text


def test_the_search_report_draws_what_the_search_did():
    search = result("search")
    parsed = Page(build_report(search))
    scored = [t for t in search.trials if t.state in ("complete", "pruned")]
    failed = [t for t in search.trials if t.state == "failed"]
    assert failed and len(scored) + len(failed) == 45
    assert parsed.counts[("history", "circle")] == len(scored)
    assert parsed.counts[("parallel-coordinates", "polyline")] == len(search.completed_trials)
    assert parsed.counts[("slices", "circle")] == 3 * len(search.completed_trials)
    assert parsed.counts[("top-trials", "tr")] == 1 + 10
    text = build_report(search)
    failures = text.split("id='failures'")[1].split("</section>")[0]
    assert f"{len(failed)} of 45 trials failed" in failures and BROKEN in failures
    card = text.split("id='run-card'")[1].split("</section>")[0]
    assert "45 of 45 trials" in card and "random strategy, maximize" in card and "2 threads workers" in card
    resources = text.split("id='resources'")[1].split("</section>")[0]
    assert "memory_pressure" in resources and "<polyline" in resources


def test_importance_names_the_parameter_that_matters_and_hides_a_poor_fit():
    from mlestar_nb.report.importance import parameter_importance

    search = result("search")
    found = parameter_importance(search.trials, search.space)
    assert found["shown"] and found["r2"] > 0.5
    shares = dict(found["rows"])
    assert found["rows"][0][0] == "x" and shares["x"] > 0.5 and shares["noise"] < 0.1
    section = build_report(search).split("id='importance'")[1].split("</section>")[0]
    assert "of the score&#x27;s variance out of bag" in section and ">x</text>" in section

    noise = result("noise")
    hidden = parameter_importance(noise.trials, noise.space)
    assert not hidden["shown"] and "too poor a fit to rank them" in hidden["reason"]
    assert "hidden: the parameters explain only" in build_report(noise).split("id='importance'")[1]


def test_ablation_and_refinement_reports_show_their_own_findings():
    study = result("ablation")
    text = build_report(study)
    ranking = text.split("id='ranking'")[1].split("</section>")[0]
    for row in study.ranking:
        assert f">{row.component} ({row.label})</text>" in ranking
    assert "95 % confidence interval" in ranking and ranking.count("&#177;") >= len(study.ranking)
    assert "569 rows x 30 columns, sha256 " in text.split("id='run-card'")[1].split("</section>")[0]

    refined = result("refinement")
    text = build_report(refined)
    rounds = text.split("id='rounds'")[1].split("</section>")[0]
    assert rounds.count("<tr>") == 1 + len(refined.history)
    assert f"holdout {mlestar_nb.format.score(refined.holdout['score'])}" in rounds
    assert "455 rows x 30 columns, sha256 " in text.split("id='run-card'")[1].split("</section>")[0]
    history = text.split("id='history'")[1].split("</section>")[0]
    trials = sum(len(r.trials.trials) for r in refined.history if r.trials is not None)
    assert history.count("<circle") >= trials - 2   # every round's trials (those with the shared parameters)


def test_the_magic_writes_the_report_and_refuses_what_is_not_a_result(ns, tmp_path):
    ns.user_ns["study"] = result("ablation")
    path = ns.run_line_magic("mlestar_report", "study runs/ablation.html")
    assert path == "runs/ablation.html" and "id='ranking'" in (tmp_path / "runs" / "ablation.html").read_text()
    default = ns.run_line_magic("mlestar_report", "study")
    assert default.startswith(os.path.join("reports", "ablation-")) and os.path.exists(tmp_path / default)
    for line, words in (("nowhere out.html", "RESULT names 'nowhere', which is not defined"),
                        ("X out.html", "'X' is a ndarray, not a result of mlestar-nb"),
                        ("study runs", "runs is a directory; give the report a file name")):
        with pytest.raises(UsageError) as info:
            ns.run_line_magic("mlestar_report", line)
        assert type(info.value) is UsageError and words in str(info.value)


def test_the_panel_offers_save_report_once_the_run_is_finished(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    panel = PanelView(SearchModel(), display=False)
    assert panel.actions.layout.display == "none" and not [b for b in panel.actions.children if hasattr(b, "click")]
    seen = []
    real_finished = panel.finished
    monkeypatch.setattr(panel, "finished", lambda r: seen.append(panel.actions.layout.display) or real_finished(r))
    search = mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=4, backend="sequential", journal=False,
                             progress=False, listeners=[panel])
    assert seen == ["none"]   # hidden for the whole run, until the result existed
    buttons = [b for b in panel.actions.children if hasattr(b, "click")]
    assert panel.actions.layout.display == "flex" and [b.description for b in buttons] == ["Save report"]
    buttons[0].click()
    note = panel.action_note.value
    assert "report saved to reports" in note
    written = re.search(r"report saved to (\S+\.html)", note).group(1)
    assert f"Search &#x27;{search.name}&#x27;" in (tmp_path / written).read_text()
    assert panel.panel.children[0] is panel.title   # the panel itself is as before; the actions sit below it
