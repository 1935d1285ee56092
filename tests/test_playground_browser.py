"""numnet playground in a real browser: headless Chromium, driven by Playwright.

Chromium is the Debian package (/usr/bin/chromium), which ``make test`` installs on a fresh
machine when it runs as root (see the Makefile's ``chromium`` target); Playwright never
downloads a browser here. Without /usr/bin/chromium (a developer's machine without root) the
test is skipped and says why. The screenshots go to a temporary folder; with
``NUMNET_DOCS_SCREENSHOTS=1`` (``make docs``) they are also written to docs/images, where
docs/playground.md and the README show them.
"""

import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

import numnet  # noqa: E402
from installed import HANG_TIMEOUT  # noqa: E402
from numnet.playground.server import bind, create_app  # noqa: E402
from numnet.playground.session import GRID, grid_points  # noqa: E402

CHROMIUM = Path(os.environ.get("NUMNET_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
DOCS_IMAGES = Path(__file__).parents[1] / "docs" / "images"
TEST_LOSS_BELOW = 0.4
# Every wait below is for an event (a page state, a message, a download), never for an amount of
# time. Playwright bounds each wait, by 30 s unless told otherwise, which a loaded machine missed
# (the whole suite once took 28 minutes): the bound only stops a test that would hang, so it is
# HANG_TIMEOUT, generous, for every wait, navigation and Chromium's start.
WAIT_MS = HANG_TIMEOUT * 1000

# Skipped only where Chromium cannot be installed by `make test` (not root, or no apt-get); as
# root a missing browser is a failure of the set-up, not a reason to skip (CI must run this).
_INSTALLABLE = os.geteuid() == 0 and shutil.which("apt-get") is not None
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not _INSTALLABLE,
    reason=f"no Chromium at {CHROMIUM} and no root to install it: apt-get install chromium "
           "(make test does it as root), or set NUMNET_CHROMIUM to a Chromium binary")


@pytest.fixture(scope="module")
def server():
    """The playground on a free port of 127.0.0.1, served by uvicorn in a thread."""
    import uvicorn

    sock = bind("127.0.0.1", 0)
    app = create_app(allowed_hosts=["127.0.0.1", "localhost"])
    config = uvicorn.Config(app, log_level="warning", ws_ping_interval=None,
                            timeout_graceful_shutdown=1)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + HANG_TIMEOUT  # only against a hang: uvicorn says when it started
    while not uv.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uv.started, "the playground server did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    # Playwright starts Chromium with a fresh temporary profile (--user-data-dir) each time
    assert CHROMIUM.exists(), f"no Chromium at {CHROMIUM}: run `make chromium` (as root) first"
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=WAIT_MS)
        yield chromium
        chromium.close()


def new_page(browser, **options):
    """A page in a fresh context whose every wait is bounded by HANG_TIMEOUT only."""
    context = browser.new_context(**options)
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


