"""A small pool of extra CIM connections to one array, for reads asked concurrently.

pywbem's WBEMConnection is not thread-safe: each pool thread owns one connection, made the first time the
thread works and closed with the pool. Each connection gets its own operation recorder (a copy of the array's
recorder: one recorder per connection), and each task runs in a copy of the submitting thread's context, so
the operations it performs belong to the sample the submitting thread is taking (harness.recording).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pywbem import WBEMConnection

T = TypeVar("T")
Connect = Callable[[], WBEMConnection]
Task = Callable[[WBEMConnection], T]


class CimPool:
    """`size` worker threads, one connection each, plus the calling thread's own connection (`own`)."""

    def __init__(self, connect: Connect, size: int, own: WBEMConnection) -> None:
        if size < 1:
            raise ValueError("a CIM pool needs at least one extra connection")
        self.size = size
        self._connect = connect
        self._own = own
        self._local = threading.local()
        self._lock = threading.Lock()
        self._made: list[WBEMConnection] = []
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="cim-pool")

    @property
    def connections(self) -> int:
        """Connections this pool reads with, the calling thread's own included."""
        return self.size + 1

    def run(self, tasks: Sequence[Task[T]], stop: Callable[[T], bool] = lambda _: False) -> list[T | None]:
        """Every task's result, in the tasks' order. Tasks are taken in order by the pool's threads and the
        calling thread alike; once a result satisfies `stop`, no task after it is started (those already running
        finish), and the tasks not run are None."""
        results: list[T | None] = [None] * len(tasks)
        state = _Queue(len(tasks))

        def work(conn: WBEMConnection) -> None:
            while (index := state.take()) is not None:
                results[index] = tasks[index](conn)
                if stop(results[index]):  # type: ignore[arg-type]
                    state.stop_after(index)

        context = contextvars.copy_context
        futures = [self._executor.submit(context().run, self._in_thread, work) for _ in range(self.size)]
        work(self._own)
        for future in futures:
            future.result()
        return [r if i <= state.last else None for i, r in enumerate(results)]

    def _in_thread(self, work: Callable[[WBEMConnection], None]) -> None:
        work(self._connection())

    def _connection(self) -> WBEMConnection:
        conn: WBEMConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._made.append(conn)
        return conn

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            made, self._made = self._made, []
        for conn in made:
            conn.close()


class _Queue:
    """Task indexes handed out in order, until the end or until a stop was asked after some index."""

    def __init__(self, count: int) -> None:
        self._next = 0
        self.last = count - 1  # the last index that counts
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next > self.last:
                return None
            index, self._next = self._next, self._next + 1
            return index

    def stop_after(self, index: int) -> None:
        with self._lock:
            self.last = min(self.last, index)

