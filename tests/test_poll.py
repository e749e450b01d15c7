"""The poller, with stand-in interfaces that answer as an array would (real showrcopy text, real parsing)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.array_cli import CliError, CliResult
from harness.cim import CimError, GroupHandle
from harness.observation import CimPair, CimView, Observation, Timeline
from harness.poll import ArrayProbe, Poller, TransientCheck, sample_times, transient_checks, window_rows
from harness.spec import load_spec

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "alletra-mp-10.5"
GROUP = "Test-RCG.r188150"
PEER = "AlletraMP_E18U31"


def groups_text(role: str) -> str:
    """`showrcopy groups` as the E18U31 capture prints it, with the group's role changed."""
    text = (CAPTURES / "E18U31_showrcopy.txt").read_text()
    block = text.split("Group Information\n", 1)[1]
    head = "\nRemote Copy System Information\nStatus: Started, Normal\n\nGroup Information\n"
    row = "Test-RCG.r188150 AlletraMP_E18U31 Started  "
    return (head + block).replace(row + "Secondary ", row + f"{role:<10}")


def targets_text() -> str:
    text = (CAPTURES / "E18U31_showrcopy.txt").read_text()
    return text.split("Link Information", 1)[0]


class ScriptedCli:
    """Answers showrcopy like the array; the role it prints follows `roles` (one per `groups` call)."""

    array = "secondary"

    def __init__(self, roles: Iterator[str] | None = None, fail: bool = False) -> None:
        self.roles = roles or itertools.repeat("Secondary")
        self.fail = fail
        self.refs = itertools.count()

    def run(self, command: str, stdin: str | None = None, timeout: float | None = None) -> CliResult:
        if self.fail:
            raise CliError("secondary: cannot connect over SSH (Connection refused); check host and port")
        now = time.monotonic()
        out = targets_text() if command == "showrcopy targets" else groups_text(next(self.roles))
        return CliResult("secondary", command, out, "", 0, now, now, ref=f"cli-{next(self.refs)}")


class ScriptedCim:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.reads = 0

    def read(self, group: GroupHandle, peer_serial: str | None = None) -> CimView:
        self.reads += 1
        if self.fail:
            raise self.fail
        pair = CimPair("p", "a", "b", True, False, "TPD_StorageVolume", "TPD_StorageVolume", "TestRC_VV1",
                       {"CopyState": 4})  # fmt: skip
        return CimView("3PAR:" + GROUP, (pair,))


def probe(cim: object, cli: object) -> ArrayProbe:
    handle = GroupHandle(GROUP, None, "3PAR:" + GROUP, {})  # type: ignore[arg-type]
    return ArrayProbe("secondary", cim, cli, handle, GROUP, PEER)  # type: ignore[arg-type]


def make_poller(*probes: ArrayProbe, **kwargs: object) -> Poller:
    return Poller(list(probes), Timeline(), 0.02, time.monotonic(), **kwargs)  # type: ignore[arg-type]


def test_a_sample_reads_both_interfaces_through_the_real_parser() -> None:
    poller = make_poller(probe(ScriptedCim(), ScriptedCli()))
    obs = poller.sample(poller.probes[0])
    assert obs.cim is not None and obs.cim.pairs[0].properties == {"CopyState": 4}
    assert obs.cli is not None
    assert (obs.cli.role, obs.cli.status, obs.cli.target_status) == ("Secondary", "Started", "ready")
    assert [v.local_vv for v in obs.cli.volumes] == ["TestRC_VV1", "TestRC_VV2"]
    assert obs.consistent
    assert obs.transcript_ref == "cli-0,cli-1,cli-2,cli-3"  # targets+groups before, targets+groups after CIM
    assert obs.t_start <= obs.t_end


