"""What is wrong with a configuration: `Problem`, `ConfigError` and the helpers that word and place problems."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: where (dotted field path, "" for the file itself) and what."""

    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        if not self.where:
            return self.message if self.line is None else f"line {self.line}: {self.message}"
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{self.where}{at}: {self.message}"


MAX_LISTED = 50
"""Problems a ConfigError message lists (all stay in `.problems`): a file repeating one mistake
100,000 times gets a readable message."""


class ConfigError(ValueError):
    """A target configuration that cannot be used. The message names the file, the field paths and the fixes."""

    def __init__(self, source: str | Path, problems: str | Problem | Sequence[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.source = str(source)
        self.problems: list[Problem] = _dedupe(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        if len(self.problems) == 1 and not self.problems[0].where:
            return f"{self.source}: {self.problems[0]}"
        count = len(self.problems)
        head = f"{self.source}: invalid target configuration ({count} problem{'s' if count != 1 else ''}):"
        shown = [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if count > MAX_LISTED:
            shown.append(f"  ... and {count - MAX_LISTED} more")
        return "\n".join([head, *shown])


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for p in problems:
        if (p.where, p.message) not in seen:
            seen.add((p.where, p.message))
            out.append(p)
    return out


def _fail(problems: list[tuple[str, str]]) -> None:
    """Raise the problems a validator found; `field` (first item) is a path below the model being validated."""
    if problems:
        field, message = problems[0]
        raise PydanticCustomError("config", "{message}", {"message": message, "field": field, "problems": problems})


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line if p.line is not None else 1 << 30)


def _problem_at(where: str, message: str, lines: Mapping[tuple[str, ...], int]) -> Problem:
    parts = tuple(where.split(".")) if where else ()
    while parts and parts not in lines:
        parts = parts[:-1]
    return Problem(where, message, lines.get(parts))


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
