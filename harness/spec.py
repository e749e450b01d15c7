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
    """The Examples rows of a feature's scenario outline, in file order (pytest-bdd's own parser)."""
    from pytest_bdd.parser import FeatureParser

    feature = FeatureParser(str(resources.files("harness") / "features"), f"{table}.feature").parse()
    return [dict(ctx) for s in feature.scenarios.values() for ex in s.examples for ctx in ex.as_contexts()]


def _cim(entry: dict[str, Any]) -> dict[str, str]:
    return {prop: entry[prop] for prop in CIM_PROPERTIES if prop in entry}
