"""The HTML compliance report (index.html), the combined matrix and the certification bundle.

One full run of the suite against the simulated pair (a subprocess, as a user runs it) feeds
most tests; variants of it (a failed row, an interrupted run) are made by editing copies of
its files. The secrets test drives a small run in-process to know the simulated passwords.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.command_line import main
from harness.config import builtin_config
from harness.report import render_after_run
from harness.report.bundle import SUMS, make_bundle, verify_bundle
from harness.report.model import MAX_EVIDENCE, build_combined, load_view
from harness.report.render import render_combined, render_run
from harness.run import Run
from harness.spec import load_spec
from harness.stages import stage_for_row
from harness.verdicts import Expectation

EXTERNAL = [
    re.compile(r"https?://", re.I),
    re.compile(r"\bsrc\s*=", re.I),
    re.compile(r"\bhref\s*=\s*(?![\"']?#)", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"url\(\s*[\"']?[a-z][a-z0-9+.-]*:", re.I),
    re.compile(r"<link\b", re.I),
]
SIZE_LIMIT = 5 * 1024 * 1024


def text_of(html: str) -> str:
    """The page's text, roughly as a reader sees it (tags dropped, whitespace folded, entities kept)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).replace("&#8203;", "")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, one_group_pair: Path) -> Path:
    """Every row against the simulated pair (one group: the report with its evidence and timelines), through
    `smis-harness run` (which writes the report itself)."""
    report_dir = tmp_path_factory.mktemp("full") / "run"
    done = subprocess.run([sys.executable, "-m", "harness.command_line", "run", "--config", str(one_group_pair),
                           "--report-dir", str(report_dir)],
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"report: {report_dir / 'index.html'}" in done.stderr
    return report_dir


def edited_copy(run_dir: Path, target: Path, edit: Any) -> Path:
    """A copy of `run_dir` whose results.json rows went through `edit(rows)`, without its index.html."""
    shutil.copytree(run_dir, target)
    doc = json.loads((target / "results.json").read_text())
    edit(doc["rows"])
    (target / "results.json").write_text(json.dumps(doc))
    (target / "index.html").unlink()
    return target


def fail_t107_02(rows: list[dict[str, Any]]) -> None:
    """T107-02 as the harness writes it when ProgressStatus reads Splitting (10) (erratum E1's trap); its
    `observed` still says Failing Over, so what the report shows can only come from the cell."""
    row = next(r for r in rows if r["id"] == "T107-02")
    row["verdict"] = "fail"
    cell = next(c for c in row["cells"] if c["column"] == "ProgressStatus")
    cell.update(observed="Splitting (10)", outcome="fail")
    row["reason"] = "secondary: ProgressStatus expected Failing Over (11), observed Splitting (10) <script>x()</script>"


@pytest.fixture
def failed_run(full_run: Path, tmp_path: Path) -> Path:
    """A copy of the full run whose T107-02 reports ProgressStatus Splitting (10)."""
    return edited_copy(full_run, tmp_path / "failed", fail_t107_02)


def results(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "results.json").read_text())


# --------------------------------------------------------------------------- the model


def test_the_model_of_a_run_dir_matches_its_results(full_run: Path) -> None:
    doc = results(full_run)
    view = load_view(full_run)
    assert view.complete and view.overall == "conformant"
    assert [r.id for r in view.rows] == [r["id"] for r in doc["rows"]]
    shown = Counter(r["verdict"] if r["in_scope"] else "out_of_scope" for r in doc["rows"])
    assert {v: n for v, n in view.counts.items() if n} == dict(shown)
    assert view.overall_note == doc["headline"]
    t107 = view.table("table107")
    assert [r.id for r in t107] == [r.id for r in load_spec().table("table107")]
    for row in t107:
        assert [c.column for c in row.cells] == ["Role/SyncStatus", "CopyState", "SyncState", "ProgressStatus"]
        assert all(c.status == "pass" for c in row.cells), row.id
    assert [c.column for c in view.table("table106")[0].cells] == ["SyncStatus", "CopyState", "SyncState",
                                                                    "ProgressStatus"]  # fmt: skip
    assert t107[1].cells[3].expected == "Failing Over (11)"
    assert [a.key for a in view.arrays] == ["primary", "secondary"]
    assert all(a.model and a.serial and a.os_version and a.provider for a in view.arrays)
    assert {r.id for r in view.rows if r.verdict in ("skipped", "out_of_scope")} == {
        ids for _, group in view.skipped for ids in group
    }
    errata = {eid: ids for eid, _, ids in view.errata}
    assert "T107-02" in errata["E1"] and "T107-03b" in errata["E2"] and "T106-06" in errata["E5"]


