"""`smis-harness run` with several targets: `--config A.yaml --config B.yaml ... [--jobs N]`, and the
default run (no `--config`), which runs the built-in simulated pair and SLD trio this way.

Each target runs as its own `smis-harness run --config FILE --report-dir <report-dir>/<name>/` worker
process (`harness.child_runs`): one target is never driven by two workers, and at most `--jobs` run at
once. Each worker's output goes to `<report-dir>/<name>.log`; the console shows a line per target as it
starts and as it ends, then the combined headline as its last line. `<report-dir>/results.json` is the
combined result (`harness.target_merge`), `<report-dir>/index.html` the multi-run matrix.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.child_runs import Children, harness_command, last_line, read_results, signals_to
from harness.config import ConfigError, TargetConfig
from harness.deviation_format import DeviationError
from harness.overall import EXIT_USAGE, out_of_scope_reason
from harness.report_dir import ReportDirError, prepare_report_dir
from harness.result_files import now_iso
from harness.run import array_id
from harness.run_command import RunRequest, check_selection, load_target, print_plan, run_suite
from harness.spec import load_spec
from harness.target_dirs import target_names
from harness.target_merge import TargetRun, merge_documents, write_combined

BUILTIN_TARGETS = ("pair", "sld")
"""What the default run covers: every documented row is in scope on one of them."""


class TargetsError(ValueError):
    """Bad input to a run of several targets; the message names the file or option."""


@dataclass(frozen=True)
class Target:
    name: str  # its directory under the report dir
    path: Path  # its config file
    config: TargetConfig


def builtin_target_file(kind: str) -> Path:
    """The packaged simulated target (the same file `smis-harness run` without --config used to run alone)."""
    from importlib import resources

    return Path(str(resources.files("harness") / "targets" / f"mock-{kind}.yaml"))


def run_targets(request: RunRequest, configs: list[str], jobs: int | None) -> int:
    """`smis-harness run` with several `--config`, or none; returns the exit code."""
    try:
        paths = _config_paths(request, configs)
        targets = load_targets(paths, request) if len(paths) > 1 else []
    except (TargetsError, ConfigError, DeviationError) as exc:
        print(f"smis-harness run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if len(paths) == 1:  # a selection only one built-in target has rows for: the run of that target alone
        return run_suite(replace(request, config=None if paths[0] == builtin_target_file("pair") else str(paths[0])))
    try:
        report_dir = prepare_report_dir(request.report_dir, force=request.force, create=not request.dry_run)
    except ReportDirError as exc:
        print(f"smis-harness run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if request.dry_run:
        for target in targets:
            print(f"== target {target.name} ({target.path}) ==")
            print_plan(target.config, request)
        return 0
    assert report_dir is not None
    for target in targets:  # the workers print them into their logs: the user sees them here
        for warning in target.config.transport_warnings():
            print(f"smis-harness run: WARNING: target {target.name}: {warning}", file=sys.stderr, flush=True)
    return TargetsRun(targets, request, report_dir, default_jobs(len(targets), jobs)).run()


def default_jobs(targets: int, jobs: int | None) -> int:
    """`--jobs`, else one worker per target up to the machine's cores."""
    return max(1, min(targets, jobs or os.cpu_count() or 1))


def _config_paths(request: RunRequest, configs: list[str]) -> list[Path]:
    """The config files to run: those given (each checked to exist, none twice), else the built-in ones the
    selection has a row for."""
    if request.rerun:
        raise TargetsError("--rerun reruns one run: give it with one --config or none (a run of several targets: "
                           "rerun one target's directory, e.g. --rerun RUN_DIR/<target>)")  # fmt: skip
    problem = check_selection(request)
    if problem:
        raise TargetsError(problem)
    if not configs:
        return [builtin_target_file(k) for k in BUILTIN_TARGETS if applies(k, request.select)]
    paths: dict[Path, str] = {}
    for given in configs:
        if not given.strip():
            raise TargetsError("--config: empty file name; give a file, or leave --config out")
        path = Path(given).expanduser()
        if not path.is_file():
            raise TargetsError(f"--config {given}: no such configuration file")
        key = path.resolve()
        if key in paths:
            raise TargetsError(f"--config {given}: given twice (also as {paths[key]}); one target is never driven by "
                               "two workers: give each target once")  # fmt: skip
        paths[key] = given
    return list(paths)


def applies(topology: str, select: list[str]) -> bool:
    """Whether a target of `topology` has a row of the selection (every row when nothing is selected) in scope."""
    rows = [r for r in load_spec().rows.values() if not select or r.id in select or r.table in select]
    return any(out_of_scope_reason(r, topology, None) is None for r in rows)


def load_targets(paths: list[Path], request: RunRequest) -> list[Target]:
    """Each config loaded and checked as its run would (with --deviations); two configs naming the same real
    array are refused: one array is never driven by two workers."""
    names = target_names(paths)
    targets = [Target(name, path, load_target(replace(request, config=str(path))))
               for name, path in zip(names, paths, strict=True)]  # fmt: skip
    seen: dict[str, Target] = {}
    for target in targets:
        if target.config.is_simulated:  # each run starts simulated arrays of its own
            continue
        for key in target.config.array_keys:
            array = array_id(target.config.array(key))
            if array in seen and seen[array] is not target:
                raise TargetsError(f"--config {target.path}: its {key} array {array} is also in {seen[array].path}; "
                                   "one array is never driven by two workers: give each target once")  # fmt: skip
            seen[array] = target
    return targets


