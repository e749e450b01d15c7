"""harness.cim_pool: results in the tasks' order, nothing started after a stop, one connection per thread, the
submitting thread's context (the recording's capture) in every task."""

from __future__ import annotations

import contextvars
import threading
import time
from typing import Any

from harness.cim_pool import CimPool


class FakeConnection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.threads: set[int] = set()
        self.closed = False

    def close(self) -> None:
        self.closed = True


def pool_of(size: int) -> tuple[CimPool, list[FakeConnection]]:
    made: list[FakeConnection] = []

    def connect() -> Any:
        made.append(FakeConnection(f"pool-{len(made)}"))
        return made[-1]

    return CimPool(connect, size, FakeConnection("own")), made  # type: ignore[arg-type]


def test_results_come_in_the_tasks_order_and_each_connection_stays_in_one_thread() -> None:
    pool, made = pool_of(3)

    def task(index: int) -> Any:
        def run(conn: Any) -> int:
            conn.threads.add(threading.get_ident())
            time.sleep(0.001 * (index % 3))
            return index

        return run

    assert pool.run([task(i) for i in range(40)]) == list(range(40))
    pool.close()
    assert 1 <= len(made) <= 3 and all(len(c.threads) == 1 and c.closed for c in made)
    assert pool.connections == 4


def test_no_task_after_a_stop_is_started_and_later_results_are_dropped() -> None:
    pool, _ = pool_of(2)
    started: list[int] = []

    def task(index: int) -> Any:
        def run(conn: Any) -> int:
            started.append(index)
            time.sleep(0.002)
            return index

        return run

    results = pool.run([task(i) for i in range(30)], stop=lambda r: r == 5)
    pool.close()
    assert results[:6] == list(range(6)) and results[6:] == [None] * 24
    assert max(started) <= 5 + 3  # at most the tasks already running when 5 came back


def test_every_task_sees_the_submitting_threads_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("capture", default="none")
    pool, _ = pool_of(2)
    var.set("sample-7")
    seen = pool.run([lambda conn: var.get() for _ in range(10)])
    pool.close()
    assert seen == ["sample-7"] * 10
