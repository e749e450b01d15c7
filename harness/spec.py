"""The manual's documented rows (Table 106, Table 107, SLD, rules), shipped with the package.

Values are kept as the manual prints them; `expected_ints` gives the DMTF integers
a provider returns, from the spec's own value maps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

ROW_ID = re.compile(r"\b(T10[67]-\d\d[a-z]?|SLD-\d\d|RULE-\d\d)\b")
"""A documented row's id, wherever it is written (feature titles, errata, reasons)."""
CIM_PROPERTIES = ("CopyState", "SyncState", "ProgressStatus")


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
        return {prop: self.enums[prop][name] for prop, name in row.cim.items()}

    def value_name(self, prop: str, value: int | None) -> str:
        for name, number in self.enums.get(prop, {}).items():
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