def test_each_row_carries_only_the_evidence_around_its_checkpoint(full_run: Path) -> None:
    view = load_view(full_run)
    total = len(view.data.observations)
    for row in view.rows:
        if row.verdict != "pass" or row.table == "rules":
            continue
        ev = row.evidence
        assert ev is not None and ev.window is not None, row.id
        cited = {o.seq for o in ev.observations if o.decisive}
        raw = next(r for r in view.data.rows if r.id == row.id)
        assert cited and cited <= set(raw.evidence), row.id
        assert len(ev.observations) <= MAX_EVIDENCE + 8 < total, row.id
        if row.table == "table107":
            assert {o.array for o in ev.observations} == {"primary", "secondary"}, row.id
    failover = next(r for r in view.rows if r.id == "T107-02").evidence
    assert failover is not None
    commands = [c for c in failover.commands if c.kind == "command"]
    assert any(c.label.startswith("setrcopygroup failover") and c.status == 0 and c.duration for c in commands)
    assert any(o.reads and o.reads[0].stdout for o in failover.observations if o.decisive)
    pair = next(o for o in failover.observations if o.decisive).pairs[0]
    assert pair.values["CopyState"] == "FailedOver (10)" and pair.values["RequestedCopyState"].endswith("(15)")


def test_a_failed_cell_names_the_observed_value_next_to_the_expected_one(failed_run: Path) -> None:
    view = load_view(failed_run)
    assert view.overall == "not_conformant"
    row = next(r for r in view.rows if r.id == "T107-02")
    assert [c.status for c in row.cells] == ["pass", "pass", "pass", "fail"]
    assert (row.cells[3].expected, row.cells[3].observed) == ("Failing Over (11)", "Splitting (10)")
    assert view.data.rows[[r.id for r in view.data.rows].index("T107-02")].observed["ProgressStatus"]["value"] == 11
    html = render_run(failed_run).read_text()
    assert "Failing Over (11) — observed Splitting (10)" in text_of(html)
    assert "NOT CONFORMANT" in text_of(html).upper()
    assert "<script>x()" not in html and "&lt;script&gt;x()" in html  # autoescape
    assert "Erratum E1:" in text_of(html)


def test_cells_are_shown_as_recorded_not_judged_again(full_run: Path, tmp_path: Path) -> None:
    """An observed value that contradicts the row's cells changes nothing: the report judges no value."""

    def contradict(rows: list[dict[str, Any]]) -> None:
        row = next(r for r in rows if r["id"] == "T107-03")
        row["observed"]["ProgressStatus"] = {"name": "Splitting", "value": 10}
        row["observed"]["role"] = "Secondary"

    view = load_view(edited_copy(full_run, tmp_path / "contradicted", contradict))
    row = next(r for r in view.rows if r.id == "T107-03")
    assert row.verdict == "pass" and [c.status for c in row.cells] == ["pass"] * 4
    assert row.failed_cells == []


def test_a_table106_failure_names_the_array_of_the_failed_cell(full_run: Path, tmp_path: Path) -> None:
    def fail_secondary(rows: list[dict[str, Any]]) -> None:
        row = next(r for r in rows if r["id"] == "T106-03")
        row["verdict"] = "fail"
        cell = next(c for c in row["cells"] if c["column"] == "ProgressStatus" and c["array"] == "secondary")
        cell.update(observed="Synchronizing (6)", outcome="fail")

    view = load_view(edited_copy(full_run, tmp_path / "t106", fail_secondary))
    row = next(r for r in view.rows if r.id == "T106-03")
    assert [(c.column, c.status, c.observed) for c in row.cells] == [
        ("SyncStatus", "pass", None), ("CopyState", "pass", None), ("SyncState", "pass", None),
        ("ProgressStatus", "fail", "Synchronizing (6) on secondary"),
    ]  # fmt: skip


