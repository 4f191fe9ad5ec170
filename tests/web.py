"""What the tests that drive a browser or a local HTTP server share: Debian's Chromium, launched so that it
reaches no network of its own accord, and a wait until a server started by a test answers on 127.0.0.1."""
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"]


def launch_chromium(playwright):
    """Debian's Chromium, headless (never a browser Playwright would download)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def wait_until_answering(url, server, log_path, what, seconds):
    """Poll `url` until it answers; fail with the server's log if the server exits, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            assert server.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, f"{what} did not answer in {seconds} s"
            time.sleep(0.5)
