"""`smis-harness run`: load and check the configuration, then run the suite through pytest."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harness import plugin as plugin_module
from harness.config import ConfigError, TargetConfig, builtin_config, load_config
from harness.console import Console
from harness.deviation_format import DeviationError, load_deviations
from harness.interrupts import Interrupts
from harness.overall import EXIT_CODES, EXIT_USAGE
from harness.poll import transient_checks, window_rows
from harness.report import render_after_run
from harness.report.junit import add_overall_verdict
from harness.report_dir import ReportDirError, prepare_report_dir
from harness.rerun import RerunError, rerun_plan
from harness.spec import Row, load_spec
from harness.stages import NATURAL, NoPath, StageGraph, row_stage, tour_key
from harness.tour import tour_plan

# pytest's verbosity asked for after `--`: its own output is shown (otherwise only the console's)
PYTEST_VERBOSE = re.compile(r"-v+|--verbose|--verbosity(=.*)?")
PYTEST_QUIET = ["-qq", "--no-summary"]  # no header, file names or summary; the plugin drops the dots
# the harness's own pytest session loads only what it needs (no hypothesis, timeout... plugins of the environment)
PYTEST_PLUGINS = ["--disable-plugin-autoload", "-p", "pytest_bdd.plugin"]


@dataclass
class RunRequest:
    config: str | None = None
    deviations: str | None = None
    report_dir: str | None = None
    allow_disruptive: bool = False
    dry_run: bool = False
    force: bool = False
    select: list[str] = field(default_factory=list)
    pytest_args: list[str] = field(default_factory=list)
    rerun: str | None = None  # an earlier run dir: run again only its rows not decided PASS/SKIPPED
    manifest_extra: dict[str, Any] = field(default_factory=dict)
    on_finished: Callable[[Path], object] | None = None  # called with the run dir before the headline prints


def run_suite(request: RunRequest) -> int:
    try:
        earlier = rerun_plan(request) if request.rerun else None
        target = load_target(request)
        if earlier is not None:
            earlier.check_same_config(target)
    except (ConfigError, DeviationError, RerunError) as exc:
        print(f"smis-harness run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if earlier is not None and not request.select:
        print(f"nothing to rerun: no row of {earlier.run_dir} was FAIL, ERROR, NOT_OBSERVED or undecided")
        return 0
    problem = check_selection(request)
    if problem:
        print(f"smis-harness run: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report_dir = prepare_report_dir(request.report_dir, force=request.force, create=not request.dry_run)
    except ReportDirError as exc:
        print(f"smis-harness run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in target.transport_warnings():
        print(f"smis-harness run: WARNING: {warning}", file=sys.stderr, flush=True)
    if request.dry_run:
        print_plan(target, request)
        return 0
    if earlier is not None:
        request.on_finished = earlier.report_changes
    assert report_dir is not None
    console = Console(shows_pytest=any(PYTEST_VERBOSE.fullmatch(a) for a in request.pytest_args))
    try:
        return _pytest(target, request, report_dir, console)
    finally:
        console.close()


def check_selection(request: RunRequest) -> str | None:
    """What is wrong with the rows and pytest options asked for, or None."""
    refused = _refused_pytest_args(request.pytest_args)
    if refused:
        return refused
    unknown = _unknown_selection(request.select)
    if unknown:
        return (f"unknown row id or tag: {', '.join(unknown)} (ids like T107-02, tags table106 table107 sld "
                "rules)")  # fmt: skip
    return None


def load_target(request: RunRequest) -> TargetConfig:
    """The target `request.config` names (default: the built-in simulated pair), with `request.deviations`."""
    for option, value in (("--config", request.config), ("--deviations", request.deviations)):
        if value is not None and not value.strip():
            raise ConfigError(option, f"empty file name; give a file, or leave {option} out")
    target = load_config(request.config) if request.config is not None else builtin_config("pair")
    if request.deviations is not None:
        if target.simulated is None:
            raise ConfigError(request.deviations, "--deviations applies to the built-in simulated arrays only")
        load_deviations(request.deviations)
        simulated = target.simulated.model_copy(update={"deviations": Path(request.deviations).resolve()})
        target = target.model_copy(update={"simulated": simulated})
    return target


def _refused_pytest_args(args: list[str]) -> str | None:
    """pytest options that would break the order of the rows or drive one pair from several processes."""
    plugins = {args[i + 1] for i, a in enumerate(args[:-1]) if a == "-p"} | {a[2:] for a in args if a.startswith("-p")}
    if plugins & {"xdist", "xdist.plugin"} or any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        return plugin_module.NO_XDIST
    if plugins & {"randomly", "pytest_randomly"}:
        return plugin_module.NO_RANDOMLY
    return None


def _unknown_selection(select: list[str]) -> list[str]:
    known = set(load_spec().rows) | {"table106", "table107", "sld", "rules"}
    return [s for s in select if s not in known]


def _pytest(target: TargetConfig, request: RunRequest, report_dir: Path, console: Console) -> int:
    """One pytest session: one group, or several sharing one tour of the pair (`harness.tour`: commands per
    group, events once), each group's files in its own directory and the results merged."""
    groups = list(target.groups)
    if len(groups) > 1:
        return _session(target, request, report_dir, None, console, groups)
    return _session(target, request, report_dir, groups[0] if groups else None, console)


