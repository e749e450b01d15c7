"""`smis-harness run` as a user meets it: exit codes, messages, dry-run, selection, the pytest entry point,
real-array configurations (non-disruptive by default, preflight), unreachable arrays, crash safety.

Everything runs as a subprocess. "Real" arrays are simulated arrays started here, in this process,
and described to the harness by a configuration file without a `simulated:` section, as a lab file
describes a real pair: the harness cannot tell them from real ones.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
DEVIATIONS = FIXTURES / "deviations"
SPEC = yaml.safe_load((ROOT / "tests" / "manual" / "remote-copy-states.yaml").read_text())  # the manual's rows
ALL_IDS = [r["id"] for t in ("table106", "table107", "sld", "rules") for r in SPEC[t]]
TABLE106 = [r["id"] for r in SPEC["table106"]]
TABLE107 = [r["id"] for r in SPEC["table107"]]
RULES = [r["id"] for r in SPEC["rules"]]
NOT_SELECTED = "not run: not selected"


def smis(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("smis-harness")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def output(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def results(report: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in json.loads((report / "results.json").read_text())["rows"]}


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, output(proc)


# --------------------------------------------------------------------------- exit codes


def test_exit_0_when_every_selected_row_passes(tmp_path: Path) -> None:
    proc = smis("run", "--report-dir", str(tmp_path / "r"), "T106-03", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert results(tmp_path / "r")["T106-03"]["verdict"] == "pass"


def test_exit_1_when_a_row_fails(tmp_path: Path) -> None:
    deviations = DEVIATIONS / "stopped-dormant-wrong.yaml"
    proc = smis("run", "--deviations", str(deviations), "--report-dir", str(tmp_path / "r"), "T106-06", cwd=tmp_path)
    assert proc.returncode == 1, output(proc)
    row = results(tmp_path / "r")["T106-06"]
    assert row["verdict"] == "fail" and "Dormant (3)" in row["reason"] and "Completed (2)" in row["reason"], row


BROKEN_CONFIGS = {
    # file text, the field the message must name, a phrase of the explanation
    "bad-value": (
        "topology: pair\ngroups: [rcg_sync_0]\nsimulated: {groups: 2}\npolling: {interval: -1}\n",
        "polling.interval",
        ">= 0.01",
    ),
    "unknown-key": (
        "topology: pair\ngroups: [rcg_sync_0]\nsimulated: {groups: 2}\npolling: {intervall: 1}\n",
        "polling.intervall",
        "interval",
    ),
    "wrong-topology": ("topology: triangle\ngroups: [rcg_sync_0]\nsimulated: {groups: 2}\n", "topology", "pair"),
    "password-env-unset": (
        "topology: pair\ngroups: [g]\narrays:\n"
        "  primary:\n"
        "    cim: {url: 'http://127.0.0.1:5988', user: u, password_env: SMIS_TEST_SURELY_UNSET_A}\n"
        "    ssh: {host: 127.0.0.1, user: u, password_env: SMIS_TEST_SURELY_UNSET_B,"
        " host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'}\n"
        "  secondary:\n"
        "    cim: {url: 'http://127.0.0.1:5988', user: u, password_env: SMIS_TEST_SURELY_UNSET_A}\n"
        "    ssh: {host: 127.0.0.1, user: u, password_env: SMIS_TEST_SURELY_UNSET_B,"
        " host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'}\n",
        "arrays.primary.cim.password_env",
        "SMIS_TEST_SURELY_UNSET_A",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CONFIGS))
def test_exit_2_for_a_broken_config_naming_file_and_field(tmp_path: Path, case: str) -> None:
    text, field, phrase = BROKEN_CONFIGS[case]
    config = tmp_path / f"{case}.yaml"
    config.write_text(text)
    proc = smis("run", "--config", str(config), "--report-dir", str(tmp_path / "r"), cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert str(config) in proc.stderr or config.name in proc.stderr, output(proc)
    assert field in proc.stderr and phrase in proc.stderr, output(proc)
    assert not (tmp_path / "r").exists(), "a configuration error writes no report"


def test_exit_2_for_a_config_file_that_does_not_exist(tmp_path: Path) -> None:
    proc = smis("run", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert "nope.yaml" in proc.stderr, output(proc)


def test_exit_2_for_an_unknown_row_id(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = smis("run", "--report-dir", str(tmp_path / "r"), "T106-03", "T107-99", "tabel106", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert "T107-99" in proc.stderr and "tabel106" in proc.stderr, output(proc)
    message = next(line for line in proc.stderr.splitlines() if "T107-99" in line)
    assert "T106-03" not in message, "only the unknown ones are named"
    assert not (tmp_path / "r").exists()
    assert time.monotonic() - started < 20, "rejected before anything starts"


BROKEN_DEVIATIONS = {
    # file text, what the message must name
    "unknown-key": ("deviations:\n  - id: oops\n    wen: {role: Primary}\n", ("wen",)),
    "bad-yaml": ("deviations: [\n", ("not valid YAML",)),
    "bad-role": ("deviations:\n  - id: oops\n    when: {role: Primary-Reversed}\n", ("role",)),
    "missing-file": (None, ("cannot read",)),
}
BROKEN_DEVIATION_VALUES = {
    # valid YAML and keys, but a property or value the provider's class does not have
    "unknown-property": (
        "deviations:\n  - id: oops\n    cim: {ProgressStatuss: Splitting}\n",
        ("oops", "ProgressStatuss"),
    ),
    "unknown-value": ("deviations:\n  - id: oops\n    cim: {ProgressStatus: Splittin}\n", ("oops", "Splittin")),
}


def _broken_deviation_run(tmp_path: Path, case: str, text: str | None) -> subprocess.CompletedProcess:
    path = tmp_path / f"{case}.yaml"
    if text is not None:
        path.write_text(text)
    return smis("run", "--deviations", str(path), "--report-dir", str(tmp_path / "r"), "T106-03", cwd=tmp_path)


@pytest.mark.parametrize("case", sorted(BROKEN_DEVIATIONS))
def test_exit_2_for_a_broken_deviations_file(tmp_path: Path, case: str) -> None:
    text, names = BROKEN_DEVIATIONS[case]
    proc = _broken_deviation_run(tmp_path, case, text)
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert f"{case}.yaml" in proc.stderr and all(n in proc.stderr for n in names), output(proc)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("case", sorted(BROKEN_DEVIATION_VALUES))
def test_exit_2_for_a_deviation_naming_an_unknown_property_or_value(tmp_path: Path, case: str) -> None:
    text, names = BROKEN_DEVIATION_VALUES[case]
    proc = _broken_deviation_run(tmp_path, case, text)
    no_traceback(proc)
    assert all(n in proc.stderr + proc.stdout for n in names), output(proc)
    assert proc.returncode == 2, output(proc)


# --------------------------------------------------------------------------- dry run


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    report = tmp_path / "r"
    started = time.monotonic()
    proc = smis("run", "--dry-run", "--report-dir", str(report), cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, output(proc)
    plan = proc.stdout
    # commands, on which array, in DR order; events and faults
    expected_in_order = [
        "on primary: stoprcopygroup",
        "event action primary_down",
        "on secondary: setrcopygroup failover",
        "event action primary_up",
        "fault action recover_fails",
        "on secondary: setrcopygroup recover",
        "fault action restore_fails",
        "on secondary: setrcopygroup restore",
    ]
    positions = [plan.find(text) for text in expected_in_order]
    assert all(p >= 0 for p in positions), (
        f"missing: {[t for t, p in zip(expected_in_order, positions, strict=True) if p < 0]}\n{plan}"
    )
    assert positions == sorted(positions), plan
    for row_id in TABLE106 + TABLE107:
        assert row_id in plan, f"the plan does not say where {row_id} is checked\n{plan}"
    # the default runs the SLD trio beside the pair: its plan follows the pair's
    sld_plan = plan.find("== target mock-sld")
    assert plan.find("== target mock-pair") == 0 < sld_plan < plan.find("check SLD-01, SLD-02, SLD-03"), plan
    assert "setrcopygroup" not in plan.replace("on secondary: setrcopygroup", ""), "DR commands go to the secondary"
    # nothing touched: no report directory, no results, nothing started (no simulator start-up, no pytest)
    assert not report.exists()
    assert not (tmp_path / "reports").exists()
    assert "test session starts" not in proc.stdout + proc.stderr
    assert "started simulated" not in proc.stdout + proc.stderr
    assert elapsed < 15, f"a dry run took {elapsed:.1f}s"


def test_dry_run_for_real_arrays_connects_to_nothing(tmp_path: Path) -> None:
    """Arrays on closed ports: a dry run still prints the plan, marks disruptive stages, and exits 0."""
    closed = _closed_port()
    info = _fake_describe(closed)
    config, env = _real_config(tmp_path, info, disruptive=True)
    proc = smis("run", "--config", str(config), "--dry-run", "--report-dir", str(tmp_path / "r"), cwd=tmp_path, env=env)
    assert proc.returncode == 0, output(proc)
    assert "real arrays" in proc.stdout, proc.stdout
    assert "SKIPPED" in proc.stdout and "--allow-disruptive" in proc.stdout, proc.stdout
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- selection


def test_selection_by_row_id_and_tag_runs_only_those_rows(tmp_path: Path, one_group_pair: Path) -> None:
    report = tmp_path / "r"
    proc = smis("run", "--config", str(one_group_pair), "--report-dir", str(report), "T106-06", "rules", cwd=tmp_path)
    # RULE-04 (link down) and RULE-09 (failover) need the DR sequence, which Table 106 alone never drives:
    # selected but not seen, so the run is incomplete, not conformant
    assert proc.returncode == 3, output(proc)
    document = json.loads((report / "results.json").read_text())
    assert document["verdict"] == "incomplete" and document["overall"]["counts"] == {"pass": 8, "skipped": 2}, document
    assert document["headline"].startswith("INCOMPLETE: ") and "skipped (not exercised: " in document["headline"]
    assert proc.stdout.strip().splitlines()[-1] == document["headline"]
    rows = results(report)
    assert list(rows) == ALL_IDS, "results.json lists every documented id"
    selected = {"T106-06", *RULES}
    assert rows["T106-06"]["verdict"] == "pass", rows["T106-06"]
    for rule in RULES:
        assert rows[rule]["verdict"] in ("pass", "skipped"), rows[rule]  # skipped: "not exercised: ..."
        assert NOT_SELECTED not in rows[rule]["reason"]
    for row_id in set(ALL_IDS) - selected:
        assert rows[row_id]["verdict"] == "skipped", rows[row_id]
        assert rows[row_id]["reason"].startswith(NOT_SELECTED), rows[row_id]
    # nothing else was driven: stop/start for normal:Stopped, no DR command, no event
    commands = [json.loads(line)["command"] for line in (report / "transcript.jsonl").read_text().splitlines()]
    assert any(c.startswith("stoprcopygroup") for c in commands)
    assert not any(c.startswith("setrcopygroup") for c in commands), "no DR command for a Table 106 row"
    events = json.loads((report / "results.json").read_text())["events"]
    assert not [e for e in events if e.get("kind") in ("event", "fault")], events
    suite = ET.parse(report / "junit.xml").getroot()
    names = [tc.get("name", "") for tc in suite.iter("testcase") if tc.get("name") != "overall verdict"]
    assert len(names) == len(selected), names


def test_pytest_users_run_the_suite_with_the_plugin(tmp_path: Path) -> None:
    report = tmp_path / "r"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "harness.plugin",
            "--pyargs",
            "harness.suite",
            "--harness-config",
            str(FIXTURES / "mock-pair.yaml"),
            "--harness-report-dir",
            str(report),
            "-m",
            "T106-03",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, output(proc)
    assert "1 passed" in proc.stdout and "34 deselected" in proc.stdout, proc.stdout
    rows = results(report)
    assert rows["T106-03"]["verdict"] == "pass", rows["T106-03"]
    assert {i for i, r in rows.items() if r["verdict"] != "skipped"} == {"T106-03"}
    manifest = json.loads((report / "results.json").read_text())["manifest"]
    assert manifest["config_source"] == str(FIXTURES / "mock-pair.yaml")


# --------------------------------------------------------------------------- "real" arrays


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket closes: nothing listens there


def _fake_describe(port: int) -> dict[str, Any]:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    array = {
        "system_name": "x",
        "serial": "1",
        "cim_url": f"http://127.0.0.1:{port}",
        "namespace": "root/tpd",
        "interop_namespace": "interop",
        "user": "u",
        "password": "p",
        "ca_cert": None,
        "ssh_host": "127.0.0.1",
        "ssh_port": port,
        "ssh_user": "u",
        "ssh_password": "p",
        "ssh_host_key": key,
    }
    return {"groups": ["rcg_sync_0"], "arrays": {"primary": dict(array), "secondary": dict(array, serial="2")}}


def _real_config(
    tmp_path: Path,
    info: dict[str, Any],
    *,
    disruptive: bool = True,
    serial: dict[str, str] | None = None,
    cim_url: dict[str, str] | None = None,
    name: str = "lab.yaml",
) -> tuple[Path, dict[str, str]]:
    """A lab-style configuration for `info` (SimulatedArrays.describe()): no `simulated:` section, passwords
    in environment variables (returned, to give only to the subprocess)."""
    arrays: dict[str, Any] = {}
    env: dict[str, str] = {}
    for key, a in info["arrays"].items():
        cim_var, ssh_var = f"SMIS_TEST_{key.upper()}_CIM_PW", f"SMIS_TEST_{key.upper()}_SSH_PW"
        env[cim_var], env[ssh_var] = str(a["password"]), str(a["ssh_password"])
        cim: dict[str, Any] = {
            "url": (cim_url or {}).get(key, a["cim_url"]),
            "namespace": a["namespace"],
            "interop_namespace": a["interop_namespace"],
            "user": a["user"],
            "password_env": cim_var,
            "timeout": 10,
        }
        if a.get("ca_cert") and cim["url"].startswith("https"):
            cim["ca_cert"] = a["ca_cert"]
        arrays[key] = {
            "identity": {"system_name": a["system_name"], "serial": (serial or {}).get(key, a["serial"])},
            "cim": cim,
            "ssh": {
                "host": a["ssh_host"],
                "port": a["ssh_port"],
                "user": a["ssh_user"],
                "password_env": ssh_var,
                "host_key": a["ssh_host_key"],
                "timeout": 10,
            },
        }
    doc = {
        "topology": "pair",
        "groups": [info["groups"][0]],
        "arrays": arrays,
        "polling": {"interval": 0.25, "settle_samples": 3},
        "time_limits": {"default": 30},
        "events": {
            "primary_down": {"kind": "manual", "prompt": "take the primary down", "timeout": 60},
            "primary_up": {"kind": "manual", "prompt": "bring the primary back", "timeout": 60},
        },
        "safety": {"disruptive": disruptive},
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, env


@pytest.fixture(scope="module")
def lab_pair() -> Iterator[dict[str, Any]]:
    """Simulated arrays standing in for a real pair (nothing here changes their state)."""
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        yield sim.describe()


def test_real_config_without_allow_disruptive_runs_only_natural_rows(tmp_path: Path, lab_pair: dict) -> None:
    config, env = _real_config(tmp_path, lab_pair, disruptive=True)  # the file consents; the command line does not
    text = config.read_text()
    assert "simulated" not in text and all(v not in text for v in env.values()), "no secret in the file"
    report = tmp_path / "r"
    proc = smis("run", "--config", str(config), "--report-dir", str(report), cwd=tmp_path, env=env)
    assert proc.returncode == 3, output(proc)  # incomplete: 8 rows checked is not a conformant provider
    headline = json.loads((report / "results.json").read_text())["headline"]
    assert headline.startswith("INCOMPLETE:") and "rows skipped (disruptive" in headline, headline
    assert proc.stdout.strip().splitlines()[-1] == headline
    rows = results(report)
    assert rows["T106-03"]["verdict"] == "pass", rows["T106-03"]
    disruptive = [i for i in TABLE106 + TABLE107 if i != "T106-03"]
    for row_id in disruptive:
        assert rows[row_id]["verdict"] == "skipped", rows[row_id]
        assert "disruptive" in rows[row_id]["reason"] and "--allow-disruptive" in rows[row_id]["reason"], rows[row_id]
    # rules see only natural observations: RULE-04 (link down) and RULE-09 (failover) cannot be exercised
    assert {r: rows[r]["verdict"] for r in RULES} == {
        **dict.fromkeys(RULES, "pass"),
        "RULE-04": "skipped",
        "RULE-09": "skipped",
    }
    assert all(rows[r]["reason"].startswith("not exercised: ") for r in ("RULE-04", "RULE-09"))
    document = json.loads((report / "results.json").read_text())
    # a lab-style target, but the arrays are the simulator, which says so through CIM: the manifest and the
    # report never present simulated arrays as real ones
    assert document["manifest"]["disruptive_allowed"] is False
    assert document["manifest"]["simulated"] is True and "simulated" not in config.read_text()
    arrays = document["manifest"]["arrays"].values()
    assert all(a["simulated"] and "simulated by smis-harness" in a["provider_description"] for a in arrays)
    assert "simulated (the provider says so" in (report / "index.html").read_text()
    commands = [json.loads(line)["command"] for line in (report / "transcript.jsonl").read_text().splitlines()]
    changing = [c for c in commands if c.split()[0] in ("setrcopygroup", "stoprcopygroup", "startrcopygroup")]
    assert not changing, f"a non-disruptive run changed the pair: {changing}"
    assert all(v not in (report / "results.json").read_text() for v in env.values()), "a secret leaked into results"


def test_real_config_with_disruptive_false_in_the_file_stays_natural(tmp_path: Path, lab_pair: dict) -> None:
    """--allow-disruptive alone is not enough: the file must consent too."""
    config, env = _real_config(tmp_path, lab_pair, disruptive=False)
    report = tmp_path / "r"
    proc = smis(
        "run",
        "--config",
        str(config),
        "--allow-disruptive",
        "--report-dir",
        str(report),
        "table107",
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 3, output(proc)
    rows = results(report)
    for row_id in TABLE107:
        assert rows[row_id]["verdict"] == "skipped" and "disruptive" in rows[row_id]["reason"], rows[row_id]


def test_preflight_stops_on_a_wrong_serial(tmp_path: Path, lab_pair: dict) -> None:
    real = str(lab_pair["arrays"]["secondary"]["serial"])
    wrong = "9" * len(real) if real != "9" * len(real) else "1" * len(real)
    config, env = _real_config(tmp_path, lab_pair, serial={"secondary": wrong})
    report = tmp_path / "r"
    proc = smis(
        "run", "--config", str(config), "--allow-disruptive", "--report-dir", str(report), cwd=tmp_path, env=env
    )
    no_traceback(proc)
    shown = proc.stdout + proc.stderr
    assert "preflight" in shown and "secondary" in shown and real in shown and wrong in shown, output(proc)
    assert proc.returncode == 1, "a run that could not check anything must not look like a success"
    document = json.loads((report / "results.json").read_text())
    assert document["verdict"] == "error" and "did not start" in document["headline"], document["headline"]
    rows = results(report)
    for row_id in TABLE106 + TABLE107 + RULES:  # nothing is judged on the wrong arrays
        assert rows[row_id]["verdict"] == "error" and rows[row_id]["reason"].startswith("not decided"), rows[row_id]
        assert wrong in rows[row_id]["reason"] and real in rows[row_id]["reason"], rows[row_id]
    manifest = json.loads((report / "results.json").read_text())["manifest"]
    assert manifest["setup_error"] and wrong in manifest["setup_error"]
    commands = [json.loads(line)["command"] for line in (report / "transcript.jsonl").read_text().splitlines()]
    assert not [c for c in commands if c.split()[0] in ("setrcopygroup", "stoprcopygroup", "startrcopygroup")]


def test_unreachable_cim_url_is_a_clear_message_not_a_traceback(tmp_path: Path, lab_pair: dict) -> None:
    port = _closed_port()
    config, env = _real_config(tmp_path, lab_pair, cim_url={"primary": f"http://127.0.0.1:{port}"})
    report = tmp_path / "r"
    started = time.monotonic()
    proc = smis("run", "--config", str(config), "--report-dir", str(report), cwd=tmp_path, env=env)
    no_traceback(proc)
    assert proc.returncode != 0, output(proc)
    shown = proc.stdout + proc.stderr
    assert "primary" in shown and f"127.0.0.1:{port}" in shown and "cannot connect" in shown, output(proc)
    assert (report / "results.json").exists(), "results.json is written even when the arrays cannot be reached"
    manifest = json.loads((report / "results.json").read_text())["manifest"]
    assert f"127.0.0.1:{port}" in manifest["setup_error"], manifest["setup_error"]
    assert time.monotonic() - started < 60


# --------------------------------------------------------------------------- crash safety


def _kill_run_when(tmp_path: Path, report: Path, config: Path, ready: Callable[[], bool], *select: str) -> int:
    """Start `smis-harness run` on `config` (one group: its files in `report`), SIGKILL it as soon as `ready()`
    holds; returns its exit status."""
    script = Path(sys.executable).with_name("smis-harness")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]
    proc = subprocess.Popen([*command, "run", "--config", str(config), "--report-dir", str(report), *select],
                            cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    return proc.returncode


def test_results_jsonl_keeps_every_finished_row_when_the_process_is_killed(
    tmp_path: Path, one_group_pair: Path
) -> None:
    report = tmp_path / "r"
    jsonl = report / "results.jsonl"
    # the SLD rows are skipped at once on a pair; wait for rows that were judged on observations too
    returncode = _kill_run_when(
        tmp_path, report, one_group_pair, lambda: jsonl.exists() and len(jsonl.read_text().splitlines()) >= 5
    )
    assert returncode == -signal.SIGKILL
    lines = jsonl.read_text().splitlines()
    assert len(lines) >= 5, lines
    rows = [json.loads(line) for line in lines]  # every line is a whole JSON row: none cut in half
    for row in rows:
        assert {"id", "verdict", "array", "expected", "observed", "reason", "evidence"} <= set(row), row
        assert row["id"] in ALL_IDS
    judged = [r for r in rows if r["verdict"] == "pass"]
    assert judged and all(r["evidence"] for r in judged), rows
    assert not (report / "results.json").exists(), "killed before the end: only results.jsonl holds the rows"


def test_a_run_killed_during_failover_still_shows_the_failover_command_it_sent(
    tmp_path: Path, one_group_pair: Path
) -> None:
    """transcript.jsonl is written as commands leave, not at the end: SIGKILL cannot hide what was sent."""
    report = tmp_path / "r"
    transcript = report / "transcript.jsonl"

    def sent_failover() -> bool:
        return transcript.exists() and "setrcopygroup failover" in transcript.read_text()

    assert _kill_run_when(tmp_path, report, one_group_pair, sent_failover, "T107-02") == -signal.SIGKILL
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    sent = [e for e in entries if e["command"].startswith("setrcopygroup failover")]
    assert sent and sent[0]["state"] == "sent" and sent[0]["array"] == "secondary", entries
    refs = [e["ref"] for e in entries if e["state"] == "sent"]
    assert len(refs) == len(set(refs)), "each command has its own ref"
    assert all(e["ref"] in refs for e in entries if e["state"] == "ended"), "every result follows its command"


LEAKY_PLUGIN = '''
import os

import pytest


def _use(password, creds):
    raise RuntimeError(f"login failed for {creds} with {password}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if "T106-03" in item.nodeid:
        password = os.environ["SMIS_TEST_PRIMARY_CIM_PW"]
        creds = ("smisuser", password)
        _use(password, creds)
'''


def test_no_secret_reaches_any_output_even_when_the_harness_crashes(tmp_path: Path, lab_pair: dict) -> None:
    """A crash whose message and frame locals hold the password, shown with pytest's -l (showlocals) and
    long tracebacks: stdout, stderr, every file of the report dir and the bundle stay free of secrets."""
    config, env = _real_config(tmp_path, lab_pair, disruptive=False)
    (tmp_path / "leaky_plugin.py").write_text(LEAKY_PLUGIN)
    report = tmp_path / "r"
    pytest_args = ("--", "-p", "leaky_plugin", "-l", "--tb=long")
    proc = smis("run", "--config", str(config), "--report-dir", str(report), "T106-03", *pytest_args,
                cwd=tmp_path, env={**env, "PYTHONPATH": str(tmp_path)})  # fmt: skip
    rows = results(report)
    assert rows["T106-03"]["verdict"] == "error" and "login failed" in rows["T106-03"]["reason"], output(proc)
    assert "RuntimeError" in proc.stdout and "**********" in proc.stdout, "the crash is reported, masked"
    assert smis("bundle", str(report), "--out", str(tmp_path / "b.tar.gz"), cwd=tmp_path).returncode == 0
    outputs = {"stdout": proc.stdout.encode(), "stderr": proc.stderr.encode(),
               "bundle": (tmp_path / "b.tar.gz").read_bytes()}  # fmt: skip
    outputs.update({str(p): p.read_bytes() for p in report.rglob("*") if p.is_file()})
    with tarfile.open(tmp_path / "b.tar.gz") as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            outputs[f"bundle:{member.name}"] = handle.read() if handle else b""
    secrets = [v for v in env.values() if len(v) >= 3]
    assert secrets
    leaks = [(where, s) for where, blob in outputs.items() for s in secrets if s.encode() in blob]
    assert not leaks, leaks


SLOW_TEARDOWN_PLUGIN = """
import time

