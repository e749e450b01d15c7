"""What every configuration model shares: the strict frozen base, the `Seconds` type, the validation context.

The context (`model_validate(..., context=...)`) carries `base_dir` (relative paths), `check_secrets`
(environment variables and files must be usable now) and `in_memory` (the simulated arrays' filled-in copy).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

MAX_SECONDS = 7 * 24 * 3600.0
"""The longest time any setting may give (a week): more is a typo, and `.inf` or NaN never ends a wait."""
Seconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
"""A time in seconds: a finite number above 0, at most a week (every model refuses inf and NaN)."""
RequestSeconds = Annotated[float, Field(gt=0, le=3600)]
"""A time limit for one request (a CIM call, an SSH command): above 0, at most an hour."""

_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = _STRICT


def _ctx(info: ValidationInfo, key: str) -> Any:
    return info.context.get(key) if isinstance(info.context, Mapping) else None


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """`~` expanded; a relative path is relative to the configuration file's directory."""
    if value is None:
        return None
    value = value.expanduser()
    base = _ctx(info, "base_dir")
    if not value.is_absolute() and base is not None:
        value = Path(base) / value
    return value
