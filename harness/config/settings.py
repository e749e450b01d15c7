"""Run settings: the simulated arrays' world options, polling, time limits and safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from harness.config.base import Seconds, _ctx, _resolve_path, _Strict
from harness.config.topology import Topology
from harness.deviation_format import DeviationError, DeviationSet, load_deviations
from harness.target_naming import TargetNamingError, check_target_names
from harness.world_spec import Behaviour, WorldSpec


class SimulatedOptions(_Strict):
    """World options for the built-in simulated arrays, as plain values (`world_spec`, `load_deviations`)."""

    groups: int = Field(default=2, ge=1, le=1000)
    volumes_per_group: int = Field(default=2, ge=1, le=1000)
    scale: int = Field(default=0, ge=0, le=100_000)
    """Extra volume pairs in other groups (noise), to try the harness against a large array."""
    seed: int = 0
    behaviour: Behaviour = "3.1"
    target_names: str | None = None
    """How the arrays name their remote-copy targets: peer, own, shared or a template (None: the behaviour's)."""
    period: Seconds | None = None
    """Seconds between a periodic group's syncs (None: 300, printed `Period 5m`)."""
    tls: StrictBool = True
    deviations: Path | None = None

    @field_validator("behaviour", mode="before")
    @classmethod
    def _behaviour_text(cls, value: Any) -> Any:
        # YAML reads `behaviour: 3.1` as a number
        return str(value) if isinstance(value, float | int) and not isinstance(value, bool) else value

    @field_validator("target_names")
    @classmethod
    def _target_names(cls, value: str | None) -> str | None:
        try:
            return None if value is None else check_target_names(value)
        except TargetNamingError as exc:
            raise PydanticCustomError("config", "{message}", {"message": str(exc)}) from None

    @field_validator("deviations")
    @classmethod
    def _deviations(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        value = _resolve_path(value, info)
        if value is not None and _ctx(info, "check_secrets"):
            try:
                load_deviations(value)
            except DeviationError as exc:
                raise PydanticCustomError("config", "{message}", {"message": str(exc)}) from None
        return value

    def world_spec(self, topology: Topology) -> WorldSpec:
        """The world these options describe (the simulator builds its arrays from it)."""
        return WorldSpec(
            topology=topology,
            groups=self.groups,
            volumes_per_group=self.volumes_per_group,
            scale=self.scale,
            seed=self.seed,
            behaviour=self.behaviour,
            target_names=self.target_names,
            period=self.period,
        )

    def load_deviations(self) -> DeviationSet:
        """The rules of `deviations`, checked (none when not given: a conformant provider)."""
        return load_deviations(self.deviations) if self.deviations else DeviationSet()


class Transients(_Strict):
    """The shortest time (seconds) each command's in-progress state is expected to last on these arrays:
    the window in which the in-progress rows of that command must be sampled (`start`: Table 106 Syncing)."""

    start: Seconds = 1.0
    failover: Seconds = 1.0
    recover: Seconds = 1.0
    restore: Seconds = 1.0


class Polling(_Strict):
    interval: float = Field(default=0.25, ge=0.01, le=3600)
    """Seconds between the starts of two observations of an array while no command runs."""
    min_gap: float = Field(default=0.1, ge=0, le=3600)
    """While a command runs, observations follow back to back, at least this many seconds apart (start to start)."""
    settle_samples: int = Field(default=3, ge=1, le=1000)
    """Consecutive identical observations that count as a settled state."""
    transients: Transients = Field(default_factory=Transients)
    """Expected in-progress durations, for the check that the polling can catch them (dry-run, preflight)."""
    max_cim_connections: int = Field(default=4, ge=1, le=32)
    """CIM connections the harness opens to one array at most (a pool for concurrent reads; 1: one connection).
    Preflight measures which read of the group is cheapest within this bound (harness.cim_read_choice)."""


class TimeLimits(_Strict):
    """Seconds each stage may take before the run reports it as timed out; `default` for other stages."""

    default: Seconds = 60
    primary_down: Seconds = 120
    failover: Seconds = 300
    primary_up: Seconds = 300
    recover: Seconds = 1800
    restore: Seconds = 1800

    def for_stage(self, stage: str) -> float:
        value = getattr(self, stage, None) if stage in type(self).model_fields else None
        return float(value if value is not None else self.default)


class Safety(_Strict):
    disruptive: StrictBool = False
    """Disruptive rows run only with this true AND --allow-disruptive on the command line."""
