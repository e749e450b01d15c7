"""Files a target names besides secrets: the CIMOM's CA certificate, an SSH known_hosts file, a script.

Checked when the file is loaded (validation context `check_secrets`), so a missing, unreadable or wrong
file is a configuration error naming the field, not a connection failure in every row of the run.
Each check returns None or what is wrong, worded to follow the field path.
"""

from __future__ import annotations

import os
import shutil
import ssl
from pathlib import Path

from harness.config.secrets import _file_problem


def _ca_cert_problem(path: Path) -> str | None:
    problem = _file_problem(path, "CA certificate")
    if problem:
        return problem
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        return (
            f"{path} holds no PEM certificate: give the CIMOM's certificate or its CA "
            "(`showcert -service cim -pem` on the array prints it)"
        )
    return None


def _known_hosts_problem(path: Path, host: str, port: int) -> str | None:
    import paramiko

    problem = _file_problem(path, "known_hosts file")
    if problem:
        return problem
    name = host if port == 22 else f"[{host}]:{port}"
    try:
        keys = paramiko.HostKeys(str(path))
    except (OSError, UnicodeDecodeError, ValueError, paramiko.SSHException) as exc:
        return f"cannot read known_hosts file {path}: {exc}"
    if keys.lookup(name) is None:
        scan = f"ssh-keyscan{'' if port == 22 else f' -p {port}'} {host}"
        return f"{path} has no host key for {name}: add it (`{scan} >> {path}`) or give host_key instead"
    return None


def _program(argv0: str, base_dir: Path | None) -> str:
    """A script's program as the run will start it: a relative path is relative to the configuration file."""
    if "/" not in argv0:
        return argv0
    path = Path(argv0).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return str(path)


def _program_problem(program: str) -> str | None:
    if "/" not in program:
        if shutil.which(program) is None:
            return f"program {program!r} not found on PATH; give its full path"
        return None
    problem = _file_problem(Path(program), "program")
    if problem:
        return problem
    if not os.access(program, os.X_OK):
        return f"program {program} is not executable (chmod +x it)"
    return None