def test_a_cli_change_during_the_cim_read_marks_the_sample_inconsistent() -> None:
    cli = ScriptedCli(iter(["Primary", "Secondary"]))
    poller = make_poller(probe(ScriptedCim(), cli))
    obs = poller.sample(poller.probes[0])
    assert obs.cli is not None and obs.cli.role == "Primary"
    assert not obs.consistent


def test_errors_become_evidence_not_exceptions() -> None:
    cim = ScriptedCim(fail=CimError("https://127.0.0.1:1: cannot connect (refused); check the URL"))
    poller = make_poller(probe(cim, ScriptedCli(fail=True)))
    obs = poller.sample(poller.probes[0])
    assert obs.cim is None and "cannot connect" in (obs.cim_error or "")
    assert obs.cli is None and "Connection refused" in (obs.cli_error or "")


def test_threads_record_with_run_wide_sequence_numbers_and_survive_surprises() -> None:
    shared = itertools.count()
    seen: list[Observation] = []
    lock = threading.Lock()

    def sink(obs: Observation) -> None:
        with lock:
            seen.append(obs)

    surprising = ScriptedCim(fail=ZeroDivisionError("provider returned nonsense"))
    first = make_poller(probe(ScriptedCim(), ScriptedCli()), sink=sink, seq=shared, group="g1")
    second = make_poller(probe(surprising, ScriptedCli()), sink=sink, seq=shared, group="g2")
    for poller in (first, second):
        poller.start()
    try:
        assert first.wait_for(lambda: True if len(second.timeline.observations) >= 3 else None, first.now() + 10)
    finally:
        first.stop()
        second.stop()
    seqs = [o.seq for o in seen]
    assert len(seqs) == len(set(seqs)) == len(first.timeline.observations) + len(second.timeline.observations)
    assert {o.group for o in first.timeline.observations} == {"g1"}
    broken = second.timeline.observations[0]
    assert "ZeroDivisionError" in (broken.cim_error or "") and surprising.reads >= 3


def test_wait_for_gives_up_at_the_deadline_with_heartbeats() -> None:
    poller = make_poller()
    beats: list[tuple[float, float]] = []
    started = time.monotonic()
    result = poller.wait_for(lambda: None, poller.now() + 0.35, lambda e, r: beats.append((e, r)), every=0.1)
    assert result is None
    assert 0.3 <= time.monotonic() - started < 2
    assert beats and all(elapsed >= 0.1 and remaining >= 0 for elapsed, remaining in beats)


def test_wait_for_returns_as_soon_as_the_predicate_holds() -> None:
    poller = make_poller()
    calls = itertools.count()
    assert poller.wait_for(lambda: "seen" if next(calls) >= 2 else None, poller.now() + 5) == "seen"


@pytest.mark.parametrize("kind", ["command", "stage"])
def test_marks_are_timestamped_events_of_the_group(kind: str) -> None:
    poller = make_poller(group="g1")
    event = poller.mark(kind, detail="x")
    assert event["kind"] == kind and event["group"] == "g1" and event["t"] >= 0
    assert poller.timeline.events == [event]


# --------------------------------------------------------------------------- sampling while a command runs


