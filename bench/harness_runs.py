"""Running the harness the way a user does, for the benchmarks: `smis-harness run` as its own process
(its wall time and its own peak memory, VmHWM), and a watcher
that records when the simulated world's group state really changed (the ground truth for detection
latency: the world is in this process, the harness in its own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.mock.world import World

PACKAGED_PAIR = Path(__file__).resolve().parents[1] / "harness" / "targets" / "mock-pair.yaml"


@dataclass(frozen=True)
class HarnessRun:
    wall_s: float
    exit_code: int
    peak_rss_mb: float
    report_dir: Path
    results: dict[str, Any] | None

    @property
    def verdicts(self) -> dict[str, str]:
        rows = (self.results or {}).get("rows", [])
        return {r["id"]: r["verdict"] for r in rows}


def run_harness(args: Sequence[str], report_dir: Path, log: Path) -> HarnessRun:
    """`smis-harness run ARGS --report-dir DIR --force` in its own process; wall time and peak RSS of that
    process (`peak_rss_mb`)."""
    command = [sys.executable, "-m", "harness.command_line", "run", *args, "--report-dir", str(report_dir), "--force"]
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        peak = PeakRss(proc.pid)
        proc.wait()
    wall = time.perf_counter() - started
    results_file = report_dir / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else None
    return HarnessRun(wall, proc.returncode, peak.stop(), report_dir, results)


class PeakRss:
    """A process's own peak RSS: its VmHWM (/proc/PID/status), read every `every` seconds while it runs.

    Not the kernel's ru_maxrss from wait4: at exec Linux carries the parent's high-water mark into the
    child's, so a harness started by this process (which holds a 10,000-pair world) would be charged with
    this process's memory. VmHWM belongs to the process's own address space, made at exec; growth in the
    last `every` seconds before it exits is missed."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self._path, self._every, self._kb = Path(f"/proc/{pid}/status"), every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                text = self._path.read_text()
            except OSError:
                return
            line = next((x for x in text.splitlines() if x.startswith("VmHWM:")), None)
            if line is None:  # a zombie: its address space is gone
                return
            self._kb = max(self._kb, int(line.split()[1]))
            self._done.wait(self._every)

    def stop(self) -> float:
        """The peak in MB (the process has ended)."""
        self._done.set()
        self._thread.join()
        return self._kb / 1024


def pair_config(path: Path, groups: Sequence[str], world_groups: int | None = None, **polling: Any) -> Path:
    """The packaged simulated pair with `groups` under test (and `world_groups` groups in its world)."""
    document = yaml.safe_load(PACKAGED_PAIR.read_text())
    document["groups"] = list(groups)
    document["simulated"]["groups"] = world_groups or max(2, len(groups))
    document["polling"].update(polling)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def arrays_own_seconds(results: dict[str, Any], link_detect: float) -> float:
    """The time the arrays themselves took: every command the harness sent, from issue to return (the DR
    commands wait for their task), and after each "primary down" event the arrays' own detection delay."""
    events = results.get("events", [])
    issued: dict[tuple[Any, Any], float] = {}
    total = 0.0
    for event in events:
        key = (event.get("array"), event.get("command"))
        if event["kind"] == "command":
            issued[key] = float(event["t"])
        elif event["kind"] == "command_done" and key in issued:
            total += float(event["t"]) - issued.pop(key)
        elif event["kind"] == "event" and event.get("name") == "primary_down":
            total += link_detect
    return total


# --------------------------------------------------------------------------- when the world really changed


@dataclass
class Change:
    array: str
    wall: float  # time.time() when the watcher saw the world's state change
    state: tuple[str, str, tuple[str, ...]]  # role, status, volume sync statuses (the CLI's words)


@dataclass
class WorldWatcher:
    """Samples the world's group state every `every` seconds (in process: a few attribute reads under the
    world lock) and keeps each change, per array."""

    world: World
    groups: dict[str, str]  # array key -> the group's name on it
    every: float = 0.002
    changes: list[Change] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def state(self, array: str) -> tuple[str, str, tuple[str, ...]] | None:
        with self.world.lock:
            found = self.world.groups_on(array, self.groups[array])
            if not found:
                return None
            _, reps = found[0]
            rep = reps[0]
            side = rep.side(array)
            return (str(side.role), str(side.status), tuple(str(p.sync_status) for p in rep.pairs))

    def start(self) -> WorldWatcher:
        self._thread = threading.Thread(target=self._loop, name="world-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        last: dict[str, Any] = {}
        while not self._stop.is_set():
            for array in self.groups:
                now = self.state(array)
                if array in last and now != last[array] and now is not None:
                    self.changes.append(Change(array, time.time(), now))
                last[array] = now
            time.sleep(self.every)


def detection_latencies(changes: Sequence[Change], observations: Sequence[dict[str, Any]],
                        windows: Sequence[tuple[float, float]]) -> tuple[list[float], list[float], int]:  # fmt: skip
    """Milliseconds from each world change to the end of the first sample of that array that shows the new
    state: (changes inside a command's run, changes the arrays made on their own, changes never seen).
    `windows` are the commands' runs in wall time."""
    commanded: list[float] = []
    own: list[float] = []
    unseen = 0
    for change in changes:
        seen = _first_showing(change, observations)
        if seen is None:
            unseen += 1
            continue
        latency = (seen - change.wall) * 1000
        inside = any(start <= change.wall <= end + 0.05 for start, end in windows)
        (commanded if inside else own).append(latency)
    return commanded, own, unseen


def _first_showing(change: Change, observations: Sequence[dict[str, Any]]) -> float | None:
    for obs in observations:
        if obs["array"] != change.array or obs["end_wall"] < change.wall:
            continue
        if obs["state"] == change.state:
            return float(obs["end_wall"])
        if obs["start_wall"] > change.wall + 5:
            return None
    return None


def observed_states(report_dir: Path) -> list[dict[str, Any]]:
    """Each observation of observations.jsonl with its CLI state and its start/end in wall time."""
    from datetime import datetime

    found = []
    for line in (report_dir / "observations.jsonl").read_text().splitlines():
        obs = json.loads(line)
        cli = obs.get("cli")
        if not cli:
            continue
        start = datetime.fromisoformat(obs["wall"]).timestamp()
        state = (cli["role"], cli["status"], tuple(v["sync_status"] for v in cli["volumes"]))
        found.append({"array": obs["array"], "start_wall": start, "end_wall": start + obs["t_end"] - obs["t_start"],
                      "state": state, "t_start": obs["t_start"]})  # fmt: skip
    return found


def command_windows(results: dict[str, Any], observations: Sequence[dict[str, Any]]) -> list[tuple[float, float]]:
    """The commands' runs (command .. command_done events, run time) in wall time, through the observations'
    two clocks."""
    if not observations:
        return []
    offset = observations[0]["start_wall"] - observations[0]["t_start"]
    windows, issued = [], {}
    for event in results.get("events", []):
        key = (event.get("array"), event.get("command"))
        if event["kind"] == "command":
            issued[key] = float(event["t"])
        elif event["kind"] == "command_done" and key in issued:
            windows.append((issued.pop(key) + offset, float(event["t"]) + offset))
    return windows
