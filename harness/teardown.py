"""The way back: from what the arrays show to the group's natural state, and what to run by hand when the
harness cannot get there.

Planned from what the arrays show, never from the last stage the harness completed: an interrupted command
may have gone through, or may still be running. A way back that goes wrong is planned again from what the
arrays then show. Never raises; always gives the final state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.driver import Driver, StageError
from harness.observation import Observation
from harness.stages import NATURAL, NoPath, Step, infer_stage, natural_problems

TEARDOWN_ATTEMPTS = 3
"""Ways back to natural tried, each planned from what the arrays show at its start."""


def return_to_natural(driver: Driver, action_specs: Mapping[str, Any], disturbed: str | None = None) -> dict[str, Any]:
    """Drive the group back to natural and look once more; the final state (`natural`, `stage`, `problems`,
    `commands_to_run`). When someone else is acting on the pair (`disturbed`), nothing is sent."""
    problems: list[str] = []
    if disturbed is not None:  # never fight another operator: send nothing more, say what is there
        driver.progress(f"TEARDOWN NOT ATTEMPTED: {disturbed}; the harness sends nothing more to this pair")
    attempts = 0 if disturbed else TEARDOWN_ATTEMPTS
    for attempt in range(1, attempts + 1):
        problems = _attempt(driver)
        if not problems or attempt == TEARDOWN_ATTEMPTS:
            break
        driver.progress(f"teardown attempt {attempt} did not get back ({'; '.join(problems)}); looking again")
    latest = driver.fresh_views(driver.now())  # one look after teardown: both for the check and the advice
    problems += _natural_now(driver, latest)
    commands = [] if not problems else commands_to_run(driver, action_specs, latest)
    final: dict[str, Any] = {
        "natural": not problems,
        "stage": driver.current,
        "problems": problems,
        "commands_to_run": commands,
        **({"teardown": f"not attempted: {disturbed}"} if disturbed else {}),
    }
    if problems:
        driver.progress("TEARDOWN COULD NOT CONFIRM THE NATURAL STATE: " + "; ".join(problems))
        for cmd in commands:
            driver.progress(f"  to restore by hand: {cmd}")
    else:
        driver.progress("teardown: group back in its natural state")
    return final


def _attempt(driver: Driver) -> list[str]:
    try:
        driver.current = driver.settled_stage()
        driver.progress(f"teardown: the arrays show stage {driver.current}; returning {driver.group} to natural")
        if driver.current == NATURAL:
            return []
        driver.last_visit = None
        visit = driver.reach(NATURAL)
        return [str(visit.error or visit.timeout)] if visit.error or visit.timeout else []
    except StageError as exc:
        driver.current = "unknown"
        return [str(exc)]
    except Exception as exc:  # teardown reports; it never takes the results down with it
        driver.current = "unknown"
        return [f"teardown failed: {type(exc).__name__}: {exc}"]


def _natural_now(driver: Driver, latest: Mapping[str, Observation]) -> list[str]:
    """What keeps the group from its natural state, from observations taken after teardown."""
    problems = []
    for key in driver.observed:
        obs = latest.get(key)
        if obs is None:
            problems.append(f"{key}: not observed after teardown (no answer within the time limit)")
        elif obs.cli is None:
            problems.append(f"{key}: no CLI observation ({obs.cli_error})")
        else:
            problems += natural_problems(key, obs.cli, driver.config.topology)
    return problems


def commands_to_run(
    driver: Driver, action_specs: Mapping[str, Any], latest: Mapping[str, Observation] | None = None
) -> list[str]:
    """What to do by hand to bring the group back: the planner's way from the stage the arrays show
    (`latest`, or observations taken now), else the generic sequence with the conditions under which
    each command applies."""
    names = {k: h.group_name for k, h in driver.arrays.items()}
    latest = latest if latest is not None else driver.fresh_views(driver.now())
    views = {k: o.cli for k, o in latest.items() if o.cli is not None}
    stage = infer_stage(views, driver.config.topology) or driver.current
    if stage not in ("unknown", NATURAL):
        try:
            legs = driver.graph.plan(stage, NATURAL)
        except NoPath:
            legs = []
        steps = [step for leg in legs for step in leg.steps]
        if steps:
            return [_by_hand(step, names, action_specs) for step in steps]
    return _generic_restore_commands(driver)


def _by_hand(step: Step, names: dict[str, str], action_specs: Mapping[str, Any]) -> str:
    if step.kind == "command":
        return step.describe(names)
    kind = (action_specs.get(step.name) or {}).get("kind", "not configured")
    return f"{step.kind} {step.name}: bring it about by hand (the configured action is {kind}), then go on"


def _generic_restore_commands(driver: Driver) -> list[str]:
    secondary = driver.arrays.get("secondary")
    primary = driver.arrays["primary"]
    commands = []
    if secondary is not None:
        on, g = f"on {secondary.key}:", secondary.group_name
        commands += [
            f"{on} setrcopygroup recover -f {g}  (if its role is Primary-Rev and the group is stopped)",
            f"{on} setrcopygroup restore -f {g}  (if its role is Primary-Rev and volumes are Synced)",
        ]
    commands.append(f"on {primary.key}: startrcopygroup {primary.group_name}  (if the group is stopped)")
    return commands
