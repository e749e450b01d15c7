"""End to end: `smis-harness run` against the built-in simulated arrays, conformant and deviating on purpose.

Every run is a subprocess, as a user starts it. The runs are independent (each starts its own simulated
arrays on loopback ports of its own), so the module starts them all at once, a few at a time, and each
test waits for the run it looks at.

For every deviation file in fixtures/deviations/ the expected outcome is the file's own answer key
(`expect:` target, fail, not_observed; the one `smis-harness selftest` checks): a deviation run must show
exactly the listed rows it ran non-passing, with those verdicts, and every other row it ran PASS. What
this module adds is the selection of some runs (the stages a deviation's `when` must leave alone) and
the reasons each failing row must give.

The pair runs here test one group, rcg_sync_0 (the default pair with `groups: [rcg_sync_0]`), so every
run's own files (results.jsonl, observations.jsonl, junit.xml, evidence) are checked as one run writes
them; the default target's two groups (sync and periodic) are toured by `smis-harness selftest` in CI and
merged as tests/test_multigroup.py checks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

import harness
from harness.deviation_format import Expect, load_expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
DEVIATIONS = FIXTURES / "deviations"
SLD_CONFIG = FIXTURES / "mock-sld.yaml"
PAIR_CONFIG = FIXTURES / "mock-pair.yaml"
PAIR_GROUP = "rcg_sync_0"  # the group the pair runs here test
SPEC = yaml.safe_load((ROOT / "tests" / "manual" / "remote-copy-states.yaml").read_text())  # the manual's rows
TABLE106 = [r["id"] for r in SPEC["table106"]]
TABLE107 = [r["id"] for r in SPEC["table107"]]
SLD = [r["id"] for r in SPEC["sld"]]
RULES = [r["id"] for r in SPEC["rules"]]
ALL_IDS = TABLE106 + TABLE107 + SLD + RULES
PAIR_IDS = TABLE106 + TABLE107 + RULES  # what a pair can exercise
ROW_KEYS = ("id", "verdict", "array", "expected", "observed", "reason", "evidence")
NOT_SELECTED = "not run: not selected"
PARALLEL_RUNS = 3
RUN_TIMEOUT = 240


# --------------------------------------------------------------------------- the runs


# an SLD trio drives no DR sequence: the rules only that exercises are SKIPPED "not exercised" (out of scope)
SLD_NOT_EXERCISED = {"RULE-04": "skipped", "RULE-09": "skipped"}


@dataclass(frozen=True)
class Plan:
    """One `smis-harness run` and what it must show."""

    target: str = "pair"  # pair | sld; a deviation plan takes it from the file's `expect: target`
    select: tuple[str, ...] = ()  # row ids and tags; () runs every row
    deviation: str | None = None  # file name in fixtures/deviations; its `expect:` says which rows do not PASS
    # rows not PASS besides the answer key's (rows the target cannot exercise)
    also_non_pass: dict[str, str] = field(default_factory=dict)
    # row id -> fragments its reason must contain (expected and observed values, names and integers)
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.deviation:
            object.__setattr__(self, "target", self.expect.target)
            if self.target == "sld":
                object.__setattr__(self, "also_non_pass", {**SLD_NOT_EXERCISED, **self.also_non_pass})

    @property
    def expect(self) -> Expect:
        """The deviation file's answer key (a clean plan's: nothing but PASS)."""
        if not self.deviation:
            return Expect(target="sld" if self.target == "sld" else "pair")
        expect = load_expect(DEVIATIONS / self.deviation)
        assert expect is not None, f"{self.deviation}: no `expect:` answer key"
        return expect

    @property
    def args(self) -> tuple[str, ...]:
        config = SLD_CONFIG if self.target == "sld" else None  # the pair's config is written per module
        return (*(("--config", str(config)) if config else ()), *(_dev(self.deviation) if self.deviation else ()))

    @property
    def ran(self) -> list[str]:
        """The documented ids this run judges (the others are skipped)."""
        if not self.select:
            return SLD + RULES if self.target == "sld" else PAIR_IDS
        tags = {"table106": TABLE106, "table107": TABLE107, "sld": SLD, "rules": RULES}
        chosen = {i for s in self.select for i in tags.get(s, [s])}
        return [i for i in ALL_IDS if i in chosen]

    @property
    def non_pass(self) -> dict[str, str]:
        """Row id -> verdict for every row it runs that must not PASS: the answer key's rows it runs, and the rest."""
        ran = set(self.ran)
        keyed = {i: "fail" for i in self.expect.fail if i in ran}
        keyed.update({i: "not_observed" for i in self.expect.not_observed if i in ran})
        return {**keyed, **self.also_non_pass}

    @property
    def verdict(self) -> str:
        """The overall verdict results.json, junit.xml and the console state."""
        counted = {v for i, v in self.non_pass.items() if not _out_of_scope_on(self, i)}
        if "fail" in counted:
            return "not_conformant"
        return "incomplete" if counted else "conformant"

    @property
    def exit_code(self) -> int:
        return {"conformant": 0, "not_conformant": 1, "incomplete": 3}[self.verdict]


