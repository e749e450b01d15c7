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
from harness.observe import CimPair, CimView, Observation, Timeline
from harness.poll import ArrayProbe, Poller

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
