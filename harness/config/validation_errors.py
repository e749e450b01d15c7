"""Pydantic's validation errors as `Problem`s: the field path as written in the file (union tags dropped),
its line, and a message with hints (valid keys, did-you-mean, never a secret's value).

The root model is a parameter (`root`), so this module needs no model of its own.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ValidationError

from harness.config.actions import EVENT_KINDS, SIMULATOR_ACTIONS
from harness.config.errors import Problem, _did_you_mean, _problem_at, _yaml_type

_SECRETISH = ("password", "passwd", "secret", "token", "passphrase")


def _clean_loc(raw: tuple[int | str, ...], data: Any, *, ends_with_tag: bool = False) -> list[str]:
    """Pydantic's loc without union tags: follow the input data, dropping parts that are not in it.

    The last part is kept even when absent (a missing key), unless the error is about a union tag.
    """
    out: list[str] = []
    node = data
    for index, part in enumerate(raw):
        last = index == len(raw) - 1 and not ends_with_tag
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            node = node[part]
            out.append(str(part))
        elif last:
            out.append(str(part))
            node = None
    return out


def _problems_from(
    exc: ValidationError, data: Any, lines: Mapping[tuple[str, ...], int], *, root: type[BaseModel]
) -> list[Problem]:
    """The problems in `exc`, raised validating `data` as `root`; `lines` gives each key path's line."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        raw = tuple(err["loc"])
        loc = _clean_loc(raw, data, ends_with_tag=err["type"].startswith("union_tag"))
        ctx = err.get("ctx") or {}
        if err["type"] == "config":
            for field, message in ctx.get("problems") or [(ctx.get("field", ""), err["msg"])]:
                parts = [*loc, *(p for p in str(field).split(".") if p)]
                problems.append(_problem_at(".".join(parts), message, lines))
            continue
        where, message = _describe_error(err, raw, loc, root)
        problems.append(_problem_at(where, message, lines))
    return problems


def _describe_error(err: Any, raw: tuple[int | str, ...], loc: list[str], root: type[BaseModel]) -> tuple[str, str]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    where = ".".join(loc)
    secretish = any(s in part.lower() for part in loc for s in _SECRETISH)
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        if any(s in key.lower() for s in _SECRETISH) and not key.endswith(("_env", "_file")):
            return where, (
                f"unknown key {key!r}: secrets are never written in the file; use password_env "
                "(an environment variable's name) or password_file"
            )
        valid = _valid_keys(raw[:-1], root)
        hint = _did_you_mean(key, valid)
        listing = f" (valid keys: {', '.join(valid)})" if valid else ""
        return where, f"unknown key {key!r}{hint}{listing}"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        if "kind" in str(ctx.get("discriminator")):
            return f"{where}.kind", (
                f"unknown event kind {tag!r}{_did_you_mean(tag, EVENT_KINDS)} (kinds: {', '.join(EVENT_KINDS)})"
            )
        return f"{where}.action", (
            f"unknown simulator action {tag!r}{_did_you_mean(tag, SIMULATOR_ACTIONS)} "
            f"(actions: {', '.join(SIMULATOR_ACTIONS)})"
        )
    if kind == "union_tag_not_found":
        if "kind" in str(ctx.get("discriminator")):
            return f"{where}.kind", f"missing: every action needs kind: one of {', '.join(EVENT_KINDS)}"
        return f"{where}.action", f"missing: a simulator action needs action: one of {', '.join(SIMULATOR_ACTIONS)}"
    if kind == "missing":
        return where, "required key missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return where, f"expected a mapping (key: value lines), got {_yaml_type(value)}"
    if kind == "list_type":
        example = " (an argv list, e.g. [/usr/local/bin/pdu, off, '3'])" if loc[-1:] == ["command"] else ""
        return where, f"expected a list{example}, got {_yaml_type(value)}"
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return where, f"must be {sign} {bound}{_unit(loc)}, got {_short(value)}"
    if kind == "finite_number":
        return where, f"must be a finite number{_unit(loc)}, got {_short(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return where, f"expected true or false, got {_short(value) if not secretish else _yaml_type(value)}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = _did_you_mean(str(value), expected) if isinstance(value, str) else ""
        return where, f"{err['msg']}{hint}" + ("" if secretish else f" (got {_short(value)})")
    message = err["msg"]
    if not secretish and (value is None or isinstance(value, str | int | float | bool)):
        message += f" (got {_short(value)})"
    return where, message


_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}
_SECONDS_FIELDS = ("interval", "min_gap", "timeout", "during")


def _unit(loc: list[str]) -> str:
    seconds = loc[:1] == ["time_limits"] or "transients" in loc or any(p in _SECONDS_FIELDS for p in loc[-1:])
    return " seconds" if seconds else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _valid_keys(raw: tuple[int | str, ...], root: type[BaseModel]) -> list[str]:
    """The field names of the model at a raw pydantic loc (tags included) below `root`, for unknown-key suggestions."""
    tp: Any = root
    for part in raw:
        tp = _step(tp, part)
        if tp is None:
            return []
    tp = _unwrap_optional(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _union_members(tp: Any) -> list[Any] | None:
    tp = _strip_annotated(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [_strip_annotated(m) for m in typing.get_args(tp) if m is not type(None)]
    return None


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _unwrap_optional(tp: Any) -> Any:
    members = _union_members(tp)
    while members is not None and len(members) == 1:
        tp = members[0]
        members = _union_members(tp)
    return _strip_annotated(tp)


def _literal_values(model: type[BaseModel]) -> Iterator[Any]:
    for field in model.model_fields.values():
        if typing.get_origin(field.annotation) is Literal:
            yield from typing.get_args(field.annotation)


def _matches_tag(tp: Any, tag: Any) -> bool:
    members = _union_members(tp)
    if members is not None:
        return any(_matches_tag(m, tag) for m in members)
    return isinstance(tp, type) and issubclass(tp, BaseModel) and tag in set(_literal_values(tp))


def _step(tp: Any, part: int | str) -> Any:
    tp = _unwrap_optional(tp)
    members = _union_members(tp)
    if members is not None:  # a discriminated union: `part` is the tag
        for member in members:
            if _matches_tag(member, part):
                return member
        return None
    origin = typing.get_origin(tp)
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin is list:
        return typing.get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) and part in tp.model_fields:
        return tp.model_fields[part].annotation
    return None
