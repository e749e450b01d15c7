"""pytest plugin: options, the run fixture, row ordering and result files.

`smis-harness run` registers an instance with a ready configuration; pytest users can run
the same suite with `pytest -p harness.plugin --pyargs harness.suite --harness-config FILE`.
One target is driven by one pytest process in row order: pytest-xdist and pytest-randomly are refused
(parallelism belongs across targets).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.config import ConfigError, TargetConfig, builtin_config, load_config
from harness.console import Console
from harness.interrupts import Interrupts
from harness.redact import Redactor, summarize_exception
from harness.result_files import RunScope, default_report_dir
from harness.run import Run
from harness.spec import ROW_ID, load_spec
from harness.stages import tour_key
from harness.steps.outcomes import failures, mark_step_failed
from harness.tour import Tour

PLUGIN = pytest.StashKey["HarnessPlugin"]()
ROW = pytest.StashKey[str]()


class HarnessPlugin:
    """Holds one run for one pytest session."""

    def __init__(
        self,
        config: TargetConfig | None = None,
        *,
        report_dir: Path | None = None,
        allow_disruptive: bool = False,
        group: str | None = None,
        groups: list[str] | None = None,
        interrupts: Interrupts | None = None,
        manifest_extra: dict[str, Any] | None = None,
        console: Console | None = None,
    ) -> None:
        self.target = config
        self.console = console  # `smis-harness run`'s display (harness.console); None: pytest's output as is
        if console is not None:
            console.redact = self._redact
        self.manifest_extra = manifest_extra or {}
        self.interrupts = interrupts or Interrupts()
        self.group = group
        self.groups = groups or []  # several: one tour for all of them (harness.tour), files per group
        self.report_dir = report_dir
        self.allow_disruptive = allow_disruptive
        self.run: Run | Tour | None = None
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
        if self.console is not None:
            self.console.attach(self._terminal_line)

    def progress(self, text: str) -> None:
        """Progress lines go to the terminal as they happen (not into pytest's captured output)."""
        text = self.redactor.text(text)
        if self.console is not None:
            self.console.note(text)
            return
        self._terminal_line(text)

    def _redact(self, text: str) -> str:
        return self.redactor.text(text)

    def _terminal_line(self, text: str) -> None:
        config = self.pytest_config
        reporter = config.pluginmanager.get_plugin("terminalreporter") if config else None
        if config is None or reporter is None:
            print(text, file=sys.__stderr__, flush=True)
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        if capture is None:
            reporter.write_line(text)
            reporter.flush()
            return
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(text)
            reporter.flush()  # as they happen: stdout to a pipe or file is block-buffered

    def start(self) -> Run | Tour:
        if self.run is None:
            self.run = self._new_run()
            self.run.start()
        return self.run

    def _new_run(self) -> Run | Tour:
        assert self.target is not None and self.report_dir is not None
        if len(self.groups) > 1:
            return Tour(self.target, self.groups, report_dir=self.report_dir, allow_disruptive=self.allow_disruptive,
                        progress=self.progress, display=self.console, manifest_extra=self.manifest_extra)  # fmt: skip
        return Run(self.target, report_dir=self.report_dir, allow_disruptive=self.allow_disruptive, group=self.group,
                   progress=self.progress, display=self.console, manifest_extra=self.manifest_extra)  # fmt: skip

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        """Each row's test carries its row id as a marker (selection: `-m T107-02`, `smis-harness run T107-02`)."""
        found = item_row_id(item)
        if found:
            item.add_marker(getattr(pytest.mark, found))

    @pytest.hookimpl(trylast=True)  # after any other plugin's reordering: one pass through the DR sequence
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run rows in the order one pass through the DR sequence visits their stages; rules last."""
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

    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest, scenario: Any) -> None:
        """The row a scenario checks is named by its title: `T107-02 After setrcopygroup failover ...`."""
        found = ROW_ID.match(scenario.name)
        if found:
            request.node.stash[ROW] = found.group(1)

    @pytest.hookimpl(trylast=True)  # after pytest-bdd's own, which marks every step that returned as passed
    def pytest_bdd_after_step(self, request: pytest.FixtureRequest) -> None:
        mark_step_failed(request.node)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """The steps' failures fail the test once the scenario is over. A failure's text is summarized and
        redacted before pytest shows it or writes it to junit.xml: no traceback with frame locals or function
        arguments (they may hold credentials)."""
        report = yield
        if call.when == "call" and report.passed and failures(item):
            report.outcome = "failed"
            report.longrepr = "\n".join(failures(item))
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

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        """Under `smis-harness run` no dot or letter per test (the console has a line per row), unless
        pytest's own output is asked for (`-- -v`); the outcome still counts in pytest's statistics."""
        status = yield
        if self.console is None or self.console.shows_pytest or not status:
            return status
        return (status[0], "", "")

    def pytest_runtest_logfinish(self) -> None:
        if self.console is not None:
            self.console.settle()  # the row's test is over, decided or not

    def pytest_unconfigure(self) -> None:
        if self.console is not None:
            self.console.detach()  # pytest's terminal writer is gone

    def pytest_keyboard_interrupt(self) -> None:
        self.scope.interrupted = True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.interrupts.tearing_down = True
        if self.console is not None:
            self.console.settle()  # an interrupted row's live line goes; teardown's lines follow
        if exitstatus == pytest.ExitCode.INTERRUPTED or self.interrupts.first:
            self.scope.interrupted = True
        self.scope.interrupted_by = self.interrupts.first
        if self.scope.interrupted:
            by = f" by {self.scope.interrupted_by}" if self.scope.interrupted_by else ""
            self.scope.problems.append(f"the run was interrupted{by}")
        if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            self.scope.problems.append("pytest stopped with an internal error")
        if self.run is None and (self.scope.selected or self.scope.problems):
            self.run = self._new_run()
        if self.run is not None:
            self.document = self.run.finish(self.scope, self.interrupts)
            self.exit_code = int(self.document["exit_code"])


def item_row_id(item: pytest.Item) -> str | None:
    """The row a collected test checks: its id is the row id (`harness.steps.row_ids`)."""
    callspec = getattr(item, "callspec", None)
    found = ROW_ID.fullmatch(callspec.id) if callspec is not None else None
    return found.group(0) if found else None


@pytest.fixture(scope="session")
def harness_run(request: pytest.FixtureRequest) -> Run | Tour:
    return request.config.stash[PLUGIN].start()


@pytest.fixture
def row_id(request: pytest.FixtureRequest) -> str:
    found = request.node.stash.get(ROW, None)
    if found is None:
        pytest.fail(f"cannot tell which documented row {request.node.nodeid} is", pytrace=False)
    return found


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
    return tour_key(rows[row_id]) if row_id in rows else (1000, 0)


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
    _refuse_reordering_plugins(config)
    plugin = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, HarnessPlugin)), None)
    if plugin is None:  # plain `pytest -p harness.plugin`: build the run from the command-line options
        plugin = HarnessPlugin()
        config.pluginmanager.register(plugin, "smis-harness-run")
    plugin.configure_from(config)
    config.stash[PLUGIN] = plugin


NO_XDIST = ("pytest-xdist (-n) would drive one pair from several processes at once; the rows of a target run in "
            "one process, in the order of the DR sequence. Run several targets in parallel as separate runs "
            "(separate --config files and report dirs), and leave out -n")  # fmt: skip
NO_RANDOMLY = ("pytest-randomly would shuffle the rows, but they must run in the order of the DR sequence (each "
               "row's stage follows the previous one); disable it with -p no:randomly")  # fmt: skip


def _refuse_reordering_plugins(config: pytest.Config) -> None:
    """One target is driven by one process, row after row in tour order."""
    numprocesses = config.getoption("numprocesses", None) if config.pluginmanager.hasplugin("xdist") else None
    if numprocesses:
        raise pytest.UsageError(NO_XDIST)
    if config.pluginmanager.hasplugin("randomly"):
        raise pytest.UsageError(NO_RANDOMLY)
