"""Hostile and mistaken input to `smis-harness run`, as a user or an attacker would give it: every case
exits 2 with the file (or option), the field and the cause, without a traceback and before anything starts.

Everything runs as a subprocess, through the installed command.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_run_command import _real_config, no_traceback, output, smis

from harness.mock.cimxml_tls import make_self_signed_cert
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
ENV = {"SMIS_T_CIM": "cim-password", "SMIS_T_SSH": "ssh-password"}


def lab_target(directory: Path) -> dict[str, Any]:
    """A valid lab-style target (nothing is contacted: every case is refused before the run starts)."""
    cert, _ = make_self_signed_cert(directory)
    arrays = {}
    for index, key in enumerate(("primary", "secondary")):
        arrays[key] = {
            "identity": {"serial": f"161234{index}"},
            "cim": {
                "url": f"https://10.0.0.{index + 1}:5989",
                "user": "u",
                "password_env": "SMIS_T_CIM",
                "ca_cert": cert,
            },
            "ssh": {"host": f"10.0.0.{index + 1}", "user": "u", "password_env": "SMIS_T_SSH", "host_key": HOST_KEY},
        }
    return {"topology": "pair", "groups": ["rcg_lab"], "arrays": arrays}


def simulated_target(directory: Path) -> dict[str, Any]:
    return {"topology": "pair", "groups": ["rcg_sync_0"], "simulated": {"groups": 2}}


Setup = Callable[[Path, dict[str, Any]], None]


def put(path: str, value: Any) -> Setup:
    """Set a dotted path of the target; `{dir}` in a string value is the test's directory."""

    def setup(directory: Path, data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value.replace("{dir}", str(directory)) if isinstance(value, str) else value

    return setup


def both(*steps: Setup) -> Setup:
    def setup(directory: Path, data: dict[str, Any]) -> None:
        for step in steps:
            step(directory, data)

    return setup


def make(name: str, kind: str) -> Setup:
    """Create `name` in the test's directory: a directory, a FIFO, an empty file, a non-executable script,
    a text file that is not a certificate, a known_hosts file for another host."""

    def setup(directory: Path, _: dict[str, Any]) -> None:
        path = directory / name
        if kind == "dir":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "script-not-executable":
            path.write_text("#!/bin/sh\nexit 0\n")
            path.chmod(0o644)
        elif kind == "not-a-cert":
            path.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
        elif kind == "other-host":
            path.write_text(f"10.9.9.9 {HOST_KEY}\n")

    return setup


def without(path: str) -> Setup:
    def setup(directory: Path, data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return setup


KNOWN_HOSTS = both(without("arrays.primary.ssh.host_key"), put("arrays.primary.ssh.known_hosts", "{dir}/kh"))
SCRIPT_EVENT = "events.primary_down"

BAD_CONFIGS: dict[str, tuple[Callable[[Path], dict[str, Any]], Setup, str, str]] = {
    # name: (base target, change, field the message names, phrase of the cause)
    "ca-cert-missing": (lab_target, put("arrays.primary.cim.ca_cert", "{dir}/nope.pem"), "arrays.primary.cim.ca_cert",
                        "no such file"),
    "ca-cert-directory": (lab_target, both(make("certs", "dir"), put("arrays.primary.cim.ca_cert", "{dir}/certs")),
                          "arrays.primary.cim.ca_cert", "directory"),
    "ca-cert-fifo": (lab_target, both(make("ca.fifo", "fifo"), put("arrays.secondary.cim.ca_cert", "{dir}/ca.fifo")),
                     "arrays.secondary.cim.ca_cert", "not a regular file"),
    "ca-cert-not-a-certificate": (lab_target, both(make("bad.pem", "not-a-cert"),
                                                   put("arrays.primary.cim.ca_cert", "{dir}/bad.pem")),
                                  "arrays.primary.cim.ca_cert", "no PEM certificate"),
    "ca-cert-empty": (lab_target, both(make("e.pem", "empty"), put("arrays.primary.cim.ca_cert", "{dir}/e.pem")),
                      "arrays.primary.cim.ca_cert", "is empty"),
    "key-file-missing": (lab_target, both(without("arrays.primary.ssh.password_env"),
                                          put("arrays.primary.ssh.key_file", "{dir}/id_nope")),
                         "arrays.primary.ssh.key_file", "no such file"),
    "key-file-directory": (lab_target, both(without("arrays.primary.ssh.password_env"), make("keys", "dir"),
                                            put("arrays.primary.ssh.key_file", "{dir}/keys")),
                           "arrays.primary.ssh.key_file", "directory"),
    "password-file-fifo": (lab_target, both(without("arrays.primary.ssh.password_env"), make("pw", "fifo"),
                                            put("arrays.primary.ssh.password_file", "{dir}/pw")),
                           "arrays.primary.ssh.password_file", "not a regular file"),
    "known-hosts-missing": (lab_target, KNOWN_HOSTS, "arrays.primary.ssh.known_hosts", "no such file"),
    "known-hosts-directory": (lab_target, both(KNOWN_HOSTS, make("kh", "dir")), "arrays.primary.ssh.known_hosts",
                              "directory"),
    "known-hosts-without-the-host": (lab_target, both(KNOWN_HOSTS, make("kh", "other-host")),
                                     "arrays.primary.ssh.known_hosts", "no host key for 10.0.0.1"),
    "script-missing": (lab_target, put(SCRIPT_EVENT, {"kind": "script", "command": ["./pdu-off", "3"]}),
                       f"{SCRIPT_EVENT}.command.0", "no such file"),
    "script-not-executable": (lab_target, both(make("pdu-off", "script-not-executable"),
                                               put(SCRIPT_EVENT, {"kind": "script", "command": ["./pdu-off"]})),
                              f"{SCRIPT_EVENT}.command.0", "not executable"),
    "script-not-on-path": (lab_target, put(SCRIPT_EVENT, {"kind": "script", "command": ["surely-no-such-pdu-tool"]}),
                           f"{SCRIPT_EVENT}.command.0", "not found on PATH"),
    "interval-infinite": (simulated_target, put("polling.interval", float("inf")), "polling.interval", "finite"),
    "interval-nan": (simulated_target, put("polling.interval", float("nan")), "polling.interval", "finite"),
    "interval-negative": (simulated_target, put("polling.interval", -1), "polling.interval", ">= 0.01"),
    "interval-absurd": (simulated_target, put("polling.interval", 1e308), "polling.interval", "<= 3600"),
    "time-limit-infinite": (simulated_target, put("time_limits.failover", float("inf")), "time_limits.failover",
                            "finite"),
    "time-limit-absurd": (simulated_target, put("time_limits.recover", 1e12), "time_limits.recover", "<= 604800"),
    "cim-timeout-absurd": (lab_target, put("arrays.primary.cim.timeout", 1e9), "arrays.primary.cim.timeout",
                           "<= 3600"),
    "settle-samples-absurd": (simulated_target, put("polling.settle_samples", 10**9), "polling.settle_samples",
                              "<= 1000"),
    "cim-read-unknown": (lab_target, put("arrays.primary.cim.read", "parallel"), "arrays.primary.cim.read",
                         "'measure', 'serial', 'pooled' or 'enumeration'"),
    "max-cim-connections-zero": (simulated_target, put("polling.max_cim_connections", 0),
                                 "polling.max_cim_connections", ">= 1"),
    "max-cim-connections-absurd": (simulated_target, put("polling.max_cim_connections", 1000),
                                   "polling.max_cim_connections", "<= 32"),
    "simulated-scale-absurd": (simulated_target, put("simulated.scale", 10**12), "simulated.scale", "<= 100000"),
    "manual-timeout-nan": (lab_target, put(SCRIPT_EVENT, {"kind": "manual", "prompt": "x", "timeout": float("nan")}),
                           f"{SCRIPT_EVENT}.timeout", "finite"),
    "simulator-duration-nan": (simulated_target,
                               put("faults.recover_fails", {"kind": "simulator", "action": "set_durations",
                                                            "durations": {"failover": float("nan")}}),
                               "faults.recover_fails.durations.failover", "finite"),
    "duplicate-group": (simulated_target, put("groups", ["rcg_sync_0", "rcg_sync_0"]), "groups.1", "listed twice"),
    "group-name-path": (simulated_target, put("groups", ["../../etc"]), "groups.0", "not a group name"),
    "group-name-command": (lab_target, put("groups", ["rcg; removevv -f vv1"]), "groups.0", "not a group name"),
}  # fmt: skip

BAD_YAML = {
    # name: (file text, phrase of the cause)
    "alias": ("topology: pair\nsimulated: &s {groups: 2}\nother: *s\n", "anchors and aliases"),
    "merge-key-alias": (
        "topology: pair\nsimulated: {groups: 2}\nx: &base {a: 1}\ny: {<<: *base}\n",
        "anchors and aliases",
    ),
    "deep-nesting": ("topology: pair\ngroups: " + "[" * 200 + "]" * 200 + "\n", "nested more than 64"),
    "huge-integer": ("topology: pair\nsimulated: {seed: " + "9" * 5000 + "}\n", "not usable YAML"),
    "two-documents": ("topology: pair\n---\ntopology: sld\n", "single document"),
    "python-object": ("topology: !!python/object:os.system pair\n", "not valid YAML"),
}


def run_bad(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    proc = smis("run", *args, "--report-dir", str(tmp_path / "r"), cwd=tmp_path, env=ENV, timeout=60)
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert not (tmp_path / "r").exists(), "refused before anything was written"
    return proc


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_exit_2_naming_file_field_and_cause(tmp_path: Path, case: str) -> None:
    base, change, field, phrase = BAD_CONFIGS[case]
    data = base(tmp_path)
    change(tmp_path, data)
    config = tmp_path / f"{case}.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = run_bad(tmp_path, "--config", str(config))
    problem = [line for line in proc.stderr.splitlines() if field in line]
    assert problem and phrase in "\n".join(problem), output(proc)
    assert str(config) in proc.stderr, output(proc)


@pytest.mark.parametrize("case", sorted(BAD_YAML))
def test_bad_yaml_is_exit_2_naming_file_and_cause(tmp_path: Path, case: str) -> None:
    text, phrase = BAD_YAML[case]
    config = tmp_path / f"{case}.yaml"
    config.write_text(text)
    proc = run_bad(tmp_path, "--config", str(config))
    assert str(config) in proc.stderr and phrase in proc.stderr, output(proc)


def billion_laughs(levels: int = 9) -> str:
    """About 700 bytes that expand to 10**levels strings."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "topology: pair\nsimulated: {groups: 2}\n" + "\n".join(lines) + f"\ngroups: *a{levels - 1}\n"


def _limit_memory() -> None:  # runs in the child before exec
    limit = 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("option", ["--config", "--deviations"])
def test_billion_laughs_is_refused_within_a_memory_limit(tmp_path: Path, option: str) -> None:
    """Before: `_line_index` walked the expanded tree and the harness grew past 11 GB. Under a 1.5 GB limit a
    regression fails (MemoryError, exit 1) instead of taking the machine down; the timeout stops a hang."""
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(billion_laughs())
    assert len(laughs.read_bytes()) < 800
    script = Path(sys.executable).with_name("smis-harness")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]
    proc = subprocess.run(
        [*command, "run", option, str(laughs), "--report-dir", str(tmp_path / "r")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert "laughs.yaml" in proc.stderr and "anchors and aliases" in proc.stderr and "line 3" in proc.stderr


def _run_once(tmp_path: Path, report: Path, *extra: str) -> subprocess.CompletedProcess:
    return smis("run", "--report-dir", str(report), *extra, "T106-03", cwd=tmp_path, timeout=120)


BAD_COMMAND_LINES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    # name: (arguments, given the test's directory; phrase of the message)
    "config-empty": (lambda d: ["--config", ""], "--config: empty file name"),
    "config-directory": (lambda d: ["--config", str(d)], "is a directory"),
    "config-device": (lambda d: ["--config", "/dev/zero"], "not a regular file"),
    "config-binary": (lambda d: ["--config", sys.executable], "not UTF-8 text"),
    "deviations-empty": (lambda d: ["--deviations", ""], "--deviations: empty file name"),
    "deviations-binary": (lambda d: ["--deviations", sys.executable], "not UTF-8 text"),
    "deviations-nul-bytes": (lambda d: ["--deviations", _write(d / "dev.yaml", b"deviations: []\n\x00")], "NUL byte"),
    "deviations-directory": (lambda d: ["--deviations", str(d)], "is a directory"),
    "deviations-device": (lambda d: ["--deviations", "/dev/zero"], "not a regular file"),
    "report-dir-empty": (lambda d: ["--report-dir", ""], "--report-dir: empty directory name"),
    "report-dir-is-a-file": (lambda d: ["--report-dir", _write(d / "file", b"x")], "is a file, not a directory"),
    "report-dir-below-a-file": (lambda d: ["--report-dir", _write(d / "file", b"x") + "/sub"], "is a file"),
    "report-dir-unwritable": (lambda d: ["--report-dir", "/proc/self/smis-report"], "cannot be created"),
    "report-dir-not-empty": (lambda d: ["--report-dir", _holding(d / "mine", "notes.txt")], "not empty (notes.txt)"),
    "report-dir-force-keeps-other-files": (
        lambda d: ["--force", "--report-dir", _holding(d / "mine", "notes.txt")],
        "never deletes others",
    ),
}


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _holding(directory: Path, name: str) -> str:
    """A directory holding one file that no run writes."""
    directory.mkdir()
    (directory / name).write_text("mine\n")
    return str(directory)


@pytest.mark.parametrize("case", sorted(BAD_COMMAND_LINES))
def test_bad_command_line_is_exit_2_naming_option_and_cause(tmp_path: Path, case: str) -> None:
    arguments, phrase = BAD_COMMAND_LINES[case]
    args = arguments(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = smis("run", *args, "T106-03", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, output(proc)
    no_traceback(proc)
    assert phrase in proc.stderr, output(proc)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "nothing created or deleted"


def test_a_report_dir_is_never_shared_by_two_runs(tmp_path: Path, one_group_pair: Path) -> None:
    report = tmp_path / "r"
    one_group = ("--config", str(one_group_pair))  # the run's own results.jsonl in its report dir
    first = _run_once(tmp_path, report, *one_group)
    assert first.returncode == 0, output(first)
    rows = (report / "results.jsonl").read_text()
    again = _run_once(tmp_path, report, *one_group)
    assert again.returncode == 2, output(again)
    no_traceback(again)
    assert "--force" in again.stderr and "not empty" in again.stderr
    assert (report / "results.jsonl").read_text() == rows, "the earlier run is untouched"
    forced = _run_once(tmp_path, report, *one_group, "--force")
    assert forced.returncode == 0, output(forced)
    lines = (report / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(rows.splitlines()), "one run's rows, not two runs' appended"
    started = {json.loads((report / "results.json").read_text())["manifest"]["started"]}
    assert len(started) == 1


def test_force_replaces_a_multi_group_run(tmp_path: Path) -> None:
    config = tmp_path / "two.yaml"
    config.write_text("topology: pair\ngroups: [rcg_sync_0, rcg_periodic_1]\nsimulated: {groups: 2}\n")
    report = tmp_path / "r"
    assert _run_once(tmp_path, report, "--config", str(config)).returncode == 0
    (report / "rcg_sync_0" / "results.jsonl").write_text('{"id": "T106-03", "verdict": "fail"}\n' * 3)
    forced = _run_once(tmp_path, report, "--config", str(config), "--force")
    assert forced.returncode == 0, output(forced)
    rows = [json.loads(line) for line in (report / "rcg_sync_0" / "results.jsonl").read_text().splitlines()]
    assert [r["verdict"] for r in rows] == ["pass"], rows


def test_default_report_dirs_of_one_second_are_distinct(tmp_path: Path, one_group_pair: Path) -> None:
    """Without --report-dir each run claims a new reports/<time>[-N]: two runs never share one."""
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).with_name("smis-harness")), "run", "--config", str(one_group_pair), "T106-03"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{out}\n{err}"
    runs = sorted((tmp_path / "reports").iterdir())
    assert len(runs) == 2, runs
    for run in runs:
        assert len((run / "results.jsonl").read_text().splitlines()) == 1


# --------------------------------------------------------------------------- unprotected transport


def test_plain_http_is_warned_at_start_and_noted_in_the_manifest(tmp_path: Path) -> None:
    with SimulatedArrays(WorldSpec(topology="pair"), tls=False) as sim:
        info = sim.describe()
        config, env = _real_config(tmp_path, info, disruptive=False)
        report = tmp_path / "r"
        proc = smis("run", "--config", str(config), "--report-dir", str(report), "T106-03", cwd=tmp_path, env=env)
    assert proc.returncode == 0, output(proc)
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2 and all("is plain http" in w for w in warnings), output(proc)
    assert "arrays.primary.cim.url" in warnings[0] and "arrays.secondary.cim.url" in warnings[1]
    manifest = json.loads((report / "results.json").read_text())["manifest"]
    assert [w.split(" ")[0] for w in manifest["warnings"]] == ["arrays.primary.cim.url", "arrays.secondary.cim.url"]
    assert all(v not in json.dumps(manifest) for v in env.values())
    assert (report / "index.html").read_text().count("Warning from the run: arrays.") == 2, "the report shows them"


def test_verify_false_is_warned_in_a_dry_run(tmp_path: Path) -> None:
    data = lab_target(tmp_path)
    for array in data["arrays"].values():
        del array["cim"]["ca_cert"]
        array["cim"]["verify"] = False
    config = tmp_path / "noverify.yaml"
    config.write_text(yaml.safe_dump(data))
    proc = smis("run", "--config", str(config), "--dry-run", cwd=tmp_path, env=ENV, timeout=60)
    assert proc.returncode == 0, output(proc)
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2 and all("verify is false" in w and "ca_cert" in w for w in warnings), output(proc)


def test_a_conformant_https_run_has_no_warnings(tmp_path: Path) -> None:
    report = tmp_path / "r"
    proc = _run_once(tmp_path, report)
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, output(proc)
    assert json.loads((report / "results.json").read_text())["manifest"]["warnings"] == []
