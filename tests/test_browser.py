"""The quickstart in real JupyterLab, in Debian's Chromium driven by Playwright (issue: tutorials).

JupyterLab is started by the test on 127.0.0.1 with every Jupyter folder in a
temporary directory; the browser is /usr/bin/chromium (never downloaded). The
test runs the whole notebook, waits for the live panel's final state and
asserts on what the page renders. The screenshot goes to tests/artifacts/.
"""
import contextlib
import json
import os
import re
import time
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from web import CHROMIUM, launch_chromium, wait_until_answering

ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(os.environ.get("MLESTAR_ARTIFACTS", ROOT / "tests" / "artifacts"))
KERNEL_READY_JS = """() => { const sc = window.jupyterapp?.shell.currentWidget?.sessionContext;
    return sc?.isReady && sc.session?.kernel?.connectionStatus === 'connected' && sc.session.kernel.status === 'idle'; }"""

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.timeout(600),
]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APPS = {  # the frontend, its module, and the app's own options
    "lab": ("jupyterlab", ["--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
                           "--LabApp.expose_app_in_browser=True",
                           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]),
    "notebook": ("notebook", ["--JupyterNotebookApp.expose_app_in_browser=True"]),
}


@contextlib.contextmanager
def jupyter(tmp_path, app, notebooks):
    """JupyterLab or Notebook 7 on 127.0.0.1, every Jupyter folder in tmp_path, serving `notebooks` (name -> nb)."""
    module, options = APPS[app]
    pytest.importorskip(module, reason=f"{module} is not installed (pip install {module})")
    root, home = tmp_path / "root", tmp_path / "jhome"
    root.mkdir()
    for name, notebook in notebooks.items():
        if isinstance(notebook, Path):
            shutil.copy(notebook, root / name)
        else:
            (root / name).write_text(json.dumps(notebook))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"))
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                          "checkForUpdates": False}))
    port, token = _free_port(), "mlestar-test-token"
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", module, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         "--allow-root", *options],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(f"{base}/api/status?token={token}", server, tmp_path / "server.log", module, 90)
        yield base, token
    finally:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST"),
                                   timeout=5)
            server.wait(timeout=20)
        except Exception:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()


@pytest.fixture
def lab(tmp_path):
    with jupyter(tmp_path, "lab", {"quickstart.ipynb": ROOT / "notebooks" / "01_quickstart.ipynb"}) as served:
        yield served


def _open(page, base, token, app, name):
    path = f"{base}/lab/tree/{name}" if app == "lab" else f"{base}/notebooks/{name}"
    page.goto(f"{path}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=90_000)
    page.wait_for_function(KERNEL_READY_JS, timeout=90_000)


@contextlib.contextmanager
def running_notebook(base, token, app, name):
    """A Chromium page with notebook `name` open and every cell started; the browser is closed on the way out."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _open(page, base, token, app, name)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            yield page
        finally:
            browser.close()


def test_quickstart_panel_renders_its_final_state_in_jupyterlab(lab):
    base, token = lab
    with running_notebook(base, token, "lab", "quickstart.ipynb") as page:
        panel = page.locator(".mlestar-panel").first
        try:
            panel.locator(".mlestar-status", has_text="done").wait_for(timeout=240_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "panel-failure.png"))
            raise
        panel.scroll_into_view_if_needed()
        page.wait_for_function(KERNEL_READY_JS, timeout=120_000)  # the rest of the notebook has run
        panel.screenshot(path=str(ARTIFACTS / "panel.png"))
        page.screenshot(path=str(ARTIFACTS / "quickstart-page.png"))
        counts = panel.locator(".mlestar-counts").inner_text()
        assert "30/30 trials" in counts
        width = panel.locator(".widget-hprogress .progress-bar").evaluate(
            "e => e.style.width || getComputedStyle(e).width")
        assert width == "100%"
        best = panel.locator(".mlestar-best").inner_text()
        assert best.startswith("best ") and "learning_rate=" in best
        meters = panel.locator(".mlestar-meters").inner_text()
        assert "CPU" in meters and "memory" in meters and "kernel+workers RSS" in meters
        plot_width = panel.locator("img").first.evaluate("img => img.naturalWidth")
        assert plot_width > 100
        assert panel.locator(".mlestar-top tbody tr").count() == 5
    assert (ARTIFACTS / "panel.png").stat().st_size > 5000


BACKGROUND_NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                    "language": "python"}},
    "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "id": f"c{i}",
               "source": source} for i, source in enumerate([
        "%load_ext mlestar_nb",
        "%%mlestar_tune --space {'x': (0.0, 1.0)} --trials 60 --jobs 2 --strategy random --seed 0 --background "
        "--out run\nimport time\ntime.sleep(0.5)\nx",
        "answer = 6 * 7\nanswer",
    ])],
}


def _counts(panel):
    """(finished, budget, running) as the panel states them."""
    text = panel.locator(".mlestar-counts").inner_text()
    finished, budget, running = map(int, re.search(r"(\d+)/(\d+) trials, (\d+) running", text).groups())
    return finished, budget, running


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_a_background_run_is_steered_from_its_panel(tmp_path, app):
    """Start a background search, run another cell while it goes, then Pause, Resume, +N and Stop from the panel."""
    with jupyter(tmp_path, app, {"background.ipynb": BACKGROUND_NOTEBOOK}) as (base, token), \
            running_notebook(base, token, app, "background.ipynb") as page:
        try:
            panel = page.locator(".mlestar-panel").first
            panel.locator(".mlestar-status", has_text="running").wait_for(timeout=120_000)
            # the cell after it ran while the search goes on
            # (the plain-text output whose whole text is 42: the panel's own output can contain "42" too)
            page.locator('.jp-OutputArea-output[data-mime-type="text/plain"]',
                         has_text=re.compile(r"^\s*42\s*$")).wait_for(timeout=30_000)
            assert panel.locator(".mlestar-status").inner_text() == "running"
            assert _counts(panel)[0] < 60
            actions = page.locator(".mlestar-actions").first

            actions.get_by_role("button", name="Pause").click()
            panel.locator(".mlestar-status", has_text="paused").wait_for(timeout=10_000)
            page.wait_for_function("() => /, 0 running,/.test(document.querySelector('.mlestar-counts').innerText)",
                                   timeout=20_000)
            paused_at = _counts(panel)[0]
            time.sleep(2.0)
            assert _counts(panel)[0] == paused_at, "trials finished while paused"

            actions.get_by_role("button", name="Resume").click()
            panel.locator(".mlestar-status", has_text="running").wait_for(timeout=10_000)
            page.wait_for_function(f"() => parseInt(document.querySelector('.mlestar-counts').innerText) > {paused_at}",
                                   timeout=20_000)

            actions.get_by_role("button", name="+15 trials").click()
            page.wait_for_function("() => /\\/75 trials/.test(document.querySelector('.mlestar-counts').innerText)",
                                   timeout=10_000)

            actions.get_by_role("button", name="Stop").click()
            panel.locator(".mlestar-status", has_text="stopped early: stop requested").wait_for(timeout=30_000)
            finished, budget, running = _counts(panel)
            assert budget == 75 and running == 0 and finished < 75
            assert actions.get_by_role("button", name="Stop").is_disabled()
            time.sleep(1.0)
            assert _counts(panel)[0] == finished, "a trial started after Stop"
            panel.scroll_into_view_if_needed()
            page.locator(".mlestar-actions").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"background-{app}.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"background-{app}-failure.png"))
            raise
