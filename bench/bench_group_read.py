#!/usr/bin/env python
"""Benchmark one CIM observation of a group (`ArrayCim.read`) by each read path, and the path preflight chooses.

For each world (`WorldSpec(topology="pair", groups=G, volumes_per_group=V, scale=S)`, simulated arrays on
loopback, in this process as a run has them), on the secondary, with the harness's own reader (pywbem over
HTTPS), it times `ArrayCim.read` of the group under test by

  serial       one References per member volume (the harness before issue 11)
  pooled       the same References over a pool of `--connections` CIM connections (one thread each)
  enumeration  one EnumerateInstances of TPD_RemoteStorageSynchronized, filtered to the group's members
               (timed only on a small array: at scale 10000 one read takes seconds and grows with the array)
  chosen       the path `harness.cim_read_choice.choose_read` picks at preflight (its own measurement), then timed

`group_256_observation_ms(quick)` is the figure `smis-harness bench` reports: the median ms of one
`ArrayCim.read` of a 256-volume group with the path preflight chooses (scale 0).

    python bench/bench_group_read.py [--volumes 2 256] [--scales 0 10000] [--groups 1] [--repeat 15] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_poll import timed

from harness.cim import ArrayCim, CimEndpoint, GroupHandle
from harness.cim_pool import CimPool
from harness.cim_read_choice import choose_read
from harness.cim_reads import ENUMERATION, POOLED, SERIAL, enumeration_asker, pooled_asker
from harness.mock.service import SimulatedArrays
from harness.world_spec import WorldSpec

RESULTS = Path(__file__).resolve().parent / "results"
CONNECTIONS = 4  # polling.max_cim_connections' default
ENUMERATION_MAX_SCALE = 2000  # above, one enumeration read takes seconds: not timed


@dataclass(frozen=True)
class Reader:
    """The secondary's CIM reader, the group under test on it, and its peer's serial (as the poller reads)."""

    cim: ArrayCim
    group: GroupHandle
    peer_serial: str

    def read(self) -> None:
        self.cim.read(self.group, self.peer_serial)


@contextmanager
def simulated(volumes: int, scale: int, groups: int) -> Iterator[Reader]:
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)
    spec = WorldSpec(topology="pair", groups=groups, volumes_per_group=volumes, scale=scale)
    with SimulatedArrays(spec) as sim:
        info = sim.describe()
        a = info["arrays"]["secondary"]
        cim = ArrayCim(CimEndpoint(a["cim_url"], a["user"], lambda: a["password"], a["namespace"],
                                   a["interop_namespace"], ca_cert=a["ca_cert"]))  # fmt: skip
        try:
            group = cim.find_group(f"{info['groups'][0]}.r{info['arrays']['primary']['system_id']}")
            yield Reader(cim, group, str(info["arrays"]["primary"]["serial"]))
        finally:
            cim.close()


def summary(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "median_ms": round(statistics.median(samples), 2), "min_ms": round(min(samples), 2),
            "max_ms": round(max(samples), 2)}  # fmt: skip


def measure_paths(reader: Reader, scale: int, repeat: int, connections: int = CONNECTIONS) -> dict[str, Any]:
    """Each path's read timed, then preflight's choice and its read."""
    cim, out = reader.cim, {}
    pool = CimPool(cim.connect, connections - 1, cim.conn)
    askers = {SERIAL: cim.ask_serial, POOLED: pooled_asker(pool), ENUMERATION: enumeration_asker(cim)}
    try:
        for path, asker in askers.items():
            if path == ENUMERATION and scale > ENUMERATION_MAX_SCALE:
                continue
            cim.use_asker(asker)
            out[path] = summary(timed(reader.read, repeat))
    finally:
        cim.use_asker(cim.ask_serial)
        pool.close()
    choice = choose_read(cim, reader.group, connections)
    out["chosen"] = {**summary(timed(reader.read, repeat)), "preflight": choice.manifest()}
    return out


def group_256_observation_ms(quick: bool) -> float:
    """Median ms of one `ArrayCim.read` of a 256-volume group (simulated pair, scale 0, one group) with the read
    path preflight chooses (`polling.max_cim_connections` at its default)."""
    with simulated(256, 0, 1) as reader:
        choose_read(reader.cim, reader.group, CONNECTIONS)
        return round(statistics.median(timed(reader.read, 5 if quick else 15)), 2)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volumes", type=int, nargs="+", default=[2, 256])
    parser.add_argument("--scales", type=int, nargs="+", default=[0, 10000])
    parser.add_argument("--groups", type=int, default=1, help="groups of --volumes volumes on the pair (default 1)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="volumes 256, scale 0, 5 reads per path")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    volumes, scales, repeat = ([256], [0], 5) if args.quick else (args.volumes, args.scales, args.repeat)
    results: dict[str, Any] = {}
    for scale in scales:
        for count in volumes:
            print(f"volumes {count}, scale {scale}: starting the simulated pair ...", file=sys.stderr)
            with simulated(count, scale, args.groups) as reader:
                results[f"v{count}-s{scale}"] = {"volumes": count, "scale": scale, "groups": args.groups,
                                                 **measure_paths(reader, scale, repeat)}  # fmt: skip
    print_table(results)
    RESULTS.mkdir(exist_ok=True)
    out = args.out or RESULTS / f"group-read-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(f"written {out}", file=sys.stderr)
    return 0


def print_table(results: dict[str, Any]) -> None:
    print(f"{'volumes':>7} {'scale':>6} {'path':12} {'median ms':>10} {'min':>8} {'max':>8}  chosen")
    for row in results.values():
        for path in (SERIAL, POOLED, ENUMERATION, "chosen"):
            if path not in row:
                continue
            r = row[path]
            note = row["chosen"]["preflight"]["path"] if path == "chosen" else ""
            print(f"{row['volumes']:>7} {row['scale']:>6} {path:12} {r['median_ms']:>10.1f} {r['min_ms']:>8.1f} "
                  f"{r['max_ms']:>8.1f}  {note}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
