"""The packaged feature files, the one source of the rows' expected values, still match the manual's
tables as first recorded (tests/manual/remote-copy-states.yaml: values, stages, arrays), and every step binds.

The record is read here with PyYAML directly, never by the product: it is a check, not a second source.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd.parser import Feature, FeatureParser, ScenarioTemplate

from harness.spec import ROW_ID, load_spec, row_ids_in

FEATURES = Path(str(resources.files("harness") / "features"))
MANUAL = Path(__file__).with_name("manual") / "remote-copy-states.yaml"
SPEC_FILE = Path(str(resources.files("harness") / "spec" / "remote-copy-states.yaml"))
FEATURE_OF_TABLE = {
    "table106": "table106.feature",
    "table107": "table107.feature",
    "sld": "sld.feature",
    "rules": "rules.feature",
}
EXPECTED_SCENARIO_COUNT = 35  # 6 (Table 106) + 17 (Table 107) + 3 (SLD) + 9 (rules)


# --------------------------------------------------------------------------- helpers


def _spec() -> dict[str, Any]:
    """The manual's tables as recorded (Table 106, Table 107, SLD, rules, errata, value maps)."""
    return yaml.safe_load(MANUAL.read_text())


def _feature(name: str) -> Feature:
    return FeatureParser(str(FEATURES), name).parse()


