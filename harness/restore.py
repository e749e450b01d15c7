"""`smis-harness restore`: return a group to its natural state from wherever it is, with a run's
preflight (identity, targets, the group on every array) and consent rules, printing each command.
Exit 0 when the group is natural afterwards, 4 when not (the commands to run by hand are printed)."""

from __future__ import annotations

import sys
import time

from harness.array_cli import Transcript
from harness.config import ConfigError, TargetConfig, load_config
from harness.journey import Journey, RunContext
from harness.lock import ArrayInUse, ArrayLocks, holder_info
from harness.overall import EXIT_NOT_NATURAL, EXIT_USAGE
from harness.redact import Redactor
from harness.report_dir import ReportDirError, prepare_report_dir
from harness.result_files import ResultsWriter
from harness.run import array_id


def restore_group(config_path: str, group: str | None, allow_disruptive: bool, report_dir: str | None) -> int:
    try:
        target = load_config(config_path)
    except ConfigError as exc:
        print(f"smis-harness restore: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = _refusal(target, group, allow_disruptive)
    if problem:
        print(f"smis-harness restore: {problem}", file=sys.stderr)
        return EXIT_USAGE
    group = group or target.groups[0]
    try:
        out = prepare_report_dir(report_dir)
    except ReportDirError as exc:
        print(f"smis-harness restore: {exc}", file=sys.stderr)
        return EXIT_USAGE
    assert out is not None
    redactor = Redactor(target.secret_values())
    results = ResultsWriter(out, redactor)

    def progress(text: str) -> None:
        print(redactor.text(text), flush=True)

    locks = ArrayLocks()
    try:
        locks.acquire([(k, array_id(target.array(k))) for k in target.array_keys], holder_info(out))
    except ArrayInUse as exc:
        progress(f"smis-harness restore: {exc}")
        return EXIT_NOT_NATURAL
    ctx = RunContext(config=target, transcript=Transcript(sink=results.write_transcript),
                     observation_sink=results.write_observation, allow_disruptive=True, progress=progress,
                     t0=time.monotonic())  # fmt: skip
    journey = Journey(ctx, group, require_natural=False, watch_interference=False)
    try:
        journey.start()
        if journey.setup_error:
            progress(f"NOT RESTORED: {journey.setup_error}")
            return EXIT_NOT_NATURAL
        journey.close()
    finally:
        locks.release()
    final = journey.final_state
    progress(f"transcript and observations: {out}")
    if final.get("natural"):
        progress(f"RESTORED: group {group} is in its natural state")
        return 0
    progress(f"NOT RESTORED: group {group} is not in its natural state; run by hand:")
    for command in final.get("commands_to_run", []):
        progress(f"  {command}")
    return EXIT_NOT_NATURAL


def _refusal(target: TargetConfig, group: str | None, allow_disruptive: bool) -> str | None:
    if target.is_simulated:
        return ("the built-in simulated arrays start natural on every run; restore acts on a lab pair "
                "(or on arrays served by `smis-harness mock serve`)")  # fmt: skip
    if not target.disruptive_allowed(allow_disruptive):
        return (f"restore changes the pair: it needs `safety: disruptive: true` in {target.source} and "
                "--allow-disruptive on the command line")  # fmt: skip
    if group is not None and group not in target.groups:
        return f"group {group!r} is not a group of {target.source} ({', '.join(target.groups)})"
    if not target.groups:
        return f"{target.source} names no group"
    return None