class TransientCli(ScriptedCli):
    """Prints role Primary while `showing` is set (a transient), Secondary otherwise; each call takes `delay`."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.showing = threading.Event()
        self.delay = delay

    def run(self, command: str, stdin: str | None = None, timeout: float | None = None) -> CliResult:
        time.sleep(self.delay)
        self.roles = itertools.repeat("Primary" if self.showing.is_set() else "Secondary")
        return super().run(command, stdin, timeout)


def transient(poller: Poller, cli: TransientCli, seconds: float, *, as_command: bool) -> tuple[float, float]:
    """Show the transient for `seconds`, inside `poller.command()` or not; returns its window (run time)."""
    first = poller.wait_for(lambda: True if poller.timeline.observations else None, poller.now() + 5)
    assert first, "no first sample"
    time.sleep(0.05)
    start = poller.now()
    if as_command:
        with poller.command():
            cli.showing.set()
            time.sleep(seconds)
            cli.showing.clear()
    else:
        cli.showing.set()
        time.sleep(seconds)
        cli.showing.clear()
    return start, poller.now()


def caught(poller: Poller, window: tuple[float, float]) -> list[Observation]:
    """Samples entirely inside the window that show the transient (what an in-progress row is judged on)."""
    inside = [o for o in poller.timeline.of("secondary", *window) if o.t_end <= window[1]]
    return [o for o in inside if o.cli is not None and o.cli.role == "Primary" and o.consistent]


def test_the_interval_alone_misses_a_transient_shorter_than_it() -> None:
    """The contrast case: without `command()`, a 2 s interval loses a 0.4 s transient."""
    cli = TransientCli()
    poller = Poller([probe(ScriptedCim(), cli)], Timeline(), 2.0, time.monotonic(), min_gap=0.01)
    poller.start()
    try:
        window = transient(poller, cli, 0.4, as_command=False)
    finally:
        poller.stop()
    assert not caught(poller, window)


def test_while_a_command_runs_samples_follow_back_to_back_and_catch_a_short_transient() -> None:
    cli = TransientCli(delay=0.01)  # a sample (4 CLI calls) takes about 0.04 s
    poller = Poller([probe(ScriptedCim(), cli)], Timeline(), 2.0, time.monotonic(), min_gap=0.01)
    poller.start()
    try:
        window = transient(poller, cli, 0.4, as_command=True)
        idle_from = poller.now()
        time.sleep(0.5)
        idle_to = poller.now()
    finally:
        poller.stop()
    inside = poller.timeline.of("secondary", *window)
    assert inside and inside[0].t_start - window[0] < 0.15, "a command wakes the sleeping poller at once"
    assert len(inside) >= 4, f"back to back: {len(inside)} samples in 0.4 s"
    assert caught(poller, window)
    assert len(poller.timeline.of("secondary", idle_from + 0.1, idle_to)) == 0, "after the command: the interval"


def test_when_a_command_returns_every_array_is_sampled_at_once_then_at_the_interval() -> None:
    cli = TransientCli()
    poller = Poller([probe(ScriptedCim(), cli)], Timeline(), 2.0, time.monotonic(), min_gap=0.5)
    poller.start()
    try:
        _, end = transient(poller, cli, 0.2, as_command=True)
        time.sleep(0.6)
        later = poller.now()
    finally:
        poller.stop()
    after = poller.timeline.of("secondary", end, later)
    assert after and after[0].t_start - end < 0.05, "the command's end is seen at once, not at the next tick"
    assert after[0].cli is not None and after[0].cli.role == "Secondary"
    assert len(after) == 1, "then the interval again (2 s)"


def test_wake_starts_the_next_sample_at_once() -> None:
    poller = Poller([probe(ScriptedCim(), ScriptedCli())], Timeline(), 2.0, time.monotonic())
    poller.start()
    try:
        poller.wait_for(lambda: True if poller.timeline.observations else None, poller.now() + 5)
        woken = poller.now()
        poller.wake()
        poller.wait_for(lambda: True if len(poller.timeline.observations) > 1 else None, poller.now() + 5)
    finally:
        poller.stop()
    second = poller.timeline.observations[1]
    assert second.t_start - woken < 0.05, f"sampled {second.t_start - woken:.3f}s after wake()"


def test_min_gap_bounds_how_often_an_array_is_sampled_while_a_command_runs() -> None:
    cli = TransientCli()  # instant samples: only min_gap holds them back
    poller = Poller([probe(ScriptedCim(), cli)], Timeline(), 2.0, time.monotonic(), min_gap=0.1)
    poller.start()
    try:
        window = transient(poller, cli, 0.6, as_command=True)
    finally:
        poller.stop()
    starts = [o.t_start for o in poller.timeline.of("secondary", *window)]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert 4 <= len(starts) <= 8, starts
    assert min(gaps) >= 0.1 - 0.005, gaps


def test_a_transient_as_long_as_two_samples_plus_margin_is_caught_for_sure() -> None:
    """The rule the dry-run and preflight use: max(min_gap, sample time) + sample time <= transient."""
    cli = TransientCli(delay=0.025)  # sample time ~0.1 s
    poller = Poller([probe(ScriptedCim(), cli)], Timeline(), 0.11, time.monotonic(), min_gap=0.05)
    poller.start()
    try:
        windows = [transient(poller, cli, 0.3, as_command=True) for _ in range(3)]
    finally:
        poller.stop()
    measured = sample_times(poller.timeline, ["secondary"])["secondary"]
    check = TransientCheck("failover", (("T107-02", "secondary"),), 0.3, 0.05, {"secondary": measured})
    assert check.ok, check.describe()
    assert all(caught(poller, w) for w in windows)


# --------------------------------------------------------------------------- can the polling catch it?


def test_in_progress_rows_map_to_the_command_whose_run_is_their_window() -> None:
    rows = window_rows(load_spec().rows.values(), "pair")
    assert rows == [
        ("T106-02", "primary", "start"),
        ("T106-02", "secondary", "start"),
        ("T107-02", "secondary", "failover"),
        ("T107-05", "secondary", "recover"),
        ("T107-06", "primary", "recover"),
        ("T107-11", "secondary", "restore"),
        ("T107-14", "primary", "restore"),
    ]
    assert window_rows(load_spec().rows.values(), "sld") == []


TRANSIENTS = {"start": 1.0, "failover": 1.0, "recover": 30.0, "restore": 1.5}


def checks(min_gap: float, times: dict[str, float] | None = None) -> dict[str, TransientCheck]:
    found = transient_checks(window_rows(load_spec().rows.values(), "pair"), TRANSIENTS, min_gap, times)
    return {c.command: c for c in found}


def test_a_small_min_gap_catches_every_transient_if_samples_are_short_enough() -> None:
    found = checks(0.05)
    assert all(c.ok for c in found.values())
    assert found["failover"].longest_sample == 0.5 and found["recover"].longest_sample == 15
    text = found["restore"].describe()
    assert "T107-11, T107-14" in text and "1.5 s" in text and "at most 0.75 s" in text, text
    assert found["start"].describe().count("T106-02") == 1


def test_a_min_gap_as_long_as_the_transient_cannot_catch_it() -> None:
    found = checks(1.2)
    assert not found["failover"].ok and not found["start"].ok and not found["restore"].ok
    assert found["recover"].ok
    text = found["failover"].describe()
    assert text.startswith("WARNING") and "T107-02" in text and "no sample is sure to land inside it" in text, text
    assert "polling.min_gap 1.2 s" in text and "set polling.min_gap to at most 0.5 s" in text, text
    assert "preflight measures" in text


def test_a_min_gap_over_half_the_transient_narrows_what_catches_it() -> None:
    text = checks(0.8)["failover"].describe()
    assert text.startswith("WARNING") and "at most 0.2 s" in text and "polling.min_gap to at most 0.5 s" in text, text


def test_a_slow_sample_is_named_with_its_array_and_rows() -> None:
    found = checks(0.05, {"primary": 0.3, "secondary": 0.7})
    assert found["start"].slow_arrays() == ["secondary"] and not found["start"].ok
    assert found["restore"].ok  # 0.7 s samples fit a 1.5 s restore transient
    text = found["failover"].describe()
    assert "0.7 s on secondary" in text and "T107-02" in text and "NOT_OBSERVED" in text, text
    assert "more than the 0.5 s" in text and "primary" not in text.split("T107-02")[1], text
    both = checks(1.2, {"secondary": 0.7})["failover"].describe()
    assert "polling.min_gap to at most 0.5 s" in both and "0.7 s on secondary" in both, both
