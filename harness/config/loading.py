"""Reading a target file: `load_config`, the packaged `builtin_config`, YAML with the line of every key."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from harness.config.errors import ConfigError, Problem, _by_line, _problem_at, _yaml_type
from harness.config.target import TargetConfig
from harness.config.topology import ARRAY_KEYS, _array_key_problems
from harness.config.validation_errors import _problems_from
from harness.input_files import InputFileError, YamlInputError, parse_yaml, read_text


def load_config(path: str | Path) -> TargetConfig:
    """Read, validate and check a target file (environment variables and password files must be usable)."""
    if not str(path).strip():
        raise ConfigError(repr(str(path)), "empty file name: give the path of a target file")
    path = Path(path).expanduser()
    source = str(path)
    try:
        text = read_text(path)
    except InputFileError as exc:
        if not path.exists() and not path.is_symlink():
            raise ConfigError(
                source,
                "no such configuration file (fixtures/lab-example.yaml is a template for real arrays; "
                "without --config the built-in simulated pair is used)",
            ) from None
        raise ConfigError(source, f"cannot read the configuration file: {exc}") from None
    return _parse(text, source, base_dir=path.absolute().parent)


def builtin_config(kind: Literal["pair", "sld"] = "pair") -> TargetConfig:
    """The packaged target for the built-in simulated arrays (harness/targets/mock-<kind>.yaml)."""
    if kind not in ARRAY_KEYS:
        raise ConfigError(f"built-in target {kind!r}", f"unknown; choose one of {', '.join(ARRAY_KEYS)}")
    resource = importlib.resources.files("harness") / "targets" / f"mock-{kind}.yaml"
    with importlib.resources.as_file(resource) as file:
        return load_config(file)


def _parse(text: str, source: str, base_dir: Path | None) -> TargetConfig:
    try:
        node, data = parse_yaml(text)
    except YamlInputError as exc:
        raise ConfigError(source, str(exc)) from None
    if data is None:
        raise ConfigError(source, "the file is empty; expected a mapping with topology, groups, arrays or simulated")
    if not isinstance(data, dict):
        raise ConfigError(
            source, f"expected a mapping (topology: ..., groups: ...) at the top level, got {_yaml_type(data)}"
        )
    lines, duplicates = _line_index(node)
    early = [Problem(w, m, lines.get(tuple(w.split(".")))) for w, m in duplicates]
    if isinstance(data.get("arrays"), dict) and isinstance(data.get("topology"), str):
        early += [_problem_at(w, m, lines) for w, m in _array_key_problems(data["topology"], map(str, data["arrays"]))]
    try:
        config = TargetConfig.model_validate(data, context={"check_secrets": True, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(source, _by_line(early + _problems_from(exc, data, lines, root=TargetConfig))) from None
    if early:
        raise ConfigError(source, _by_line(early))
    config._source = source
    for array in (config.arrays or {}).values():
        array._source = source
    return config


def _line_index(node: yaml.Node | None) -> tuple[dict[tuple[str, ...], int], list[tuple[str, str]]]:
    """1-based line of every key / item by its path; duplicate keys found on the way."""
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[tuple[str, str]] = []

    def walk(n: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in n.value:
                key = str(key_node.value)
                here = (*path, key)
                if key in seen:
                    duplicates.append((".".join(here), f"duplicate key {key!r} (line {key_node.start_mark.line + 1})"))
                seen.add(key)
                lines.setdefault(here, key_node.start_mark.line + 1)
                walk(value_node, here)
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                here = (*path, str(index))
                lines.setdefault(here, item.start_mark.line + 1)
                walk(item, here)

    if node is not None:
        walk(node, ())
    return lines, duplicates
