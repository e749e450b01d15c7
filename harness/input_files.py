"""Files people hand the harness (target configurations, deviations, certificates, keys, scripts):
checked and read with bounds, YAML parsed without aliases.

A hostile or mistaken file must give a clear message, never exhaust memory or hang:

- only a regular file is used (a FIFO or /dev/zero would block or never end); text files are read up to
  `MAX_BYTES`, as UTF-8 without NUL bytes (a binary file is named as such);
- YAML anchors and aliases (`&name`, `*name`) are refused from the parser's event stream, before the
  document is composed, expanded or walked: a few hundred bytes of nested aliases ("billion laughs")
  would otherwise expand to gigabytes in whatever walks the tree;
- YAML nesting deeper than `MAX_DEPTH` is refused (the composer recurses once per level).
  The event stream holds the scalars' text, never an expanded tree, so the check costs O(file).

`file_problem` says what makes a path unusable (None when it is a readable regular file); `read_text`
raises `InputFileError`, `parse_yaml` raises `YamlInputError` (with line and column when known).
Messages never name the file: callers add it, with their hints.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, cast

import yaml

MAX_BYTES = 8 * 1024 * 1024
"""Larger than any sensible target or deviations file (a target listing 200,000 groups is about 2.5 MB)."""
MAX_DEPTH = 64
"""Mappings and lists nested deeper than this are refused (a target file nests about 5 levels)."""


class InputFileError(ValueError):
    """A file that cannot be read as text; the message is the reason ("no such file", "it is a directory...")."""


class YamlInputError(ValueError):
    """Text that is not usable YAML; the message starts with `line L, column C: ` when the place is known."""


def file_problem(path: Path) -> str | None:
    """Why `path` is not a readable regular file ("no such file", "it is a directory", ...), or None."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            return "it is a directory, not a file"
        if not stat.S_ISREG(info.st_mode):
            return "it is not a regular file (a device, pipe or socket)"
        with path.open("rb"):
            pass
    except FileNotFoundError:
        return "no such file"
    except NotADirectoryError:
        return "no such file (a directory on its path is a file)"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


def read_text(path: Path, *, limit: int = MAX_BYTES) -> str:
    """The text of a regular UTF-8 file of at most `limit` bytes."""
    problem = file_problem(path)
    if problem:
        raise InputFileError(problem)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputFileError(str(exc.strerror or exc)) from None
    if len(data) > limit:
        raise InputFileError(f"it is more than the {limit} bytes such a file can have")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"it is not UTF-8 text (byte {exc.start}): a binary file?") from None
    if "\x00" in text:
        raise InputFileError(f"it is not text: it holds a NUL byte (byte {data.index(0)}): a binary file?")
    return text


def parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The composed node tree (for line numbers) and the plain data of one YAML document."""
    try:
        _check_events(text)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise YamlInputError(_marked(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlInputError(f"not valid YAML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more digits than Python converts
        raise YamlInputError(f"not usable YAML: {str(exc).split(';')[0]}") from None
    return node, data


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (a 200,000-group target loads in seconds, not tens of seconds)."""
_NO_ALIASES = "YAML anchors and aliases (&name, *name) are not accepted; write each value out in full"


class _Refused(yaml.MarkedYAMLError):
    pass


def _mark(event: yaml.Event) -> yaml.Mark | None:
    """Where an event starts (libyaml's marks have the same fields as PyYAML's)."""
    return cast("yaml.Mark | None", event.start_mark)


def _check_events(text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before anything composes the document."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(problem=f"alias *{event.anchor}: {_NO_ALIASES}", problem_mark=_mark(event))
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(problem=f"anchor &{anchor}: {_NO_ALIASES}", problem_mark=_mark(event))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=_mark(event))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _marked(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    if isinstance(exc, _Refused):
        return f"{place}{exc.problem}"
    what = str(exc.problem or exc.context or "syntax error")
    if exc.context and exc.problem:
        started = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        what += f" ({exc.context}{started})"
    return f"{place}not valid YAML: {what}"
