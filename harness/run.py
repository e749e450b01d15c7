"""A run: the simulated arrays (if the target is simulated), the journey of the group under test, and
the result files. Several groups under test on one pair are one run per group sharing one tour
(`harness.tour`): one simulated pair, one array lock, the same run clock, events done once for all groups.

Two runs in one process do not interfere: nothing here is global.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import result_files as results_io
from harness import sld
from harness.array_cli import Transcript
from harness.config import ArrayConfig, ConfigError, TargetConfig
from harness.console import Display, LineDisplay
from harness.deviation_format import DeviationError
from harness.interrupts import Interrupts, SecondInterrupt
from harness.journey import Journey, Progress, RunContext, WrapActions, stderr_progress
from harness.lock import ArrayInUse, ArrayLocks, holder_info
from harness.overall import UNDECIDED
from harness.recording import Recording
from harness.redact import Redactor
from harness.result_files import RunScope
from harness.results import RowResult
from harness.spec import load_spec
from harness.stages import NATURAL, row_stage
from harness.verdicts import Expectation
from harness.verdicts import error as error_result
from harness.verdicts import skipped as skipped_result

PAIR = ("primary", "secondary")


class Run:
    def __init__(
        self,
        config: TargetConfig,
        *,
        report_dir: Path,
        allow_disruptive: bool = False,
        group: str | None = None,
        progress: Progress = stderr_progress,
        manifest_extra: dict[str, Any] | None = None,
        display: Display | None = None,
        t0: float | None = None,
        wrap_actions: WrapActions | None = None,
    ) -> None:
        self.config = config
        self.manifest_extra = manifest_extra or {}
        self.group = group or (config.groups[0] if config.groups else "")
        self.report_dir = report_dir
        self._print = progress
        self.display: Display = display or LineDisplay(self.progress)  # rows and waits (harness.console)
        self.allow_disruptive = config.disruptive_allowed(allow_disruptive)
        self.results = results_io.ResultsWriter(report_dir, Redactor(self._secrets()))
        self.t0 = time.monotonic() if t0 is None else t0  # a shared tour's groups share one run clock
        self.wrap_actions = wrap_actions  # a shared tour's: events done once for every group (harness.tour)
        # always on: every CIM operation and sample, so the run can be judged again offline (smis-harness rejudge)
        self.recording = Recording(self.results.write_recording, self.t0)
        self.transcript = Transcript(sink=self.results.write_transcript, observer=self.recording.note)
        self.sim: Any = None
        self.owns_sim = True  # False: a shared tour's simulated pair, started and stopped by the tour
        self.journey: Journey | None = None
        self.setup_error: str | None = None
        self.locks: ArrayLocks | None = ArrayLocks()  # None: a shared tour holds the arrays' locks
        self.started_wall = results_io.now_iso()

    def start(self) -> None:
        """Start the simulated arrays if the target is simulated, then the group's journey."""
        try:
            if self.config.is_simulated and self.sim is None:
                self._start_simulator()
        except (ConfigError, DeviationError, OSError) as exc:
            self.setup_error = f"the simulated arrays did not start: {exc}"
            self.progress(f"smis-harness: {self.setup_error}")
            return
        if not self._lock_arrays():
            return
        ctx = RunContext(
            config=self.config,
            transcript=self.transcript,
            observation_sink=self.results.write_observation,
            allow_disruptive=self.allow_disruptive,
            progress=self.progress,
            display=self.display,
            t0=self.t0,
            recording=self.recording,
            wrap_actions=self.wrap_actions,
        )
        self.group = self.group or self.config.groups[0]
        self.journey = Journey(ctx, self.group)
        self.journey.start()
        self.setup_error = self.journey.setup_error

    def _lock_arrays(self) -> bool:
        """A disruptive run against real arrays holds one lock per array (`harness.lock`); a shared tour's
        groups have it from the tour (`locks` None)."""
        if not self.allow_disruptive or self.config.is_simulated or self.locks is None:
            return True
        self.setup_error = lock_arrays(self.config, self.locks, self.report_dir)
        if self.setup_error:
            self.progress(f"smis-harness: {self.setup_error}")
        return self.setup_error is None

    def _start_simulator(self) -> None:
        self.use_simulator(start_simulator(self.config))
        self.owns_sim = True
        self.progress(f"started simulated {self.config.topology} on loopback")

    def use_simulator(self, sim: Any) -> None:
        """Run on these simulated arrays (a shared tour's: the tour stops them, and holds no lock for them)."""
        self.sim, self.owns_sim = sim, False
        self.config = self.config.with_simulated_arrays(sim.describe())
        self.results.redactor = Redactor(self._secrets())

    def progress(self, text: str) -> None:
        """Progress lines reach the terminal redacted, like every other output."""
        self._print(self.redactor.text(text))

    def _secrets(self) -> list[str]:
        return self.config.secret_values()

    @property
    def redactor(self) -> Redactor:
        return self.results.redactor

    # ------------------------------------------------------------------ rows
    def table_row(self, row_id: str) -> RowResult:
        """A documented row (Table 106/107, SLD): driven to its stage, judged there, recorded once."""
        row = load_spec().rows[row_id]
        if row.table == "sld":
            if self.config.topology != "sld":
                return self.record_skip(row_id, "the target is a pair: SLD rows need an SLD trio (mock-sld.yaml)")
            if row_id in sld.CHECKS:
                return self.sld_row(row_id, sld.CHECKS[row_id])
            return self.row(Expectation.from_row(row, array=sld.BACKUP_ARRAYS), NATURAL, in_progress=False)
        arrays = PAIR if row.table == "table106" else None
        if self.config.topology != "pair":
            reason = f"Table {row.table.removeprefix('table')} rows run against a pair; use a pair target"
            return self.record_skip(row_id, reason, arrays or row.array)
        return self.row(Expectation.from_row(row, array=arrays), row_stage(row), row.in_progress)

    def row(self, exp: Expectation, stage: str, in_progress: bool) -> RowResult:
        """Drive the group to the row's stage, judge it there, record the verdict."""
        return self.record(self._with_journey(lambda j: j.evaluate_row(exp, stage, in_progress), exp.row_id, exp.array))

    def sld_row(self, row_id: str, check: str) -> RowResult:
        return self.record(self._with_journey(lambda j: j.evaluate_sld(row_id, check), row_id, None))

    def observations_so_far(self) -> int:
        """Rules run after every other row: teardown comes first, so the way back is observed too."""
        if self.journey is None:
            return 0
        self.journey.teardown()
        return len(self.journey.timeline.observations)

    def rule(self, rule_id: str) -> RowResult:
        self.observations_so_far()
        return self.record(self._with_journey(lambda j: j.evaluate_rule(rule_id), rule_id, None))

    def record_skip(self, row_id: str, reason: str, array: str | tuple[str, ...] | None = None) -> RowResult:
        return self.record(skipped_result(row_id, reason, array))

    def _with_journey(
        self, evaluate: Callable[[Journey], RowResult], row_id: str, array: str | tuple[str, ...] | None
    ) -> RowResult:
        if self.setup_error or self.journey is None:
            return error_result(row_id, f"{UNDECIDED}: {self.setup_error or 'the run did not start'}", array)
        return evaluate(self.journey)

    def record(self, result: RowResult) -> RowResult:
        self.results.append(result.to_dict())
        self.display.row_decided(result)
        return result

    # ------------------------------------------------------------------ end
    def finish(self, scope: RunScope | None = None, interrupts: Interrupts | None = None) -> dict[str, Any]:
        """Teardown (unless a second signal skips it), stop the simulated arrays, write results.json (with
        the overall verdict, judged over `scope`); returns its document."""
        interrupts = interrupts or Interrupts()
        interrupts.tearing_down = True
        try:
            if self.journey is not None:
                self._teardown(self.journey, interrupts)
        finally:
            interrupts.writing = True
            if self.locks is not None:
                self.locks.release()
            if self.sim is not None and self.owns_sim:
                self.sim.stop()
            self.recording.close()  # what is still queued is written before the result files close
        journey = self.journey
        events = journey.timeline.events if journey else []
        observations = len(journey.timeline.observations) if journey else 0
        final = journey.final_state if journey else {}
        scope = scope or RunScope()
        if self.setup_error:
            scope.problems.insert(0, f"the run did not start: {self.setup_error}")
        if journey is not None and journey.interference is not None:
            scope.problems.append(journey.interference.describe())
        return self.results.finish(self.manifest(), events, observations, self.transcript, final, scope)

    def _teardown(self, journey: Journey, interrupts: Interrupts) -> None:
        try:
            if interrupts.skipped_teardown and not journey.torn_down:
                raise SecondInterrupt
            journey.teardown()
        except KeyboardInterrupt:
            journey.torn_down = True
            commands = journey.commands_to_run()
            journey.final_state = {
                "natural": False,
                "stage": journey.current,
                "problems": ["teardown skipped: the run was interrupted a second time"],
                "commands_to_run": commands,
            }
            self.progress("TEARDOWN SKIPPED: the group may be out of its natural state; to restore by hand:")
            for command in commands:
                self.progress(f"  {command}")
        finally:
            journey.close()

    def manifest(self) -> dict[str, Any]:
        import pywbem

        from harness import __version__

        arrays = self.journey.manifest_arrays() if self.journey else {}
        return {
            "harness_version": __version__,
            "pywbem_version": pywbem.__version__,
            "python_version": sys.version.split()[0],
            "started": self.started_wall,
            "finished": results_io.now_iso(),
            "duration_s": round(time.monotonic() - self.t0, 3),
            "config_source": self.config.source,
            "config_hash": self.config.config_hash(),
            "config": self.config.redacted_dict(),
            "topology": self.config.topology,
            "group": self.group,
            # also when simulated arrays are reached as a lab-style target (mock serve): they say so in CIM
            "simulated": self.config.is_simulated or any(a.get("simulated") for a in arrays.values()),
            "disruptive_allowed": self.allow_disruptive,
            "arrays": arrays,
            "setup_error": self.setup_error,
            "warnings": self.config.transport_warnings(),
            **self.manifest_extra,
        }


def start_simulator(config: TargetConfig) -> Any:
    """The target's simulated arrays, started (`harness.mock.service`)."""
    from harness.mock.service import SimulatedArrays

    options = config.simulated
    assert options is not None
    return SimulatedArrays(options.world_spec(config.topology), deviations=options.load_deviations(),
                           tls=options.tls).start()  # fmt: skip


def lock_arrays(config: TargetConfig, locks: ArrayLocks, report_dir: Path) -> str | None:
    """One lock per array of the target (`harness.lock`); why not, if another run holds one."""
    arrays = [(key, array_id(config.array(key))) for key in config.array_keys]
    try:
        locks.acquire(arrays, holder_info(report_dir))
    except ArrayInUse as exc:
        return str(exc)
    return None


def array_id(array: ArrayConfig) -> str:
    """What identifies an array across runs: its serial, else its name, else its SSH address."""
    identity = array.identity
    if identity is not None and (identity.serial or identity.system_name):
        return str(identity.serial or identity.system_name)
    return f"{array.ssh.host}-{array.ssh.port}"
