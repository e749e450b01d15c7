"""A journey: one group under test taken through the stages its rows need, observed and judged.

It puts the parts together: the connections to the arrays and their preflight, the poller, the driver
(`harness.driver`: reaching stages), the checkpoints (`harness.checkpoints`: observing and judging rows) and
the way back (`harness.teardown`). `harness.run.Run` owns the journey, the simulated arrays and the result
files. Nothing here is global: two runs in one process do not interfere.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.actions import ActionError, ActionRunner, Control
from harness.array_cli import CliError, Transcript
from harness.checkpoints import Checkpoints
from harness.config import ConfigError, TargetConfig
from harness.connections import Connections, PreflightError
from harness.console import Display, LineDisplay
from harness.driver import Driver
from harness.interference import OutsideChange
from harness.observation import Observation, RunClock, Timeline
from harness.poll import ArrayProbe, Poller
from harness.recording import Recording
from harness.results import RowResult
from harness.spec import load_spec
from harness.stages import NATURAL
from harness.teardown import commands_to_run, return_to_natural
from harness.verdicts import Expectation
from harness.verdicts import skipped as skipped_result

Progress = Callable[[str], None]
WrapActions = Callable[[str, ActionRunner], Any]
"""A group's action runner as its driver sees it (a shared tour: events done once for every group)."""
DISRUPTIVE = ("disruptive: runs only with `safety: disruptive: true` in the config and --allow-disruptive on the "
              "command line")  # fmt: skip


def stderr_progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class RunContext:
    """What the journeys of one run share."""

    config: TargetConfig  # with the arrays filled in (simulated arrays already started)
    transcript: Transcript
    observation_sink: Callable[[Observation], None]
    allow_disruptive: bool
    progress: Progress = stderr_progress
    display: Display | None = None  # rows and waits as events (harness.console); None: lines through progress
    t0: float = field(default_factory=time.monotonic)
    seq: Iterator[int] = field(default_factory=itertools.count)
    recording: Recording | None = None  # every CIM operation and sample, for re-judging (harness.recording)
    wrap_actions: WrapActions | None = None  # a shared tour's (harness.tour); None: the group's runner as is


class Journey:
    def __init__(
        self, ctx: RunContext, group: str, require_natural: bool = True, watch_interference: bool = True
    ) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.group = group
        self.progress = ctx.progress
        self.display: Display = ctx.display or LineDisplay(ctx.progress)
        self.require_natural = require_natural
        self.watch_interference = watch_interference
        self.clock = RunClock(ctx.t0)
        self.timeline = Timeline()
        self.connections: Connections | None = None
        self.poller: Poller | None = None
        self.driver: Driver | None = None
        self.checkpoints: Checkpoints | None = None
        self.setup_error: str | None = None
        self.final_state: dict[str, Any] = {}
        self.torn_down = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect, preflight, start observing."""
        try:
            self._start()
        except (PreflightError, CliError, ActionError, ConfigError) as exc:
            self.setup_error = f"preflight failed: {exc}"
            self.progress(f"smis-harness: {self.setup_error}")

    def _start(self) -> None:
        self.progress(f"connecting to {', '.join(self.config.array_keys)}")
        recording = self.ctx.recording
        connections = self.connections = Connections.open(self.config, self.ctx.transcript,
                                                          recording.recorder if recording else None)  # fmt: skip
        connections.preflight(self.group, self.progress, self.require_natural)
        natural = " natural" if self.require_natural else ""
        self.progress(f"preflight passed: group {self.group}{natural} on every array")
        control = self.config.simulator_control()
        actions = ActionRunner(
            self.config.action_specs(self.group),
            {k: h.cli for k, h in connections.arrays.items()},
            Control(control.url, control.token.get_secret_value()) if control else None,
            tell_operator=self.progress,  # to the terminal, past pytest's capture (a manual action's prompt)
        )
        if self.ctx.wrap_actions is not None:
            actions = self.ctx.wrap_actions(self.group, actions)
        polling = self.config.polling
        self.poller = Poller(self._probes(connections), self.timeline, polling.interval, self.clock.t0,
                             sink=self.ctx.observation_sink, seq=self.ctx.seq, group=self.group,
                             clock=self.clock.source, min_gap=polling.min_gap, recording=recording)  # fmt: skip
        self.driver = Driver(self.config, self.group, connections.arrays, connections.observed_keys(), self.poller,
                             actions, self.timeline, self.clock, self.progress, self.display)  # fmt: skip
        self.checkpoints = Checkpoints(self.config, self.group, self.driver, self.poller, self.timeline, load_spec(),
                                       self.progress, self.watch_interference, self.display)  # fmt: skip
        self.poller.start()
        if self.ctx.allow_disruptive:
            self.checkpoints.check_polling()

    def _probes(self, connections: Connections) -> list[ArrayProbe]:
        probes = []
        for key in connections.observed_keys():
            handle = connections.arrays[key]
            peer_serial = None
            if self.config.topology == "sld":
                peer_ident = connections.arrays[handle.peer_key].cli_identity
                peer_serial = peer_ident[1] if peer_ident else None
            probes.append(ArrayProbe(key, handle.cim, handle.cli, handle.group, handle.group_name,
                                     handle.target_name, peer_serial))  # fmt: skip
        return probes

    def teardown(self) -> None:
        """Return the group to its natural state (once); the rules then also judge the way back."""
        if self.torn_down or self.driver is None or self.checkpoints is None or self.setup_error is not None:
            return
        self.torn_down = True
        specs = self.config.action_specs(self.group)
        self.final_state = return_to_natural(self.driver, specs, self.checkpoints.disturbance())

    def close(self) -> None:
        """Teardown (back to natural), stop observing, close the connections."""
        try:
            self.teardown()
        finally:
            if self.poller is not None:
                self.poller.stop()
            if self.connections is not None:
                self.connections.close()

    # ------------------------------------------------------------------ rows
    def evaluate_row(self, exp: Expectation, stage: str, in_progress: bool) -> RowResult:
        """Drive to the row's stage and judge it."""
        if self.setup_error or self.checkpoints is None:
            return skipped_result(exp.row_id, self.setup_error or "the run did not start", exp.array)
        if stage != NATURAL and not self.ctx.allow_disruptive:
            return skipped_result(exp.row_id, DISRUPTIVE, exp.array)
        return self.checkpoints.row(exp, stage, in_progress)

    def evaluate_sld(self, row_id: str, check: str) -> RowResult:
        if self.setup_error or self.checkpoints is None:
            return skipped_result(row_id, self.setup_error or "the run did not start", ("sync_secondary",
                                  "periodic_secondary"))  # fmt: skip
        return self.checkpoints.sld_row(row_id, check)

    def evaluate_rule(self, rule_id: str) -> RowResult:
        if self.setup_error or self.checkpoints is None:
            return skipped_result(rule_id, self.setup_error or "the run did not start")
        return self.checkpoints.rule(rule_id)

    # ------------------------------------------------------------------ what the run reports
    @property
    def current(self) -> str:
        return self.driver.current if self.driver else NATURAL

    @property
    def interference(self) -> OutsideChange | None:
        return self.checkpoints.interference if self.checkpoints else None

    def commands_to_run(self) -> list[str]:
        """What to run by hand to bring the group back, from what the arrays show now."""
        if self.driver is None:
            return []
        return commands_to_run(self.driver, self.config.action_specs(self.group))

    def manifest_arrays(self) -> dict[str, Any]:
        if self.connections is None:
            return {}
        return {k: h.manifest() for k, h in self.connections.arrays.items()}
