"""Preflight's choice of how polls read a group (harness.cim_reads), by measuring each path on the provider.

Each candidate path reads the group a few times (`ReadBudget`) and is timed end to end (the provider's
answers and the view made of them). `pooled` is a candidate when the configured maximum of CIM connections
per array is above 1; `enumeration` when a pull enumeration of the pair class's paths
(`OpenEnumerateInstancePaths`, at most `ENUMERATION_FACTOR` x the group's size) ends within that size, so
the array is small (an enumeration grows with the array: on a large one it is never timed, let alone
chosen). Every candidate's view must equal the serial read's; the fastest is chosen, a path other than
`serial` only when its median is at most `MARGIN` times the serial read's (extra connections and requests
must pay for themselves).
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pywbem

from harness.cim import PAIR_CLASS, ArrayCim, CimError, GroupAnswers, GroupHandle, cim_view
from harness.cim_pool import CimPool
from harness.cim_reads import ENUMERATION, POOLED, SERIAL, enumeration_asker, pooled_asker
from harness.observation import CimView

ENUMERATION_FACTOR = 4
"""An enumeration is tried only when the array holds at most this many pair instances per member volume."""
MARGIN = 0.9
"""Another path is chosen only when its median is at most this fraction of the serial read's."""
GIVE_UP = 1.0
"""A candidate read slower than this many times the serial read's median ends that candidate's measurement
(it cannot be chosen on a median below `MARGIN` times the serial read's but by chance)."""
Asker = Callable[[GroupHandle], GroupAnswers]


@dataclass(frozen=True)
class ReadBudget:
    """How long each path is measured: `reads` reads, fewer when they exceed `seconds` (at least `least`)."""

    reads: int = 5
    seconds: float = 0.6
    least: int = 2


@dataclass
class ReadChoice:
    """The path chosen for an array's polls, with what was measured (manifest, progress line)."""

    path: str = SERIAL
    connections: int = 1
    medians_ms: dict[str, float] = field(default_factory=dict)
    not_candidates: dict[str, str] = field(default_factory=dict)  # path -> why it was not measured or chosen
    pinned: bool = False  # named by arrays.<key>.cim.read, not measured

    def manifest(self) -> dict[str, Any]:
        return {"path": self.path, "connections": self.connections, "median_ms": dict(self.medians_ms),
                "not_chosen": dict(self.not_candidates), "pinned": self.pinned}  # fmt: skip

    def line(self, key: str) -> str:
        measured = ", ".join(f"{p} {ms:.1f} ms" for p, ms in self.medians_ms.items()) or "none measured"
        how = f"named by arrays.{key}.cim.read, not measured" if self.pinned else f"median per read: {measured}"
        others = "; ".join(f"{p}: {why}" for p, why in self.not_candidates.items())
        over = f" over {self.connections} connections" if self.connections > 1 else ""
        return f"{key}: CIM reads {self.path}{over} ({how})" + (f"; {others}" if others else "")


def choose_read(
    cim: ArrayCim, group: GroupHandle, max_connections: int, budget: ReadBudget = ReadBudget()
) -> ReadChoice:
    """Measure the candidate paths on `cim`'s provider, install the fastest on `cim` (`ArrayCim.use_asker`) and
    say what was found. When the serial read itself fails, polls read serially, as before any measuring (the
    failure is theirs to report: a sample without a CIM view), and the choice says why nothing was measured."""
    choice = ReadChoice()
    cim.use_asker(cim.ask_serial)
    try:
        serial_ms, reference = _measure(cim, group, cim.ask_serial, budget, math.inf)
    except CimError as exc:
        choice.not_candidates = {POOLED: f"not measured: the serial read failed ({exc})",
                                 ENUMERATION: "not measured: the serial read failed"}  # fmt: skip
        return choice
    choice.medians_ms[SERIAL] = serial_ms
    best: tuple[float, str, Asker, CimPool | None] = (serial_ms, SERIAL, cim.ask_serial, None)
    for path, candidate in ((POOLED, _pooled), (ENUMERATION, _enumeration)):
        found = candidate(cim, group, max_connections, budget, reference, choice)
        if found is None:
            continue
        ms, asker, pool = found
        choice.medians_ms[path] = ms
        if ms <= serial_ms * MARGIN and ms < best[0]:
            if best[1] != SERIAL:
                choice.not_candidates[best[1]] = f"slower than {path}"
            _close(best[3])
            best = (ms, path, asker, pool)
        else:
            _close(pool)
            choice.not_candidates[path] = f"not {1 - MARGIN:.0%} faster than serial" \
                if ms > serial_ms * MARGIN else f"slower than {best[1]}"  # fmt: skip
    _, choice.path, asker, pool = best
    choice.connections = pool.connections if pool is not None else 1
    choice.not_candidates.pop(choice.path, None)
    cim.use_asker(asker, pool.close if pool is not None else None)
    return choice