# the secondary's rows while its role is Primary-Rev (failover through a failed restore)
DROPPED_WHILE_REVERSED = ("T107-02", "T107-03", "T107-03b", "T107-05", "T107-07", "T107-08", "T107-11", "T107-13")
PAIR_CLASS = "TPD_RemoteStorageSynchronized"
DROPPED_REASON = ("secondary: instance set:", f"rcg_sync_0.v0: no {PAIR_CLASS}", "lists the pair rcg_sync_0.v0")


def _dev(name: str) -> tuple[str, ...]:
    return ("--deviations", str(DEVIATIONS / name))


PLANS: dict[str, Plan] = {
    # the conformant pair: every row PASS, every rule exercised
    "pair": Plan(),
    # the conformant SLD trio: SLD-01..03 PASS; no DR sequence runs, so RULE-04 and RULE-09 are not exercised
    # (SKIPPED "not exercised", never NOT_OBSERVED; out of scope for a trio: the run is conformant)
    "sld": Plan("sld", also_non_pass=SLD_NOT_EXERCISED,
                reasons={"RULE-04": ("not exercised",), "RULE-09": ("not exercised", "no failover")}),
    # full suite: exactly the rows the deviation touches fail, every other row PASS
    "e1-failover-splitting": Plan(
        deviation="e1-failover-splitting.yaml",
        reasons={"T107-02": ("ProgressStatus", "Failing Over (11)", "Splitting (10)")},
    ),
    "cli-role-wrong": Plan(
        deviation="cli-role-wrong.yaml",
        reasons={
            "T107-02": ("Role", "Primary-Rev", "observed Primary"),
            "T107-03": ("Role", "Primary-Rev", "observed Primary"),
            "T107-08": ("Role", "Primary-Rev", "observed Primary"),
            "RULE-01": ("FailedOver (10)", "role Primary ", "target status failed"),
            "RULE-02": ("RoleReversed True", "role Primary,", "expected False"),
        },
    ),
    # selected runs: the deviation's `when` cannot match at the stages left out
    "primary-up-still-failedover": Plan(
        # needs a reversed role, which no Table 106 stage has; T106-03 gives the rules natural observations
        select=("T106-03", "table107", "rules"),
        deviation="primary-up-still-failedover.yaml",
        reasons={
            "T107-03b": ("CopyState", "Broken (5)", "FailedOver (10)"),
            "RULE-01": ("FailedOver (10)", "Primary-Rev", "target status ready"),
        },
    ),
    "stopped-dormant-wrong": Plan(
        # Table 106, and the DR rows where volumes are Stopped with the link down (T107-01) or a reversed
        # role (T107-04): the cases the deviation must leave alone
        select=("table106", "T107-01", "T107-04", "rules"),
        deviation="stopped-dormant-wrong.yaml",
        reasons={
            "T106-06": ("primary", "secondary", "ProgressStatus", "Dormant (3)", "Completed (2)"),
            "RULE-08": ("Stopped", "ProgressStatus", "Dormant (3)", "Completed (2)"),
        },
    ),
    "failover-not-observable": Plan(
        # `transient` changes the failover only; T106-03 gives the rules settled natural observations to check
        select=("T106-03", "T107-02", "T107-03", "rules"),
        deviation="failover-not-observable.yaml",
        reasons={"T107-02": ("failover", "no comparable sample")},
    ),
    "rolereversed-missing": Plan(
        select=("T106-03", "T107-03b", "rules"),  # natural and reversed roles, and everything in between
        deviation="rolereversed-missing.yaml",
        reasons={"RULE-02": ("not implemented", "RoleReversed", "not reported", "expected False")},
    ),
    "sld-backup-not-dormant": Plan(
        deviation="sld-backup-not-dormant.yaml",
        reasons={"SLD-01": ("ProgressStatus", "Dormant (3)", "Completed (2)")},
    ),
    # provider faults at the instance level: the instance-set check fails the rows judged from such samples
    "pair-dropped-while-reversed": Plan(
        deviation="pair-dropped-while-reversed.yaml",
        reasons=dict.fromkeys(DROPPED_WHILE_REVERSED, DROPPED_REASON),
    ),
    "every-instance-twice": Plan(
        deviation="every-instance-twice.yaml",
        reasons={
            "T106-03": ("primary: instance set:", "secondary: instance set:", "reported twice"),
            "T107-07": (f"secondary: instance set: rcg_sync_0.v0: the same {PAIR_CLASS} reported twice",
                        "rcg_sync_0.v1: the same"),
        },
    ),
    "not-found-during-failover": Plan(
        select=("T106-03", "T107-02", "T107-03", "rules"),
        deviation="not-found-during-failover.yaml",
        reasons={"T107-02": ("instance set:", f"rcg_sync_0.v0: References {PAIR_CLASS} answered CIM_ERR_NOT_FOUND",
                             "rcg_sync_0.v1:", "during failover")},
    ),
    # classes the manual documents, not implemented: the rule that needs them FAILs "not implemented"
    "group-sync-missing": Plan(
        select=("T106-03", "T107-03b", "rules"),
        deviation="group-sync-missing.yaml",
        reasons={"RULE-09": ("not implemented", "TPD_RemoteGroupSynchronized", "rcg_sync_0")},
    ),
    "replication-entity-missing": Plan(
        select=("T106-03", "T107-01", "T107-03", "rules"),
        deviation="replication-entity-missing.yaml",
        reasons={"RULE-04": ("not implemented", "TPD_ReplicationEntity", "Associators")},
    ),
}
DEVIATION_PLANS = {name: plan for name, plan in PLANS.items() if plan.deviation}
# runs that take longest first, so the pool finishes early
ORDER = ["pair", "e1-failover-splitting", "cli-role-wrong", "pair-dropped-while-reversed", "every-instance-twice",
         "primary-up-still-failedover", "stopped-dormant-wrong", "rolereversed-missing", "failover-not-observable",
         "not-found-during-failover", "group-sync-missing", "replication-entity-missing", "sld",
         "sld-backup-not-dormant"]  # fmt: skip


