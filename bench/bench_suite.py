#!/usr/bin/env python
"""`smis-harness bench [--quick]`: the harness's speed and memory figures, each against its baseline,
measured in one process run on this machine (bench/README.md says what each figure means).

Prints a table (median, min, max of each figure's samples, its baseline and target) and, as its last
stdout line, one JSON object with the figures. Writes bench/results/bench-<date>[-quick].json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from bench_group_read import CONNECTIONS
from bench_poll import probe_for, timed
from harness_runs import (
    HarnessRun,
    WorldWatcher,
    arrays_own_seconds,
    command_windows,
    detection_latencies,
    observed_states,
    pair_config,
    run_harness,
)
from pywbem import CIMInstanceName

from harness.cim import PAIR_CLASS, PAIR_PROPERTIES
from harness.cim_read_choice import choose_read
from harness.mock.lab_config import write_lab_config
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec

RESULTS = Path(__file__).resolve().parent / "results"
ONE_GROUP = ["rcg_sync_0"]
FOUR_GROUPS = ["rcg_sync_0", "rcg_periodic_1", "rcg_sync_2", "rcg_periodic_3"]


@dataclass
class Figure:
    name: str
    unit: str
    target: tuple[str, float] | None  # ("<=" | ">=", value)
    samples: list[float] = field(default_factory=list)
    baseline: str = ""  # what it is compared with, and that baseline's value
    note: str = ""
    failed: str = ""  # why it could not be measured (the bench then exits 1)

    @property
    def value(self) -> float | None:
        return round(statistics.median(self.samples), 3) if self.samples else None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        op, limit = self.target
        return self.value <= limit if op == "<=" else self.value >= limit


@dataclass
class Settings:
    quick: bool
    work: Path
    repeat: int
    rows: list[str]  # row selection for the tour runs (empty: every row)
    scale: int  # noise volume pairs of the large array
    say: Callable[[str], None]

    @classmethod
    def of(cls, quick: bool, work: Path) -> Settings:
        def say(text: str) -> None:
            print(f"bench: {text}", file=sys.stderr, flush=True)

        if quick:
            return cls(True, work, 1, ["table106"], 1000, say)
        return cls(False, work, 3, [], 10000, say)


# --------------------------------------------------------------------------- the tour: overhead, groups, targets


def _tour(s: Settings, name: str, args: Sequence[str]) -> HarnessRun:
    report = s.work / name
    run = run_harness([*args, "--allow-disruptive", *s.rows], report, s.work / f"{name}.log")
    verdict = (run.results or {}).get("verdict")
    s.say(f"{name}: {run.wall_s:.1f} s, {verdict}, exit {run.exit_code}")
    if verdict != "conformant":
        raise BenchError(f"the run {name} was {verdict} (exit {run.exit_code}); see {s.work / name}.log")
    return run


def suite_overhead(s: Settings, figures: dict[str, Figure]) -> None:
    config = pair_config(s.work / "one-group.yaml", ONE_GROUP)
    link_detect = 0.6  # harness.mock.world.Durations.link_detect: the arrays' own detection delay
    ratio, own = figures["suite_overhead_ratio"], []
    for i in range(s.repeat):
        run = _tour(s, f"one-group-{i}", ["--config", str(config)])
        own.append(arrays_own_seconds(run.results or {}, link_detect))
        ratio.samples.append(run.wall_s / own[-1])
    ratio.baseline = f"arrays' own time {statistics.median(own):.1f} s"


def multigroup(s: Settings, figures: dict[str, Figure]) -> None:
    one = pair_config(s.work / "mg-one.yaml", ONE_GROUP, world_groups=4)
    four = pair_config(s.work / "mg-four.yaml", FOUR_GROUPS, world_groups=4)
    figure, singles = figures["multigroup_ratio_4"], []
    for i in range(s.repeat):
        singles.append(_tour(s, f"mg-one-{i}", ["--config", str(one)]).wall_s)
        figure.samples.append(_tour(s, f"mg-four-{i}", ["--config", str(four)]).wall_s / singles[-1])
    figure.baseline = f"1 group {statistics.median(singles):.1f} s"


def parallel_targets(s: Settings, figures: dict[str, Figure]) -> None:
    configs = [pair_config(s.work / f"pair-{n}.yaml", ONE_GROUP) for n in range(4)]
    several = [a for c in configs for a in ("--config", str(c))]
    figure, singles = figures["parallel_ratio_4"], []
    for i in range(s.repeat):
        singles.append(_tour(s, f"par-one-{i}", ["--config", str(configs[0])]).wall_s)
        figure.samples.append(_tour(s, f"par-four-{i}", [*several, "--jobs", "4"]).wall_s / singles[-1])
    figure.baseline = f"1 pair {statistics.median(singles):.1f} s"


def default_run(s: Settings, figures: dict[str, Figure]) -> None:
    figure = figures["full_default_run_s"]
    if s.quick:
        figure.note = "not measured with --quick (the default run, every row, takes a minute)"
        return
    run = run_harness([], s.work / "default", s.work / "default.log")
    verdict = (run.results or {}).get("verdict")
    s.say(f"default run: {run.wall_s:.1f} s, {verdict}")
    if verdict != "conformant":
        raise BenchError(f"the default run was {verdict}; see {s.work / 'default.log'}")
    figure.samples.append(run.wall_s)
    figure.baseline = f"{len(run.verdicts)} rows"


# --------------------------------------------------------------------------- latency and memory on served arrays


def _served_run(s: Settings, name: str, scale: int, rows: Sequence[str]) -> tuple[HarnessRun, WorldWatcher]:
    """The harness against simulated arrays served by this process (as `mock serve` serves them), the
    world's changes watched meanwhile."""
    with SimulatedArrays(WorldSpec(topology="pair", scale=scale)) as sim:
        config = s.work / f"{name}.yaml"
        write_lab_config(config, sim.describe(), sim.world.durations)
        document = yaml.safe_load(config.read_text())
        document["groups"] = document["groups"][:1]  # the group under test; the watcher follows it
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        names = {"primary": sim.group_names()[0]}
        names["secondary"] = f"{names['primary']}.r{sim.describe()['arrays']['primary']['system_id']}"
        watcher = WorldWatcher(sim.world, names).start()
        try:
            run = run_harness(["--config", str(config), "--allow-disruptive", *rows], s.work / name,
                              s.work / f"{name}.log")  # fmt: skip
        finally:
            watcher.stop()
    s.say(f"{name}: {run.wall_s:.1f} s, {(run.results or {}).get('verdict')}, peak RSS {run.peak_rss_mb:.0f} MB")
    return run, watcher