def _examples(name: str) -> dict[str, dict[str, str]]:
    """Row id -> the Examples row of the feature's (single) scenario outline, as pytest-bdd reads it."""
    outlines = [s for s in _feature(name).scenarios.values() if s.examples]
    assert len(outlines) == 1, f"{name}: expected one Scenario Outline, found {len(outlines)}"
    rows = [dict(ctx) for examples in outlines[0].examples for ctx in examples.as_contexts()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"{name}: duplicated ids {[i for i, n in Counter(ids).items() if n > 1]}"
    return {r["id"]: r for r in rows}


def _ids_in_feature(name: str) -> list[str]:
    """Every row id a feature file defines (Examples rows and scenario names), in file order."""
    feature = _feature(name)
    ids: list[str] = []
    for scenario in feature.scenarios.values():
        if scenario.examples:
            ids += [ctx["id"] for examples in scenario.examples for ctx in examples.as_contexts()]
        else:
            found = ROW_ID.match(scenario.name)
            assert found, f"{name}: scenario {scenario.name!r} does not start with a row id"
            ids.append(found.group(1))
    return ids


def _rows_touched_by_errata(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Erratum -> the table rows it touches: rows carrying `erratum:` in the spec, and table rows its text names
    (a rule its text cites as an argument, e.g. E2's "By RULE-01", is not a row the erratum corrects)."""
    touched = {
        name: {rid for rid in row_ids_in(text) if not rid.startswith("RULE-")} for name, text in spec["errata"].items()
    }
    for table in ("table106", "table107", "sld"):
        for row in spec[table]:
            if row.get("erratum"):
                touched[row["erratum"]].add(row["id"])
    return touched


def _comments_at_rows(name: str) -> tuple[dict[str, list[str]], list[str]]:
    """(row id -> the comment lines directly above its Examples row or its Scenario line, every comment line)."""
    lines = (FEATURES / name).read_text().splitlines()
    at_row: dict[str, list[str]] = {}
    every: list[str] = []
    block: list[str] = []
    for raw in lines:
        line = raw.strip()
        if line.startswith("#"):
            block.append(line)
            every.append(line)
            continue
        row_id = None
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            row_id = cells[0] if ROW_ID.fullmatch(cells[0]) else None
        elif line.startswith("Scenario:"):
            found = ROW_ID.search(line)
            row_id = found.group(1) if found else None
        if row_id is not None:
            at_row[row_id] = list(block)
        if line:
            block = []
    return at_row, every


# --------------------------------------------------------------------------- the rows


def test_every_documented_row_is_in_exactly_one_feature_file_and_nothing_else() -> None:
    spec = _spec()
    for table, feature_name in FEATURE_OF_TABLE.items():
        documented = [row["id"] for row in spec[table]]
        in_feature = _ids_in_feature(feature_name)
        assert sorted(in_feature) == sorted(documented), f"{feature_name} vs spec {table}"
        assert len(in_feature) == len(set(in_feature)), f"{feature_name} defines an id twice: {in_feature}"
    assert sum(len(spec[t]) for t in FEATURE_OF_TABLE) == EXPECTED_SCENARIO_COUNT


@pytest.mark.parametrize("table", list(FEATURE_OF_TABLE))
def test_each_feature_is_tagged_with_its_table(table: str) -> None:
    """Selection by tag (`smis-harness run table106`) relies on the feature tag being the spec table's name."""
    assert _feature(FEATURE_OF_TABLE[table]).tags == {table}


def test_table106_examples_equal_the_spec() -> None:
    examples = _examples("table106.feature")
    for row in _spec()["table106"]:
        ex = examples[row["id"]]
        assert ex["SyncStatus"] == row["sync_status"], row["id"]
        for prop in ("CopyState", "SyncState", "ProgressStatus"):
            assert ex[prop] == row[prop], f"{row['id']} {prop}: feature {ex[prop]!r}, spec {row[prop]!r}"


def test_table107_examples_equal_the_spec() -> None:
    examples = _examples("table107.feature")
    for row in _spec()["table107"]:
        ex = examples[row["id"]]
        rid = row["id"]
        assert ex["array"] == row["array"], rid
        assert ex["Role/SyncStatus"] == row["role_sync"], rid
        for prop in ("CopyState", "SyncState", "ProgressStatus"):
            assert ex[prop] == row[prop], f"{rid} {prop}: feature {ex[prop]!r}, spec {row[prop]!r}"
        assert ex["stage"] == row["stage"], rid
        assert ex["when"] == row["when"], rid
        # the event text is the manual's; the spec may add a parenthesised remark (E2, E4)
        assert ex["sequence of events"].split(" (")[0] == row["sequence"].split(" (")[0], rid


def test_table107_values_are_names_of_the_dmtf_value_maps() -> None:
    enums = _spec()["enums"]
    for rid, ex in _examples("table107.feature").items():
        for prop in ("CopyState", "SyncState", "ProgressStatus"):
            assert ex[prop] in enums[prop], f"{rid}: {prop} {ex[prop]!r} is not in the DMTF value map"


def test_sld_scenarios_equal_the_spec() -> None:
    spec_rows = {row["id"]: row for row in _spec()["sld"]}
    examples = _examples("sld.feature")
    values = re.search(r'CopyState "([^"]+)", SyncState "([^"]+)", ProgressStatus "([^"]+)"',
                       examples["SLD-01"]["expectation"])  # fmt: skip
    assert values, examples["SLD-01"]
    row = spec_rows["SLD-01"]
    assert values.groups() == (row["CopyState"], row["SyncState"], row["ProgressStatus"])
    sld02 = examples["SLD-02"]["expectation"]
    assert "SystemElement on the sync_secondary" in sld02 and "SyncedElement on the periodic_secondary" in sld02
    sld03 = examples["SLD-03"]["expectation"]
    assert 'Role "Secondary"' in sld03 and 'Status "Backup"' in sld03


def test_the_product_reads_its_rows_from_the_features_as_the_manual_records_them() -> None:
    """harness.spec (what every verdict uses) against the manual's record: same rows, values, stages, arrays,
    errata; and the packaged YAML holds no rows of its own (one source)."""
    from harness.spec import load_spec

    manual, rows = _spec(), load_spec().rows
    packaged = yaml.safe_load(SPEC_FILE.read_text())
    assert not {"table106", "table107", "sld"} & set(packaged), "the packaged YAML must not hold rows"
    for entry in manual["table106"]:
        row = rows[entry["id"]]
        assert (row.table, row.sync_status, row.cim) == ("table106", entry["sync_status"], _cim_of(entry))
    for entry in manual["table107"]:
        row = rows[entry["id"]]
        assert (row.array, row.stage, row.when, f"{row.role}/{row.sync_status}") == (
            entry["array"], entry["stage"], entry["when"], entry["role_sync"]), entry["id"]  # fmt: skip
        assert row.cim == _cim_of(entry) and row.erratum == entry.get("erratum"), entry["id"]
    assert rows["SLD-01"].cim == _cim_of(next(e for e in manual["sld"] if e["id"] == "SLD-01"))
    assert [r for r in rows if r.startswith("RULE-")] == [e["id"] for e in manual["rules"]]
    assert len(rows) == EXPECTED_SCENARIO_COUNT


def _cim_of(entry: dict[str, Any]) -> dict[str, str]:
    return {p: entry[p] for p in ("CopyState", "SyncState", "ProgressStatus") if p in entry}


def test_rules_feature_lists_each_rule_once() -> None:
    examples = _examples("rules.feature")
    assert sorted(examples) == sorted(row["id"] for row in _spec()["rules"])
    for rid, ex in examples.items():
        assert ex["rule"].strip(), f"{rid} has no rule text"


# --------------------------------------------------------------------------- errata


def _erratum_cases() -> list[Any]:
    spec = _spec()
    table_of = {row["id"]: table for table in FEATURE_OF_TABLE for row in spec[table]}
    cases = []
    for erratum, rows in sorted(_rows_touched_by_errata(spec).items()):
        for rid in sorted(rows):
            cases.append(pytest.param(erratum, rid, FEATURE_OF_TABLE[table_of[rid]], id=f"{erratum}-{rid}"))
    return cases


def test_every_erratum_touches_some_row() -> None:
    touched = _rows_touched_by_errata(_spec())
    assert set(touched) == {"E1", "E2", "E3", "E4", "E5"}
    assert touched["E1"] == {"T107-02"}
    assert touched["E2"] == {"T107-03", "T107-03b"}
    assert touched["E3"] == {"T107-05", "T107-06"}
    assert touched["E4"] == {"T107-14"}
    assert touched["E5"] == {"T106-06", "SLD-01"}


@pytest.mark.parametrize(("erratum", "row_id", "feature_name"), _erratum_cases())
def test_erratum_is_mentioned_in_a_comment_at_the_row(erratum: str, row_id: str, feature_name: str) -> None:
    """A comment directly above the row names the erratum, or a comment in the same file names both."""
    at_row, every = _comments_at_rows(feature_name)
    assert row_id in at_row, f"{feature_name}: row {row_id} not found"
    mention = re.compile(rf"#\s*{erratum}\b|\b{erratum}:")
    directly_above = any(mention.search(c) for c in at_row[row_id])
    naming_the_row = any(mention.search(c) and row_id in row_ids_in(c) for c in every)
    assert directly_above or naming_the_row, (
        f"{feature_name}: no comment mentions {erratum} at {row_id} (comments above it: {at_row[row_id]})"
    )


def test_comments_name_only_errata_of_their_row() -> None:
    """An erratum comment directly above a row belongs to that row (no erratum comment drifted to a neighbour)."""
    touched = _rows_touched_by_errata(_spec())
    for feature_name in FEATURE_OF_TABLE.values():
        at_row, _ = _comments_at_rows(feature_name)
        for rid, comments in at_row.items():
            for comment in comments:
                for erratum in re.findall(r"\b(E\d)\b", comment):
                    assert rid in touched[erratum], f"{feature_name}: comment {comment!r} sits above {rid}"


# --------------------------------------------------------------------------- steps bind


def _step_definitions() -> list[Any]:
    """The StepFunctionContext (type, parser) of every step definition the suite module sees."""
    from pytest_bdd.steps import step_function_context_registry

    import harness.steps.conformance as steps

    contexts = []
    for name, value in vars(steps).items():
        if not name.startswith("pytestbdd_stepdef_"):
            continue
        func = value._get_wrapped_function() if hasattr(value, "_get_wrapped_function") else value
        context = step_function_context_registry.get(func)
        assert context is not None, f"{name}: not a pytest-bdd step definition"
        contexts.append(context)
    return contexts


def _rendered_scenarios() -> list[tuple[str, str, Any]]:
    out = []
    for feature_name in FEATURE_OF_TABLE.values():
        for template in _feature(feature_name).scenarios.values():
            assert isinstance(template, ScenarioTemplate)
            contexts = [dict(c) for ex in template.examples for c in ex.as_contexts()] or [{}]
            for ctx in contexts:
                out.append((feature_name, ctx.get("id") or template.name, template.render(ctx)))
    return out


def test_every_rendered_step_binds_to_exactly_one_definition() -> None:
    definitions = _step_definitions()
    assert len(definitions) >= 12
    scenarios = _rendered_scenarios()
    assert len(scenarios) == EXPECTED_SCENARIO_COUNT
    unbound, ambiguous = [], []
    for feature_name, label, scenario in scenarios:
        assert scenario.steps, f"{feature_name} {label}: no steps"
        for step in scenario.steps:
            matching = [d for d in definitions if d.type == step.type and d.parser.is_matching(step.name)]
            if not matching:
                unbound.append(f"{feature_name} {label}: {step.type} {step.name!r}")
            elif len(matching) > 1:
                ambiguous.append(f"{feature_name} {label}: {step.name!r}")
    assert not unbound, "steps without a definition:\n" + "\n".join(unbound)
    assert not ambiguous, "steps with several definitions:\n" + "\n".join(ambiguous)


def test_step_arguments_carry_the_example_values() -> None:
    """The Table 107 value step parses back to the row's own values (no column shifted into another)."""
    definitions = _step_definitions()
    spec_rows = {row["id"]: row for row in _spec()["table107"]}
    for _, rid, scenario in _rendered_scenarios():
        if rid not in spec_rows:
            continue
        row = spec_rows[rid]
        values = next(s for s in scenario.steps if "reports CopyState" in s.name)
        definition = next(d for d in definitions if d.type == "then" and d.parser.is_matching(values.name))
        args = definition.parser.parse_arguments(values.name)
        assert args == {
            "array": row["array"],
            "copy_state": row["CopyState"],
            "sync_state": row["SyncState"],
            "progress": row["ProgressStatus"],
        }, rid
        role_step = next(s for s in scenario.steps if "shows Role/SyncStatus" in s.name)
        definition = next(d for d in definitions if d.type == "then" and d.parser.is_matching(role_step.name))
        args = definition.parser.parse_arguments(role_step.name)
        assert f"{args['role']}/{args['sync_status']}" == row["role_sync"], rid


def test_pytest_collects_35_scenarios_of_the_suite(tmp_path: Path) -> None:
    """What a pytest user gets: `pytest -p harness.plugin --pyargs harness.suite --collect-only`."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "harness.plugin", "--pyargs", "harness.suite", "--collect-only",
         "-q", "-p", "no:cacheprovider", "--harness-report-dir", str(tmp_path / "report")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    items = [line for line in proc.stdout.splitlines() if "::" in line]
    assert len(items) == EXPECTED_SCENARIO_COUNT, out
    assert "StepDefinitionNotFoundError" not in out and "error" not in out.lower().replace("errors=0", ""), out
    spec = _spec()
    every_id = {row["id"] for table in FEATURE_OF_TABLE for row in spec[table]}
    named = {m for line in items for m in ROW_ID.findall(line)}
    # outline items carry the id in their parameters, SLD scenarios in the function name (sld01...)
    sld = {f"SLD-{n}" for line in items for n in re.findall(r"test_sld(\d\d)_", line)}
    assert named | sld == every_id


def test_one_row_id_pattern_knows_every_documented_id_and_the_shorthand() -> None:
    assert all(ROW_ID.fullmatch(row_id) for row_id in load_spec().rows)
    assert row_ids_in("T107-03/03b; T107-05/06 and By RULE-01.") == ["T107-03", "T107-03b", "T107-05", "T107-06",
                                                                    "RULE-01"]  # fmt: skip
    assert ROW_ID.search("see T107-03b.").group(1) == "T107-03b"  # type: ignore[union-attr]
