"""Someone else acting on the pair: a change of role or group status no step of the harness caused stops the
run with ERROR "the pair changed under the harness", never a verdict charged to the provider, and the
harness sends nothing more to that pair (teardown is not attempted; the commands to run by hand are)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from harness.array_cli import ArrayCli, SshEndpoint, Transcript
from harness.interference import CHANGED_UNDER, outside_changes
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec
from harness.observation import CliView, CliVolume, Observation
from tests.test_interruption import _wait_for_sent
from tests.test_lab_actions import lab_config


def _obs(seq: int, t: float, role: str, status: str, target: str = "ready", array: str = "secondary",
         options: tuple[str, ...] = ()) -> Observation:  # fmt: skip
    volumes = (CliVolume("v0", "v0", "Synced", "Synced", None),)
    cli = CliView("rcg.r1", "peer", status, role, "Sync", target, volumes, options=options)
    return Observation(array, seq, t, t + 0.05, "", cli=cli)


def test_a_change_while_no_step_runs_is_found_and_named() -> None:
    timeline = [_obs(0, 1.0, "Secondary", "Started"), _obs(1, 2.0, "Secondary", "Stopped"),
                _obs(2, 3.0, "Secondary", "Stopped")]  # fmt: skip
    [change] = outside_changes(timeline, busy=[(5.0, 9.0)])
    assert (change.array, change.before_seq, change.after_seq) == ("secondary", 0, 1)
    assert change.was == ("Secondary", "Started") and change.now == ("Secondary", "Stopped")
    assert change.describe().startswith(CHANGED_UNDER) and "Secondary/Started to Secondary/Stopped" in (
        change.describe()
    )


def test_a_change_a_step_of_the_harness_overlaps_is_the_harness_doing() -> None:
    timeline = [_obs(0, 1.0, "Secondary", "Stopped", "failed"), _obs(1, 2.0, "Primary-Rev", "Stopped", "failed")]
    assert outside_changes(timeline, busy=[(1.5, 1.9)]) == []
    assert len(outside_changes(timeline, busy=[(2.5, 3.0)])) == 1


def test_the_arrays_own_reactions_are_not_interference() -> None:
    learned_failover = [_obs(0, 1.0, "Primary", "Started", array="primary"),
                        _obs(1, 2.0, "Secondary-Rev", "Stopped", array="primary")]  # fmt: skip
    link_lost = [_obs(0, 1.0, "Primary", "Started", array="primary"),
                 _obs(1, 2.0, "Primary", "Stopped", "failed", array="primary")]  # fmt: skip
    auto_restart = [_obs(0, 1.0, "Primary", "Stopped", options=("auto_recover",)),
                    _obs(1, 2.0, "Primary", "Started", options=("auto_recover",))]  # fmt: skip
    for timeline in (learned_failover, link_lost, auto_restart):
        assert outside_changes(timeline, busy=[]) == [], timeline


def test_the_same_changes_without_their_cause_are_interference() -> None:
    stopped_link_up = [_obs(0, 1.0, "Primary", "Started"), _obs(1, 2.0, "Primary", "Stopped")]
    started_without_auto_recover = [_obs(0, 1.0, "Primary", "Stopped"), _obs(1, 2.0, "Primary", "Started")]
    failed_over = [_obs(0, 1.0, "Secondary", "Stopped"), _obs(1, 2.0, "Primary-Rev", "Stopped")]
    for timeline in (stopped_link_up, started_without_auto_recover, failed_over):
        assert len(outside_changes(timeline, busy=[])) == 1, timeline


def test_unreadable_samples_and_other_arrays_do_not_break_the_sequence() -> None:
    gap = Observation("secondary", 1, 1.5, 1.6, "", cli=None, cli_error="unreachable")
    timeline = [_obs(0, 1.0, "Secondary", "Started"), _obs(5, 1.2, "Primary", "Started", array="primary"), gap,
                _obs(2, 2.0, "Secondary", "Started")]  # fmt: skip
    assert outside_changes(timeline, busy=[]) == []


# --------------------------------------------------------------------------- end to end, lab path


def _smis() -> list[str]:
    script = Path(sys.executable).with_name("smis-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]


def _other_operator(info: dict[str, Any], array: str, command: str) -> str:
    a = info["arrays"][array]
    endpoint = SshEndpoint(a["ssh_host"], a["ssh_port"], a["ssh_user"], password=lambda: a["ssh_password"],
                           host_key=a["ssh_host_key"], timeout=20)  # fmt: skip
    cli = ArrayCli(array, endpoint, Transcript())
    try:
        result = cli.run(command)
        assert result.ok, result.error_text()
        return result.stdout
    finally:
        cli.close()


def test_someone_stopping_the_group_mid_row_stops_the_run_with_error_and_nothing_more_is_sent(
    tmp_path: Path,
) -> None:
    with SimulatedArrays(WorldSpec(topology="pair", groups=1)) as sim:
        info = sim.describe()
        config, env = lab_config(tmp_path, info, faults=False)
        document = yaml.safe_load(config.read_text())
        document["polling"] = {"interval": 0.2, "settle_samples": 25}  # the natural row takes ~5 s to judge
        config.write_text(yaml.safe_dump(document))
        report, out = tmp_path / "report", tmp_path / "out.txt"
        with out.open("w") as sink:
            proc = subprocess.Popen(
                [*_smis(), "run", "--config", str(config), "--allow-disruptive", "--report-dir", str(report),
                 "T106-03", "T107-01"],
                cwd=tmp_path, text=True, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**_client_env(), **env},
            )  # fmt: skip
            try:
                _wait_for_sent(proc, out, "T106-03: waiting for")
                time.sleep(0.6)
                _other_operator(info, "primary", f"stoprcopygroup -f {info['groups'][0]}")
                proc.wait(timeout=180)
            finally:
                if proc.poll() is None:
                    proc.kill()
        shown = out.read_text()
        results = json.loads((report / "results.json").read_text())
        rows = {r["id"]: r for r in results["rows"]}
        assert rows["T106-03"]["verdict"] == "error", shown[-4000:]
        reason = rows["T106-03"]["reason"]  # whichever array's next sample shows it first
        assert reason.startswith(CHANGED_UNDER) and re.search(r"from (Primary|Secondary)/Started to \1/Stopped", reason)
        assert "what was judged:" in reason  # the values the row was being judged on stay visible
        assert rows["T107-01"]["verdict"] == "error" and CHANGED_UNDER in rows["T107-01"]["reason"]
        assert results["verdict"] == "error" and any(CHANGED_UNDER in p for p in results["overall"]["problems"])
        final = results["final_state"]
        assert final["natural"] is False and final["teardown"].startswith("not attempted")
        assert any("startrcopygroup" in c for c in final["commands_to_run"]), final
        assert proc.returncode == 4 and "TEARDOWN NOT ATTEMPTED" in shown
        sent = [json.loads(line) for line in (report / "transcript.jsonl").read_text().splitlines()]
        changing = [e["command"] for e in sent if not e["command"].startswith(("show", "setclienv"))]
        assert changing == [], changing  # the harness itself changed nothing: no stop, no start, no failover
        assert "Traceback" not in shown


def _client_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
