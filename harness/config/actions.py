"""How the harness makes events and faults happen: simulator, cli, script and manual actions;
the `events:` and `faults:` sections; binding an action to the group under test.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from harness import control_schema as _control
from harness.config.base import _STRICT, Seconds, _ctx, _Strict
from harness.config.files import _program, _program_problem

EVENT_KINDS = ("simulator", "cli", "script", "manual")
SIMULATOR_ACTIONS = (
    "array_down",
    "array_up",
    "link",
    "fail_next",
    "force_sync_status",
    "reset_to_new",
    "set_durations",
    "state",
)
GROUP_PLACEHOLDER = "{group}"
"""In cli commands, script arguments and manual prompts: replaced by the group under test (`bind_group`)."""


class SimArrayDown(_control.ArrayDown):
    """Power an array off (`scope: power`) or drop only its remote-copy links (`scope: links`)."""

    model_config = _STRICT
    kind: Literal["simulator"]


class SimArrayUp(_control.ArrayUp):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimLink(_control.LinkAction):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimFailNext(_control.FailNext):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimForceSyncStatus(_control.ForceSyncStatus):
    """`group` left out: the runner supplies the group under test (`bind_group`)."""

    model_config = _STRICT
    kind: Literal["simulator"]
    group: str | None = None  # type: ignore[assignment]  # optional here: the run supplies it (bind_group)


class SimResetToNew(_control.ResetToNew):
    """`group` left out: the runner supplies the group under test (`bind_group`)."""

    model_config = _STRICT
    kind: Literal["simulator"]
    group: str | None = None  # type: ignore[assignment]  # optional here: the run supplies it (bind_group)


class SimSetDurations(_control.SetDurations):
    model_config = _STRICT
    kind: Literal["simulator"]


class SimState(_control.State):
    model_config = _STRICT
    kind: Literal["simulator"]


SimulatorAction = Annotated[
    SimArrayDown | SimArrayUp | SimLink | SimFailNext | SimForceSyncStatus | SimResetToNew | SimSetDurations | SimState,
    Field(discriminator="action"),
]
"""A request to the simulated arrays' control interface; the runner supplies its url and token."""


class CliAction(_Strict):
    """A command run through the array CLI over SSH (the array's `ssh` settings)."""

    kind: Literal["cli"]
    array: str
    command: str = Field(min_length=1)
    during: Seconds | None = None
    """Faults only: run this many seconds after the fault's command starts, while it runs (e.g. drop the
    link while recover runs); without it the action runs before the command."""


class ScriptAction(_Strict):
    """A local program (argv list, no shell), e.g. a PDU or switch-port script; must exit 0 within `timeout`."""

    kind: Literal["script"]
    command: list[str] = Field(min_length=1)
    """argv; a program path with a `/` is relative to the configuration file, a bare name is looked up on PATH."""
    timeout: Seconds = 300
    during: Seconds | None = None
    """Faults only: run this many seconds after the fault's command starts (see CliAction.during)."""

    @field_validator("command")
    @classmethod
    def _program_usable(cls, command: list[str], info: ValidationInfo) -> list[str]:
        program = _program(command[0], _ctx(info, "base_dir"))
        if _ctx(info, "check_secrets"):
            problem = _program_problem(program)
            if problem:
                raise PydanticCustomError("config", "{message}", {"message": problem, "field": "0"})
        return [program, *command[1:]]


class ManualAction(_Strict):
    """An operator does it (pulls cables, powers off); the harness shows `prompt` and waits up to `timeout`."""

    kind: Literal["manual"]
    prompt: str = Field(min_length=1)
    timeout: Seconds = 1800
    during: Seconds | None = None
    """Faults only: prompt this many seconds after the fault's command starts (see CliAction.during)."""


EventAction = Annotated[SimulatorAction | CliAction | ScriptAction | ManualAction, Field(discriminator="kind")]
_SIMULATOR_TYPES = (
    SimArrayDown,
    SimArrayUp,
    SimLink,
    SimFailNext,
    SimForceSyncStatus,
    SimResetToNew,
    SimSetDurations,
    SimState,
)


def is_simulator_action(action: object) -> bool:
    return isinstance(action, _SIMULATOR_TYPES)


def control_body(action: BaseModel) -> dict[str, Any]:
    """The JSON body to POST to the simulator's control url for a `kind: simulator` action."""
    if not is_simulator_action(action):
        raise TypeError(f"not a simulator action: {type(action).__name__}")
    return action.model_dump(mode="json", exclude={"kind"}, exclude_none=True)


def bind_group(action: Any, group: str) -> Any:
    """The action for one group under test: a simulator action without `group` gets it; `{group}` is replaced."""
    if isinstance(action, SimForceSyncStatus | SimResetToNew):
        name = group if action.group is None else action.group.replace(GROUP_PLACEHOLDER, group)
        return action.model_copy(update={"group": name})
    if isinstance(action, SimFailNext) and action.group is not None:  # without `group`: any group's next command
        return action.model_copy(update={"group": action.group.replace(GROUP_PLACEHOLDER, group)})
    if isinstance(action, CliAction):
        return action.model_copy(update={"command": action.command.replace(GROUP_PLACEHOLDER, group)})
    if isinstance(action, ScriptAction):
        return action.model_copy(update={"command": [a.replace(GROUP_PLACEHOLDER, group) for a in action.command]})
    if isinstance(action, ManualAction):
        return action.model_copy(update={"prompt": action.prompt.replace(GROUP_PLACEHOLDER, group)})
    return action


class Events(_Strict):
    """How the harness makes things happen that the array CLI cannot."""

    primary_down: EventAction | None = None
    primary_up: EventAction | None = None


class Faults(_Strict):
    """How to provoke the states only a fault produces (rows needing an absent fault are not run)."""

    recover_fails: EventAction | None = None
    restore_fails: EventAction | None = None
    sync_status_new: EventAction | None = None
    sync_status_notsynced: EventAction | None = None
    sync_status_stale: EventAction | None = None
