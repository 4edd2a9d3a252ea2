"""End to end in a real browser: Debian's chromium, driven by Playwright, against ``headshot serve``.

Upload a photo, see the capture feedback, render, see the gallery, compare before/after, download
one headshot and the ZIP, delete the photos. Screenshots (desktop and phone) are saved in
test-artifacts/ to be looked at. `make test` installs chromium when it can; when it cannot, this
test is skipped with a loud reason.
"""

from __future__ import annotations

import io
import shutil
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run `make test`")
from tests.conftest import ARTIFACTS, ASTRONAUT  # noqa: E402
from tests.webserver import start, stop  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

if CHROMIUM is None:
    warnings.warn("chromium is not installed: the web studio's browser test is SKIPPED (make test installs it "
                  "with apt-get when run as root)", stacklevel=1)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="*** chromium is not installed (apt-get install chromium); "
                                                "`make test` installs it when run as root ***"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Debian's chromium"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("browser")
    proc, base = start(root / "data", root / "server.log")
    try:
        yield base, root / "data"
    finally:
        stop(proc)


def test_upload_check_render_download_delete_in_a_browser(server) -> None:
    base, data = server
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = ctx.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(base + "/")
            page.wait_for_selector("#styles input[name=style]")

            # 1. The photo: capture feedback with advice.
            page.set_input_files("#file-input", str(ASTRONAUT))
            page.wait_for_function("() => document.querySelector('#verdict') && "
                                   "document.querySelector('#verdict').textContent.trim().length > 0", timeout=60_000)
            feedback = page.inner_text("#feedback")
            assert "retake advised" in feedback.lower() or "could be better" in feedback.lower() \
                or "good" in feedback.lower()
            assert "move closer" in feedback  # the sample's face is 92 px wide

            # 2. Looks: two styles, LinkedIn.
            for box in page.query_selector_all("#styles input[name=style]"):
                if box.is_checked() != (box.get_attribute("value") in ("corporate", "charcoal")):
                    box.set_checked(not box.is_checked())
            for box in page.query_selector_all("#platforms input[name=platform]"):
                if box.is_checked() != (box.get_attribute("value") == "linkedin"):
                    box.set_checked(not box.is_checked())
            page.click("#make")

            # 3. The gallery fills in.
            page.wait_for_function("() => document.querySelectorAll('#gallery figure.shot img').length >= 2 && "
                                   "[...document.querySelectorAll('#gallery figure.shot img')]"
                                   ".every(i => i.complete && i.naturalWidth > 0)", timeout=120_000)
            assert len(page.query_selector_all("#gallery figure.shot")) == 2
            page.screenshot(path=str(ARTIFACTS / "web-studio-desktop.png"), full_page=True, animations="disabled")

            # Before/after, operated from the keyboard.
            page.click("#gallery figure.shot button.compare >> nth=0")
            page.wait_for_selector("#before-after #ba-slider", state="visible")
            page.focus("#ba-slider")
            start_value = page.input_value("#ba-slider")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            assert page.input_value("#ba-slider") != start_value
            page.screenshot(path=str(ARTIFACTS / "web-studio-before-after.png"), animations="disabled")
            page.keyboard.press("Escape")

            # Downloads: one headshot, then all of them.
            with page.expect_download() as d:
                page.click("#gallery figure.shot a.download >> nth=0")
            one = Path(d.value.path()).read_bytes()
            assert one[:3] == b"\xff\xd8\xff" and d.value.suggested_filename.endswith(".jpg")
            with page.expect_download() as d:
                page.click("#download-all")
            names = zipfile.ZipFile(io.BytesIO(Path(d.value.path()).read_bytes())).namelist()
            assert sum(n.endswith(".jpg") for n in names) == 2

            # The phone-sized screen.
            phone = ctx.new_page()
            phone.set_viewport_size({"width": 375, "height": 667})
            phone.goto(base + "/")
            phone.wait_for_selector("#styles input[name=style]")
            # The thumbnails arrive (the first worker renders them at start) without a reload.
            phone.wait_for_function("() => document.querySelectorAll('#styles img').length === "
                                    "document.querySelectorAll('#styles input[name=style]').length", timeout=60_000)
            phone.screenshot(path=str(ARTIFACTS / "web-studio-phone.png"), full_page=True)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"the page scrolls sideways on a phone ({width} px)"
            phone.close()

            # 4. Delete my photos now.
            jobs = [d for d in (data / "jobs").iterdir()]
            assert len(jobs) == 1
            page.click("#delete")
            page.wait_for_function("() => document.querySelector('#status').textContent.toLowerCase().includes('deleted')",
                                   timeout=10_000)
            assert not jobs[0].exists()
            assert not list((data / "jobs").iterdir())
        finally:
            browser.close()
    assert not problems, problems
