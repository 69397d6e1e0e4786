"""The steward's report in a real browser: Debian's headless Chromium, driven by Playwright.

The report of a real run renders with no console or page error, asks for nothing but its own
file, draws its four charts with a size, and lists every source; a hostile, empty run renders
too, and nothing in it runs. Without chromium the test is skipped, except under CI, where it
fails (`make browser` installs Debian's package; Playwright never downloads a browser here).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.report import render_report
from tests.pipelines.test_report import hostile_empty_summary

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# As root, in a closed network: no sandbox, no GPU, and none of Chromium's own background
# connections (they would be refused, many at a time, and show up as network requests).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 768}
CHARTS = 4  # the funnel, rejects by step, PII by type, document length


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must test the report in it: "
                        "`make browser` installs Debian's package")
        pytest.skip("chromium is not installed (`make browser` installs Debian's package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Visit:
    page: object
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser) -> Iterator:
    contexts = []

    def open_report(path: Path) -> Visit:
        context = browser.new_context(viewport=LAPTOP)
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)
        page.on("console", lambda m: seen.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: seen.errors.append(str(e)))
        page.on("request", lambda r: seen.requests.append(r.url))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
        page.goto(path.resolve().as_uri(), wait_until="load")
        return seen

    yield open_report
    for context in contexts:
        context.close()


def assert_quiet_and_offline(seen: Visit, path: Path) -> None:
    assert seen.console == [] and seen.errors == [] and seen.dialogs == []
    assert seen.requests == [path.resolve().as_uri()]


def chart_sizes(page) -> list[tuple[float, float]]:
    return [(box["width"], box["height"]) for box in
            (svg.bounding_box() for svg in page.query_selector_all("svg.chart"))]


def test_the_report_of_a_real_run_renders_offline_with_its_charts(
        onboarded, visit, tmp_path) -> None:
    summary, path = onboarded.result.summary, onboarded.result.report
    seen = visit(path)
    page = seen.page
    assert_quiet_and_offline(seen, path)
    sizes = chart_sizes(page)
    assert len(sizes) == CHARTS and all(w > 0 and h > 0 for w, h in sizes), sizes
    assert page.locator("#funnel svg.chart rect").count() >= 3  # read, written, certified
    rows = page.locator("#sources tbody tr")
    assert rows.count() == len(summary.sources) > 0
    shown = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert shown == [s.uri for s in summary.sources]
    assert page.locator("#duplicates tbody tr").count() > 1  # the kinds and the examples
    assert page.title().startswith(f"Kura run {summary.run_id}")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    page.screenshot(path=str(tmp_path / "report-full.png"), full_page=True)
    assert shot.stat().st_size > 10_000
    page.emulate_media(media="print")
    assert page.pdf(format="A4").startswith(b"%PDF")
    assert seen.console == [] and seen.errors == []


def test_a_hostile_empty_run_renders_and_runs_nothing(visit, tmp_path) -> None:
    path = tmp_path / "runs" / "r-1.html"
    path.parent.mkdir()
    path.write_text(render_report(tmp_path, hostile_empty_summary()), encoding="utf-8")
    seen = visit(path)
    page = seen.page
    assert_quiet_and_offline(seen, path)
    assert page.evaluate("document.querySelectorAll('script, img').length") == 0
    assert '<script>alert("x")</script>' in page.locator("h1").inner_text()
    sizes = chart_sizes(page)
    assert len(sizes) == CHARTS and all(w > 0 and h > 0 for w, h in sizes), sizes
    assert page.locator("svg.chart text.none").count() == CHARTS
