"""Reading the one JSON line a `smis-harness mock serve` process prints when its arrays are up."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable
from typing import Any


def first_json_line(proc: subprocess.Popen[str], what: str, stderr: Callable[[], str],
                    timeout: float = 60) -> dict[str, Any]:  # fmt: skip
    """The process's first stdout line as JSON; an AssertionError naming `what` and its stderr when it prints
    nothing within `timeout` seconds (the process is killed) or exits first."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline() if proc.stdout else ""), daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        proc.wait(timeout=30)
        raise AssertionError(f"{what} printed no JSON line within {timeout:g} s") from None
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"{what} exited with {proc.returncode} before printing: {stderr()}")
    assert line.endswith("\n") and line.count("\n") == 1, line
    return dict(json.loads(line))
