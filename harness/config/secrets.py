"""Secrets named by the file, never held in it: checks that an environment variable or file is usable,
and the readers `ArrayConfig.cim_password()` / `ssh_password()` call when the secret is needed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError

from harness.config.base import _ctx
from harness.config.errors import ConfigError, Problem
from harness.input_files import file_problem

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_problem(var: str, what: str) -> str | None:
    value = os.environ.get(var)
    if value is None:
        return (
            f"environment variable {var} is not set: export {var}=<{what}> in the shell that runs "
            "smis-harness (or use password_file)"
        )
    if value == "":
        return f"environment variable {var} is set but empty: export {var}=<{what}>"
    return None


def _file_problem(path: Path, what: str) -> str | None:
    problem = file_problem(path)
    if problem == "permission denied":
        return f"cannot read {what} {path}: permission denied (chmod 600 it for the user running smis-harness)"
    if problem:
        return f"cannot read {what} {path}: {problem}"
    if path.stat().st_size == 0:
        return f"{what} {path} is empty"
    return None


def _read_secret_file(path: Path, where: str, source: str) -> str:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(source, Problem(where, f"cannot read password file {path}: {reason}")) from None
    return text.rstrip("\r\n")


def _read_secret_env(var: str, where: str, source: str, what: str) -> str:
    problem = _env_problem(var, what)
    if problem:
        raise ConfigError(source, Problem(where, problem))
    return os.environ[var]


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise PydanticCustomError(
            "config",
            "{message}",
            {"message": "must be the NAME of an environment variable (letters, digits, _), not a password"},
        )
    return value


def _password_source_problems(
    env: str | None, file: Path | None, info: ValidationInfo, what: str, *, allow_none: bool
) -> list[tuple[str, str]]:
    if env is not None and file is not None:
        return [("password_file", "password_env is given too: give exactly one of password_env or password_file")]
    if env is None and file is None:
        if allow_none:
            return []
        return [
            (
                "password_env",
                f"missing: give password_env (an environment variable holding {what}) or password_file "
                "(never the password itself)",
            )
        ]
    if not _ctx(info, "check_secrets"):
        return []
    if env is not None:
        problem = _env_problem(env, what)
        return [("password_env", problem)] if problem else []
    assert file is not None
    problem = _file_problem(file, "password file")
    return [("password_file", problem)] if problem else []