def pin_read(cim: ArrayCim, group: GroupHandle, path: str, max_connections: int) -> ReadChoice:
    """Install the named path on `cim` without measuring (`arrays.<key>.cim.read`). `pooled` without a second
    connection to use (`max_connections` 1, one member volume) reads serially, and the choice says why."""
    choice = ReadChoice(pinned=True)
    no_pool = _no_pool(group, max_connections) if path == POOLED else None
    if path == ENUMERATION:
        cim.use_asker(enumeration_asker(cim))
    elif path == POOLED and no_pool is None:
        pool = _pool(cim, group, max_connections)
        cim.use_asker(pooled_asker(pool), pool.close)
        choice.connections = pool.connections
    else:
        cim.use_asker(cim.ask_serial)
        if no_pool is not None:
            choice.not_candidates[POOLED] = f"configured, but {no_pool}"
            return choice
    choice.path = path
    return choice


def _no_pool(group: GroupHandle, max_connections: int) -> str | None:
    """Why a pool has nothing to add (None: it may)."""
    if max_connections < 2:
        return "polling.max_cim_connections is 1"
    return "the group has one member volume" if len(group.members) < 2 else None


def _pool(cim: ArrayCim, group: GroupHandle, max_connections: int) -> CimPool:
    """The pool's extra connections: within the bound, at most one per member volume beside the array's own."""
    return CimPool(cim.connect, min(max_connections, len(group.members) + 1) - 1, cim.conn)


def _pooled(cim: ArrayCim, group: GroupHandle, max_connections: int, budget: ReadBudget, reference: CimView,
            choice: ReadChoice) -> tuple[float, Asker, CimPool | None] | None:  # fmt: skip
    why = _no_pool(group, max_connections)
    if why is not None:
        choice.not_candidates[POOLED] = why
        return None
    pool = _pool(cim, group, max_connections)
    asker = pooled_asker(pool)
    return _verified(cim, group, asker, budget, reference, choice, POOLED, pool, choice.medians_ms[SERIAL])


def _enumeration(cim: ArrayCim, group: GroupHandle, max_connections: int, budget: ReadBudget, reference: CimView,
                 choice: ReadChoice) -> tuple[float, Asker, CimPool | None] | None:  # fmt: skip
    why = _too_large(cim, ENUMERATION_FACTOR * len(group.members))
    if why is not None:
        choice.not_candidates[ENUMERATION] = why
        return None
    return _verified(cim, group, enumeration_asker(cim), budget, reference, choice, ENUMERATION, None,
                     choice.medians_ms[SERIAL])  # fmt: skip


def _verified(cim: ArrayCim, group: GroupHandle, asker: Asker, budget: ReadBudget, reference: CimView,
              choice: ReadChoice, path: str, pool: CimPool | None, serial_ms: float,
              ) -> tuple[float, Asker, CimPool | None] | None:  # fmt: skip
    try:
        ms, view = _measure(cim, group, asker, budget, GIVE_UP * serial_ms)
    except CimError as exc:
        choice.not_candidates[path] = f"its read failed ({exc})"
        _close(pool)
        return None
    if view != reference:
        choice.not_candidates[path] = "its view differs from the serial read's"
        _close(pool)
        return None
    return ms, asker, pool


def _too_large(cim: ArrayCim, limit: int) -> str | None:
    """Why the array is not small enough to enumerate its pairs each poll (None: it is)."""
    try:
        opened = cim.conn.OpenEnumerateInstancePaths(PAIR_CLASS, MaxObjectCount=limit)  # paths: cheaper to make
    except pywbem.CIMError as exc:
        return f"its size is unknown (OpenEnumerateInstancePaths answered {exc.status_code_name})"
    except pywbem.Error as exc:
        return f"its size is unknown (OpenEnumerateInstancePaths failed: {type(exc).__name__})"
    if opened.eos:
        return None
    with contextlib.suppress(pywbem.Error):
        cim.conn.CloseEnumeration(opened.context)
    return f"the array holds more than {limit} {PAIR_CLASS} ({ENUMERATION_FACTOR} per member volume)"


def _measure(cim: ArrayCim, group: GroupHandle, asker: Asker, budget: ReadBudget,
             give_up_ms: float) -> tuple[float, CimView]:  # fmt: skip
    """Median milliseconds of one read (answers and view) with `asker`, and the last view; one read slower than
    `give_up_ms` ends the measurement (the path cannot win). A pool's first read also makes its connections."""
    view: CimView | None = None
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < budget.reads and (len(times) < budget.least or time.perf_counter() - started < budget.seconds):
        t0 = time.perf_counter()
        view = cim_view(group, asker(group), None, cim.endpoint)
        times.append((time.perf_counter() - t0) * 1000)
        if times[-1] > give_up_ms:
            break
    assert view is not None
    return round(statistics.median(times), 3), view


def _close(pool: CimPool | None) -> None:
    if pool is not None:
        pool.close()
