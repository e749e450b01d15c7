#!/usr/bin/env python
"""Benchmark checking a target that lists many groups: the duplicate-group check stays linear.

For each size N (default 1000, 10000, 100000, 200000) it times, in this process:

  check     the groups check alone (`harness.config.target._group_problems`) on N distinct names
  repeats   the same on N names of which every other one repeats an earlier one (N/2 problems)
  validate  `TargetConfig.model_validate` of a simulated-pair target listing N distinct groups
  load      `load_config` of that target written as a YAML file (parse, line index, validation),
            only for N <= --load-max (the pure-Python YAML parser dominates: about 20 us per group)

The claim: validating a target of 200,000 groups takes under a second. The check that compared each name
with the ones before it was quadratic: 0.33 s for 5,000 groups, 4.3 s for 20,000 (about 400 s for
200,000). `validate_doubling_ratio` (200,000 over 100,000 groups, fastest samples) is printed for
information: about 2 for a linear check, 4 for a quadratic one, but cache effects and a loaded machine
move it, so the claim does not rest on it.
Results go to bench/results/config-<date>.json.

    python bench/bench_config.py [--sizes 1000 200000] [--repeat 5] [--load-max 200000] [--check]
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

import yaml

from harness.config import TargetConfig, load_config
from harness.config.target import _group_problems

RESULTS = Path(__file__).resolve().parent / "results"
CLAIM_GROUPS = 200_000
CLAIM_SECONDS = 1.0


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def target(groups: list[str]) -> dict[str, Any]:
    return {"topology": "pair", "groups": groups, "simulated": {"groups": 2}}


def measure(size: int, repeat: int, load_max: int) -> dict[str, list[float]]:
    distinct = [f"rcg_{i:06d}" for i in range(size)]
    repeats = [f"rcg_{i // 2:06d}" for i in range(size)]
    assert not _group_problems(distinct) and len(_group_problems(repeats)) == size // 2
    out = {
        "check": timed(lambda: _group_problems(distinct), repeat),
        "repeats": timed(lambda: _group_problems(repeats), repeat),
        "validate": timed(lambda: TargetConfig.model_validate(target(distinct)), repeat),
    }
    if size <= load_max:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "many-groups.yaml"
            path.write_text(yaml.safe_dump(target(distinct), default_flow_style=None))
            out["load"] = timed(lambda: load_config(path), max(1, min(repeat, 2)))
            out["file_bytes"] = [float(path.stat().st_size)]
    return out


def summary(samples: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(samples), 5), "min_s": round(min(samples), 5), "n": len(samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, CLAIM_GROUPS])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--load-max", type=int, default=CLAIM_GROUPS, help="largest N timed through load_config")
    parser.add_argument("--out", type=Path, help="result file (default bench/results/config-<date>.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the claim holds")
    args = parser.parse_args()

    results: dict[str, dict[str, Any]] = {}
    for size in args.sizes:
        raw = measure(size, args.repeat, args.load_max)
        results[str(size)] = {op: summary(s) if op != "file_bytes" else int(s[0]) for op, s in raw.items()}
        line = "  ".join(
            f"{op} {v['median_s'] * 1000:9.1f} ms" for op, v in results[str(size)].items() if isinstance(v, dict)
        )
        print(f"N={size:>7}  {line}", flush=True)
    per_group = {n: r["validate"]["min_s"] / int(n) * 1e6 for n, r in results.items()}  # microseconds
    claim_run, half_run = results.get(str(CLAIM_GROUPS)), results.get(str(CLAIM_GROUPS // 2))
    doubling = claim_run["validate"]["min_s"] / half_run["validate"]["min_s"] if claim_run and half_run else None
    holds = bool(claim_run) and claim_run["validate"]["median_s"] < CLAIM_SECONDS
    document = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform},
        "sizes": args.sizes,
        "results": results,
        "validate_us_per_group": {n: round(v, 3) for n, v in per_group.items()},
        "validate_doubling_ratio": round(doubling, 2) if doubling else None,
        "claim": {
            "text": f"TargetConfig validation of {CLAIM_GROUPS} groups < {CLAIM_SECONDS} s (median)",
            "holds": holds,
        },
    }
    out = args.out or RESULTS / f"config-{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"claim {'holds' if holds else 'DOES NOT HOLD'}; doubling ratio {document['validate_doubling_ratio']}; "
          f"us per group: {document['validate_us_per_group']}")  # fmt: skip
    print(out)
    return 0 if holds or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
