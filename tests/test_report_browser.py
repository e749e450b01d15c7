"""The HTML report in a real headless browser: Debian's Chromium driven by Playwright.

A run with a deliberate deviation (the simulated secondary reports ProgressStatus Splitting
during failover, erratum E1's trap) makes T107-02 fail; the page must show it, count it,
filter it and open its evidence, without a console error and without any network request.
Without /usr/bin/chromium (or Playwright) the tests skip, except with SMIS_REQUIRE_ALL_CLIENTS=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DEVIATIONS = """\
deviations:
  - id: e1-splitting
    array: secondary
    when: {operation: failover}
    cim: {ProgressStatus: Splitting}
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("SMIS_REQUIRE_ALL_CLIENTS") == "1":
        pytest.fail(f"{reason}, and SMIS_REQUIRE_ALL_CLIENTS=1", pytrace=False)
    pytest.skip(reason)


# module scope: Playwright's sync API keeps an event loop running in this thread until it stops, which
# would break later tests that call asyncio.run()
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def deviation_run(browser: Any, tmp_path_factory: pytest.TempPathFactory, one_group_pair: Path) -> Path:
    """T107-01 and T107-02 against the simulated pair (one group: the report with its evidence and timeline)
    with the E1 deviation: T107-02 fails (exit 1). (Asks for the browser first, so a missing browser skips
    before the run.)"""
    base = tmp_path_factory.mktemp("deviation")
    (base / "dev.yaml").write_text(DEVIATIONS)
    report_dir = base / "run"
    argv = [sys.executable, "-m", "harness.command_line", "run", "--config", str(one_group_pair), "--deviations",
            str(base / "dev.yaml"),
            "--report-dir", str(report_dir), "T107-02", "T107-01"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert (report_dir / "index.html").is_file(), done.stderr[-3000:]
    return report_dir


@pytest.fixture
def page(browser: Any, deviation_run: Path) -> Iterator[Any]:
    """The report opened from disk; every request other than the page itself is recorded and refused."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    opened.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type in (
        "error", "warning") else None)  # fmt: skip
    opened.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    url = (deviation_run / "index.html").resolve().as_uri()

    def route(handled: Any) -> None:
        if handled.request.url == url:
            handled.continue_()
        else:
            requests.append(handled.request.url)
            handled.abort()

    opened.route("**/*", route)
    opened.goto(url)
    opened.problems = problems
    opened.requests = requests
    yield opened
    context.close()


def rows_of(run_dir: Path) -> list[dict[str, Any]]:
    return json.loads((run_dir / "results.json").read_text())["rows"]


def test_the_page_loads_without_console_errors_or_network(page: Any, tmp_path: Path, deviation_run: Path) -> None:
    assert page.locator("#overall").inner_text().strip().upper() == "NOT CONFORMANT"
    headline = json.loads((deviation_run / "results.json").read_text())["headline"]
    assert page.locator("#top .note").inner_text().strip() == headline
    page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert page.problems == []
    assert page.requests == []


def test_the_counts_shown_equal_results_json(page: Any, deviation_run: Path) -> None:
    counts = Counter(r["verdict"] if r["in_scope"] else "out_of_scope" for r in rows_of(deviation_run))
    shown = {}
    for box in page.locator("#counts .count").all():
        shown[box.get_attribute("data-verdict")] = int(box.locator(".n").inner_text())
    assert shown.pop("total") == sum(counts.values())
    assert {v: n for v, n in shown.items() if n} == dict(counts)
    assert counts["fail"] == 1 and counts["pass"] >= 1


def test_a_failed_cell_shows_observed_next_to_expected(page: Any) -> None:
    cell = page.locator("#row-T107-02 td.cell.fail")
    assert cell.count() == 1
    text = " ".join(cell.inner_text().split())
    assert "Failing Over (11)" in text and "— observed Splitting (10)" in text
    assert cell.get_attribute("data-cell") == "ProgressStatus"
    assert page.locator("#row-T107-02 .badge").first.inner_text().strip().upper() == "FAIL"
    colour = cell.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(255, 235, 233)"


def test_filters_hide_what_they_should(page: Any) -> None:
    fail_row, pass_row, rule = page.locator("#row-T107-02"), page.locator("#row-T107-01"), page.locator("#row-RULE-01")
    assert fail_row.is_visible() and pass_row.is_visible()
    page.locator("#filters input[name=verdict][value=pass]").uncheck()
    assert fail_row.is_visible() and not pass_row.is_visible()
    page.locator("#filters input[name=verdict][value=pass]").check()
    page.locator("#filters select[name=table]").select_option("rules")
    assert rule.is_visible() and not fail_row.is_visible()
    assert not page.locator("#t-table107").is_visible()
    page.locator("#filters select[name=table]").select_option("all")
    page.locator("#filters input[name=q]").fill("splitting")
    assert fail_row.is_visible() and not pass_row.is_visible()
    assert "1 of" in page.locator("#shown").inner_text()
    page.locator("#filters input[name=q]").fill("")
    page.locator("#filters select[name=array]").select_option("primary")
    assert not fail_row.is_visible() and not pass_row.is_visible()  # both rows are about the secondary


def test_the_evidence_of_a_row_expands(page: Any, tmp_path: Path) -> None:
    body = page.locator("#row-T107-02 .evidence-body")
    assert not body.is_visible()
    page.locator("#row-T107-02 details.evidence > summary").click()
    assert body.is_visible()
    text = body.inner_text()
    assert "setrcopygroup failover" in text and "cited by the verdict" in text and "Splitting (10)" in text
    assert page.locator("#row-T107-02 .obs.cited td.off").count() >= 1  # the deviating value is marked
    body.screenshot(path=str(tmp_path / "evidence.png"))
    page.screenshot(path=str(tmp_path / "report-full.png"), full_page=True)


def test_print_hides_the_filters_and_the_evidence(page: Any) -> None:
    page.locator("#row-T107-02 details.evidence > summary").click()
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible()
    assert not page.locator("#row-T107-02 .evidence-body").is_visible()
    assert page.locator("#row-T107-02 td.cell.fail").is_visible()
