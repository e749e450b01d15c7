"""The requests of the simulated arrays' control interface: one pydantic model per action.

Shared by the simulator, which carries requests out (`harness.mock.control`), and by the target
configuration, whose `kind: simulator` events and faults are such requests (`harness.config.actions`).
Fields are typed strictly (JSON strings, booleans and numbers, no coercion; no inf or NaN); durations
are above 0 and at most `MAX_DURATION` seconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_DURATION = 24 * 3600.0
"""The longest simulated duration set_durations accepts, in seconds."""


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ArrayDown(_Action):
    action: Literal["array_down"]
    array: str
    scope: Literal["power", "links"] = "power"


class ArrayUp(_Action):
    action: Literal["array_up"]
    array: str


class LinkAction(_Action):
    action: Literal["link"]
    a: str
    b: str
    up: bool


class FailNext(_Action):
    action: Literal["fail_next"]
    operation: Literal["recover", "restore"]
    group: str | None = None  # only that group's next command (its name on any array); None: any group's


class ForceSyncStatus(_Action):
    action: Literal["force_sync_status"]
    array: str
    group: str
    status: Literal["NotSynced", "Stale"]
    volume: str | None = None


class ResetToNew(_Action):
    action: Literal["reset_to_new"]
    array: str
    group: str


class SetDurations(_Action):
    action: Literal["set_durations"]
    durations: dict[str, Annotated[float, Field(gt=0, le=MAX_DURATION)]]


class State(_Action):
    action: Literal["state"]


ControlRequest = Annotated[
    ArrayDown | ArrayUp | LinkAction | FailNext | ForceSyncStatus | ResetToNew | SetDurations | State,
    Field(discriminator="action"),
]
"""Any control request, told apart by its `action`."""