def pytest_runtest_teardown(item):
    time.sleep(8)  # the run holds its locks meanwhile
"""


def test_a_second_disruptive_run_against_a_pair_in_use_is_refused(tmp_path: Path) -> None:
    """One driver per pair: the second run names the holder and changes nothing; the first is unharmed."""
    (tmp_path / "slow_teardown.py").write_text(SLOW_TEARDOWN_PLUGIN)
    locks = {"SMIS_HARNESS_LOCK_DIR": str(tmp_path / "locks")}
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        config, env = _real_config(tmp_path, sim.describe(), disruptive=True)
        script = Path(sys.executable).with_name("smis-harness")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]
        first_out = tmp_path / "first.out"
        with first_out.open("w") as sink:
            first = subprocess.Popen(
                [*command, "run", "--config", str(config), "--allow-disruptive", "--report-dir",
                 str(tmp_path / "first"), "T106-06", "--", "-p", "slow_teardown"], cwd=tmp_path,
                env={**os.environ, **env, **locks, "PYTHONPATH": str(tmp_path)}, stdout=sink,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and "T106-06: PASS" not in first_out.read_text():
                    time.sleep(0.05)
                second = smis("run", "--config", str(config), "--allow-disruptive", "--report-dir",
                              str(tmp_path / "second"), "T106-06", cwd=tmp_path, env={**env, **locks})  # fmt: skip
                first.wait(timeout=120)
            finally:
                if first.poll() is None:
                    first.kill()
    no_traceback(second)
    assert second.returncode == 1, output(second)
    document = json.loads((tmp_path / "second" / "results.json").read_text())
    assert document["verdict"] == "error" and f"pid {first.pid}" in document["headline"], document["headline"]
    assert "in use by another smis-harness run" in second.stdout + second.stderr
    second_commands = (tmp_path / "second" / "transcript.jsonl").read_text()
    assert second_commands == "", "the refused run sent nothing to the arrays"
    assert first.returncode == 0, first_out.read_text()[-3000:]
