"""`smis-harness mock serve --replay RUN_DIR`: a recorded run served as a provider, over real CIM-XML (HTTPS)
and real SSH on loopback, with its control interface for the events and faults.

One run against the simulated pair with the E1 deviation (T107-02 FAILs: ProgressStatus Splitting (10)
during failover where the manual says Failing Over (11)) is recorded, with two rows so that the tour is
short: T107-02 (in progress, FAIL) and T107-03 (settled after failover, PASS). Served by the replay, the
same run against the written configuration gives the same verdicts, the same values in the reasons and
cells, every recorded step replayed and nothing refused. A request the recording does not hold is refused,
saying what was asked and that the recording does not contain it; input the replay cannot serve is one
line and exit 2.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pywbem
import yaml

from harness.array_cli import ArrayCli, CliResult, SshEndpoint, Transcript
from harness.mock.replay import Hangup, NotRecorded, Replay
from harness.mock.replay_command import load_run
from harness.mock.replay_tour import Step
from harness.rejudge import ELAPSED
from tests.server_output import first_json_line
from tests.test_lab_rehearsal import client_env
from tests.test_run_command import DEVIATIONS, no_traceback, output, smis

CLI = [sys.executable, "-m", "harness.command_line"]
ROWS = ("T107-02", "T107-03")
COUNTS = re.compile(r"\bseqs? \d+(-\d+)?|\b(\d+ of )?\d+ (samples|observations)\b")
"""Sample numbers and counts in a reason: the replayed run numbers and paces its own samples (a sample it
starts as the command leaves may still show the state before it, where the recorded run had none)."""


@dataclass
class Served:
    proc: subprocess.Popen[str]
    info: dict[str, Any]
    config: Path
    log: Path

    def stderr(self) -> str:
        return self.log.read_text()


@contextmanager
def serving(run_dir: Path, where: Path) -> Iterator[Served]:
    """`mock serve --replay run_dir --write-config where/replay.yaml` in its own process, until the block ends."""
    config, log = where / "replay.yaml", where / "serve.err"
    with log.open("w") as err:
        proc = subprocess.Popen([*CLI, "mock", "serve", "--replay", str(run_dir), "--write-config", str(config)],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=client_env())  # fmt: skip
    served = Served(proc, first_json_line(proc, "mock serve --replay", log.read_text), config, log)
    try:
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, one_group_pair: Path) -> Path:
    base = tmp_path_factory.mktemp("recorded")
    report = base / "run"
    proc = smis("run", "--config", str(one_group_pair), "--deviations", str(DEVIATIONS / "e1-failover-splitting.yaml"),
                "--allow-disruptive", "--report-dir", str(report), *ROWS, cwd=base)  # fmt: skip
    assert proc.returncode == 1, output(proc)  # not conformant: T107-02
    return report


def rows(report: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in json.loads((report / "results.json").read_text())["rows"]}


def read_paths(report: Path) -> dict[str, str]:
    arrays = json.loads((report / "results.json").read_text())["manifest"]["arrays"]
    return {key: info["cim_reads"]["path"] for key, info in arrays.items()}


def same_words(reason: str) -> str:
    return COUNTS.sub("<n>", ELAPSED.sub("<t>", reason))


def test_a_replayed_run_gives_the_recorded_verdicts_values_and_steps(recorded: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    with serving(recorded, tmp_path) as served:
        document = yaml.safe_load(served.config.read_text())
        assert "simulated" not in document and set(document["arrays"]) == {"primary", "secondary"}, document
        recorded_paths = read_paths(recorded)
        assert {k: a["cim"]["read"] for k, a in document["arrays"].items()} == recorded_paths, document
        again = tmp_path / "again"
        proc = smis("run", "--config", str(served.config), "--allow-disruptive", "--report-dir", str(again), *ROWS,
                    cwd=tmp_path, env=client_env())  # fmt: skip
    took = time.monotonic() - started
    assert proc.returncode == 1, output(proc)
    log = served.stderr()
    assert "0 requests refused" in log and "every recorded step replayed" in log, log
    assert read_paths(again) == recorded_paths  # pinned: read as recorded, without measuring
    before, after = rows(recorded), rows(again)
    assert list(before) == list(after)
    for row_id, row in before.items():
        replayed = after[row_id]
        assert replayed["verdict"] == row["verdict"], (row_id, row["reason"], replayed["reason"])
        assert same_words(replayed["reason"]) == same_words(row["reason"]), (row_id, row["reason"], replayed["reason"])
        assert _values(replayed) == _values(row), row_id
    t107_02 = after["T107-02"]
    assert t107_02["verdict"] == "fail", t107_02
    assert "expected Failing Over (11), observed Splitting (10)" in t107_02["reason"], t107_02
    [progress] = [c for c in t107_02["cells"] if c["column"] == "ProgressStatus"]
    assert (progress["expected"], progress["observed"], progress["outcome"]) == ("Failing Over (11)", "Splitting (10)",
                                                                                 "fail"), progress  # fmt: skip
    assert after["T107-03"]["verdict"] == "pass" and "CopyState FailedOver (10)" in after["T107-03"]["reason"]
    assert "settled over 3 samples" in after["T107-03"]["reason"]
    recorded_steps = _steps(recorded)
    assert _steps(again) == recorded_steps and any("failover" in s for s in recorded_steps)
    for command, took_then in _durations(recorded).items():  # a replayed command takes its recorded time
        assert _durations(again)[command] >= took_then - 0.05, (command, took_then, _durations(again))
    print(f"replay + run took {took:.1f} s")


def _values(row: dict[str, Any]) -> tuple[str, str]:
    """What a row saw and how each cell came out, without the sample numbers."""
    observed = {k: v for k, v in (row.get("observed") or {}).items() if k != "seq"}
    cells = sorted(json.dumps({k: v for k, v in c.items() if k != "seq"}, sort_keys=True) for c in row["cells"])
    return json.dumps(observed, sort_keys=True), json.dumps(cells)


def _durations(report: Path) -> dict[str, float]:
    """Seconds each command took (the first time it was sent), from the run's events."""
    events = json.loads((report / "results.json").read_text())["events"]
    sent = {e["command"]: e["t"] for e in reversed(events) if e["kind"] == "command"}
    done = {e["command"]: e["t"] for e in reversed(events) if e["kind"] == "command_done"}
    return {command: done[command] - t for command, t in sent.items()}