@dataclass
class Outcome:
    name: str
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    report: Path
    seconds: float

    @cached_property
    def document(self) -> dict[str, Any]:
        path = self.report / "results.json"
        assert path.exists(), f"{self.name}: no results.json\n{self.output[-4000:]}"
        return json.loads(path.read_text())

    @property
    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["id"]: row for row in self.document["rows"]}

    @property
    def output(self) -> str:
        return f"$ {' '.join(self.command)}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    def verdicts(self, ids: list[str]) -> dict[str, str]:
        return {i: self.rows[i]["verdict"] for i in ids}

    def explain(self, ids: list[str] | None = None) -> str:
        rows = [self.rows[i] for i in (ids or list(self.rows))]
        return "\n".join(f"{r['id']}: {r['verdict']}: {r['reason']}" for r in rows)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("smis-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness.command_line"]


def _pair_config(base: Path) -> Path:
    """The default pair with one group under test (the one these plans' reasons name)."""
    document = yaml.safe_load(PAIR_CONFIG.read_text())
    document["groups"] = [PAIR_GROUP]
    path = base / "mock-pair-one-group.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _run(name: str, plan: Plan, base: Path) -> Outcome:
    report = base / name
    config = ("--config", str(base / "mock-pair-one-group.yaml")) if plan.target == "pair" else ()
    command = [*_command(), "run", *config, *plan.args, "--report-dir", str(report), *plan.select]
    started = time.monotonic()
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=base, stdin=subprocess.DEVNULL
    )
    (base / f"{name}.stdout").write_text(proc.stdout)
    (base / f"{name}.stderr").write_text(proc.stderr)
    return Outcome(name, command, proc.returncode, proc.stdout, proc.stderr, report, time.monotonic() - started)


