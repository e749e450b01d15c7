"""pytest plugin: options, the run fixture, row ordering and result files.

`smis-harness run` registers an instance with a ready configuration; pytest users can run
the same suite with `pytest -p harness.plugin --pyargs harness.suite --harness-config FILE`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.config import ConfigError, TargetConfig, builtin_config, load_config
from harness.drive import stage_for_row, tour_position
from harness.interrupts import Interrupts
from harness.redact import Redactor, summarize_exception
from harness.result_files import RunScope, default_report_dir
from harness.run import Run
from harness.spec import ROW_ID, load_spec


class HarnessPlugin:
    """Holds one run for one pytest session."""

    def __init__(
        self,
        config: TargetConfig | None = None,
        *,
        report_dir: Path | None = None,
        allow_disruptive: bool = False,
        group: str | None = None,
        interrupts: Interrupts | None = None,
        manifest_extra: dict[str, Any] | None = None,
    ) -> None:
        self.target = config
        self.manifest_extra = manifest_extra or {}
        self.interrupts = interrupts or Interrupts()
        self.group = group
        self.report_dir = report_dir
        self.allow_disruptive = allow_disruptive
        self.run: Run | None = None
        self.pytest_config: pytest.Config | None = None
        self.document: dict[str, Any] | None = None
        self.exit_code: int | None = None
        self.scope = RunScope(selected=set())
        self.row_of_node: dict[str, str | None] = {}

    def configure_from(self, pytest_config: pytest.Config) -> None:
        if self.target is None:
            path = pytest_config.getoption("harness_config")
            try:
                self.target = load_config(path) if path else builtin_config("pair")
            except ConfigError as exc:
                raise pytest.UsageError(str(exc)) from None
        if self.report_dir is None:
            given = pytest_config.getoption("harness_report_dir")
            self.report_dir = Path(given) if given else default_report_dir()
        self.allow_disruptive = self.allow_disruptive or bool(pytest_config.getoption("allow_disruptive"))
        self.pytest_config = pytest_config

    def progress(self, text: str) -> None:
        """Progress lines go to the terminal as they happen (not into pytest's captured output)."""
        text = self.redactor.text(text)
        reporter = self.pytest_config.pluginmanager.get_plugin("terminalreporter") if self.pytest_config else None
        if reporter is None:
            print(text, file=sys.__stderr__, flush=True)
            return
        capture = self.pytest_config.pluginmanager.get_plugin("capturemanager")
        if capture is None:
            reporter.write_line(text)
            reporter.flush()
            return
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(text)
            reporter.flush()  # as they happen: stdout to a pipe or file is block-buffered

    def start(self) -> Run:
        if self.run is None:
            assert self.target is not None and self.report_dir is not None
            self.run = Run(
                self.target,
                report_dir=self.report_dir,
                allow_disruptive=self.allow_disruptive,
                group=self.group,
                progress=self.progress,
                manifest_extra=self.manifest_extra,
            )
            self.run.start()
        return self.run

    @pytest.fixture(scope="session")
    def harness_run(self) -> Run:
        return self.start()

    @pytest.fixture
    def row_id(self, request: pytest.FixtureRequest) -> str:
        found = item_row_id(request.node)
        if found is None:
            pytest.fail(f"cannot tell which documented row {request.node.nodeid} is", pytrace=False)
        return found

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run rows in the order one pass through the DR sequence visits their stages; rules last."""
        for item in items:
            found = item_row_id(item)
            if found:
                item.add_marker(getattr(pytest.mark, found))
        items.sort(key=_tour_key)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The rows in scope by selection: those pytest will run after ids, tags, -k and -m."""
        assert self.scope.selected is not None
        self.row_of_node.update({item.nodeid: item_row_id(item) for item in session.items})
        self.scope.selected |= {row for row in self.row_of_node.values() if row}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.scope.problems.append(f"pytest could not collect {report.nodeid or 'the suite'}: "
                                       f"{_failure_text(report)}")  # fmt: skip

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A pytest failure the row's own verdict does not explain (a crash in the harness) is kept, so the
        row becomes ERROR instead of whatever was recorded before it broke."""
        if not report.failed:
            return
        row = self.row_of_node.get(report.nodeid)
        text = f"pytest {report.when} failed: {_failure_text(report)}"
        if row is None:
            self.scope.problems.append(f"{report.nodeid}: {text}")
        else:
            self.scope.problems_by_row.setdefault(row, text)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """A failure's text is summarized and redacted before pytest shows it or writes it to junit.xml:
        no traceback with frame locals or function arguments (they may hold credentials)."""
        report = yield
        if report.failed and call.excinfo is not None and not isinstance(report.longrepr, str):
            excinfo = call.excinfo
            frames = [(str(e.path), e.lineno + 1, e.name) for e in excinfo.traceback]
            report.longrepr = summarize_exception(excinfo.typename, str(excinfo.value), frames)
        if report.failed:
            report.longrepr = self.redactor.text(str(report.longrepr))
        return report

    @property
    def redactor(self) -> Redactor:
        """The run's (it knows the simulated arrays' secrets too), or one from the configuration while no
        step has started the run yet."""
        if self.run is not None:
            return self.run.redactor
        return Redactor(self.target.secret_values() if self.target is not None else ())

    def pytest_keyboard_interrupt(self) -> None:
        self.scope.interrupted = True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.interrupts.tearing_down = True
        if exitstatus == pytest.ExitCode.INTERRUPTED or self.interrupts.first:
            self.scope.interrupted = True
        self.scope.interrupted_by = self.interrupts.first
        if self.scope.interrupted:
            by = f" by {self.scope.interrupted_by}" if self.scope.interrupted_by else ""
            self.scope.problems.append(f"the run was interrupted{by}")
        if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            self.scope.problems.append("pytest stopped with an internal error")
        if self.run is None and (self.scope.selected or self.scope.problems):
            assert self.target is not None and self.report_dir is not None
            self.run = Run(self.target, report_dir=self.report_dir, allow_disruptive=self.allow_disruptive,
                           group=self.group, progress=self.progress, manifest_extra=self.manifest_extra)  # fmt: skip
        if self.run is not None:
            self.document = self.run.finish(self.scope, self.interrupts)
            self.exit_code = int(self.document["exit_code"])


def item_row_id(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example") if callspec else None
    if example and "id" in example:
        return str(example["id"])
    doc = getattr(getattr(item, "function", None), "__doc__", "") or ""
    found = ROW_ID.search(doc)
    return found.group(1) if found else None


def _failure_text(report: pytest.TestReport | pytest.CollectReport) -> str:
    """One line for what broke; never the traceback or frame locals (they may hold secrets)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:300]
    text = str(report.longrepr or "").strip().splitlines()
    return text[-1][:300] if text else "no detail"


