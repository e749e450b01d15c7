"""`mock serve --write-config FILE`: a lab-style target configuration for the simulated arrays being served.

The file is what an operator writes for a real pair (fixtures/lab-example.yaml): identities, CIM urls,
CA certificate, SSH hosts and host keys, passwords as `password_file` entries, events and faults as
`kind: script` actions, `safety: disruptive: true`. It has no `simulated:` section, so
`smis-harness run --config FILE --allow-disruptive` takes exactly the code path of a real pair.

Beside FILE (same directory, mode 600): one password file per array and interface
(`<stem>.<array>.cim.pw`, `<stem>.<array>.ssh.pw`) and the control interface's url and token
(`<stem>.control.json`), which the scripts (`smis-harness mock ctl --control ...`) read, so no secret
is written in FILE or on a command line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from harness.control_client import ControlEndpoint, write_control_file, write_private
from harness.mock.world import Durations

HEADER = """\
# Written by `smis-harness mock serve --write-config` for the simulated arrays it serves: a lab-style
# target (no `simulated:` section), so a run takes exactly the code path of a real pair:
#
#   smis-harness run --config {name} --allow-disruptive
#
# Passwords are in the *.pw files beside this one and the control interface's url and token in
# {control} (all mode 600); events and faults are scripts calling `smis-harness mock ctl`.
# Valid while that `mock serve` runs (it removes the secret files when it stops).
"""


class _Dumper(yaml.SafeDumper):
    """Lists in flow style (`command: [python, -m, ...]`), as a person writes them."""


_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def secret_files(path: Path, arrays: Mapping[str, Any]) -> dict[str, Path]:
    """Every file written beside `path`, by role: `control`, `<array>.cim`, `<array>.ssh`."""
    files = {"control": path.with_name(f"{path.stem}.control.json")}
    for key in arrays:
        for kind in ("cim", "ssh"):
            files[f"{key}.{kind}"] = path.with_name(f"{path.stem}.{key}.{kind}.pw")
    return files


Builder = Callable[[Mapping[str, Any], Mapping[str, Path]], dict[str, Any]]
"""(describe, secret files by role) -> the configuration document (`lab_document`, or a replay's)."""


def write_lab_config(path: Path, describe: Mapping[str, Any], durations: Durations | None = None, *,
                     build: Builder | None = None, header: str = HEADER) -> list[Path]:  # fmt: skip
    """Write the target file for `describe` (SimulatedArrays.describe(), or a replay's) and its secret files;
    returns the secret files written (to remove when the arrays stop). `build` makes the document (default:
    `lab_document` with `durations`); `header` is the comment above it."""
    path = path.absolute()
    arrays = describe["arrays"]
    files = secret_files(path, arrays)
    control = describe["control"]
    try:
        write_control_file(files["control"], ControlEndpoint(str(control["url"]), SecretStr(str(control["token"]))))
        for key, info in arrays.items():
            write_private(files[f"{key}.cim"], f"{info['password']}\n")
            write_private(files[f"{key}.ssh"], f"{info['ssh_password']}\n")
        document = build(describe, files) if build else lab_document(describe, files, durations or Durations())
        text = header.format(name=path.name, control=files["control"].name)
        path.write_text(text + "\n" + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120))
    except OSError:
        for written in files.values():
            written.unlink(missing_ok=True)
        raise
    return list(files.values())


def ctl_command(files: Mapping[str, Path]) -> list[str]:
    """The argv start of `smis-harness mock ctl` for the control file among `files`."""
    return [sys.executable, "-m", "harness.command_line", "mock", "ctl", "--control", str(files["control"])]


def lab_document(describe: Mapping[str, Any], files: Mapping[str, Path], durations: Durations) -> dict[str, Any]:
    """The configuration as a plain document (secret files named relative to the configuration's directory)."""
    ctl = ctl_command(files)
    group = 'group="{group}"'  # quoted: sent as text whatever the name reads as

    def script(action: str, *fields: str) -> dict[str, Any]:
        return {"kind": "script", "command": [*ctl, action, *fields], "timeout": 30}

    return {
        "topology": describe["topology"],
        "groups": list(describe["groups"]),
        "arrays": {key: array_entry(key, info, files) for key, info in describe["arrays"].items()},
        "polling": {
            "interval": 0.25,
            "min_gap": 0.1,
            "settle_samples": 3,
            "transients": {
                "start": min(durations.resync, durations.initial_sync),
                "failover": durations.failover,
                "recover": durations.recover,
                "restore": durations.restore,
            },
        },
        "time_limits": {
            "default": 30,
            "primary_down": 30,
            "failover": 60,
            "primary_up": 60,
            "recover": 120,
            "restore": 120,
        },
        "events": {
            "primary_down": script("array_down", "array=primary"),
            "primary_up": script("array_up", "array=primary"),
        },
        "faults": {
            "recover_fails": script("fail_next", "operation=recover"),
            "restore_fails": script("fail_next", "operation=restore", group),
            "sync_status_new": script("reset_to_new", "array=primary", group),
            "sync_status_notsynced": script("force_sync_status", "array=primary", group, "status=NotSynced"),
            "sync_status_stale": script("force_sync_status", "array=primary", group, "status=Stale"),
        },
        "safety": {"disruptive": True},
    }


def array_entry(key: str, info: Mapping[str, Any], files: Mapping[str, Path]) -> dict[str, Any]:
    """One array's `arrays:` entry for `info` (one array of a `describe()`)."""
    cim: dict[str, Any] = {
        "url": info["cim_url"],
        "namespace": info["namespace"],
        "interop_namespace": info["interop_namespace"],
        "user": info["user"],
        "password_file": files[f"{key}.cim"].name,
    }
    if info.get("ca_cert") and str(info["cim_url"]).startswith("https:"):
        cim["ca_cert"] = info["ca_cert"]
    return {
        "identity": {"system_name": info["system_name"], "serial": str(info["serial"])},
        "cim": cim,
        "ssh": {
            "host": info["ssh_host"],
            "port": info["ssh_port"],
            "user": info["ssh_user"],
            "password_file": files[f"{key}.ssh"].name,
            "host_key": info["ssh_host_key"],
        },
    }
