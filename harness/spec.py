"""The manual's documented rows (Table 106, Table 107, SLD, rules), shipped with the package.

Values are kept as the manual prints them; `expected_ints` gives the DMTF integers
a provider returns, from the spec's own value maps. `ROW_ID` is the one pattern of a row id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

CIM_PROPERTIES = ("CopyState", "SyncState", "ProgressStatus")
VALUE_MAP_OF = {"RequestedCopyState": "CopyState"}
"""Properties that take another property's DMTF value map."""

_ROW_PREFIX = r"(?:T10[67]|SLD|RULE)"
_ROW_NUMBER = r"\d\d[a-z]?"
ROW_ID = re.compile(rf"\b({_ROW_PREFIX}-{_ROW_NUMBER})\b")
"""A documented row id (T106-03, T107-03b, SLD-01, RULE-09); group 1 is the id."""
_ROW_IDS = re.compile(rf"\b({_ROW_PREFIX})-({_ROW_NUMBER}(?:/{_ROW_NUMBER})*)\b")


def row_ids_in(text: str) -> list[str]:
    """Row ids named in prose, in order, with the manual's shorthand: 'T107-03/03b' -> T107-03, T107-03b."""
    return [f"{prefix}-{number}" for prefix, numbers in _ROW_IDS.findall(text) for number in numbers.split("/")]


@dataclass(frozen=True)
class Row:
    id: str
    table: str  # table106 | table107 | sld | rules
    array: str | None = None
    stage: str | None = None
    when: str | None = None
    role: str | None = None
    sync_status: str | None = None
    cim: dict[str, str] = field(default_factory=dict)  # property -> value name as printed
    text: str = ""  # sequence of events, rule text
    erratum: str | None = None
    note: str | None = None
    needs: str | None = None  # rules: "dr_tour" when only the DR sequence can exercise the rule

    @property
    def in_progress(self) -> bool:
        """A transient state, seen only while a command runs (Table 107 `in_progress`; Table 106 Syncing)."""
        return self.when == "in_progress" or (self.table == "table106" and self.sync_status == "Syncing")


@dataclass(frozen=True)
class Spec:
    enums: dict[str, dict[str, int]]
    rows: dict[str, Row]
    errata: dict[str, str]

    def expected_ints(self, row: Row) -> dict[str, int]:
        return {prop: self.number(prop, name) for prop, name in row.cim.items()}

    def value_map(self, prop: str) -> dict[str, int] | None:
        """Value name -> DMTF integer of `prop` (None: the spec has no value map for it)."""
        return self.enums.get(VALUE_MAP_OF.get(prop, prop))

    def number(self, prop: str, name: str) -> int:
        """The integer a provider returns for the value the manual names `name` (KeyError if unknown)."""
        values = self.value_map(prop) or {}
        if name not in values:
            raise KeyError(f"{prop} has no value {name!r} in the spec's value maps")
        return values[name]

    def value_name(self, prop: str, value: int | None) -> str:
        for name, number in (self.value_map(prop) or {}).items():
            if number == value:
                return name
        return "NULL" if value is None else f"unknown({value})"

    def table(self, name: str) -> list[Row]:
        return [row for row in self.rows.values() if row.table == name]


@cache
def load_spec() -> Spec:
    text = resources.files("harness").joinpath("spec/remote-copy-states.yaml").read_text()
    data = yaml.safe_load(text)
    rows: dict[str, Row] = {}
    for entry in data["table106"]:
        rows[entry["id"]] = Row(
            id=entry["id"], table="table106", sync_status=entry["sync_status"], cim=_cim(entry), stage="normal"
        )
    for entry in data["table107"]:
        role, sync = entry["role_sync"].split("/")
        rows[entry["id"]] = Row(
            id=entry["id"],
            table="table107",
            array=entry["array"],
            stage=entry["stage"],
            when=entry["when"],
            role=role,
            sync_status=sync,
            cim=_cim(entry),
            text=entry["sequence"],
            erratum=entry.get("erratum"),
            note=entry.get("note"),
        )
    for entry in data["sld"]:
        rows[entry["id"]] = Row(id=entry["id"], table="sld", cim=_cim(entry), text=entry.get("rule", ""))
    for entry in data["rules"]:
        rows[entry["id"]] = Row(id=entry["id"], table="rules", text=entry["text"], needs=entry.get("needs"))
    return Spec(enums=data["enums"], rows=rows, errata=data["errata"])


def _cim(entry: dict[str, Any]) -> dict[str, str]:
    return {prop: entry[prop] for prop in CIM_PROPERTIES if prop in entry}