def _tour_key(item: pytest.Item) -> tuple[int, int]:
    row_id = item_row_id(item)
    rows = load_spec().rows
    if row_id is None or row_id not in rows:
        return (1000, 0)
    row = rows[row_id]
    if row.table == "rules":
        return (999, int(row_id.split("-")[1]))
    stage = stage_for_row(row.table, stage=row.stage, when=row.when, sync_status=row.sync_status)
    # within a stage, in-progress rows first (their window closes), then settled ones in id order
    return (tour_position(stage), 0 if row.in_progress else 1)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smis-harness")
    group.addoption("--harness-config", default=None, help="target configuration YAML (default: simulated pair)")
    group.addoption("--harness-report-dir", default=None, help="where results go (default reports/<timestamp>)")
    group.addoption("--allow-disruptive", action="store_true", help="allow DR commands and fault actions")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "table106: Table 106 rows")
    config.addinivalue_line("markers", "table107: Table 107 rows")
    config.addinivalue_line("markers", "sld: SLD backup link rows")
    config.addinivalue_line("markers", "rules: rules checked on every observation")
    for row_id in load_spec().rows:
        config.addinivalue_line("markers", f"{row_id}: documented row {row_id}")
    plugin = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, HarnessPlugin)), None)
    if plugin is None:  # plain `pytest -p harness.plugin`: build the run from the command-line options
        plugin = HarnessPlugin()
        config.pluginmanager.register(plugin, "smis-harness-run")
    plugin.configure_from(config)
