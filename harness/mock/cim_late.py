"""Late answers: a pair's values as the provider would have answered them some seconds ago.

The `stale` deviation: every answer for a pair is recorded with the world time it was built, and a late
answer gives the newest recorded one at least that many seconds old (the oldest there is while the history
is younger). What was recorded depends on when the pair was asked for: a state nobody asked about is never
answered late either. The ends (SystemElement, SyncedElement: they name the pair) and UndiscoveredElement
(which names one of them) are always the current ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

CURRENT = ("SystemElement", "SyncedElement", "UndiscoveredElement")

Values = dict[str, object]


class LateValues:
    """Per-pair history of answered values, kept for `keep` seconds."""

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self._history: dict[Hashable, deque[tuple[float, Values]]] = {}

    def answer(self, key: Hashable, now: float, values: Values, seconds: float | None) -> Values:
        """`values` (the pair's values now), or `seconds` late; records `values` either way."""
        history = self._history.setdefault(key, deque())
        history.append((now, dict(values)))
        while len(history) > 1 and history[1][0] <= now - self.keep:
            history.popleft()
        if not seconds:
            return values
        old = next((v for t, v in reversed(history) if t <= now - seconds), history[0][1])
        late = {name: value for name, value in old.items() if name not in CURRENT}
        late.update({name: values[name] for name in CURRENT if name in values})
        return late