def _session(
    target: TargetConfig,
    request: RunRequest,
    report_dir: Path,
    group: str | None,
    console: Console,
    groups: list[str] | None = None,
) -> int:
    import pytest

    from harness.plugin import HarnessPlugin

    report_dir.mkdir(parents=True, exist_ok=True)
    interrupts = Interrupts()
    plugin = HarnessPlugin(target, report_dir=report_dir, allow_disruptive=request.allow_disruptive, group=group,
                           groups=groups, interrupts=interrupts, manifest_extra=request.manifest_extra,
                           console=console)  # fmt: skip
    args = [
        *PYTEST_PLUGINS,
        "--pyargs",
        "harness.suite",
        "-c",
        str(resources.files("harness") / "suite" / "pytest.ini"),
        f"--junitxml={report_dir / 'junit.xml'}",
        *(["-rfEx"] if console.shows_pytest else PYTEST_QUIET),
        "--rootdir",  # test ids read harness/suite/test_conformance.py::..., wherever the package is installed
        str(Path(str(resources.files("harness"))).parent),
        *(["-m", " or ".join(request.select)] if request.select else []),
        *request.pytest_args,
    ]
    with interrupts.installed():
        try:
            code = pytest.main(args, plugins=[plugin_module, plugin])
        except Exception as exc:  # pytest's own reporting failed (once: formatting an interrupt's traceback)
            print(f"WARNING: pytest itself failed after the run ({type(exc).__name__}: {exc}); the run's "
                  "results are written as recorded", file=sys.stderr)  # fmt: skip
            code = pytest.ExitCode.INTERNAL_ERROR
    if plugin.document is None:
        if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
            return EXIT_USAGE
        print(f"ERROR: pytest ended ({code!s}) before the run wrote any result", file=sys.stderr)
        return EXIT_CODES["error"]
    assert plugin.run is not None
    add_overall_verdict(report_dir / "junit.xml", plugin.document, plugin.run.redactor)
    for each in groups or []:
        render_after_run(report_dir / each)  # each group's own report, then the merged one
    render_after_run(report_dir)
    if request.on_finished is not None:
        request.on_finished(report_dir)
    # the console's last line is the overall verdict, as results.json, the report and junit.xml say it
    where = f"results{' (all groups)' if groups else ''}: {report_dir / 'results.json'}"
    console.finish(plugin.document, where)  # the verdict table, then the headline
    assert plugin.exit_code is not None
    return plugin.exit_code


def print_plan(target: TargetConfig, request: RunRequest) -> None:
    """The steps a run would take, in order, without touching any array."""
    if target.topology != "pair":
        print(f"plan for group {', '.join(target.groups) or '<group>'} ({target.topology}):")
        print("  -> stage natural: check SLD-01, SLD-02, SLD-03 on both secondaries (nothing is changed)")
        print("  T106/T107 rows need a pair target and are skipped; rules are checked on every observation")
        return
    spec = load_spec()
    rows = [r for r in spec.rows.values() if r.table in ("table106", "table107")]
    if request.select:
        rows = [r for r in rows if r.id in request.select or r.table in request.select]
    stages: list[tuple[str, list[str]]] = []
    for row in sorted(rows, key=tour_key):
        stage = row_stage(row)
        if not stages or stages[-1][0] != stage:
            stages.append((stage, []))
        stages[-1][1].append(row.id)
    graph = StageGraph(available=target.action_names())
    group = target.groups[0] if target.groups else "<group>"
    names = {"primary": group, "secondary": f"{group}.r<primary system id>"}
    print(f"plan for group {group} ({target.topology}, {'simulated' if target.is_simulated else 'real'} arrays):")
    for line in tour_plan(target):
        print(f"  {line}")
    current = NATURAL
    disruptive_ok = target.disruptive_allowed(request.allow_disruptive)
    for stage, ids in stages:
        try:
            legs = graph.plan(current, stage)
        except NoPath as exc:
            print(f"  [{', '.join(ids)}] SKIPPED: {exc}")
            continue
        for leg in legs:
            for step in leg.steps:
                print(f"    {step.describe(names)}")
        note = "" if stage == NATURAL or disruptive_ok else "  (SKIPPED: disruptive rows need --allow-disruptive)"
        print(f"  -> stage {stage}: check {', '.join(ids)}{note}")
        current = stage
    print("  rules RULE-01..09 checked on every observation; teardown returns the group to its natural state")
    _print_polling(target, rows)


def _print_polling(target: TargetConfig, rows: list[Row]) -> None:
    polling = target.polling
    checks = transient_checks(window_rows(rows, target.topology), polling.transients.model_dump(), polling.min_gap)
    if not checks:
        return
    print(f"polling: a sample of each array every {polling.interval:g} s; while a command runs, back to back "
          f"(starts at least {polling.min_gap:g} s apart)")  # fmt: skip
    for check in checks:
        print(f"  {check.describe()}")