class RunPool:
    def __init__(self, base: Path) -> None:
        _pair_config(base)
        self.executor = ThreadPoolExecutor(max_workers=PARALLEL_RUNS, thread_name_prefix="smis-run")
        self.futures: dict[str, Future[Outcome]] = {
            name: self.executor.submit(_run, name, PLANS[name], base) for name in ORDER
        }

    def __getitem__(self, name: str) -> Outcome:
        return self.futures[name].result(timeout=RUN_TIMEOUT * len(ORDER) / PARALLEL_RUNS + RUN_TIMEOUT)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert sorted(ORDER) == sorted(PLANS)
    pool = RunPool(tmp_path_factory.mktemp("e2e"))
    yield pool
    pool.close()
    finished = {name: f for name, f in pool.futures.items() if f.done() and not f.cancelled() and not f.exception()}
    durations = {name: round(f.result().seconds, 1) for name, f in finished.items()}
    print(f"\nsmis-harness run durations (s): {durations}")


# --------------------------------------------------------------------------- shared checks


def _check_document_shape(outcome: Outcome) -> None:
    """One entry per documented id, in the spec's order, each with the documented keys."""
    rows = outcome.document["rows"]
    assert [r["id"] for r in rows] == ALL_IDS
    for row in rows:
        missing = [k for k in ROW_KEYS if k not in row]
        assert not missing, f"{row['id']}: missing {missing}"
        assert row["verdict"] in ("pass", "fail", "not_observed", "skipped", "error"), row
        assert isinstance(row["reason"], str) and row["reason"].strip(), f"{row['id']}: empty reason"
        assert all(isinstance(seq, int) for seq in row["evidence"]), row
        if row["id"].startswith("RULE-"):
            # a rule cites the observations that violated it, and counts the ones it was checked on
            if row["verdict"] == "fail":
                assert row["evidence"] and row["observed"]["violations"] > 0, row
            if row["verdict"] == "pass":
                assert row["observed"]["checked"] > 0 and row["observed"]["violations"] == 0, row
        elif row["verdict"] in ("pass", "fail"):
            assert row["evidence"], f"{row['id']}: a decided row names the observations that decided it"


def _check_exact_outcome(outcome: Outcome, plan: Plan) -> None:
    """The rows the plan ran: exactly `non_pass` not PASS (with those verdicts), all others PASS;
    rows it did not run are skipped with a reason."""
    ran = plan.ran
    observed = {i: v for i, v in outcome.verdicts(ran).items() if v != "pass"}
    assert observed == plan.non_pass, f"{outcome.name}:\n{outcome.explain(ran)}\n{outcome.output[-3000:]}"
    for row_id in set(ALL_IDS) - set(ran):
        row = outcome.rows[row_id]
        assert row["verdict"] == "skipped", f"{outcome.name}: {row_id} was not to run: {row}"
        assert row["reason"], row


def _check_reasons(outcome: Outcome, plan: Plan) -> None:
    for row_id, fragments in plan.reasons.items():
        reason = outcome.rows[row_id]["reason"]
        missing = [f for f in fragments if f not in reason]
        assert not missing, f"{outcome.name} {row_id}: reason lacks {missing}: {reason!r}"


# --------------------------------------------------------------------------- the overall verdict


