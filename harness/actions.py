"""Event and fault actions: how the harness makes happen what the array CLI cannot.

Kinds (from the target config):
    simulator  a request to the built-in simulated arrays' control interface
    cli        a command on a named array, over its SSH session
    script     a local program (argv list), with a time limit
    manual     a prompt to the operator; the run then waits for the expected effect with a time limit
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from harness.array_cli import ArrayCli, CliError
from harness.control_client import ControlClientError, ControlEndpoint, post_control


class ActionError(Exception):
    """An action could not be carried out; the message names the action and the cause."""


@dataclass(frozen=True)
class Control:
    url: str
    token: str


class ActionRunner:
    def __init__(
        self,
        actions: Mapping[str, Mapping[str, Any]],
        clis: Mapping[str, ArrayCli],
        control: Control | None = None,
        tell_operator: Callable[[str], None] | None = None,
    ) -> None:
        self.actions = actions
        self.clis = clis
        self.control = control
        self.tell_operator = tell_operator or (lambda text: print(text, file=sys.stderr, flush=True))

    def available(self) -> set[str]:
        return set(self.actions)

    def run(self, name: str) -> dict[str, Any]:
        """Carry out action `name`; returns JSON-able evidence of what was done."""
        spec = self.actions.get(name)
        if spec is None:
            raise ActionError(f"no action configured for {name}")
        kind = spec.get("kind")
        handler = {
            "simulator": self._simulator,
            "cli": self._cli,
            "script": self._script,
            "manual": self._manual,
        }.get(str(kind))
        if handler is None:
            raise ActionError(f"action {name}: unknown kind {kind!r}")
        return {"action": name, "kind": kind, **handler(name, spec)}

    def _simulator(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        if self.control is None:
            raise ActionError(f"action {name}: kind simulator needs the built-in simulated arrays")
        body = {k: v for k, v in spec.items() if k != "kind"}
        try:
            post_control(ControlEndpoint(self.control.url, SecretStr(self.control.token)), body)
        except ControlClientError as exc:
            raise ActionError(f"action {name}: {exc}") from None
        return {"request": body}

    def _cli(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        array, command = spec.get("array"), spec.get("command")
        cli = self.clis.get(str(array))
        if cli is None or not command:
            raise ActionError(f"action {name}: kind cli needs an array of the topology and a command")
        try:
            result = cli.run(str(command))
        except CliError as exc:
            raise ActionError(f"action {name}: {exc}") from None
        if not result.ok:
            raise ActionError(f"action {name}: {array} refused {command!r}: {result.error_text()}")
        return {"array": array, "command": command, "transcript": result.ref}

    def _script(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        argv = [str(a) for a in spec.get("command", [])]
        timeout = float(spec.get("timeout", 300))
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError:
            raise ActionError(f"action {name}: program {argv[0] if argv else '?'} not found") from None
        except subprocess.TimeoutExpired:
            raise ActionError(f"action {name}: {argv[0]} did not finish within {timeout:g}s") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-500:]
            raise ActionError(f"action {name}: {argv[0]} exited {done.returncode}: {tail}")
        return {"command": argv, "exit": done.returncode, "stdout": done.stdout[-2000:]}

    def _manual(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        prompt = str(spec.get("prompt", name))
        self.tell_operator(f"\n>>> OPERATOR: {prompt}\n>>> The run waits for the effect to be observed.\n")
        return {"prompt": prompt}
