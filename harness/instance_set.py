"""The instance-set check: one TPD_RemoteStorageSynchronized per volume pair that showrcopy lists.

A harness check applied to every observation a row is judged from (beside the manual's rules, from
the CIM model: "one instance per remote-copy volume pair"). Pure: it compares the CIM side and the
CLI side of one `Observation`, and names the volumes where they disagree:

* a volume pair showrcopy lists for the group has no instance (the provider answered nothing, or
  refused the read with CIM_ERR_NOT_FOUND);
* the same instance path reported twice;
* two different instances for one volume pair;
* an instance for a volume showrcopy does not list for the group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.observation import CimPair, CimRefusal, Observation

__all__ = ["PAIR_CLASS", "instance_set_problems", "summary"]

PAIR_CLASS = "TPD_RemoteStorageSynchronized"
SHOWN = 4  # problems spelled out in a summary; the rest are counted
DETAIL = 100  # characters of a provider's error description quoted in a problem (the evidence keeps all)


def instance_set_problems(obs: Observation) -> list[str]:
    """What keeps `obs` from one instance per listed volume pair (empty: none, or not checkable).

    Checkable when the observation has both a CIM view and a CLI view of the group.
    """
    if obs.cim is None or obs.cim_error is not None or obs.cli is None or obs.cli_error is not None:
        return []
    listed = {v.local_vv: v.remote_vv for v in obs.cli.volumes}
    refused = {r.volume: r for r in obs.cim.refusals if r.volume is not None}
    by_volume: dict[str, list[CimPair]] = {}
    for pair in obs.cim.pairs:
        by_volume.setdefault(_volume(pair), []).append(pair)
    problems: list[str] = []
    for volume, remote in listed.items():
        if volume in refused:
            problems.append(_refused(volume, remote, refused[volume]))
        elif volume not in by_volume:
            problems.append(f"{volume}: no {PAIR_CLASS} although showrcopy lists the pair {volume} -> {remote}")
    for volume, pairs in by_volume.items():
        if volume not in listed:
            problems.append(
                f"{volume}: {_count(len(pairs), PAIR_CLASS + ' instance')} for a volume showrcopy does not list "
                f"in group {obs.cli.group}"
            )
            continue
        problems.extend(_duplicates(volume, pairs))
    return problems


def summary(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:SHOWN])
    more = len(problems) - SHOWN
    return f"{shown}; and {more} more" if more > 0 else shown


def _volume(pair: CimPair) -> str:
    return pair.local_volume or f"(unnamed volume of {pair.path})"


def _refused(volume: str, remote: str, refusal: CimRefusal) -> str:
    text = " ".join(refusal.description.split())
    detail = f": {text[:DETAIL - 3]}..." if len(text) > DETAIL else (f": {text}" if text else "")
    return (
        f"{volume}: {refusal.operation} answered {refusal.status}{detail}, although showrcopy lists the pair "
        f"{volume} -> {remote}"
    )


def _duplicates(volume: str, pairs: list[CimPair]) -> list[str]:
    out: list[str] = []
    repeated = {path: n for path, n in Counter(p.path for p in pairs).items() if n > 1}
    for path, n in repeated.items():
        ends = _ends(next(p for p in pairs if p.path == path))
        out.append(f"{volume}: the same {PAIR_CLASS} reported {_times(n)} (one path: {ends})")
    distinct = list(dict.fromkeys(p.path for p in pairs))
    if len(distinct) > 1:
        ends = ", ".join(_ends(next(p for p in pairs if p.path == path)) for path in distinct)
        out.append(f"{volume}: {len(distinct)} {PAIR_CLASS} instances for one volume pair ({ends})")
    return out


def _ends(pair: CimPair) -> str:
    def side(local: bool, cls: str) -> str:
        return "local" if local else f"remote {cls}"

    system = side(pair.system_element_local, pair.system_element_class)
    synced = side(pair.synced_element_local, pair.synced_element_class)
    return f"SystemElement {system} / SyncedElement {synced}"


def _times(n: int) -> str:
    return "twice" if n == 2 else f"{n} times"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
