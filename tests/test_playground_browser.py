"""End to end: the Optimizer Playground served for real and driven in headless Chromium.

Chromium comes from the system's packages (Debian/Ubuntu: ``apt-get install -y
chromium``); Playwright only drives it and never downloads a browser. Without either the
test is skipped with the reason. With ``MINIGRAD_SCREENSHOT=path`` set, it also saves a
screenshot of the page there (the README's picture).
"""
import os
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("streamlit", reason="the playground needs Streamlit (the 'playground' extra)")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)")

from minigrad.playground.launch import free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# The view the screenshot shows: four optimizers on Rosenbrock, each with a working rate.
SHOWCASE = ("surface=rosenbrock&opt=SGD,Momentum,RMSprop,Adam&steps=300"
            "&SGD.lr=0.002&Momentum.lr=0.002&RMSprop.lr=0.005&Adam.lr=0.05")
FIGURE = '[data-testid="stImage"] img'

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"no Chromium at {CHROMIUM}; on Debian/Ubuntu: sudo apt-get install -y chromium")


def _wait_until_healthy(url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"no answer from {url} within {timeout} s")


def _screenshot(page, path: str) -> None:
    """The page with Adam's sliders open and both tables drawn, saved as a PNG."""
    page.locator('[data-testid="stExpander"] summary').last.click()  # Adam's sliders
    tables = page.locator('[data-testid="stDataFrame"]')
    tables.last.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1500)  # the tables paint on a canvas after they appear
    page.screenshot(path=path)


@pytest.fixture(scope="module")
def server():
    """``(url, process)``: the launcher serving the page (it boots while Chromium starts)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "minigrad.playground", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield f"http://localhost:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        process.stdout.close()


@pytest.fixture(scope="module")
def browser(server):
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_moving_a_slider_redraws_the_figure_in_a_real_browser(server, browser):
    url, process = server
    assert url in process.stdout.readline()  # the launcher prints the address first
    _wait_until_healthy(url, process)
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{url}/?{SHOWCASE}", wait_until="domcontentloaded")
    figure = page.locator(FIGURE)
    figure.wait_for(state="visible", timeout=30_000)
    page.wait_for_function(  # the image has loaded and has a size
        f"() => {{ const i = document.querySelector('{FIGURE}');"
        " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
    before = figure.get_attribute("src")

    path = os.environ.get("MINIGRAD_SCREENSHOT")
    if path:
        _screenshot(page, path)

    steps = page.get_by_role("slider").first  # the "steps" slider
    steps.focus()
    steps.press("ArrowLeft")
    page.wait_for_function(
        f"before => document.querySelector('{FIGURE}')?.getAttribute('src') !== before",
        arg=before, timeout=30_000)
    assert page.locator(FIGURE).get_attribute("src") != before
    page.wait_for_url("**steps=299**", timeout=10_000)  # the URL follows the slider
