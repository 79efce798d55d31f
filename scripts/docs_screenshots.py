"""Open the built documentation site in headless Chromium and screenshot three pages.

    python scripts/docs_screenshots.py [--no-build] [--out docs/screenshots]

Builds the site strictly (``mkdocs build --strict`` into ``site/``, unless ``--no-build``),
serves it on 127.0.0.1 from a thread, and opens the home page, one API reference page
(``policyopt``) and one guide (The paper in code) in Debian's ``/usr/bin/chromium``, driven by
Playwright (the ``docs`` extra; ``playwright install`` is never needed: the system browser is
used). For each page it waits for the network to be idle, scrolls through it so lazy images
load, checks that every ``<img>`` loaded (``complete`` and ``naturalWidth > 0``) and that the
page has what it must (the API page: the heading of ``Agent`` and ``compose`` in the table of
the curated namespace; the home page and the guide: their images). Writes
``OUT/{home,api,guide}.png`` (the README shows them) and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the element to centre in the screenshot, where it is not the top of the page
SCROLL_TO = {"guide": 'img[src$="paper_s3_formula1.png"]'}
#: name → (path under the site, CSS selectors the page must contain)
PAGES = {
    "home": ("index.html", ['h1[id="policyopt"]', "img"]),
    # the API reference: the heading of Agent, and compose in the curated table
    "api": (
        "api/policyopt/index.html",
        ['h2[id="policyopt.agent.Agent"]', "a[href$='#policyopt.configs.compose']"],
    ),
    "guide": (
        "guides/paper-in-code/index.html",
        ['h2[id="3-policy-gradients-and-formula-1"]', "img"],
    ),
}


@dataclass
class PageReport:
    """What a page showed: its screenshot, how many images, which failed to load."""

    path: Path
    images: int
    broken: list[str] = field(default_factory=list)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_IMAGES_JS = """
() => Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src,
    ok: img.complete && img.naturalWidth > 0,
}))
"""

_SCROLL_JS = """
async () => {
    for (let y = 0; y < document.body.scrollHeight; y += 600) {
        window.scrollTo(0, y);
        await new Promise(r => setTimeout(r, 30));
    }
    window.scrollTo(0, 0);
}
"""


def screenshot_site(site: Path, out: Path, width: int = 1280, height: int = 900) -> dict:
    """Screenshot :data:`PAGES` of the built ``site`` into ``out``; return their reports.

    Raises ``AssertionError`` if a page lacks its expected text.
    """
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    reports: dict[str, PageReport] = {}
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            for name, (path, selectors) in PAGES.items():
                page.goto(base + path, wait_until="networkidle", timeout=60_000)
                page.evaluate(_SCROLL_JS)
                page.wait_for_load_state("networkidle")
                page.wait_for_function(
                    "() => Array.from(document.images).every(i => i.complete)", timeout=30_000
                )
                for selector in selectors:
                    assert page.locator(selector).count() > 0, f"{path}: no {selector} on the page"
                if name in SCROLL_TO:
                    page.locator(SCROLL_TO[name]).first.evaluate(
                        "e => e.scrollIntoView({block: 'center'})"
                    )
                page.wait_for_timeout(1000)  # let the header's scroll transition settle
                images = page.evaluate(_IMAGES_JS)
                shot = out / f"{name}.png"
                page.screenshot(path=str(shot), full_page=False)
                reports[name] = PageReport(
                    shot, len(images), [i["src"] for i in images if not i["ok"]]
                )
        finally:
            browser.close()
    return reports


def build_site(site: Path) -> None:
    """``mkdocs build --strict`` into ``site``."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)], cwd=ROOT, env=env, check=True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="use the existing site/")
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not args.no_build:
        build_site(args.site)
    reports = screenshot_site(args.site, args.out)
    failed = False
    for name, report in reports.items():
        status = "ok" if not report.broken else "FAILED"
        failed |= status != "ok"
        print(f"{name}: {report.path} ({report.images} images) {status}")
        for src in report.broken:
            print(f"  image did not load: {src}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