def test_rows_written_before_cells_existed_show_them_not_judged(full_run: Path, tmp_path: Path) -> None:
    def drop_cells(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row.pop("cells", None)

    view = load_view(edited_copy(full_run, tmp_path / "old", drop_cells))
    assert view.overall == "conformant"
    row = next(r for r in view.rows if r.id == "T107-02")
    assert row.verdict == "pass"
    assert [(c.column, c.expected, c.status) for c in row.cells] == [
        ("Role/SyncStatus", "Primary-Rev/Stopped", "na"), ("CopyState", "FailedOver (10)", "na"),
        ("SyncState", "Broken (12)", "na"), ("ProgressStatus", "Failing Over (11)", "na"),
    ]  # fmt: skip
    assert all(c.status == "na" for r in view.rows for c in r.cells)


def test_a_row_that_is_not_a_row_is_a_report_error(full_run: Path, tmp_path: Path) -> None:
    def garble(rows: list[dict[str, Any]]) -> None:
        rows[0]["verdict"] = "splendid"

    run_dir = edited_copy(full_run, tmp_path / "garbled", garble)
    assert main(["report", str(run_dir)]) == 2


# --------------------------------------------------------------------------- the page


def test_smis_harness_run_wrote_a_self_contained_report(full_run: Path) -> None:
    html = (full_run / "index.html").read_text()
    for pattern in EXTERNAL:
        assert not pattern.search(html), f"external reference {pattern.pattern}: {pattern.search(html)}"
    assert "<style>" in html and "<script>" in html and '<svg class="timeline"' in html
    assert "@media print" in html
    text = text_of(html)
    assert "CONFORMANT" in text.upper() and "Table 107" in text and "Table 106" in text and "RULE-09" in text
    assert "DR journey 1: primary_down → failover" in text
    doc = results(full_run)
    for key in ("harness_version", "pywbem_version", "config_hash"):
        assert str(doc["manifest"][key]) in text, key
    for array in doc["manifest"]["arrays"].values():
        assert array["system_name"] in text and array["serial"] in text and array["provider_version"] in text
    assert "SLD rows need an SLD trio target" in text  # why SLD rows do not count
    assert doc["headline"] in text


def test_the_full_report_stays_small(full_run: Path) -> None:
    size = (full_run / "index.html").stat().st_size
    assert size < SIZE_LIMIT, f"{size} bytes"


def test_an_interrupted_run_is_an_error_with_its_undecided_rows(full_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "interrupted"
    run_dir.mkdir()
    lines = (full_run / "results.jsonl").read_text().splitlines()
    (run_dir / "results.jsonl").write_text("\n".join(lines[:10]) + "\n" + lines[10][:25])  # cut mid-line
    shutil.copy(full_run / "observations.jsonl", run_dir)
    assert main(["report", str(run_dir)]) == 0
    view = load_view(run_dir)
    assert view.overall == "error" and not view.complete
    sld = len(load_spec().table("sld"))  # a pair's observations: SLD rows are out of scope (decided first)
    assert view.counts["error"] == len(load_spec().rows) - 10
    assert view.counts["out_of_scope"] == sld
    undecided = [r for r in view.rows if r.verdict == "error"]
    assert all(r.reason.startswith("not decided: the run was interrupted") for r in undecided)
    assert any("results.jsonl line 11" in w for w in view.warnings)
    html = (run_dir / "index.html").read_text()
    assert 'id="incomplete"' in html and "INCOMPLETE RUN" in html
    assert not any(p.search(html) for p in EXTERNAL)


def test_several_runs_make_one_combined_matrix(full_run: Path, failed_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "combined"
    assert main(["report", str(full_run), str(failed_run), "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    text = text_of(html)
    assert "run" in text and "failed" in text and "Not conformant".upper() in text.upper()
    assert "ProgressStatus Failing Over (11) — observed Splitting (10)" in text
    assert not any(p.search(html) for p in EXTERNAL)
    combined = build_combined([load_view(full_run, evidence=False), load_view(failed_run, evidence=False)])
    row = next(r for r in combined.rows if r.id == "T107-02")
    assert [c.verdict for c in row.cells] == ["pass", "fail"]
    assert render_combined([full_run], tmp_path / "one").is_file()
    assert main(["report", str(full_run), str(failed_run)]) == 2  # several runs need --out


def test_report_errors_are_clear_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    (tmp_path / "results.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not readable JSON" in err and "Traceback" not in err


def test_a_report_failure_after_a_run_is_only_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert render_after_run(tmp_path) is None
    err = capsys.readouterr().err
    assert "the HTML report could not be written" in err and "smis-harness report" in err


# --------------------------------------------------------------------------- secrets


def test_configured_passwords_appear_nowhere_in_the_report_or_the_bundle(tmp_path: Path) -> None:
    report_dir = tmp_path / "run"
    run = Run(builtin_config("pair"), report_dir=report_dir, progress=lambda _: None)
    secrets: set[str] = set()
    spec = load_spec()
    try:
        run.start()
        assert run.setup_error is None, run.setup_error
        described = run.sim.describe()
        secrets = {described["control"]["token"]}
        for array in described["arrays"].values():
            secrets |= {array["password"], array["ssh_password"]}
        for row_id, array in (("T106-03", ("primary", "secondary")), ("T107-01", None)):
            row = spec.rows[row_id]
            stage = stage_for_row(row.table, stage=row.stage, when=row.when, sync_status=row.sync_status)
            run.row(Expectation.from_row(row, spec, array=array), stage, row.in_progress)
        run.rule("RULE-01")
    finally:
        run.finish()
    assert all(len(s) >= 8 for s in secrets) and len(secrets) == 5
    render_run(report_dir)
    bundle = make_bundle(report_dir, tmp_path / "bundle.tar.gz")
    blobs = {p.name: p.read_bytes() for p in report_dir.iterdir() if p.is_file()}
    with tarfile.open(bundle) as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member)
            blobs[f"bundle:{member.name}"] = handle.read() if handle else b""
    blobs["bundle"] = bundle.read_bytes()
    assert "index.html" in blobs and any(k.endswith("/index.html") for k in blobs)
    for name, blob in blobs.items():
        for secret in secrets:
            assert secret.encode() not in blob, f"a configured secret appears in {name}"


# --------------------------------------------------------------------------- the bundle


def rewrite(bundle: Path, out: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of `bundle` with members replaced (bytes), removed (None) or added."""
    with tarfile.open(bundle) as source, tarfile.open(out, "w:gz") as target:
        names = []
        for member in source.getmembers():
            names.append(member.name)
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            short = member.name.split("/", 1)[1]
            if short in change:
                if change[short] is None:
                    continue
                data = change[short]  # type: ignore[assignment]
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
        root = names[0].split("/", 1)[0]
        for short, data in change.items():
            if data is not None and f"{root}/{short}" not in names:
                info = tarfile.TarInfo(f"{root}/{short}")
                info.size = len(data)
                target.addfile(info, io.BytesIO(data))
    return out


def test_bundle_round_trip_and_tamper_detection(full_run: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "cert.tar.gz"
    assert main(["bundle", str(full_run), "--out", str(out)]) == 0
    with tarfile.open(out) as archive:
        names = {m.name.split("/", 1)[1] for m in archive.getmembers()}
        sums = archive.extractfile(f"{full_run.name}/{SUMS}").read().decode()  # type: ignore[union-attr]
    assert {"results.json", "results.jsonl", "observations.jsonl", "transcript.jsonl", "junit.xml", "index.html",
            "manifest.json", "recording/cim.jsonl", "recording/samples.jsonl", SUMS} <= names  # fmt: skip
    assert {line.split("  ", 1)[1] for line in sums.splitlines()} == names - {SUMS}
    capsys.readouterr()
    assert main(["bundle", "--verify", str(out)]) == 0
    assert "OK: 9 files" in capsys.readouterr().out

    altered = rewrite(out, tmp_path / "altered.tar.gz", {"results.json": b'{"rows": []}'})
    assert main(["bundle", "--verify", str(altered)]) == 1
    assert "altered: results.json" in capsys.readouterr().out
    missing = rewrite(out, tmp_path / "missing.tar.gz", {"transcript.jsonl": None})
    extra = rewrite(out, tmp_path / "extra.tar.gz", {"notes.txt": b"added later"})
    assert verify_bundle(missing).missing == ["transcript.jsonl"]
    assert verify_bundle(extra).extra == [f"{full_run.name}/notes.txt"]
    assert main(["bundle", "--verify", str(extra)]) == 1

    zipped = make_bundle(full_run, tmp_path / "cert.zip")
    assert verify_bundle(zipped).ok


def test_bundle_errors_are_clear_and_exit_2(full_run: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 this is not really gzip")
    cut = tmp_path / "cut.tar.gz"
    make_bundle(full_run, tmp_path / "whole.tar.gz")
    cut.write_bytes((tmp_path / "whole.tar.gz").read_bytes()[:4000])
    for argv, message in (
        (["bundle", str(tmp_path / "nope")], "no such directory"),
        (["bundle", str(tmp_path)], "not a run directory"),
        (["bundle", "--verify", str(corrupt)], "corrupt or not a bundle archive"),
        (["bundle", "--verify", str(cut)], "corrupt or not a bundle archive"),
        (["bundle", "--verify", str(tmp_path / "nope.tar.gz")], "no such file"),
        (["bundle"], "give either RUN_DIR"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


def _ed25519_key(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, key.with_suffix(".pub")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None and not os.environ.get("SMIS_REQUIRE_ALL_CLIENTS"),
                    reason="ssh-keygen (openssh-client) is not installed")  # fmt: skip
def test_a_signed_bundle_verifies_here_and_with_ssh_keygen(full_run: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    key, pub = _ed25519_key(tmp_path, "reviewer")
    _, other_pub = _ed25519_key(tmp_path, "someone-else")
    out = tmp_path / "signed.tar.gz"
    assert main(["bundle", str(full_run), "--out", str(out), "--sign", str(key)]) == 0
    printed = capsys.readouterr().out
    with tarfile.open(out) as archive:
        sums = archive.extractfile(f"{full_run.name}/{SUMS}").read()  # type: ignore[union-attr]
        signature = archive.extractfile(f"{full_run.name}/SHA256SUMS.sig").read()  # type: ignore[union-attr]
    assert f"SHA256SUMS sha256: {hashlib.sha256(sums).hexdigest()}" in printed

    # out of band, without smis-harness: OpenSSH's own verifier accepts the signature
    (tmp_path / "SHA256SUMS.sig").write_bytes(signature)
    (tmp_path / "allowed_signers").write_text(f"reviewer {pub.read_text()}")
    checked = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed_signers"), "-I", "reviewer",
                              "-n", "smis-harness", "-s", str(tmp_path / "SHA256SUMS.sig")],
                             input=sums, capture_output=True)  # fmt: skip
    assert checked.returncode == 0, checked.stderr

    assert main(["bundle", "--verify", str(out), "--pubkey", str(pub)]) == 0
    assert "signature: good, by the given key SHA256:" in capsys.readouterr().out
    assert main(["bundle", "--verify", str(out), "--pubkey", str(other_pub)]) == 1
    assert "signed by another key" in capsys.readouterr().out
    resigned = rewrite(out, tmp_path / "resummed.tar.gz", {SUMS: sums + b"0" * 64 + b"  forged.txt\n"})
    assert main(["bundle", "--verify", str(resigned), "--pubkey", str(pub)]) == 1
    assert "the signature does not match" in capsys.readouterr().out
    unsigned = make_bundle(full_run, tmp_path / "unsigned.tar.gz")
    assert main(["bundle", "--verify", str(unsigned), "--pubkey", str(pub)]) == 1
    assert "a signature by" in capsys.readouterr().out
    assert main(["bundle", str(full_run), "--out", str(tmp_path / "x.tar.gz"), "--sign", str(pub)]) == 2
    assert "cannot sign" in capsys.readouterr().err


def test_verify_rebuilds_the_verdict_and_catches_a_report_that_states_another(
    full_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = make_bundle(full_run, tmp_path / "cert.tar.gz")
    with tarfile.open(out) as archive:
        html = archive.extractfile(f"{full_run.name}/index.html").read()  # type: ignore[union-attr]
        doc = json.loads(archive.extractfile(f"{full_run.name}/results.json").read())  # type: ignore[union-attr]
    assert verify_bundle(out).verdict_problems == []
    assert b'data-overall="conformant"' in html
    # a row turned to FAIL, the stated verdict and the report left saying conformant, re-summed so that
    # every hash matches
    doc["rows"][0]["verdict"] = "fail"
    edited = {"results.json": json.dumps(doc).encode()}
    with tarfile.open(out) as archive:
        sums = archive.extractfile(f"{full_run.name}/{SUMS}").read().decode()  # type: ignore[union-attr]
    for name, data in edited.items():
        sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" if line.endswith(f"  {name}") else line + "\n"
                       for line in sums.splitlines())  # fmt: skip
    forged = rewrite(out, tmp_path / "forged.tar.gz", {**edited, SUMS: sums.encode()})
    result = verify_bundle(forged)
    assert not result.altered and not result.ok
    assert any("results.json states 'conformant', its rows give 'not_conformant'" in p for p in result.verdict_problems)
    assert any("index.html states 'conformant'" in p for p in result.verdict_problems)
    assert main(["bundle", "--verify", str(forged)]) == 1
    assert "verdict: " in capsys.readouterr().out