@pytest.mark.parametrize("name", ORDER)
def test_overall_verdict_agrees_everywhere(runs: RunPool, name: str) -> None:
    """results.json, the exit code, the console's last line and junit.xml state the same overall verdict."""
    outcome, plan = runs[name], PLANS[name]
    document = outcome.document
    assert (document["verdict"], outcome.returncode) == (plan.verdict, plan.exit_code), outcome.output[-3000:]
    assert document["exit_code"] == plan.exit_code
    assert document["headline"].startswith(plan.verdict.replace("_", " ").upper() + ":"), document["headline"]
    assert outcome.stdout.strip().splitlines()[-1] == document["headline"]
    suite = ET.parse(outcome.report / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["smis-harness.verdict"] == plan.verdict
    overall_case = next(c for c in suite.iter("testcase") if c.get("name") == "overall verdict")
    assert (overall_case.find("failure") is None) == (plan.verdict == "conformant")
    counted = [r for r in document["rows"] if r["in_scope"]]
    assert {r["id"] for r in counted} == {i for i in plan.ran if not _out_of_scope_on(plan, i)}
    assert document["overall"]["counts"] == dict(sorted(Counter(r["verdict"] for r in counted).items()))


def _out_of_scope_on(plan: Plan, row_id: str) -> bool:
    """Rules only the DR sequence exercises are out of scope on an SLD trio."""
    return plan.target == "sld" and row_id in ("RULE-04", "RULE-09")


# --------------------------------------------------------------------------- the conformant pair


def test_pair_every_row_passes_and_exit_code_is_0(runs: RunPool) -> None:
    outcome = runs["pair"]
    assert outcome.returncode == 0, outcome.output[-4000:]
    _check_document_shape(outcome)
    _check_exact_outcome(outcome, PLANS["pair"])
    assert outcome.verdicts(RULES) == dict.fromkeys(RULES, "pass"), "every rule is exercised on the pair"


def test_pair_sld_rows_are_skipped_with_a_reason(runs: RunPool) -> None:
    rows = runs["pair"].rows
    for row_id in SLD:
        assert rows[row_id]["verdict"] == "skipped"
        assert "SLD" in rows[row_id]["reason"] and "pair" in rows[row_id]["reason"], rows[row_id]


def test_pair_rows_carry_expected_and_observed_values(runs: RunPool) -> None:
    rows = runs["pair"].rows
    enums = SPEC["enums"]
    for spec_row in SPEC["table107"]:
        row = rows[spec_row["id"]]
        assert row["array"] == spec_row["array"]
        role, sync = spec_row["role_sync"].split("/")
        assert row["expected"]["role"] == role and row["expected"]["sync_status"] == sync, row
        for prop in ("CopyState", "SyncState", "ProgressStatus"):
            want = {"name": spec_row[prop], "value": enums[prop][spec_row[prop]]}
            assert row["expected"][prop] == want, (spec_row["id"], prop)
            assert row["observed"][prop] == want, (spec_row["id"], prop)
        assert row["observed"]["role"] == role and row["observed"]["sync_status"] == sync
    for spec_row in SPEC["table106"]:
        row = rows[spec_row["id"]]
        assert sorted(row["array"]) == ["primary", "secondary"]
        for array in ("primary", "secondary"):
            assert row["observed"][array]["sync_status"] == spec_row["sync_status"], (spec_row["id"], array)
            for prop in ("CopyState", "SyncState", "ProgressStatus"):
                value = enums[prop][spec_row[prop]]
                assert row["observed"][array][prop]["value"] == value, (spec_row["id"], array, prop)


def test_pair_evidence_points_at_recorded_observations(runs: RunPool) -> None:
    outcome = runs["pair"]
    observations = [json.loads(line) for line in (outcome.report / "observations.jsonl").read_text().splitlines()]
    by_seq = {o["seq"]: o for o in observations if "seq" in o}
    assert len(by_seq) >= 50
    for row_id in TABLE106 + TABLE107:
        row = outcome.rows[row_id]
        arrays = row["array"] if isinstance(row["array"], list) else [row["array"]]
        for seq in row["evidence"]:
            assert seq in by_seq, f"{row_id}: evidence seq {seq} is not in observations.jsonl"
            assert by_seq[seq]["array"] in arrays, f"{row_id}: seq {seq} is an observation of another array"


def test_pair_manifest(runs: RunPool) -> None:
    import pywbem

    manifest = runs["pair"].document["manifest"]
    assert manifest["harness_version"] == harness.__version__
    assert manifest["pywbem_version"] == pywbem.__version__
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["config_hash"]), manifest["config_hash"]
    assert manifest["topology"] == "pair"
    assert set(manifest["arrays"]) == {"primary", "secondary"}
    for key, array in manifest["arrays"].items():
        assert array["system_name"], key
        assert re.fullmatch(r"\d{7}", str(array["serial"])), (key, array["serial"])
        assert "3.1.1" in array["os_version"], (key, array["os_version"])
        assert "3PAR" in array["provider"], (key, array["provider"])
        assert "Replication Services" in array["profiles"], (key, array["profiles"])
    names = {a["system_name"] for a in manifest["arrays"].values()}
    serials = {a["serial"] for a in manifest["arrays"].values()}
    assert len(names) == 2 and len(serials) == 2, "each array reports its own identity"


