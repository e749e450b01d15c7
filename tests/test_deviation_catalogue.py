"""The catalogue of deliberately non-conformant providers (fixtures/deviations/): every file loads, every
file added since answer keys exist states one, and the keys name rows the target's run can decide.

Running each profile against its answer key is the self-test's job (`smis-harness selftest`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.deviation_format import Expect, load_deviations, load_expect
from harness.spec import load_spec

CATALOGUE = Path(__file__).resolve().parents[1] / "fixtures" / "deviations"
FILES = sorted(CATALOGUE.glob("*.yaml"))
LEGACY = {  # written before `expect:` existed; their comment headers are being converted into one
    "cli-role-wrong.yaml",
    "e1-failover-splitting.yaml",
    "every-instance-twice.yaml",
    "failover-not-observable.yaml",
    "group-sync-missing.yaml",
    "not-found-during-failover.yaml",
    "pair-dropped-while-reversed.yaml",
    "primary-up-still-failedover.yaml",
    "replication-entity-missing.yaml",
    "rolereversed-missing.yaml",
    "sld-backup-not-dormant.yaml",
    "stopped-dormant-wrong.yaml",
}
IN_SCOPE = {"pair": {"table106", "table107", "rules"}, "sld": {"sld", "rules"}}


def test_the_catalogue_has_at_least_20_profiles() -> None:
    assert len(FILES) >= 20, [f.name for f in FILES]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_profile_loads_and_states_its_answer_key(path: Path) -> None:
    assert load_deviations(path).rules, "a profile deviates somehow"
    expect = load_expect(path)
    if path.name not in LEGACY:
        assert expect is not None, f"{path.name}: no expect: (the self-test's answer key)"
    if expect is not None:
        _check_key(expect)
    assert path.read_text().startswith("#"), "a comment header says what the provider does wrong and why"


def _check_key(expect: Expect) -> None:
    rows = load_spec().rows
    listed = expect.fail + expect.not_observed + expect.skipped
    assert len(set(listed)) == len(listed), "a row is listed twice (or with two verdicts)"
    for row_id in listed:
        row = rows[row_id]
        assert row.table in IN_SCOPE[expect.target], f"{row_id} is not in scope on the {expect.target} target"
        assert not (expect.target == "sld" and row.needs == "dr_tour"), f"{row_id} needs a DR tour (a pair)"