def non_blank(path):
    """A screenshot that shows something: many distinct colours, not one flat fill."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)[..., :3]
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    return pixels.std() > 0.05 and len(colours) > 200


def save(page, locator, tmp_path, name):
    path = tmp_path / name
    if locator is None:
        page.evaluate("window.scrollTo(0, 0)")
    (page if locator is None else page.locator(locator)).screenshot(path=str(path))
    assert non_blank(path), f"{name} is blank"
    if os.environ.get("NUMNET_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / name)
    return path


def test_spiral_learns_traces_and_downloads_in_chromium(server, browser, tmp_path):
    url, app = server
    page = new_page(browser, accept_downloads=True, viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/")
    page.wait_for_function("window.numnetPlayground && window.numnetPlayground.frame")
    assert not page.is_visible("#banner")  # no message until there is one
    untranslated = page.evaluate("""(() => {
        const s = NUMNET_STRINGS, used = [...document.querySelectorAll('[data-i18n]')]
          .map(e => e.dataset.i18n).concat([...document.querySelectorAll('[data-i18n-title]')]
          .map(e => e.dataset.i18nTitle));
        return {page: used.filter(k => !(k in s.en) || !(k in s.zh)),
                en: Object.keys(s.en).filter(k => !(k in s.zh)),
                zh: Object.keys(s.zh).filter(k => !(k in s.en))}; })()""")
    assert untranslated == {"page": [], "en": [], "zh": []}

    # spiral, 2-8-8-1 tanh, through the controls
    page.click(".dataset[data-name=spiral]")
    page.wait_for_function("numnetPlayground.setup && numnetPlayground.setup.settings.dataset "
                           "=== 'spiral'")
    page.select_option("#activation", "tanh")
    page.select_option("#speed", "0")
    for layer, width in ((0, 4), (1, 2)):  # the default net is 2-4-2-1
        for width_now in range(width, 8):
            page.locator(".neuron-control").nth(layer).locator("button").first.click()
            expected = [8, 2] if layer == 0 else [8, 8]
            expected[layer] = width_now + 1
            page.wait_for_function(f"document.getElementById('architecture').textContent === "
                                   f"'2-{expected[0]}-{expected[1]}-1'")
    assert page.text_content("#architecture") == "2-8-8-1"

    page.click("#play")
    page.wait_for_function(
        f"(() => {{ const p = numnetPlayground, n = p.testLoss.length;"
        f"  return n > 0 && p.testLoss[n - 1] < {TEST_LOSS_BELOW}; }})()")
    page.click("#play")  # pause
    page.wait_for_function("numnetPlayground.state === 'paused' && "
                           "numnetPlayground.frame.state === 'paused'")
    epoch = page.evaluate("numnetPlayground.frame.epoch")
    assert int(page.text_content("#epoch")) == epoch > 0
    assert float(page.text_content("#test-loss")) < TEST_LOSS_BELOW

    # click the first training point: the trace panel shows its forward and backward pass
    x = page.evaluate("numnetPlayground.setup.train.x[0]")
    box = page.locator("#boundary").bounding_box()
    page.mouse.click(box["x"] + (x[0] + 1) / 2 * box["width"],
                     box["y"] + (1 - (x[1] + 1) / 2) * box["height"])
    page.wait_for_function("document.getElementById('trace').textContent.length > 0")
    trace = page.text_content("#trace")
    assert "Dense(8)" in trace and "δ = ∂L/∂z" in trace and "∂L/∂W" in trace
    assert f"at epoch {epoch}" in page.text_content("#trace-title")

    # download the model: numnet.load reads it and predicts the drawn boundary
    with page.expect_download() as download_info:
        page.click("#download")
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.name == f"playground-spiral-epoch{epoch}.numnet"
    model = numnet.load(path)
    drawn = np.array(page.evaluate(
        "Array.from(new Float32Array(Uint8Array.from(atob(numnetPlayground.frame.boundary.values),"
        " c => c.charCodeAt(0)).buffer))"))
    import pandas as pd

    points = grid_points(GRID)[::97]
    predicted = model.predict_proba(pd.DataFrame(points, columns=["x1", "x2"]))[:, 1]
    np.testing.assert_allclose(predicted, drawn[::97], rtol=1e-6, atol=1e-7)

    # copy code shows the script (the clipboard may be refused headless)
    page.click("#copy-code")
    page.wait_for_function("!document.getElementById('code-box').hidden")
    assert f"EPOCHS = {epoch}" in page.input_value("#code-box")
    assert page.is_visible("#banner")  # "copied", or where to copy it from
    page.click("#banner-close")
    assert not page.is_visible("#banner")

    save(page, None, tmp_path, "playground.png")
    save(page, "#trace", tmp_path, "playground-trace.png")

    # the Chinese page: the same run, every label from the zh table
    page.select_option("#lang", "zh")
    assert page.text_content("#download") == "下载模型"
    page.wait_for_function("document.getElementById('trace').textContent.includes('反向传播')")
    save(page, None, tmp_path, "playground-zh.png")

    # a reload reconnects to the same run
    page.reload()
    page.wait_for_function(f"numnetPlayground.frame && numnetPlayground.frame.epoch === {epoch}"
                           " && numnetPlayground.trainLoss.length === "
                           f"{epoch}")
    assert page.text_content("#download") == "下载模型"  # ?lang=zh kept in the address
    assert errors == []
    page.context.close()


def test_bad_upload_and_divergence_show_one_message(server, browser, tmp_path):
    url, _ = server
    page = new_page(browser)
    page.goto(url + "/?lang=en")
    page.wait_for_function("window.numnetPlayground && window.numnetPlayground.frame")
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2\n")
    page.set_input_files("#upload", str(bad))
    page.wait_for_selector("#banner:not([hidden])")
    assert page.text_content("#banner-text") == (
        "The file has 1 data row(s); upload at least 4 rows of three columns: x1, x2, label.")

    page.click(".dataset[data-name=plane]")
    page.wait_for_function("numnetPlayground.setup.settings.dataset === 'plane'")
    page.select_option("#optimizer", "sgd")
    page.wait_for_function("numnetPlayground.settings.optimizer === 'sgd'")
    page.select_option("#learning_rate", "100")
    page.wait_for_function("numnetPlayground.settings.learning_rate === 100")
    page.select_option("#speed", "0")
    page.click("#play")
    page.wait_for_function("numnetPlayground.state === 'diverged'")
    message = page.text_content("#banner-text")
    assert message.startswith("Training diverged: the ") and "Lower the learning rate" in message
    page.select_option("#learning_rate", "0.01")  # a new run: the message goes
    page.wait_for_selector("#banner", state="hidden")
    page.context.close()


def test_file_names_and_cells_with_markup_are_shown_as_text(server, browser, tmp_path):
    # what a user sends (a file's name, a CSV cell quoted in a message) goes into the page as
    # text: the markup is shown, never parsed, and its script never runs
    url, _ = server
    page = new_page(browser)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/?lang=en")
    page.wait_for_function("window.numnetPlayground && window.numnetPlayground.frame")
    name = '<img src=x onerror="window.pwned=1">.csv'
    good = tmp_path / name
    good.write_text("x1,x2,label\n1,2,a\n3,4,b\n5,6,a\n7,8,b\n")
    page.set_input_files("#upload", str(good))
    page.wait_for_function(f"document.getElementById('upload-name').textContent === {name!r}")
    bad = tmp_path / "bad.csv"
    bad.write_text('x1,x2,label\n1,<b onmouseover="window.pwned=2">x</b>,a\n3,4,b\n5,6,a\n7,8,b\n')
    page.set_input_files("#upload", str(bad))
    page.wait_for_selector("#banner:not([hidden])")
    assert page.text_content("#banner-text") == (
        "Row 1, column 2 is '<b onmouseover=\"window.pwned=2\">x</b>', not a number; the first "
        "two columns must be numbers.")
    assert page.evaluate("document.querySelectorAll('#upload-name *, #banner-text *').length") \
        == 0
    assert page.evaluate("typeof window.pwned") == "undefined" and errors == []
    page.context.close()
