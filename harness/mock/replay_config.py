"""`mock serve --replay RUN_DIR --write-config FILE`: the lab-style target for a replay.

The recorded run's own settings where they shape what the harness does (topology, the group, polling
and settle counts, time limits, each array's identity, namespaces, timeouts and remote-copy target), the
replay's endpoints and credentials (never the recorded run's: `password_file` entries beside FILE, as
`mock serve --write-config` writes them). Every event and fault the recorded run had configured becomes
a script that performs that step on the replay's control interface (`mock ctl ... replay_step kind=event
name=primary_down`), keeping its `during`; one it carried out as an array CLI command stays that command
(the replay takes it over SSH).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.mock.lab_config import Builder, array_entry, ctl_command
from harness.mock.replay_serve import REPLAY_ACTION

HEADER = """\
# Written by `smis-harness mock serve --replay <run> --write-config`: the recorded run, served by the
# replay as a lab-style target (no `simulated:` section), so a run takes the code path of a real pair:
#
#   smis-harness run --config {name} --allow-disruptive
#
# Passwords are in the *.pw files beside this one and the control interface's url and token in
# {control} (all mode 600); events and faults are scripts performing the recorded step through
# `smis-harness mock ctl ... <action>`. Valid while that `mock serve --replay` runs.
"""

_ARRAY_SETTINGS = {"cim": ("timeout",), "ssh": ("timeout",)}


def replay_header(run: str) -> str:
    """The header for `write_lab_config` (which fills in {name} and {control})."""
    escaped = run.replace("{", "{{").replace("}", "}}").replace("\n", " ")
    return HEADER.replace("<run>", escaped).replace("<action>", REPLAY_ACTION)


def replay_builder(recorded: Mapping[str, Any], group: str, read_paths: Mapping[str, str]) -> Builder:
    """The document builder for `write_lab_config` from the recorded run's configuration; `read_paths` pins
    each array's CIM read path to the one the recording was made with (a measurement might choose another,
    whose requests the recording does not hold)."""

    def build(describe: Mapping[str, Any], files: Mapping[str, Path]) -> dict[str, Any]:
        arrays = {key: _array(key, info, files, recorded) for key, info in describe["arrays"].items()}
        for key, path in read_paths.items():
            if key in arrays:
                arrays[key]["cim"]["read"] = path
        document: dict[str, Any] = {"topology": recorded.get("topology") or describe["topology"], "groups": [group],
                                    "arrays": arrays}  # fmt: skip
        for section in ("polling", "time_limits"):
            if recorded.get(section):
                document[section] = dict(recorded[section])
        for section, kind in (("events", "event"), ("faults", "fault")):
            actions = {name: _action(kind, name, spec, files) for name, spec in (recorded.get(section) or {}).items()
                       if spec}  # fmt: skip
            if actions:
                document[section] = actions
        document["safety"] = {"disruptive": True}
        return document

    return build


def _array(key: str, info: Mapping[str, Any], files: Mapping[str, Path], recorded: Mapping[str, Any]) -> dict[str, Any]:
    entry = array_entry(key, info, files)
    was = (recorded.get("arrays") or {}).get(key) or {}
    identity = {k: v for k, v in (was.get("identity") or {}).items() if v is not None}
    if identity:
        entry["identity"] = identity
    for part, names in _ARRAY_SETTINGS.items():
        for name in names:
            if (was.get(part) or {}).get(name) is not None:
                entry[part][name] = was[part][name]
    if was.get("target"):
        entry["target"] = was["target"]
    return entry


def _action(kind: str, name: str, spec: Mapping[str, Any], files: Mapping[str, Path]) -> dict[str, Any]:
    during = {"during": spec["during"]} if spec.get("during") is not None else {}
    if spec.get("kind") == "cli":
        return {"kind": "cli", "array": spec["array"], "command": spec["command"], **during}
    command = [*ctl_command(files), REPLAY_ACTION, f"kind={kind}", f"name={name}"]
    return {"kind": "script", "command": command, "timeout": 60, **during}
