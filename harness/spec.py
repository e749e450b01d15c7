"""The manual's documented rows (Table 106, Table 107, SLD, rules), shipped with the package.

Values are kept as the manual prints them; `expected_ints` gives the DMTF integers
a provider returns, from the spec's own value maps. `ROW_ID` is the one pattern of a row id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml

ROW_ID = re.compile(r"\b(T10[67]-\d\d[a-z]?|SLD-\d\d|RULE-\d\d)\b")
"""A documented row's id, wherever it is written (feature titles, errata, reasons)."""
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
    """The rows from the feature files (the one source of their expected values), with what the YAML keeps
    beside them: value maps, errata and the rows they concern, notes, rule and SLD check texts."""
    data = yaml.safe_load(resources.files("harness").joinpath("spec/remote-copy-states.yaml").read_text())
    examples = {name: _examples(name) for name in ("table106", "table107", "sld")}
    errata_of = {row_id: erratum for erratum, ids in data["errata_rows"].items() for row_id in ids}
    rows: dict[str, Row] = {}
    for ex in examples["table106"]:
        rows[ex["id"]] = Row(id=ex["id"], table="table106", sync_status=ex["SyncStatus"], cim=_cim(ex), stage="normal",
                             erratum=errata_of.get(ex["id"]))  # fmt: skip
    for ex in examples["table107"]:
        role, sync = ex["Role/SyncStatus"].split("/")
        rows[ex["id"]] = Row(id=ex["id"], table="table107", array=ex["array"], stage=ex["stage"], when=ex["when"],
                             role=role, sync_status=sync, cim=_cim(ex), text=ex["sequence of events"],
                             erratum=errata_of.get(ex["id"]), note=data["row_notes"].get(ex["id"]))  # fmt: skip
    for ex in examples["sld"]:
        values = _SLD_VALUES.search(ex["expectation"])
        cim = dict(zip(CIM_PROPERTIES, values.groups(), strict=True)) if values else {}
        rows[ex["id"]] = Row(id=ex["id"], table="sld", cim=cim, text=data["sld_checks"].get(ex["id"], ex["title"]),
                             erratum=errata_of.get(ex["id"]))  # fmt: skip
    for entry in data["rules"]:
        rows[entry["id"]] = Row(id=entry["id"], table="rules", text=entry["text"], needs=entry.get("needs"))
    return Spec(enums=data["enums"], rows=rows, errata=data["errata"])


_SLD_VALUES = re.compile(r'CopyState "([^"]+)", SyncState "([^"]+)", ProgressStatus "([^"]+)"')


def _examples(table: str) -> list[dict[str, str]]:
    """The Examples rows of a feature's scenario outlines, in file order (the Gherkin parser pytest-bdd uses)."""
    from gherkin.parser import Parser
    from gherkin.token_scanner import TokenScanner

    text = resources.files("harness").joinpath(f"features/{table}.feature").read_text()
    rows = []
    document = cast("dict[str, Any]", Parser().parse(TokenScanner(text)))
    for child in document["feature"]["children"]:
        for examples in child.get("scenario", {}).get("examples", []):
            header = [cell["value"] for cell in examples["tableHeader"]["cells"]]
            rows += [dict(zip(header, (c["value"] for c in r["cells"]), strict=True)) for r in examples["tableBody"]]
    return rows


def _cim(entry: dict[str, Any]) -> dict[str, str]:
    return {prop: entry[prop] for prop in CIM_PROPERTIES if prop in entry}
