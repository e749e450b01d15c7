"""The instance-set check and how it decides rows: one TPD_RemoteStorageSynchronized per volume pair
showrcopy lists, judged on scripted observations (no I/O)."""

from __future__ import annotations

from dataclasses import replace

from harness.instance_set import instance_set_problems
from harness.observation import CimPair, CimRefusal, CimView, CliView, CliVolume, Observation
from harness.results import Verdict
from harness.spec import load_spec
from harness.verdicts import Expectation, judge_each, judge_in_progress, judge_settled, stage_not_reached

VOLUMES = ("vv1", "vv2")
FAILED_OVER = (10, 12, 2)
FAILING_OVER = (10, 12, 11)
SYNCED = (4, 6, 2)


def pair(local: str, values: tuple[int, int, int], *, swapped: bool = False) -> CimPair:
    copy_state, sync_state, progress = values
    here, there = f'TPD_StorageVolume.DeviceID="{local}"', f'//peer/TPD_StorageVolume.DeviceID="{local}.r"'
    system, synced = (there, here) if swapped else (here, there)
    return CimPair(
        path=f"TPD_RemoteStorageSynchronized.SystemElement={system},SyncedElement={synced}",
        system_element=system,
        synced_element=synced,
        system_element_local=not swapped,
        synced_element_local=swapped,
        system_element_class="TPD_StorageVolume",
        synced_element_class="TPD_StorageVolume",
        local_volume=local,
        properties={"CopyState": copy_state, "SyncState": sync_state, "ProgressStatus": progress},
    )


def obs(
    seq: int,
    values: tuple[int, int, int] = FAILED_OVER,
    *,
    pairs: tuple[CimPair, ...] | None = None,
    refusals: tuple[CimRefusal, ...] = (),
    role: str = "Primary-Rev",
    sync_status: str = "Stopped",
    array: str = "secondary",
) -> Observation:
    volumes = tuple(CliVolume(v, f"{v}.r", sync_status, sync_status, None) for v in VOLUMES)
    if pairs is None:
        pairs = tuple(pair(v, values) for v in VOLUMES)
    return Observation(
        array=array,
        seq=seq,
        t_start=float(seq),
        t_end=seq + 0.2,
        wall="2024-01-01T00:00:00Z",
        cim=CimView("3PAR:rcg.r1", pairs, refusals=refusals),
        cli=CliView("rcg.r1", "s3par-a", "Stopped", role, "Sync", "failed", volumes),
        stage="failover",
    )


def not_found(volume: str) -> CimRefusal:
    return CimRefusal(
        "References TPD_RemoteStorageSynchronized", volume, "CIM_ERR_NOT_FOUND", "no instance", volume=volume
    )


def exp(row_id: str) -> Expectation:
    return Expectation.from_row(load_spec().rows[row_id])


# --------------------------------------------------------------------------- the check itself


def test_one_instance_per_listed_pair_is_clean() -> None:
    assert instance_set_problems(obs(1)) == []


def test_a_dropped_instance_names_the_volume_pair() -> None:
    problems = instance_set_problems(obs(1, pairs=(pair("vv2", FAILED_OVER),)))
    assert problems == [
        "vv1: no TPD_RemoteStorageSynchronized although showrcopy lists the pair vv1 -> vv1.r"
    ]


def test_the_same_path_twice() -> None:
    twice = pair("vv1", FAILED_OVER)
    problems = instance_set_problems(obs(1, pairs=(twice, twice, pair("vv2", FAILED_OVER))))
    assert len(problems) == 1
    assert problems[0].startswith("vv1: the same TPD_RemoteStorageSynchronized reported twice (")


def test_two_instances_for_one_pair() -> None:
    pairs = (pair("vv1", FAILED_OVER), pair("vv1", FAILED_OVER, swapped=True), pair("vv2", FAILED_OVER))
    assert instance_set_problems(obs(1, pairs=pairs)) == [
        "vv1: 2 TPD_RemoteStorageSynchronized instances for one volume pair (SystemElement local / SyncedElement "
        "remote TPD_StorageVolume, SystemElement remote TPD_StorageVolume / SyncedElement local)"
    ]


def test_an_extra_instance_for_a_volume_not_in_the_group() -> None:
    pairs = (*obs(1).cim.pairs, pair("vv9", FAILED_OVER))
    assert instance_set_problems(obs(1, pairs=pairs)) == [
        "vv9: 1 TPD_RemoteStorageSynchronized instance for a volume showrcopy does not list in group rcg.r1"
    ]


def test_not_found_for_a_listed_pair_is_the_providers_answer() -> None:
    sample = obs(1, pairs=(pair("vv2", FAILED_OVER),), refusals=(not_found("vv1"),))
    assert instance_set_problems(sample) == [
        "vv1: References TPD_RemoteStorageSynchronized answered CIM_ERR_NOT_FOUND: no instance, although "
        "showrcopy lists the pair vv1 -> vv1.r"
    ]


def test_not_checkable_without_both_interfaces() -> None:
    assert instance_set_problems(replace(obs(1, pairs=()), cli=None, cli_error="ssh: timeout")) == []
    assert instance_set_problems(replace(obs(1, pairs=()), cim=None, cim_error="refused")) == []