def _steps(report: Path) -> list[str]:
    events = json.loads((report / "results.json").read_text())["events"]
    return [str(e.get("command") or e.get("name")) for e in events if e["kind"] in ("command", "event", "fault")]


def test_a_request_outside_the_recording_is_refused_and_logged(recorded: Path, tmp_path: Path) -> None:
    with serving(recorded, tmp_path) as served:
        primary = served.info["arrays"]["primary"]
        cli = ArrayCli("primary", _ssh(primary), Transcript())
        showsys = cli.run("showsys")  # a preflight read: answered as recorded
        assert showsys.ok and showsys.stdout == _recorded_stdout(recorded, "primary", "showsys"), showsys
        other = cli.run("setrcopygroup failover -f -waittask some_other_group")
        assert other.status == 1 and other.stderr.startswith("Error: replay of "), other
        assert "`setrcopygroup failover -f -waittask some_other_group` on primary: the recording does not contain " \
               "it before the first step" in other.stderr, other.stderr  # fmt: skip
        assert "the recorded run's next step was event action primary_down" in other.stderr, other.stderr
        unknown = cli.run("showvv")
        assert unknown.status == 1 and "`showvv` on primary: the recording does not contain it" in unknown.stderr
        cli.close()
        conn = pywbem.WBEMConnection(primary["cim_url"], (primary["user"], primary["password"]),
                                     default_namespace=primary["namespace"], ca_certs=primary["ca_cert"])  # fmt: skip
        conn.session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace ca_certs
        with pytest.raises(pywbem.CIMError) as refused:
            conn.EnumerateInstances("TPD_SomethingNeverAsked")
        assert refused.value.status_code == pywbem.CIM_ERR_FAILED
        assert "EnumerateInstances(ClassName=tpd_somethingneverasked, namespace=root/tpd) on primary: the " \
               "recording does not contain it" in str(refused.value.status_description), refused.value  # fmt: skip
        control = served.config.with_name("replay.control.json")
        ctl = subprocess.run([*CLI, "mock", "ctl", "--control", str(control), "replay_step", "kind=event",
                              "name=primary_up"], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert ctl.returncode == 1 and "event action primary_up: the recording does not contain it" in ctl.stderr, ctl
    log = served.stderr()
    for asked in ("some_other_group", "`showvv`", "TPD_SomethingNeverAsked".lower(), "event action primary_up"):
        assert asked in log, (asked, log)
    assert "4 requests refused" in log and "stopped after 0 of 5 steps" in log, log


def _ssh(info: dict[str, Any]) -> SshEndpoint:
    password = str(info["ssh_password"])
    return SshEndpoint(host=info["ssh_host"], port=int(info["ssh_port"]), user=info["ssh_user"],
                       password=lambda: password, host_key=info["ssh_host_key"], timeout=10)  # fmt: skip


def _recorded_stdout(report: Path, array: str, command: str) -> str:
    for line in (report / "transcript.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("state") == "ended" and (entry["array"], entry["command"]) == (array, command):
            return str(entry["stdout"])
    raise AssertionError(f"{command} on {array} is not in the transcript")


# --------------------------------------------------------------------------- the tour logic, on a clock of our own


def test_steps_advance_the_tour_and_a_command_waits_for_its_samples(recorded: Path) -> None:
    tour = load_run(str(recorded))
    now = [1000.0]
    logged: list[str] = []
    replay = Replay(tour, clock=lambda: now[0], log=logged.append)
    showsys = replay.cli("primary", "showsys")
    assert isinstance(showsys, CliResult) and showsys.stdout == _recorded_stdout(recorded, "primary", "showsys")
    [down, failover, *_] = tour.steps
    assert (down.kind, down.what, failover.kind, failover.array) == ("event", "primary_down", "command", "secondary")
    with pytest.raises(NotRecorded, match="the recorded run's next step was event action primary_down"):
        replay.cli("secondary", failover.what)
    assert replay.available("primary", "cli") and replay.available("primary", "cim")
    assert replay.action("event", "primary_down") is down
    # a sample that started while the event action was still being sent may have been answered: the replay
    # answers as the recording did at each moment, so look once the recorded primary stopped answering
    gone = next(x for x in tour.segment_samples(1, "primary") if not x.cli_up)
    now[0] += gone.t_start - tour.segment_start(1) + 0.001
    assert not replay.available("primary", "cli") and not replay.available("primary", "cim"), "the array went down"
    assert isinstance(replay.cli("primary", "showrcopy targets"), Hangup)
    assert replay.available("secondary", "cli")
    assert replay.cli("secondary", failover.what) is failover
    duration = failover.t_end - failover.t_start
    window = tour.in_window("secondary", failover.t_start, failover.t_end)
    assert len(window) > 3, "the recorded poller sampled the command back to back"
    now[0] += duration
    assert not replay.step_done(failover), "its recorded samples are not served yet"
    for sample in window:  # the replayed poller asks what the recorded one asked, in order
        for read in sample.reads:
            got = replay.cli("secondary", read.key[4:]) if read.key.startswith("cli ") else \
                replay.cim("secondary", read.key)  # fmt: skip
            assert not isinstance(got, Hangup | Step)
        assert replay._started["secondary"] == sample.index, "each sample in turn, none skipped"
    assert replay.step_done(failover)
    held = replay.cli("secondary", "showrcopy targets")  # the command still runs: nothing recorded after it
    assert isinstance(held, CliResult) and held.ref == window[-1].reads[0].ref
    assert logged == [replay.refusals[0]] and "setrcopygroup failover" in logged[0]


# --------------------------------------------------------------------------- input it cannot serve


def _replay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return smis("mock", "serve", "--replay", *args, cwd=cwd, timeout=60)


def _one_line_refusal(proc: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smis-harness mock serve --replay: "), output(proc)
    for phrase in phrases:
        assert phrase in lines[0], (phrase, output(proc))
    assert not proc.stdout, "nothing served"


def test_no_such_directory_or_a_file(tmp_path: Path) -> None:
    _one_line_refusal(_replay(str(tmp_path / "absent"), cwd=tmp_path), "absent: no such directory")
    (tmp_path / "a-file").write_text("x")
    _one_line_refusal(_replay(str(tmp_path / "a-file"), cwd=tmp_path), "not a directory")
    (tmp_path / "empty").mkdir()
    _one_line_refusal(_replay(str(tmp_path / "empty"), cwd=tmp_path), "not a finished run directory (no results.json)")


def test_a_run_without_recording_or_of_another_format(recorded: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(recorded, old)
    shutil.rmtree(old / "recording")
    _one_line_refusal(_replay(str(old), cwd=tmp_path), "no recording", "cannot be replayed")
    future = tmp_path / "future"
    shutil.copytree(recorded, future)
    samples = future / "recording" / "samples.jsonl"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join([json.dumps({"kind": "recording", "format": 99}), *lines[1:]]) + "\n")
    _one_line_refusal(_replay(str(future), cwd=tmp_path), "a recording of format 99", "replays format 1")


def test_a_run_of_several_groups_names_its_group_directories(recorded: Path, tmp_path: Path) -> None:
    both = tmp_path / "both"
    for group in ("rcg_sync_0", "rcg_periodic_1"):
        shutil.copytree(recorded, both / group)
    document = json.loads((recorded / "results.json").read_text())
    document["manifest"]["group_runs"] = {"rcg_sync_0": "rcg_sync_0", "rcg_periodic_1": "rcg_periodic_1"}
    (both / "results.json").write_text(json.dumps(document))
    _one_line_refusal(_replay(str(both), cwd=tmp_path), "a run of 2 groups (rcg_sync_0, rcg_periodic_1)",
                      f"{both}/rcg_sync_0")  # fmt: skip
    with serving(both / "rcg_sync_0", tmp_path) as served:  # one group's directory is a run of its own
        assert served.info["groups"] == ["rcg_sync_0"]


def test_options_that_shape_simulated_arrays_do_not_go_with_a_replay(recorded: Path, tmp_path: Path) -> None:
    proc = _replay(str(recorded), "--deviations", str(DEVIATIONS / "e1-failover-splitting.yaml"), cwd=tmp_path)
    _one_line_refusal(proc, "--deviations: shape simulated arrays")
