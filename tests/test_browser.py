"""The quickstart in real JupyterLab, in Debian's Chromium driven by Playwright (issue: tutorials).

JupyterLab is started by the test on 127.0.0.1 with every Jupyter folder in a
temporary directory; the browser is /usr/bin/chromium (never downloaded). The
test runs the whole notebook, waits for the live panel's final state and
asserts on what the page renders. The screenshot goes to tests/artifacts/.
"""
import json
import os
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


@pytest.fixture
def lab(tmp_path):
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install jupyterlab)")
    root, home = tmp_path / "root", tmp_path / "jhome"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root / "quickstart.ipynb")
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
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         "--allow-root", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
         "--LabApp.expose_app_in_browser=True", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(f"{base}/api/status?token={token}", server, tmp_path / "server.log", "JupyterLab", 90)
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


def test_quickstart_panel_renders_its_final_state_in_jupyterlab(lab):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    base, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/lab/tree/quickstart.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=90_000)
            page.wait_for_function(KERNEL_READY_JS, timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
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
        finally:
            browser.close()
    assert (ARTIFACTS / "panel.png").stat().st_size > 5000