def test_pair_junit_xml(runs: RunPool) -> None:
    outcome = runs["pair"]
    suite = ET.parse(outcome.report / "junit.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", -1)) == len(ALL_IDS) + 1, "a row each, and the overall verdict"
    assert int(suite.get("failures", -1)) == 0 and int(suite.get("errors", -1)) == 0
    assert int(suite.get("skipped", -1)) == len(SLD)
    assert "StepDefinitionNotFoundError" not in (outcome.report / "junit.xml").read_text()


def test_pair_results_jsonl_matches_results_json(runs: RunPool) -> None:
    outcome = runs["pair"]
    lines = [json.loads(line) for line in (outcome.report / "results.jsonl").read_text().splitlines()]
    last = {row["id"]: row for row in lines}
    assert set(last) == set(ALL_IDS), "every row the run decided is in results.jsonl (SLD rows: skipped)"
    for row_id, row in last.items():
        final = outcome.rows[row_id]
        assert {k: row[k] for k in ROW_KEYS} == {k: final[k] for k in ROW_KEYS}, row_id


def test_pair_final_state_is_natural(runs: RunPool) -> None:
    final = runs["pair"].document["final_state"]
    assert final["natural"] is True and not final["problems"], final


# --------------------------------------------------------------------------- the conformant SLD trio


def test_sld_trio_rows_pass(runs: RunPool) -> None:
    outcome = runs["sld"]
    assert outcome.returncode == 0, outcome.output[-4000:]
    _check_document_shape(outcome)
    _check_exact_outcome(outcome, PLANS["sld"])
    assert outcome.verdicts(SLD) == dict.fromkeys(SLD, "pass")
    for row_id in TABLE106 + TABLE107:
        row = outcome.rows[row_id]
        assert row["verdict"] == "skipped" and "pair" in row["reason"], row
    assert set(outcome.document["manifest"]["arrays"]) == {"primary", "sync_secondary", "periodic_secondary"}


# --------------------------------------------------------------------------- deviations


def test_every_deviation_file_is_exercised_here() -> None:
    """Every file without an answer key of its own (`expect:`: the self-test runs those) has a plan here, and
    every plan names a file that exists."""
    from harness.deviation_format import load_expect

    planned = {str(plan.deviation) for plan in DEVIATION_PLANS.values()}
    unplanned = sorted(p.name for p in DEVIATIONS.glob("*.yaml") if load_expect(p) is None and p.name not in planned)
    assert unplanned == []
    assert all((DEVIATIONS / name).is_file() for name in planned), planned


@pytest.mark.parametrize("name", sorted(DEVIATION_PLANS))
def test_deviation_file_states_its_answer_key(name: str) -> None:
    """The file says what it must do (`expect:`), and that is what this module asserts: every row it lists
    is one its target runs, and the rows a selected run leaves out are rows the file's prose says the
    deviation cannot touch there (the selection is this module's, the key the file's)."""
    from harness.mock.deviations import Deviations

    plan = DEVIATION_PLANS[name]
    path = DEVIATIONS / str(plan.deviation)
    assert Deviations.load(path).rules, "the file loads and has rules"
    expect = plan.expect
    assert expect.fail or expect.not_observed, f"{name}: the answer key lists nothing to catch"
    runnable = set(SLD + RULES if expect.target == "sld" else PAIR_IDS)
    listed = set(expect.fail) | set(expect.not_observed)
    assert listed <= runnable, f"{name}: rows its target cannot run: {sorted(listed - runnable)}"
    assert not set(expect.fail) & set(expect.not_observed)
    assert listed - set(plan.ran) == set(), f"{name}: the selection leaves out listed rows"
    assert not [line for line in path.read_text().splitlines() if re.match(r"#\s*(FAIL|NOT_OBSERVED):", line)], (
        "the answer key is `expect:`, not a comment"
    )


