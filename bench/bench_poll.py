#!/usr/bin/env python
"""Benchmark one observation as the harness takes it (CLI, CIM, CLI again) on a small and a large array.

For --scale 0 (baseline) and --scale N in the same run, it starts the simulated pair on loopback and,
on the secondary, times with the harness's own readers (pywbem over HTTPS, paramiko over SSH):

  cim     ArrayCim.read(group): References from each member volume, ResultClass and PropertyList
  cli     read_group(): `showrcopy targets` + `showrcopy groups <group>`, parsed
  sample  Poller.sample(): one whole observation (cli, cim, cli again)
  recorded the same with the run's recording on (harness.recording: the recorder on the connection, the
          sample's refs captured, lines written to a temporary recording/ by the writer thread); timed
          alternately with `sample` on a second pair of connections, so both see the same load

The claim: an observation of the group under test costs the same however many other volumes the
array holds, so polling keeps its rate on a large array. Results go to bench/results/poll-<date>.json.

    python bench/bench_poll.py [--scale 10000] [--repeat 50] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.array_cli import ArrayCli, SshEndpoint, Transcript
from harness.cim import ArrayCim, CimEndpoint
from harness.cli_read import read_group, read_targets
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec
from harness.observation import Timeline
from harness.poll import ArrayProbe, Poller
from harness.recording import Recording
from harness.redact import Redactor
from harness.result_files import ResultsWriter
from harness.target_discovery import PeerIdentity, choose_target

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up: connections, discovery
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def probe_for(info: dict[str, Any], key: str, peer: str) -> ArrayProbe:
    a = info["arrays"][key]
    cim = ArrayCim(
        CimEndpoint(a["cim_url"], a["user"], lambda: a["password"], a["namespace"], a["interop_namespace"],
                    ca_cert=a["ca_cert"])
    )  # fmt: skip
    cli = ArrayCli(
        key,
        SshEndpoint(a["ssh_host"], a["ssh_port"], a["ssh_user"], lambda: a["ssh_password"],
                    host_key=a["ssh_host_key"]),
        Transcript(),
    )  # fmt: skip
    group_name = f"{info['groups'][0]}.r{info['arrays']['primary']['system_id']}"
    targets, source = read_targets(cli)  # the target toward the peer, found as preflight finds it
    identity = PeerIdentity(peer, info["arrays"][peer]["system_name"], info["arrays"][peer]["system_id"])
    target = choose_target(key, targets, identity, None, source).name
    return ArrayProbe(key, cim, cli, cim.find_group(group_name), group_name, target)


def measure(scale: int, repeat: int) -> dict[str, list[float]]:
    print(f"scale {scale}: starting the simulated pair ...", file=sys.stderr)
    with SimulatedArrays(WorldSpec(topology="pair", scale=scale)) as sim, tempfile.TemporaryDirectory() as out:
        info = sim.describe()
        probe = probe_for(info, "secondary", "primary")
        assert probe.group is not None
        group = probe.group
        poller = Poller([probe], Timeline(), 0.25, time.monotonic())
        secrets = [info["arrays"]["secondary"]["password"], info["arrays"]["secondary"]["ssh_password"]]
        recording = Recording(ResultsWriter(Path(out), Redactor(secrets)).write_recording, time.monotonic())
        recorded = probe_for(info, "secondary", "primary")
        recorded.cim.conn.add_operation_recorder(recording.recorder("secondary"))
        recorded.cli.transcript.observer = recording.note
        recorded_poller = Poller([recorded], Timeline(), 0.25, time.monotonic(), recording=recording)

        def sample_recorded() -> None:  # as the poller's loop takes a sample
            with recording.capture() as capture:
                observation = recorded_poller.sample(recorded)
            recorded_poller.record(observation, capture, recorded)

        try:
            plain, with_recording = alternately(lambda: poller.sample(probe), sample_recorded, repeat)
            return {
                "cim": timed(lambda: probe.cim.read(group), repeat),
                "cli": timed(lambda: read_group(probe.cli, probe.group_name, probe.peer), repeat),
                "sample": plain,
                "recorded": with_recording,
            }
        finally:
            recording.close()
            for each in (probe, recorded):
                each.cli.close()
                each.cim.close()


def alternately(first: Callable[[], Any], second: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Both timed in turn, `repeat` times each (after a warm-up), so a change of load hits both alike."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
    return times


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--check", action="store_true", help="exit 1 unless large/baseline medians stay < 2x")
    args = parser.parse_args()
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)
    results = {scale: {op: summary(s) for op, s in measure(scale, args.repeat).items()} for scale in (0, args.scale)}
    print(f"{'op':8} {'scale':>6} {'n':>4} {'median ms':>10} {'p90 ms':>8}")
    for scale, ops in results.items():
        for op, row in ops.items():
            print(f"{op:8} {scale:>6} {row['n']:>4} {row['median_ms']:>10.3f} {row['p90_ms']:>8.3f}")
    ratios = {op: results[args.scale][op]["median_ms"] / results[0][op]["median_ms"] for op in results[0]}
    print("large / baseline median: " + ", ".join(f"{op} x{r:.2f}" for op, r in ratios.items()))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"poll-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps({"scales": [0, args.scale], "results": results, "ratios": ratios}, indent=2))
    print(f"written {out}", file=sys.stderr)
    return 1 if args.check and any(r >= 2 for r in ratios.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
