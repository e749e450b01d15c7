"""What a simulated world is made of, as plain values: `WorldSpec`.

The target configuration's `simulated:` section gives one (`SimulatedOptions.world_spec`), as does
`mock serve`; the simulator builds its arrays, links and groups from it (`harness.mock.topology`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Topology = Literal["pair", "sld"]
Behaviour = Literal["3.1", "10.5"]
"""The array OS generation simulated: 3.1 (the documented behaviour) or 10.5 (as the captured arrays do)."""


@dataclass(frozen=True)
class WorldSpec:
    topology: Topology = "pair"
    groups: int = 2
    volumes_per_group: int = 2
    scale: int = 0
    seed: int = 0
    behaviour: Behaviour = "3.1"
    target_names: str | None = None  # a harness.target_naming style; None: the behaviour's default
    period: float | None = None  # seconds between a periodic group's syncs; None: Durations.period
