"""The topologies (pair, sld) and the arrays each one has."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from harness.config.errors import _did_you_mean

Topology = Literal["pair", "sld"]
ARRAY_KEYS: dict[str, tuple[str, ...]] = {
    "pair": ("primary", "secondary"),
    "sld": ("primary", "sync_secondary", "periodic_secondary"),
}


def _array_key_problems(topology: str, keys: Iterable[str]) -> list[tuple[str, str]]:
    wanted = ARRAY_KEYS.get(topology)
    if wanted is None:
        return []
    keys = list(keys)
    problems: list[tuple[str, str]] = []
    missing = [k for k in wanted if k not in keys]
    for key in keys:
        if key not in wanted:
            hint = _did_you_mean(key, [k for k in wanted if k in missing] or list(wanted))
            problems.append(
                (f"arrays.{key}", f"not an array of topology {topology} (its arrays: {', '.join(wanted)}){hint}")
            )
    if missing:
        problems.append(
            ("arrays", f"topology {topology} needs arrays {', '.join(wanted)}; missing: {', '.join(missing)}")
        )
    return problems