def selected_rows(select: list[str], pytest_args: list[str]) -> set[str] | None:
    """The row ids the user's selection names (None: every row, or a selection pytest makes itself)."""
    if not select or any(a.startswith(("-k", "-m")) for a in pytest_args):
        return None
    return {r.id for r in load_spec().rows.values() if r.id in select or r.table in select}


class TargetsRun:
    """The workers of one run of several targets, their console lines, the combined files."""

    def __init__(self, targets: list[Target], request: RunRequest, report_dir: Path, jobs: int) -> None:
        self.targets = targets
        self.request = request
        self.report_dir = report_dir
        self.jobs = jobs
        self.children = Children()
        self.signals = 0
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.started_wall = now_iso()

    def run(self) -> int:
        names = ", ".join(t.name for t in self.targets)
        say(f"{len(self.targets)} targets ({names}), at most {self.jobs} at once, into {self.report_dir}")
        with signals_to(self.interrupt):
            with ThreadPoolExecutor(self.jobs, thread_name_prefix="target") as pool:
                runs = list(pool.map(self.run_one, self.targets))
            return self.finish(runs)

    def interrupt(self, signum: int) -> None:
        """The first signal stops every worker (each tears down and writes its files) and starts no other;
        a second one is passed on too (each worker then skips its teardown and prints what to run by hand)."""
        name = signal.Signals(signum).name
        self.signals += 1
        stopped = self.children.interrupt(signum)
        if stopped is not None:
            say(f"{name}: stopping {stopped} running target(s), each tears down and writes its files; no other starts "
                "(again to skip their teardown)")  # fmt: skip
        elif self.signals == 2:
            say(f"{name} again: passing it on; each target skips its teardown")
            self.children.pass_on(signum)

    def command(self, target: Target) -> list[str]:
        request = self.request
        return [*harness_command(), "run", "--config", str(target.path), "--report-dir",
                str(self.report_dir / target.name),
                *(["--deviations", str(Path(request.deviations).resolve())] if request.deviations else []),
                *(["--allow-disruptive"] if request.allow_disruptive else []), *request.select,
                *(["--", *request.pytest_args] if request.pytest_args else [])]  # fmt: skip

    def run_one(self, target: Target) -> TargetRun:
        run = TargetRun(target.name, str(target.path), target.config.config_hash(), target.config.topology,
                        selected_rows(self.request.select, self.request.pytest_args))  # fmt: skip
        log = self.report_dir / f"{target.name}.log"
        if self.children.stop.is_set():
            run.failure = f"not started: the run was interrupted ({self.children.stopped_by})"
            say(f"target {target.name}: {run.failure}")
            return run
        run.log = str(log)
        say(f"target {target.name}: started ({target.path}; output in {log})")
        try:
            finished = self.children.run(target.name, self.command(target), log)
        except OSError as exc:
            run.failure = f"its worker could not start: {exc}"
            say(f"target {target.name}: ERROR: {run.failure}")
            return run
        run.exit_code, run.seconds, run.failure = finished.code, finished.seconds, finished.failure
        run.document, problem = read_results(self.report_dir / target.name)
        if run.document is None:
            run.decided = _decided(self.report_dir / target.name)
            run.failure = run.failure or f"crashed: {problem}; last output: {last_line(log)}"
        say(f"target {target.name}: {_ending(run)}  ({run.seconds:.1f} s)")
        if run.document is None and not target.config.is_simulated:
            say(f"target {target.name}: its arrays may be out of their natural state: see `smis-harness restore "
                f"--config {target.path} --allow-disruptive`")  # fmt: skip
        return run

    def finish(self, runs: list[TargetRun]) -> int:
        from harness import __version__

        extra: dict[str, Any] = {"harness_version": __version__, "started": self.started_wall, "jobs": self.jobs,
                                 "duration_s": round(time.monotonic() - self.started, 3)}  # fmt: skip
        document = merge_documents(runs, interrupted_by=self.children.stopped_by, extra=extra)
        path = write_combined(self.report_dir, document)
        _render(self.report_dir)
        for run in runs:
            _print_commands_to_run(run)
        print(f"results (all targets): {path}", file=sys.stderr, flush=True)
        print(document["headline"], flush=True)
        return int(document["exit_code"])


def _ending(run: TargetRun) -> str:
    if run.document is None:
        return f"ERROR: {run.failure} (log: {run.log})"
    headline = str(run.document.get("headline", ""))
    return headline + (f" ({run.failure})" if run.failure else "")


def _decided(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The rows a run without results.json had decided (results.jsonl; a line cut short is left out)."""
    import json

    decided: dict[str, dict[str, Any]] = {}
    try:
        lines = (run_dir / "results.jsonl").read_text(errors="replace").splitlines()
    except OSError:
        return decided
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            decided[row["id"]] = row
    return decided


def _print_commands_to_run(run: TargetRun) -> None:
    for state in run.final_states():
        if isinstance(state, dict) and state.get("natural") is False:
            print(f"target {run.name}: THE ARRAYS WERE LEFT OUT OF THEIR NATURAL STATE; to restore by hand:",
                  file=sys.stderr, flush=True)  # fmt: skip
            for command in state.get("commands_to_run") or []:
                print(f"  {command}", file=sys.stderr, flush=True)


def _render(report_dir: Path) -> None:
    try:
        from harness.report.targets import render_targets_report

        path = render_targets_report(report_dir)
    except Exception as exc:  # the verdicts are on disk already: a report failure must not change them
        print(f"smis-harness: the combined HTML report could not be written ({type(exc).__name__}: {exc}); "
              f"regenerate it with `smis-harness report {report_dir}`", file=sys.stderr)  # fmt: skip
        return
    print(f"report (all targets): {path}", file=sys.stderr, flush=True)


def say(line: str) -> None:
    print(line, flush=True)