def detection_and_memory(s: Settings, figures: dict[str, Figure]) -> None:
    rows = ["table106", "table107"] if not s.quick else ["T107-01", "T107-02", "T107-03"]
    small, watcher = _served_run(s, "served-0", 0, rows)
    observations = observed_states(small.report_dir)
    commanded, own, unseen = detection_latencies(watcher.changes, observations,
                                                 command_windows(small.results or {}, observations))  # fmt: skip
    latency = figures["detection_latency_ms"]
    latency.samples = commanded
    own_median = f"{statistics.median(own):.0f} ms" if own else "none seen"
    latency.baseline = f"the arrays' own timers' changes {own_median}"
    latency.note = f"{len(commanded)} command-caused changes, {len(own)} by the arrays' timers, {unseen} unseen"
    large, _ = _served_run(s, f"served-{s.scale}", s.scale, rows)
    memory = figures["peak_rss_mb"]
    memory.samples = [large.peak_rss_mb]
    memory.baseline = f"{small.peak_rss_mb:.0f} MB on an array without noise"
    memory.note = f"the harness process, {s.scale} noise pairs"


# --------------------------------------------------------------------------- one observation


def _read_times(spec: WorldSpec, repeat: int, naive: bool = False,
                choose: bool = False) -> tuple[list[float], list[float]]:  # fmt: skip
    """Milliseconds of the harness's read of the group under test on the secondary, serial or (`choose`) by
    the path preflight chooses (and of the naive read: EnumerateInstances of every pair, same property
    list, filtered to the group)."""
    with SimulatedArrays(spec) as sim:
        probe = probe_for(sim.describe(), "secondary", "primary")
        group = probe.group
        assert group is not None
        try:
            if choose:
                choice = choose_read(probe.cim, group, CONNECTIONS)
                print(f"bench: {choice.line('secondary')}", file=sys.stderr)
            ours = timed(lambda: probe.cim.read(group), repeat)
            if not naive:
                return ours, []
            members = {_volume_key(CIMInstanceName.from_wbem_uri(m)) for m in group.members}

            def enumerate_all() -> list[Any]:
                found = probe.cim.conn.EnumerateInstances(PAIR_CLASS, PropertyList=PAIR_PROPERTIES)
                return [i for i in found if _ends(i.path) & members]

            return ours, timed(enumerate_all, max(1, repeat // 20))
        finally:
            probe.cli.close()
            probe.cim.close()


def _ends(pair: Any) -> set[tuple[str, str]]:
    return {_volume_key(pair.keybindings[end]) for end in ("SyncedElement", "SystemElement")}


def _volume_key(path: Any) -> tuple[str, str]:
    return (str(path.keybindings.get("DeviceID")), str(path.keybindings.get("SystemName")))


def observation_cost(s: Settings, figures: dict[str, Figure]) -> None:
    repeat = 20 if s.quick else 100
    base, _ = _read_times(WorldSpec(topology="pair"), repeat)
    s.say(f"read at scale 0: {statistics.median(base):.1f} ms")
    large, naive = _read_times(WorldSpec(topology="pair", scale=s.scale), repeat, naive=True)
    s.say(f"read at scale {s.scale}: {statistics.median(large):.1f} ms, naive {statistics.median(naive):.0f} ms")
    growth = figures["poll_growth_10k"]
    growth.samples = [statistics.median(large) / statistics.median(base)]
    growth.baseline = f"scale 0 {statistics.median(base):.1f} ms"
    growth.note = f"scale {s.scale}"
    speedup = figures["poll_speedup_vs_naive"]
    speedup.samples = [n / statistics.median(large) for n in naive]
    speedup.baseline = f"naive {statistics.median(naive):.0f} ms"
    speedup.note = f"scale {s.scale}"
    group, _ = _read_times(WorldSpec(topology="pair", groups=1, volumes_per_group=256), repeat // 5, choose=True)
    figure = figures["group_256_observation_ms"]
    figure.samples = group
    figure.baseline = f"2 volumes {statistics.median(base):.1f} ms"


# --------------------------------------------------------------------------- the whole bench


class BenchError(Exception):
    """A measurement could not be taken (a run was not conformant, a server did not start)."""


def figures_wanted() -> dict[str, Figure]:
    return {f.name: f for f in (
        Figure("suite_overhead_ratio", "x", ("<=", 1.3)),
        Figure("detection_latency_ms", "ms", ("<=", 50)),
        Figure("poll_speedup_vs_naive", "x", (">=", 100)),
        Figure("poll_growth_10k", "x", ("<=", 1.2)),
        Figure("group_256_observation_ms", "ms", ("<=", 150)),
        Figure("multigroup_ratio_4", "x", ("<=", 1.3)),
        Figure("parallel_ratio_4", "x", ("<=", 1.3)),
        Figure("full_default_run_s", "s", None),
        Figure("peak_rss_mb", "MB", ("<=", 200)),
    )}  # fmt: skip


STEPS = (observation_cost, detection_and_memory, suite_overhead, multigroup, parallel_targets, default_run)


def measure(s: Settings) -> dict[str, Figure]:
    figures = figures_wanted()
    for step in STEPS:
        try:
            step(s, figures)
        except BenchError as exc:
            s.say(f"{step.__name__}: not measured: {exc}")
            for figure in figures.values():
                if _belongs(step, figure) and not figure.samples:
                    figure.failed = f"not measured: {exc}"
    return figures


def _belongs(step: Callable[..., Any], figure: Figure) -> bool:
    owners = {
        "observation_cost": ("poll_growth_10k", "poll_speedup_vs_naive", "group_256_observation_ms"),
        "detection_and_memory": ("detection_latency_ms", "peak_rss_mb"),
        "suite_overhead": ("suite_overhead_ratio",),
        "multigroup": ("multigroup_ratio_4",),
        "parallel_targets": ("parallel_ratio_4",),
        "default_run": ("full_default_run_s",),
    }
    return figure.name in owners.get(step.__name__, ())


def table(figures: dict[str, Figure]) -> list[str]:
    lines = [f"{'figure':26} {'median':>9} {'min':>9} {'max':>9}  {'target':8} {'met':5} baseline / note"]
    for f in figures.values():

        def num(v: float | None) -> str:
            return f"{v:9.3g}" if v is not None else f"{'-':>9}"

        low = min(f.samples) if f.samples else None
        high = max(f.samples) if f.samples else None
        target = f"{f.target[0]} {f.target[1]:g}" if f.target else "-"
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        extra = "; ".join(x for x in (f.failed, f.baseline, f.note) if x)
        lines.append(f"{f.name:26} {num(f.value)} {num(low)} {num(high)}  {target:8} {met:5} {extra}")
    return lines


def document(figures: dict[str, Figure], s: Settings, seconds: float) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": s.quick,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "seconds": round(seconds, 1),
        "figures": {f.name: _figure_dict(f) for f in figures.values()},
    }


def _figure_dict(f: Figure) -> dict[str, Any]:
    return {
        "median": f.value,
        "min": min(f.samples, default=None),
        "max": max(f.samples, default=None),
        "n": len(f.samples),
        "target": list(f.target) if f.target else None,
        "met": f.met,
        "baseline": f.baseline,
        "note": f.note,
        "failed": f.failed or None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smis-harness bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small scale, one sample each (proves it works)")
    parser.add_argument("--out", metavar="FILE", help="where the JSON results go (default bench/results/)")
    parser.add_argument("--keep", metavar="DIR", help="keep the runs' report dirs and logs in DIR (default: removed)")
    args = parser.parse_args(argv)
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they override pywbem's CA for the self-signed arrays
        os.environ.pop(var, None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smis-bench-") as temporary:
        work = Path(args.keep) if args.keep else Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        s = Settings.of(args.quick, work)
        figures = measure(s)
    doc = document(figures, s, time.perf_counter() - started)
    name = f"bench-{datetime.now(UTC):%Y-%m-%d}{'-quick' if s.quick else ''}.json"
    out = Path(args.out) if args.out else RESULTS / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print("\n".join(table(figures)))
    print(f"written {out} ({doc['seconds']:.0f} s)", file=sys.stderr)
    print(json.dumps({name: f.value for name, f in figures.items()}))
    failed = [f.name for f in figures.values() if f.failed]
    if failed:
        print(f"bench: not measured: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