@pytest.mark.parametrize("name", sorted(DEVIATION_PLANS))
def test_deviation_run(runs: RunPool, name: str) -> None:
    plan = PLANS[name]
    outcome = runs[name]
    _check_document_shape(outcome)
    _check_exact_outcome(outcome, plan)
    _check_reasons(outcome, plan)
    assert outcome.returncode == plan.exit_code, outcome.output[-4000:]
    final = outcome.document["final_state"]
    assert final["natural"] is True, f"{name}: teardown must bring the group back: {final}"


def test_e1_row_names_expected_and_observed_integers(runs: RunPool) -> None:
    row = runs["e1-failover-splitting"].rows["T107-02"]
    assert row["array"] == "secondary"
    assert row["expected"]["ProgressStatus"] == {"name": "Failing Over", "value": 11}
    assert row["observed"]["ProgressStatus"] == {"name": "Splitting", "value": 10}
    assert row["observed"]["CopyState"] == {"name": "FailedOver", "value": 10}, "only ProgressStatus deviates"
    assert row["erratum"] == "E1"
    junit = (runs["e1-failover-splitting"].report / "junit.xml").read_text()
    assert "Splitting (10)" in junit, "the JUnit failure message carries the same reason"


def test_cli_role_rows_name_the_role(runs: RunPool) -> None:
    rows = runs["cli-role-wrong"].rows
    for row_id in ("T107-02", "T107-03", "T107-08"):
        assert rows[row_id]["expected"]["role"] == "Primary-Rev"
        assert rows[row_id]["observed"]["role"] == "Primary", rows[row_id]
    for row_id in ("RULE-01", "RULE-02"):
        observed = rows[row_id]["observed"]
        assert observed["violations"] > 0 and observed["examples"], observed
        assert all(v["array"] == "secondary" for v in observed["examples"]), "only the secondary deviates"


def test_primary_up_row_and_rule_name_values(runs: RunPool) -> None:
    rows = runs["primary-up-still-failedover"].rows
    assert rows["T107-03b"]["expected"]["CopyState"] == {"name": "Broken", "value": 5}
    assert rows["T107-03b"]["observed"]["CopyState"] == {"name": "FailedOver", "value": 10}
    assert rows["T107-03"]["verdict"] == "pass", "failover done with the link still down is not touched"
    examples = rows["RULE-01"]["observed"]["examples"]
    assert examples and all(v["array"] == "secondary" for v in examples)


def test_stopped_dormant_fails_on_both_arrays(runs: RunPool) -> None:
    row = runs["stopped-dormant-wrong"].rows["T106-06"]
    for array in ("primary", "secondary"):
        assert row["observed"][array]["ProgressStatus"] == {"name": "Completed", "value": 2}, row["observed"]
    assert row["expected"]["ProgressStatus"] == {"name": "Dormant", "value": 3}


def test_failover_not_observable_keeps_the_expectation(runs: RunPool) -> None:
    outcome = runs["failover-not-observable"]
    row = outcome.rows["T107-02"]
    assert row["expected"]["ProgressStatus"] == {"name": "Failing Over", "value": 11}
    assert outcome.rows["T107-03"]["verdict"] == "pass"
    junit = ET.parse(outcome.report / "junit.xml").getroot()
    suite = junit if junit.tag == "testsuite" else junit.find("testsuite")
    assert suite is not None
    rows_failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in rows_failed] == ["overall verdict"], "NOT_OBSERVED is not a row failure"
    assert rows_failed[0].find("failure").get("message", "").startswith("INCOMPLETE: 1 row not observed")
