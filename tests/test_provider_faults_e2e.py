"""Provider faults and slow arrays, end to end against simulated arrays on loopback.

* the CIM reader keeps a provider's CIM_ERR_NOT_FOUND for a pair as evidence (pywbem over CIM-XML);
* a recover that returns while the volumes still resync: its stage begins when the CLI shows them Synced,
  so a conformant provider still PASSes T107-07/09; with a time limit shorter than the resync, the stage
  never arrives and its rows FAIL with the state observed (not ERROR, not a false PASS).

The runs are `smis-harness run --config <lab-style file>` against a world started here, whose durations
are changed through the simulator's control interface (`set_durations`), as a lab pair is slow on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_lab_actions import lab_config

from harness.cim import ArrayCim, CimEndpoint
from harness.deviation_format import Deviation, When
from harness.mock.deviations import Deviations
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec

pytestmark = pytest.mark.slow

def post(info: dict[str, Any], body: dict[str, Any]) -> None:
    control = info["control"]
    request = urllib.request.Request(
        control["url"], data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {control['token']}"}
    )
    urllib.request.urlopen(request, timeout=10).read()


def cim_of(info: dict[str, Any], key: str) -> ArrayCim:
    a = info["arrays"][key]
    return ArrayCim(CimEndpoint(a["cim_url"], a["user"], lambda: a["password"], ca_cert=a["ca_cert"], timeout=10))


# --------------------------------------------------------------------------- the CIM reader


def test_reader_keeps_not_found_and_missing_classes_as_evidence() -> None:
    rules = [
        Deviation(id="nf", array="secondary", when=When(role="Primary-Rev"), pairs=1, instance="not_found"),
        Deviation(id="no-gs", array="secondary", omit_class=["TPD_RemoteGroupSynchronized"]),
    ]
    with SimulatedArrays(WorldSpec(topology="pair"), deviations=Deviations(rules)) as sim:
        info = sim.describe()
        world = sim.world
        cim = cim_of(info, "secondary")
        group_name = next(n for n, _ in world.groups_on("secondary") if n.startswith("rcg_sync"))
        group = cim.find_group(group_name)
        natural = cim.read(group)
        assert len(natural.pairs) == 2 and natural.refusals == () and natural.group_syncs == ()
        world.set_power("primary", False)
        time.sleep(world.durations.link_detect + 0.2)
        world.failover("secondary", group_name)
        view = cim.read(group)
        cim.close()
    assert [p.local_volume for p in view.pairs] == ["rcg_sync_0.v1"]  # volumes keep their names on both arrays
    [refusal] = view.refusals
    assert (refusal.volume, refusal.status) == ("rcg_sync_0.v0", "CIM_ERR_NOT_FOUND")
    assert refusal.operation == "References TPD_RemoteStorageSynchronized"


# --------------------------------------------------------------------------- slow resync after recover


@pytest.fixture(scope="module")
def lab_pair() -> Iterator[dict[str, Any]]:
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        yield sim.describe()


def run(tmp_path: Path, info: dict[str, Any], time_limits: dict[str, float], *rows: str) -> dict[str, Any]:
    config, secrets = lab_config(tmp_path, info, time_limits, faults=False)
    report = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")} | secrets
    done = subprocess.run(
        [sys.executable, "-m", "harness.command_line", "run", "--config", str(config), "--allow-disruptive",
         "--report-dir", str(report), *rows],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    document = json.loads((report / "results.json").read_text())
    document["returncode"] = done.returncode
    document["output"] = done.stdout[-3000:] + done.stderr[-3000:]
    return document


def rows_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in document["rows"]}


def _recover_times(document: dict[str, Any]) -> tuple[float, float]:
    events = document["events"]
    returned = next(e["t"] for e in events if e["kind"] == "command_done" and "recover" in e["command"])
    reached = next(e["t"] for e in events if e["kind"] == "stage" and e["stage"] == "recover")
    return returned, reached


def test_recover_that_returns_before_the_resync_ends_still_passes(tmp_path: Path, lab_pair: dict[str, Any]) -> None:
    post(lab_pair, {"action": "set_durations", "durations": {"recover": 2.0, "resync": 5.0}})
    document = run(tmp_path, lab_pair, {}, "T107-05", "T107-06", "T107-07", "T107-09")
    rows = rows_of(document)
    verdicts = {i: rows[i]["verdict"] for i in ("T107-05", "T107-06", "T107-07", "T107-09")}
    assert verdicts == dict.fromkeys(verdicts, "pass"), "\n".join(
        f"{i}: {rows[i]['verdict']}: {rows[i]['reason']}" for i in verdicts
    ) + document["output"]
    assert document["returncode"] == 0
    returned, reached = _recover_times(document)
    assert reached - returned > 2.0, "the recover stage began only once the volumes were Synced, seconds later"
    assert document["final_state"]["natural"] is True


def test_a_stage_that_never_arrives_within_its_time_limit_fails_with_the_observed_state(
    tmp_path: Path, lab_pair: dict[str, Any]
) -> None:
    post(lab_pair, {"action": "set_durations", "durations": {"recover": 2.0, "resync": 6.0}})
    document = run(tmp_path, lab_pair, {"recover": 3}, "T107-06", "T107-07", "T107-09")
    rows = rows_of(document)
    assert rows["T107-06"]["verdict"] == "pass", "the in-progress row is judged from the command's window"
    for row_id, array in (("T107-07", "secondary"), ("T107-09", "primary")):
        row = rows[row_id]
        assert row["verdict"] == "fail", row
        reason = row["reason"]
        assert reason.startswith(f"{array}: stage recover not reached: not seen within 3s"), reason
        assert "volumes Synced (now Started, volumes Syncing)" in reason
        assert "last observed (seq " in reason and "SyncStatus Syncing" in reason
        assert "expected Role" in reason and "SyncStatus Synced" in reason
        assert row["observed"]["sync_status"] == "Syncing" and row["evidence"], row
    assert document["returncode"] == 1
    assert document["final_state"]["natural"] is True, document["final_state"]
