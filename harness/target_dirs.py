"""The directory name of each target of a run of several targets: from its config file's name, safe on any
file system (letters, digits, `_` and `-` only, so never a name the run writes itself, such as
`results.json` or `<target>.log`), and unique (`-2`, `-3`... for two files of the same name, compared
case-insensitively, as some file systems do)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

RESERVED = frozenset({"recording", "rejudged", "configs"})
"""Directory names a run or its tools use inside a report directory."""
MAX_LENGTH = 64


def safe_name(path: Path | str) -> str:
    """`fixtures/mock-pair.yaml` -> `mock-pair`; `Lab A (row 3).yml` -> `Lab-A-row-3`."""
    stem = Path(path).name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:MAX_LENGTH].strip("-")
    return name or "target"


def target_names(paths: Sequence[Path | str]) -> list[str]:
    """One unique directory name per config file, in order."""
    taken: set[str] = {n.casefold() for n in RESERVED}
    names = []
    for path in paths:
        base = safe_name(path)
        name, suffix = base, 2
        while name.casefold() in taken:
            name = f"{base}-{suffix}"
            suffix += 1
        taken.add(name.casefold())
        names.append(name)
    return names
