#!/usr/bin/env python
"""Benchmark the simulated arrays: does reading one group's pairs stay cheap as the array grows?

Builds two simulated pairs in one run, a baseline (--scale 0: two groups of two volumes) and a
large one (--scale N extra noise volume pairs, default 10000), starts their servers on loopback
and times, on the primary array:

  references   References(one member volume of rcg_sync_0, ResultClass=TPD_RemoteStorageSynchronized,
               PropertyList=<the harness's pair properties>): what the harness polls
  enumerate    EnumerateInstances(TPD_RemoteStorageSynchronized): every pair of the array

each three ways:

  in-process   ArrayCIMBackend called directly (under the world lock, as the server calls it)
  server       CIMXMLDispatcher.handle() on the request body pywbem sent: decoding the CIM-XML
               request, the backend call and encoding the reply; no TLS, no HTTP
  https        pywbem WBEMConnection over HTTPS on loopback, end to end (keep-alive connection)

and, as a reference point, `pywbem_mock.FakedWBEMConnection` holding the same volumes and pairs
answering the same References (skip with --no-pywbem-mock; its setup takes ~10 s at 10000).

Every measurement runs `--repeat` times or until `--budget` seconds are spent (at least
`--min-samples`, unless a single call does not fit that many in the budget), after one warm-up
call (which counts as a sample when it alone takes a second or more).

Prints a table (median, p90 per op, path and scale) and writes bench/results/mock-<date>.json.
The claim: References at the large scale costs what it costs at the baseline (median within
CLAIM_FACTOR, in-process and server); with --check the exit status is 1 if it does not hold.

    python bench/bench_mock.py [--scale 10000] [--repeat 200] [--budget 10] [--no-pywbem-mock]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pywbem
from pywbem import CIMInstance, CIMInstanceName

from harness.cim import PAIR_PROPERTIES
from harness.cim_classes import MOF_DIR, MOF_FILES
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec

RSS = "TPD_RemoteStorageSynchronized"
GROUP = "rcg_sync_0"
ARRAY = "primary"
CLAIM_FACTOR = 2.0  # large-scale References median may be at most this many times the baseline's ...
CLAIM_SLACK_MS = 0.5  # ... plus this much (sub-millisecond medians jitter by more than 2x)
SLOW_CALL_S = 1.0  # a first call this slow counts as a sample
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    op: str  # references | enumerate
    path: str  # in-process | server | https | pywbem_mock
    scale: int
    samples: int
    results: int  # instances returned per call
    median_ms: float
    p90_ms: float
    min_ms: float


@dataclass
class Settings:
    repeat: int
    budget: float
    min_samples: int


# ----------------------------------------------------------------------------- measuring
def p90(samples: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def measure(call: Callable[[], int], settings: Settings) -> tuple[list[float], int]:
    """Seconds per call, and how many instances a call returned.

    The first call warms up and is discarded, unless it took SLOW_CALL_S or more (warming up is
    lost in the noise then) and it becomes the first sample. Then calls are sampled until
    `repeat` samples, or until `budget` seconds (counted from the first call) are spent with at
    least `min_samples`; a call too slow to fit `min_samples` in the budget is sampled once.
    """
    started = time.perf_counter()
    count = call()
    first = time.perf_counter() - started
    samples = [first] if first >= SLOW_CALL_S else []
    wanted = settings.min_samples if first * settings.min_samples <= settings.budget else 1
    while len(samples) < settings.repeat:
        if len(samples) >= wanted and time.perf_counter() - started > settings.budget:
            break
        start = time.perf_counter()
        got = call()
        samples.append(time.perf_counter() - start)
        if got != count:
            raise RuntimeError(f"a call returned {got} instances, the first one {count}")
    return samples, count


def result(op: str, path: str, scale: int, samples: list[float], count: int) -> Result:
    ms = [s * 1000 for s in samples]
    return Result(op, path, scale, len(ms), count, statistics.median(ms), p90(ms), min(ms))


# ----------------------------------------------------------------------------- one world
def connect(info: dict[str, Any]) -> pywbem.WBEMConnection:
    conn = pywbem.WBEMConnection(
        info["cim_url"],
        (info["user"], info["password"]),
        default_namespace=info["namespace"],
        ca_certs=info["ca_cert"],
        timeout=300,
    )
    conn.session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace ca_certs
    return conn


def member_volume(conn: pywbem.WBEMConnection, namespace: str) -> CIMInstanceName:
    """One member volume of GROUP, found as the harness finds it (group -> members)."""
    groups = conn.EnumerateInstanceNames("TPD_RemoteReplicationGroup")
    [group] = [g for g in groups if g["InstanceID"].endswith(f":{GROUP}")]
    volumes = conn.AssociatorNames(group, AssocClass="TPD_RemoteReplicationGroupMember")
    return sorted(volumes, key=lambda v: v["DeviceID"])[0]


def bench_world(scale: int, settings: Settings, with_pywbem_mock: bool) -> tuple[list[Result], dict[str, Any]]:
    spec = WorldSpec(topology="pair", groups=2, volumes_per_group=2, scale=scale)
    started = time.perf_counter()
    results: list[Result] = []
    with SimulatedArrays(spec) as sim:
        world_info: dict[str, Any] = {"start_s": round(time.perf_counter() - started, 3)}
        info = sim.describe()["arrays"][ARRAY]
        ns = info["namespace"]
        server = sim.servers[ARRAY].cim
        dispatcher = server.dispatcher
        backend = ArrayCIMBackend(sim.world, ARRAY, namespace=ns, interop_namespace=info["interop_namespace"])
        conn = connect(info)
        volume = member_volume(conn, ns)
        local_volume = volume.copy()
        local_volume.host = None

        Call = Callable[[], list[CIMInstance]]
        operations: dict[str, tuple[str, Call, Call]] = {
            "references": (
                "References",
                lambda: conn.References(volume, ResultClass=RSS, PropertyList=PAIR_PROPERTIES),
                lambda: backend.References(local_volume, ResultClass=RSS, PropertyList=PAIR_PROPERTIES),
            ),
            "enumerate": (
                "EnumerateInstances",
                lambda: conn.EnumerateInstances(RSS),
                lambda: backend.EnumerateInstances(RSS, namespace=ns),
            ),
        }
        for op, (method, remote, local) in operations.items():

            def in_process(local: Callable[[], list[CIMInstance]] = local) -> int:
                with sim.world.lock:
                    return len(local())

            samples, count = measure(in_process, settings)
            results.append(result(op, "in-process", scale, samples, count))

            samples, count = measure(lambda remote=remote: len(remote()), settings)
            results.append(result(op, "https", scale, samples, count))

            body = conn.last_raw_request.encode()  # the request pywbem sent for this op

            def handle(body: bytes = body, method: str = method, count: int = count) -> int:
                reply = dispatcher.handle(body, host=server.netloc, cimmethod=method, cimobject=ns)
                if reply.status != 0:
                    raise RuntimeError(f"{method} failed with CIM status {reply.status}")
                return count  # the reply holds as many instances as the HTTPS call returned

            samples, _ = measure(handle, settings)
            results.append(result(op, "server", scale, samples, count))
        world_info["pairs_on_primary"] = results[-1].results
        world_info["volumes_on_primary"] = len(sim.world.arrays[ARRAY].volumes)
        conn.close()

        if with_pywbem_mock:
            started = time.perf_counter()
            faked, faked_volume = pywbem_mock_twin(backend, local_volume, ns)
            world_info["pywbem_mock_setup_s"] = round(time.perf_counter() - started, 3)
            samples, count = measure(
                lambda: len(faked.References(faked_volume, ResultClass=RSS, PropertyList=PAIR_PROPERTIES)), settings
            )
            results.append(result("references", "pywbem_mock", scale, samples, count))
    return results, world_info


def pywbem_mock_twin(backend: ArrayCIMBackend, volume: CIMInstanceName, ns: str) -> tuple[Any, CIMInstanceName]:
    """A FakedWBEMConnection with the array's classes, volumes and pairs, and the volume's path in it."""
    import pywbem_mock

    faked = pywbem_mock.FakedWBEMConnection(default_namespace=ns)
    for name in MOF_FILES:
        faked.compile_mof_string((MOF_DIR / name).read_text(), namespace=ns)
    with backend.world.lock:
        objects = backend.EnumerateInstances("TPD_StorageVolume", namespace=ns) + backend.EnumerateInstances(RSS)
    faked.add_cimobjects(objects, namespace=ns)
    return faked, volume


# ----------------------------------------------------------------------------- reporting
def table(results: list[Result]) -> str:
    header = f"{'op':<11} {'path':<12} {'scale':>6} {'n':>5} {'results':>8} {'median ms':>10} {'p90 ms':>9}"
    lines = [header, "-" * len(header)]
    order = {"in-process": 0, "server": 1, "https": 2, "pywbem_mock": 3}
    for r in sorted(results, key=lambda r: (r.op != "references", order[r.path], r.scale)):
        lines.append(
            f"{r.op:<11} {r.path:<12} {r.scale:>6} {r.samples:>5} {r.results:>8} {r.median_ms:>10.3f} {r.p90_ms:>9.3f}"
        )
    return "\n".join(lines)


def claim(results: list[Result], scale: int) -> dict[str, Any]:
    """References medians, large scale against the baseline, per path."""
    by = {(r.op, r.path, r.scale): r for r in results}
    ratios: dict[str, float] = {}
    holds = True
    for path in ("in-process", "server", "https", "pywbem_mock"):
        base, big = by.get(("references", path, 0)), by.get(("references", path, scale))
        if base is None or big is None:
            continue
        ratios[path] = round(big.median_ms / base.median_ms, 2)
        if path in ("in-process", "server"):
            holds &= big.median_ms <= CLAIM_FACTOR * base.median_ms + CLAIM_SLACK_MS
    return {
        "statement": f"References from one group member volume at scale {scale} costs what it costs at scale 0",
        "median_ratio_by_path": ratios,
        "criterion": f"in-process and server medians <= {CLAIM_FACTOR} x baseline + {CLAIM_SLACK_MS} ms",
        "holds": holds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10000, help="noise volume pairs of the large world")
    parser.add_argument("--repeat", type=int, default=200, help="samples per measurement at most (default 200)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per measurement at most (default 10)")
    parser.add_argument("--min-samples", type=int, default=3, help="samples per measurement at least (default 3)")
    parser.add_argument("--no-pywbem-mock", action="store_true", help="skip the pywbem_mock reference point")
    parser.add_argument("--out", type=Path, help="JSON results file (default bench/results/mock-<date>.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the claim does not hold")
    args = parser.parse_args(argv)
    if args.scale < 1 or args.repeat < 1 or args.min_samples < 1 or args.budget <= 0:
        parser.error("--scale, --repeat, --min-samples and --budget must be positive")
    settings = Settings(args.repeat, args.budget, min(args.min_samples, args.repeat))

    started = time.perf_counter()
    results: list[Result] = []
    worlds: dict[str, Any] = {}
    for scale in (0, args.scale):
        print(f"scale {scale}: building and measuring ...", file=sys.stderr, flush=True)
        found, worlds[str(scale)] = bench_world(scale, settings, not args.no_pywbem_mock)
        results += found
    verdict = claim(results, args.scale)

    print(table(results))
    ratios = ", ".join(f"{path} x{ratio}" for path, ratio in verdict["median_ratio_by_path"].items())
    print(f"\nReferences median, scale {args.scale} / scale 0: {ratios}")
    print(f"claim ({verdict['criterion']}): {'holds' if verdict['holds'] else 'DOES NOT HOLD'}")

    today = datetime.date.today().isoformat()
    out = args.out or RESULTS_DIR / f"mock-{today}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": today,
        "command": " ".join(["python bench/bench_mock.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "pywbem": pywbem.__version__,
        },
        "settings": {**asdict(settings), "scale": args.scale, "group": GROUP, "array": ARRAY},
        "worlds": worlds,
        "results": [{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(r).items()} for r in results],
        "claim": verdict,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"results: {out}", file=sys.stderr)
    return 1 if args.check and not verdict["holds"] else 0


if __name__ == "__main__":
    sys.exit(main())
