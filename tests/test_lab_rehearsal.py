"""Rehearsing the lab path without guessing: `mock serve --write-config FILE` in its own process writes a
lab-style target, and `smis-harness run --config FILE --allow-disruptive` (another process) takes exactly
the code path of a real pair (no `simulated:` section; events and faults are scripts calling `mock ctl`).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.array_cli import ArrayCli, SshEndpoint, Transcript
from harness.config import load_config
from harness.showrcopy import base_group_name, parse_showrcopy
from harness.spec import load_spec
from tests.server_output import first_json_line

CLI = [sys.executable, "-m", "harness.command_line"]
SPEC = load_spec()
PAIR_ROWS = [r.id for r in SPEC.rows.values() if r.table in ("table106", "table107", "rules")]
NATURAL_ROLE = {"primary": "Primary", "secondary": "Secondary"}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    info: dict[str, Any]
    config: Path


def client_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}


def serve(config: Path, *args: str) -> Served:
    proc = subprocess.Popen(
        [*CLI, "mock", "serve", "--write-config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=client_env(),
    )
    return Served(proc, first_json_line(proc, "mock serve", lambda: proc.communicate(timeout=30)[1]), config)


def stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("mock serve did not stop within 30 s of SIGTERM") from None
    return proc.returncode


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    config = tmp_path_factory.mktemp("lab") / "lab.yaml"
    served = serve(config, "--behaviour", "10.5", "--groups", "1")
    try:
        yield served
    finally:
        stop(served.proc)


def secrets_of(info: dict[str, Any]) -> list[str]:
    values = [info["control"]["token"]]
    for array in info["arrays"].values():
        values += [array["password"], array["ssh_password"]]
    return values


def ctl(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    control = served.config.with_name("lab.control.json")
    return subprocess.run([*CLI, "mock", "ctl", "--control", str(control), *args],
                          capture_output=True, text=True, timeout=60, env=client_env())  # fmt: skip


# --------------------------------------------------------------------------- the written configuration


def test_the_written_config_is_lab_style_with_every_secret_in_a_private_file_beside_it(lab: Served) -> None:
    text = lab.config.read_text()
    assert all(secret not in text for secret in secrets_of(lab.info)), "a secret in the YAML"
    document = yaml.safe_load(text)
    assert "simulated" not in document and document["safety"] == {"disruptive": True}
    assert document["groups"] == lab.info["groups"]
    for key, info in lab.info["arrays"].items():
        array = document["arrays"][key]
        assert array["identity"] == {"system_name": info["system_name"], "serial": str(info["serial"])}
        assert array["cim"]["url"] == info["cim_url"] and array["cim"]["ca_cert"] == info["ca_cert"]
        assert array["ssh"]["host_key"] == info["ssh_host_key"] and array["ssh"]["port"] == info["ssh_port"]
        for section, secret in (("cim", info["password"]), ("ssh", info["ssh_password"])):
            path = lab.config.parent / array[section]["password_file"]
            assert path.parent == lab.config.parent
            assert path.read_text().strip() == secret
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    control = lab.config.with_name("lab.control.json")
    assert stat.S_IMODE(control.stat().st_mode) == 0o600
    assert json.loads(control.read_text()) == lab.info["control"]
    actions = {**document["events"], **document["faults"]}
    assert set(actions) == {"primary_down", "primary_up", "recover_fails", "restore_fails", "sync_status_new",
                            "sync_status_notsynced", "sync_status_stale"}  # fmt: skip
    for name, action in actions.items():
        assert action["kind"] == "script", name
        assert action["command"][3:7] == ["mock", "ctl", "--control", str(control)], action
    config = load_config(lab.config)
    assert not config.is_simulated
    assert config.disruptive_allowed(True) and not config.disruptive_allowed(False)


def test_mock_ctl_reaches_the_control_interface_without_the_token_on_its_command_line(lab: Served) -> None:
    done = ctl(lab, "state")
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)["state"]
    assert [g["name"] for g in state["groups"]] == lab.info["groups"]
    refused = ctl(lab, "array_down", "array=tertiary")
    assert refused.returncode == 1 and "tertiary" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["state", "array"], "KEY=VALUE"), (["--control", "/nonexistent/c.json", "state"], "no control file")],
)
def test_mock_ctl_usage_errors_exit_2_with_a_message(lab: Served, args: list[str], needle: str) -> None:
    if args[0] == "--control":
        done = subprocess.run([*CLI, "mock", "ctl", *args], capture_output=True, text=True, timeout=60)
    else:
        done = ctl(lab, *args)
    assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr, done.stderr


# --------------------------------------------------------------------------- the run on the lab path


def showrcopy_problems(served: Served) -> list[str]:
    """What keeps each array's `showrcopy` from the natural state (group Started, natural role, volumes Synced,
    every target ready), read over SSH and parsed here."""
    problems: list[str] = []
    group = served.info["groups"][0]
    for key, info in served.info["arrays"].items():
        password = served.config.with_name(f"lab.{key}.ssh.pw").read_text().strip()
        endpoint = SshEndpoint(info["ssh_host"], info["ssh_port"], info["ssh_user"], password=lambda p=password: p,
                               host_key=info["ssh_host_key"], timeout=20)  # fmt: skip
        cli = ArrayCli(key, endpoint, Transcript())
        try:
            report = parse_showrcopy(cli.run("showrcopy").stdout)
        finally:
            cli.close()
        found = [g for g in report.groups if base_group_name(g.name)[0] == group]
        if len(found) != 1:
            problems.append(f"{key}: groups {[g.name for g in report.groups]}")
            continue
        g = found[0]
        if (g.role, g.status) != (NATURAL_ROLE[key], "Started"):
            problems.append(f"{key}: {g.name} {g.role}/{g.status}")
        problems += [f"{key}: {v.local_vv} {v.sync_status}" for v in g.volumes if v.sync_status != "Synced"]
        problems += [f"{key}: target {t.name} {t.status}" for t in report.targets if t.status != "ready"]
    return problems


def test_run_on_the_written_config_takes_the_lab_path_passes_every_pair_row_and_leaves_the_pair_natural(
    lab: Served, tmp_path: Path
) -> None:
    assert showrcopy_problems(lab) == []
    report = tmp_path / "report"
    done = subprocess.run(
        [*CLI, "run", "--config", str(lab.config), "--allow-disruptive", "--report-dir", str(report)],
        capture_output=True, text=True, timeout=600, env=client_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown[-6000:]
    document = json.loads((report / "results.json").read_text())
    verdicts = {r["id"]: r["verdict"] for r in document["rows"]}
    assert {i: verdicts.get(i) for i in PAIR_ROWS} == dict.fromkeys(PAIR_ROWS, "pass"), shown[-6000:]
    assert {v for i, v in verdicts.items() if i.startswith("SLD")} == {"skipped"}
    manifest = document["manifest"]
    assert manifest["config"].get("simulated") is None and "started simulated" not in shown, "the lab code path"
    assert manifest["disruptive_allowed"] is True
    assert manifest["simulated"] is True, "the provider's own description still says these arrays are simulated"
    kinds = {e["evidence"]["kind"] for e in document["events"] if e["kind"] in ("event_done", "fault_done")}
    assert kinds == {"script"}, "events and faults ran as the lab's scripts"
    assert document["final_state"]["natural"] is True
    assert showrcopy_problems(lab) == [], "the pair is natural again, as showrcopy prints it"
    for path in [p for p in report.rglob("*") if p.is_file()]:
        text = path.read_text(errors="replace")
        for secret in secrets_of(lab.info):
            assert secret not in text, f"a secret in {path.name}"
    assert all(secret not in shown for secret in secrets_of(lab.info)), "a secret in the run's output"


# --------------------------------------------------------------------------- the serve process


def test_serve_removes_the_secret_files_when_it_stops(tmp_path: Path) -> None:
    config = tmp_path / "rehearsal.yaml"
    served = serve(config)
    secret_files = sorted(p.name for p in tmp_path.iterdir() if p != config)
    assert secret_files == ["rehearsal.control.json", "rehearsal.primary.cim.pw", "rehearsal.primary.ssh.pw",
                            "rehearsal.secondary.cim.pw", "rehearsal.secondary.ssh.pw"]  # fmt: skip
    assert stop(served.proc) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["rehearsal.yaml"]


def test_write_config_into_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "lab.yaml"
    done = subprocess.run([*CLI, "mock", "serve", "--write-config", str(target)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and str(target) in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == "", "no JSON line: the arrays are not served"


# --------------------------------------------------------------------------- polling slower than the transients


def test_a_2_s_interval_still_catches_every_short_in_progress_state(tmp_path: Path) -> None:
    """The four in-progress rows whose commands take 1-2 s on the simulated pair (start, failover, restore)
    were NOT_OBSERVED with a 2 s interval before samples followed back to back while a command runs."""
    document = yaml.safe_load((Path(__file__).parents[1] / "fixtures" / "mock-pair.yaml").read_text())
    document["polling"] = {"interval": 2, "settle_samples": 1}
    config = tmp_path / "slow.yaml"
    config.write_text(yaml.safe_dump(document))
    report = tmp_path / "report"
    rows = ["T106-02", "T107-02", "T107-11", "T107-14"]
    done = subprocess.run([*CLI, "run", "--config", str(config), "--report-dir", str(report), *rows],
                          capture_output=True, text=True, timeout=600, env=client_env())  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    verdicts = {r["id"]: r for r in json.loads((report / "results.json").read_text())["rows"]}
    assert {i: verdicts[i]["verdict"] for i in rows} == dict.fromkeys(rows, "pass"), verdicts


def test_dry_run_warns_which_rows_the_polling_cannot_catch_and_what_would(tmp_path: Path) -> None:
    document = yaml.safe_load((Path(__file__).parents[1] / "fixtures" / "mock-pair.yaml").read_text())
    document["polling"] = {"interval": 2, "min_gap": 1.5, "transients": {"failover": 1, "recover": 60}}
    config = tmp_path / "gap.yaml"
    config.write_text(yaml.safe_dump(document))
    done = subprocess.run([*CLI, "run", "--config", str(config), "--dry-run"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line.strip() for line in done.stdout.splitlines() if "WARNING" in line]
    assert len(warnings) == 3, done.stdout  # start, failover, restore: 1 s each; recover: 60 s is fine
    failover = next(w for w in warnings if w.startswith("WARNING failover"))
    assert "T107-02" in failover and "polling.min_gap 1.5 s" in failover and "at most 0.5 s" in failover, failover
    assert any("T106-02" in w for w in warnings) and any("T107-11, T107-14" in w for w in warnings), warnings
    default = subprocess.run([*CLI, "run", "--dry-run"], capture_output=True, text=True, timeout=120)
    assert "polling:" in default.stdout and "WARNING" not in default.stdout, default.stdout


# --------------------------------------------------------------------------- interrupted lab runs, restore


def _run_and_signal(lab: Served, report: Path, out: Path, signals: list[tuple[str, signal.Signals]]) -> int:
    """Start a disruptive run on the lab config; send each signal once its text shows up in the output
    (or in the transcript, for commands); returns the exit code."""
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [*CLI, "run", "--config", str(lab.config), "--allow-disruptive", "--report-dir", str(report)],
            stdout=sink, stderr=subprocess.STDOUT, text=True, env=client_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for text, sig in signals:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and proc.poll() is None:
                    transcript = report / "transcript.jsonl"
                    seen = out.read_text() + (transcript.read_text() if transcript.exists() else "")
                    if text in seen:
                        break
                    time.sleep(0.02)
                assert proc.poll() is None, f"the run ended before {text!r}: {out.read_text()[-3000:]}"
                proc.send_signal(sig)
            return proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_sigterm_during_failover_on_a_lab_pair_ends_natural_with_every_result_file(
    lab: Served, tmp_path: Path
) -> None:
    report, out = tmp_path / "r", tmp_path / "out.txt"
    code = _run_and_signal(lab, report, out, [("setrcopygroup failover", signal.SIGTERM)])
    assert code == 143, out.read_text()[-4000:]
    for name in ("results.json", "junit.xml", "index.html", "transcript.jsonl"):
        assert (report / name).is_file(), name
    document = json.loads((report / "results.json").read_text())
    assert document["verdict"] == "error" and document["final_state"]["natural"] is True
    assert "setrcopygroup failover" in (report / "transcript.jsonl").read_text()
    assert showrcopy_problems(lab) == [], "showrcopy on both arrays shows the natural state"


def test_a_pair_left_failed_over_is_brought_back_by_smis_harness_restore(lab: Served, tmp_path: Path) -> None:
    # a second Ctrl-C skips teardown: the pair stays failed over, and the run says so
    report, out = tmp_path / "r", tmp_path / "out.txt"
    code = _run_and_signal(lab, report, out, [("setrcopygroup recover", signal.SIGINT),
                                              ("teardown: the arrays show", signal.SIGINT)])  # fmt: skip
    assert code == 4, out.read_text()[-4000:]
    left = showrcopy_problems(lab)
    assert left, "the second signal skipped teardown"
    final = json.loads((report / "results.json").read_text())["final_state"]
    assert final["natural"] is False and final["commands_to_run"]

    refused = subprocess.run([*CLI, "restore", "--config", str(lab.config), "--report-dir", str(tmp_path / "x")],
                             capture_output=True, text=True, timeout=60, env=client_env())  # fmt: skip
    assert refused.returncode == 2 and "--allow-disruptive" in refused.stderr
    assert showrcopy_problems(lab) == left, "a refused restore changes nothing"

    restored = subprocess.run(
        [*CLI, "restore", "--config", str(lab.config), "--allow-disruptive", "--report-dir", str(tmp_path / "rs")],
        capture_output=True, text=True, timeout=600, env=client_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stdout[-4000:] + restored.stderr[-2000:]
    assert "RESTORED" in restored.stdout and "setrcopygroup" in restored.stdout, "each command is printed"
    assert showrcopy_problems(lab) == []
    sent = [json.loads(line) for line in (tmp_path / "rs" / "transcript.jsonl").read_text().splitlines()]
    assert any(e["command"].startswith("setrcopygroup") for e in sent)
    again = subprocess.run(
        [*CLI, "restore", "--config", str(lab.config), "--allow-disruptive", "--report-dir", str(tmp_path / "rs2")],
        capture_output=True, text=True, timeout=120, env=client_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert again.returncode == 0 and "stage natural" in again.stdout
    assert not any(json.loads(line)["command"].startswith(("setrcopygroup", "startrcopygroup", "stoprcopygroup"))
                   for line in (tmp_path / "rs2" / "transcript.jsonl").read_text().splitlines())  # fmt: skip
