"""The target configuration: which arrays the harness drives, how it reaches them, how it makes things happen.

A target file is YAML (see fixtures/lab-example.yaml for a commented template):

    topology: pair                     # pair | sld
    groups: [rcg_sync_0]               # groups under test, named as on the primary array
    simulated: {groups: 2}             # only for the built-in simulated arrays (the run starts them itself)
    arrays:                            # required unless `simulated` is given
      primary:   {identity: {...}, cim: {...}, ssh: {...}, target: ...}   # target: optional (README)
      secondary: {...}                 # sld: sync_secondary, periodic_secondary
    polling: {interval: 0.25, settle_samples: 3}
    time_limits: {default: 60, primary_down: 120, failover: 300, primary_up: 300, recover: 1800, restore: 1800}
    events: {primary_down: {kind: manual, prompt: ...}, primary_up: {...}}
    faults: {recover_fails: {kind: simulator, action: fail_next, operation: recover}}
    safety: {disruptive: false}

`load_config(path)` returns a validated, immutable `TargetConfig` or raises `ConfigError`,
whose message names the file, each field path (with its line) and what is wrong, one problem a line.

Secrets never live in model fields: the file names an environment variable (`password_env`)
or a file (`password_file`, `key_file`), read when `ArrayConfig.cim_password()` / `ssh_password()`
is called; the simulated arrays' random passwords and control token are kept in private
attributes (pydantic `PrivateAttr`, `SecretStr`), which `repr()`, `model_dump()`,
`redacted_dict()` and `config_hash()` never see.

The package, by what each module holds:

    errors             Problem, ConfigError; wording and placing problems
    base               the strict base model, Seconds, the validation context
    secrets            environment-variable and file secrets: checks and readers
    host_keys          checking a pasted SSH host key
    topology           pair / sld and the arrays each one has
    actions            event and fault actions (simulator, cli, script, manual), Events, Faults
    arrays             Identity, CimConfig, SshConfig, ArrayConfig
    settings           SimulatedOptions, Polling, TimeLimits, Safety
    target             TargetConfig, SimulatorControl
    validation_errors  pydantic errors as Problems with field paths, lines and hints
    loading            load_config, builtin_config, YAML with line numbers
"""

from __future__ import annotations

from harness.config.actions import (
    CliAction,
    EventAction,
    Events,
    Faults,
    ManualAction,
    ScriptAction,
    SimForceSyncStatus,
    SimResetToNew,
    SimulatorAction,
    bind_group,
    control_body,
    is_simulator_action,
)
from harness.config.arrays import ArrayConfig, CimConfig, Identity, SshConfig
from harness.config.errors import ConfigError, Problem
from harness.config.loading import builtin_config, load_config
from harness.config.settings import Polling, Safety, SimulatedOptions, TimeLimits
from harness.config.target import SimulatorControl, TargetConfig
from harness.config.topology import ARRAY_KEYS

__all__ = [
    "ARRAY_KEYS",
    "ArrayConfig",
    "CimConfig",
    "CliAction",
    "ConfigError",
    "EventAction",
    "Events",
    "Faults",
    "Identity",
    "ManualAction",
    "Polling",
    "Problem",
    "Safety",
    "ScriptAction",
    "SimForceSyncStatus",
    "SimResetToNew",
    "SimulatedOptions",
    "SimulatorAction",
    "SimulatorControl",
    "SshConfig",
    "TargetConfig",
    "TimeLimits",
    "bind_group",
    "builtin_config",
    "control_body",
    "is_simulator_action",
    "load_config",
]
