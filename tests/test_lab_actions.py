"""A lab-style target whose events and faults are local scripts, including a fault that acts *during*
its command (the link drops while recover runs), as a lab pair with a switch-port script would do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec

CONTROL_SCRIPT = """
import json, sys, urllib.request
url, token, body = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request(url, data=body.encode(), headers={"Authorization": "Bearer " + token})
urllib.request.urlopen(request, timeout=10).read()
"""


@pytest.fixture(scope="module")
def lab_pair() -> Iterator[dict[str, Any]]:
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        info = sim.describe()
        post(info, {"action": "set_durations", "durations": {"recover": 3.0}})
        yield info


def post(info: dict[str, Any], body: dict[str, Any]) -> None:
    control = info["control"]
    request = urllib.request.Request(
        control["url"], data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {control['token']}"}
    )
    urllib.request.urlopen(request, timeout=10).read()


def script_action(tmp_path: Path, info: dict[str, Any], body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    script = tmp_path / "control.py"
    script.write_text(CONTROL_SCRIPT)
    control = info["control"]
    argv = [sys.executable, str(script), control["url"], control["token"], json.dumps(body)]
    return {"kind": "script", "command": argv, "timeout": 30, **extra}


def lab_config(
    tmp_path: Path, info: dict[str, Any], time_limits: dict[str, float] | None = None, faults: bool = True
) -> tuple[Path, dict[str, str]]:
    """A lab-style target for `info` whose events (and, with `faults`, recover_fails) are scripts posting to
    the simulator's control interface; passwords in environment variables (returned)."""
    arrays: dict[str, Any] = {}
    env: dict[str, str] = {}
    for key, a in info["arrays"].items():
        env[f"LAB_{key.upper()}_CIM"], env[f"LAB_{key.upper()}_SSH"] = a["password"], a["ssh_password"]
        arrays[key] = {
            "identity": {"system_name": a["system_name"], "serial": a["serial"]},
            "cim": {"url": a["cim_url"], "user": a["user"], "password_env": f"LAB_{key.upper()}_CIM",
                    "ca_cert": a["ca_cert"], "timeout": 10},
            "ssh": {"host": a["ssh_host"], "port": a["ssh_port"], "user": a["ssh_user"],
                    "password_env": f"LAB_{key.upper()}_SSH", "host_key": a["ssh_host_key"], "timeout": 10},
        }  # fmt: skip
    doc = {
        "topology": "pair",
        "groups": [info["groups"][0]],
        "arrays": arrays,
        "polling": {"interval": 0.2, "settle_samples": 3},
        "time_limits": {"default": 30, **(time_limits or {})},
        "events": {
            "primary_down": script_action(tmp_path, info, {"action": "array_down", "array": "primary"}),
            "primary_up": script_action(tmp_path, info, {"action": "array_up", "array": "primary"}),
        },
        "safety": {"disruptive": True},
    }
    if faults:
        # the switch port of the replication link goes down one second into the recover
        doc["faults"] = {"recover_fails": script_action(
            tmp_path, info, {"action": "link", "a": "primary", "b": "secondary", "up": False}, during=1.0
        )}  # fmt: skip
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, env


def test_a_fault_acting_during_recover_makes_recover_fail_as_table_107_documents(
    tmp_path: Path, lab_pair: dict[str, Any]
) -> None:
    config, secrets = lab_config(tmp_path, lab_pair)
    report = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")} | secrets
    done = subprocess.run(
        [sys.executable, "-m", "harness.command_line", "run", "--config", str(config), "--allow-disruptive",
         "--report-dir", str(report), "T107-08", "T107-10"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    document = json.loads((report / "results.json").read_text())
    rows = {r["id"]: r for r in document["rows"]}
    assert rows["T107-08"]["verdict"] == "pass", rows["T107-08"]
    assert rows["T107-10"]["verdict"] == "pass", rows["T107-10"]
    events = [e["kind"] for e in document["events"]]
    # the fault ran after the recover command was issued and before it returned
    assert events.index("command", events.index("event_done")) < events.index("fault") < events.index(
        "command_done", events.index("fault")
    )
    assert document["final_state"]["natural"] is True
    for secret in secrets.values():
        assert secret not in (report / "results.json").read_text()
