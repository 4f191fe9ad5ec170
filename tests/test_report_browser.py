"""Each kind of report opened from disk in Debian's Chromium (Playwright, never a downloaded browser): every
section is drawn, and no request leaves the page (issue: from notebook to production).

The screenshots go to tests/artifacts/ (docs/images/report.png is the search's, copied from there).
"""
import os
from pathlib import Path

import pytest

from mlestar_nb.report import write_report

from report_runs import KINDS, SECTIONS, result
from web import CHROMIUM, launch_chromium

ARTIFACTS = Path(os.environ.get("MLESTAR_ARTIFACTS", Path(__file__).parent / "artifacts"))

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.timeout(300),
]


def test_every_report_renders_offline_with_no_request_leaving_the_page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for kind in KINDS:
                path = Path(write_report(result(kind), tmp_path / f"{kind}.html"))
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                requests, errors = [], []
                page.on("request", lambda request: requests.append(request.url))
                page.on("console", lambda message: message.type == "error" and errors.append(message.text))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(path.as_uri(), wait_until="load")
                page.wait_for_timeout(300)   # anything the page would fetch late
                assert requests == [path.as_uri()], f"{kind}: the page asked for {requests}"
                assert errors == []
                shown = page.eval_on_selector_all("section", "all => all.map(s => s.id)")
                assert shown == SECTIONS[kind]
                for anchor in SECTIONS[kind]:
                    box = page.locator(f"#{anchor}").bounding_box()
                    assert box and box["height"] > 20, f"{kind}: section {anchor} has no height"
                charts = page.eval_on_selector_all("svg.chart", "all => all.map(s => s.getBoundingClientRect().width)")
                assert charts and min(charts) > 100, f"{kind}: charts not drawn: {charts}"
                page.locator("nav a").last.click()   # the table of contents works offline
                page.screenshot(path=str(ARTIFACTS / f"report-{kind}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert (ARTIFACTS / "report-search.png").stat().st_size > 20_000