# --------------------------------------------------------------------------- rows judged with it


def test_dropped_instance_fails_a_settled_row_whose_values_match() -> None:
    samples = [obs(seq, pairs=(pair("vv2", FAILED_OVER),)) for seq in (1, 2, 3)]
    result = judge_settled(exp("T107-03"), samples, settle_samples=3, final=False)
    assert result is not None and result.verdict == Verdict.FAIL
    assert result.reason == (
        "secondary: instance set: vv1: no TPD_RemoteStorageSynchronized although showrcopy lists the pair "
        "vv1 -> vv1.r (seq 1, and in 2 more samples) after failover"
    )
    assert result.evidence == [1, 2, 3]
    assert result.observed["instance_set"] == [
        "vv1: no TPD_RemoteStorageSynchronized although showrcopy lists the pair vv1 -> vv1.r"
    ]


def test_a_wrong_set_fails_at_once_without_waiting_to_settle() -> None:
    samples = [obs(1), obs(2, pairs=(pair("vv2", FAILED_OVER),))]
    result = judge_settled(exp("T107-03"), samples, settle_samples=3, final=False)
    assert result is not None and result.verdict == Verdict.FAIL
    assert result.evidence == [2]


def test_a_wrong_set_after_the_deciding_samples_does_not_count() -> None:
    samples = [obs(1), obs(2), obs(3), obs(4, pairs=())]
    result = judge_settled(exp("T107-03"), samples, settle_samples=3, final=False)
    assert result is not None and result.verdict == Verdict.PASS


def test_every_instance_twice_fails_an_in_progress_row_that_matches() -> None:
    doubled = tuple(p for v in VOLUMES for p in (pair(v, FAILING_OVER), pair(v, FAILING_OVER)))
    result = judge_in_progress(exp("T107-02"), [obs(1, pairs=doubled)], window=(0.5, 2.0), stage="failover")
    assert result.verdict == Verdict.FAIL
    assert result.reason.startswith("secondary: instance set: vv1: the same TPD_RemoteStorageSynchronized")
    assert "vv2: the same" in result.reason and result.reason.endswith("(seq 1) during failover")


def test_not_found_inside_the_failover_window_fails_instead_of_not_observed() -> None:
    refused = obs(2, pairs=(), refusals=(not_found("vv1"), not_found("vv2")))
    result = judge_in_progress(exp("T107-02"), [refused], window=(1.5, 3.0), stage="failover")
    assert result.verdict == Verdict.FAIL
    assert "vv1: References TPD_RemoteStorageSynchronized answered CIM_ERR_NOT_FOUND" in result.reason
    assert "vv2: References" in result.reason
    # a transport failure in the same window is no evidence about the provider: ERROR
    down = replace(obs(2), cim=None, cim_error="https://a:5989: no answer within 10s")
    assert judge_in_progress(exp("T107-02"), [down], window=(1.5, 3.0)).verdict == Verdict.ERROR
    # a window without any sample is a transient no sample caught: NOT_OBSERVED
    assert judge_in_progress(exp("T107-02"), [], window=(1.5, 1.6)).verdict == Verdict.NOT_OBSERVED


def test_table106_row_fails_on_the_array_with_the_wrong_set() -> None:
    row = load_spec().rows["T106-03"]
    expectation = Expectation.from_row(row, array=("primary", "secondary"))
    good = [obs(s, SYNCED, role="Primary", sync_status="Synced", array="primary") for s in (1, 3, 5)]
    bad = [obs(s, SYNCED, role="Secondary", sync_status="Synced", array="secondary",
               pairs=(pair("vv1", SYNCED), pair("vv2", SYNCED), pair("vv2", SYNCED))) for s in (2, 4, 6)]  # fmt: skip
    result = judge_each(expectation, {"primary": good, "secondary": bad}, settle_samples=3)
    assert result is not None and result.verdict == Verdict.FAIL
    assert result.reason.startswith("1 of 2 arrays fail (secondary): secondary: instance set: vv2: the same")


def test_stage_not_reached_fails_with_the_state_last_observed() -> None:
    last = obs(7, (3, 5, 6), role="Primary-Rev", sync_status="Syncing")
    result = stage_not_reached(exp("T107-07"), {"secondary": last}, "stage recover not reached: not seen within 3s")
    assert result.verdict == Verdict.FAIL
    assert result.reason == (
        "secondary: stage recover not reached: not seen within 3s; last observed (seq 7): Role Primary-Rev, "
        "SyncStatus Syncing, CopyState Unsynchronized (3), SyncState ResyncInProgress (5), ProgressStatus "
        "Synchronizing (6); expected Role Primary-Rev, SyncStatus Synced, CopyState Synchronized (4), SyncState "
        "Synchronized (6), ProgressStatus Completed (2)"
    )
    assert result.evidence == [7] and result.observed["sync_status"] == "Syncing"
    nothing = stage_not_reached(exp("T107-07"), {}, "stage recover not reached")
    assert nothing.verdict == Verdict.FAIL and "nothing observed" in nothing.reason
