"""Several targets in one run: `smis-harness run --config A --config B [--jobs N]`, and the default run (the
built-in pair and SLD trio). The combined verdict never says more than was seen (pure merge tests), the
combined files and report, bad input refused before anything starts, one --config unchanged, the default
covering every documented row, interruption. The runs are real, against the simulated targets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.child_runs import harness_command
from harness.overall import scoped_rows
from harness.report_dir import ReportDirError, prepare_report_dir
from harness.spec import load_spec
from harness.target_dirs import target_names
from harness.target_merge import TargetRun, merge_documents

ROOT = Path(__file__).resolve().parents[1]
SLD = ROOT / "harness" / "targets" / "mock-sld.yaml"
SLD_IDS = [r.id for r in load_spec().rows.values() if r.table == "sld"]
QUICK = ["T106-03", *SLD_IDS]  # one pair row and the SLD rows: a few seconds per target


def smis(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*harness_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, "TERM": "dumb"})  # fmt: skip


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


def document(report: Path) -> dict[str, Any]:
    return dict(json.loads((report / "results.json").read_text()))


# --------------------------------------------------------------------------- the merge (pure)


def target_doc(topology: str, verdicts: dict[str, str] | None = None, *, problems: list[str] | None = None,
               final_state: dict[str, Any] | None = None, interrupted_by: str | None = None,
               verdict: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A target's results.json: every row in scope on `topology` PASS unless `verdicts` says otherwise."""
    decided = {}
    for row in scoped_rows({}, topology=topology, selected=None, undecided_why="-"):
        if row["in_scope"]:
            got = (verdicts or {}).get(row["id"], "pass")
            decided[row["id"]] = {**row, "verdict": got, "reason": f"{got} on {topology}"}
    rows = scoped_rows(decided, topology=topology, selected=None, undecided_why="-")
    overall = {"problems": problems or [], "interrupted_by": interrupted_by}
    return {"verdict": verdict or "conformant", "headline": "", "overall": overall, "rows": rows,
            "final_state": final_state or {"natural": True}}  # fmt: skip


def target(name: str, topology: str, doc: dict[str, Any] | None, **kwargs: Any) -> TargetRun:
    return TargetRun(name, f"{name}.yaml", "hash", topology, document=doc, exit_code=0 if doc else 1, **kwargs)


def rows_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["rows"]}


def test_a_row_passed_where_it_applies_and_out_of_scope_elsewhere_passes_and_the_run_is_conformant() -> None:
    merged = merge_documents([target("pair", "pair", target_doc("pair")), target("sld", "sld", target_doc("sld"))])
    rows = rows_of(merged)
    assert merged["verdict"] == "conformant" and merged["exit_code"] == 0, merged["headline"]
    assert all(r["in_scope"] and r["verdict"] == "pass" for r in rows.values()), "every documented row is decided"
    sld01 = rows["SLD-01"]["targets"]
    assert sld01["pair"]["in_scope"] is False and sld01["sld"]["verdict"] == "pass"
    assert rows["T107-02"]["reason"] == "pair: pass on pair"  # the target that decided it, not the one it skips


def test_pass_on_one_target_and_fail_on_another_fails() -> None:
    merged = merge_documents([target("a", "pair", target_doc("pair")),
                              target("b", "pair", target_doc("pair", {"T107-02": "fail"}))])  # fmt: skip
    row = rows_of(merged)["T107-02"]
    assert row["verdict"] == "fail" and row["reason"] == "b: fail on pair"
    assert row["targets"] == {"a": {"verdict": "pass", "reason": "pass on pair", "in_scope": True, "run": "a"},
                              "b": {"verdict": "fail", "reason": "fail on pair", "in_scope": True, "run": "b"}}
    assert merged["verdict"] == "not_conformant" and merged["exit_code"] == 1


@pytest.mark.parametrize("other", ["error", "not_observed", "skipped"])
def test_a_row_in_scope_on_a_target_that_did_not_pass_it_is_never_pass(other: str) -> None:
    """Another target's PASS does not speak for a target where the row applies but was not seen to pass
    (skipped there, e.g. disruptive rows without --allow-disruptive; not observed; broken)."""
    merged = merge_documents([target("a", "pair", target_doc("pair")),
                              target("b", "pair", target_doc("pair", {"T107-05": other}))])  # fmt: skip
    assert rows_of(merged)["T107-05"]["verdict"] == other
    assert merged["verdict"] == ("error" if other == "error" else "incomplete"), merged["headline"]


def test_a_target_that_wrote_no_results_makes_the_run_error_naming_it_even_with_its_rows_passed() -> None:
    crashed = target("mock-sld", "sld", None, failure="the run was killed by SIGKILL", log="r/mock-sld.log",
                     decided={"SLD-01": {"id": "SLD-01", "verdict": "pass", "reason": "ok"}})  # fmt: skip
    merged = merge_documents([target("mock-pair", "pair", target_doc("pair")), crashed])
    rows = rows_of(merged)
    assert merged["verdict"] == "error" and merged["exit_code"] == 1
    assert "target mock-sld: the run was killed by SIGKILL" in merged["headline"], merged["headline"]
    assert rows["SLD-01"]["verdict"] == "pass", "what it decided before it died is kept"
    assert rows["SLD-02"]["verdict"] == "error" and "target mock-sld" in rows["SLD-02"]["reason"]
    assert rows["T107-02"]["verdict"] == "pass", "a row out of its scope is still decided by the pair"


def test_a_target_that_never_started_makes_the_run_error() -> None:
    never = target("b", "sld", None, failure="not started: the run was interrupted (SIGINT)")
    merged = merge_documents([target("a", "pair", target_doc("pair")), never], interrupted_by="SIGINT")
    assert merged["verdict"] == "error" and merged["exit_code"] == 130
    assert merged["overall"]["interrupted_by"] == "SIGINT" and "target b: not started" in merged["headline"]


def test_an_interrupted_target_interrupts_the_combined_run() -> None:
    doc = target_doc("pair", {"T107-09": "error"}, problems=["the run was interrupted (SIGTERM)"],
                     interrupted_by="SIGTERM", verdict="error")  # fmt: skip
    merged = merge_documents([target("a", "pair", doc), target("b", "sld", target_doc("sld"))])
    assert merged["verdict"] == "error" and merged["exit_code"] == 143
    assert "target a: the run was interrupted (SIGTERM)" in merged["overall"]["problems"]


def test_a_target_left_out_of_its_natural_state_exits_4_whatever_else() -> None:
    left = {"rcg_sync_0": {"natural": True}, "rcg_periodic_1": {"natural": False, "commands_to_run": ["x"]}}
    merged = merge_documents([target("a", "pair", target_doc("pair", final_state=left)),
                              target("b", "sld", target_doc("sld"))])  # fmt: skip
    assert merged["exit_code"] == 4 and merged["overall"]["left_unnatural"] is True


def test_a_target_stating_error_without_a_row_saying_why_is_not_lost() -> None:
    merged = merge_documents([target("a", "pair", target_doc("pair", verdict="error")),
                              target("b", "sld", target_doc("sld"))])  # fmt: skip
    assert merged["verdict"] == "error" and "target a: its run ended error" in merged["headline"]


def test_a_row_out_of_scope_everywhere_stays_out_of_scope() -> None:
    merged = merge_documents([target("a", "pair", target_doc("pair")), target("b", "pair", target_doc("pair"))])
    row = rows_of(merged)["SLD-01"]
    assert row["in_scope"] is False and row["verdict"] == "skipped" and "SLD trio" in row["out_of_scope"]
    assert merged["verdict"] == "conformant" and "SLD-01" in merged["overall"]["out_of_scope"]


def test_target_names_are_safe_and_unique() -> None:
    names = target_names(["a/mock-pair.yaml", "b/mock-pair.yaml", "c/MOCK-PAIR.yml", "Lab A (3).yaml", "..yaml",
                          "recording.yaml", "results.json.yaml"])  # fmt: skip
    assert names == ["mock-pair", "mock-pair-2", "MOCK-PAIR-3", "Lab-A-3", "target", "recording-2", "results-json"]


def test_force_replaces_an_earlier_run_of_several_targets(tmp_path: Path) -> None:
    report = tmp_path / "r"
    for name in ("mock-pair/rcg_sync_0", "mock-pair/rcg_periodic_1", "mock-sld"):
        (report / name).mkdir(parents=True)
        (report / name / "results.json").write_text("{}")
    for name in ("results.json", "index.html", "mock-pair.log", "mock-sld.log"):
        (report / name).write_text("")
    assert prepare_report_dir(str(report), force=True) == report and not any(report.iterdir())
    (report / "notes.log").write_text("mine")  # a log beside no target directory: not the run's
    with pytest.raises(ReportDirError, match=r"notes\.log"):
        prepare_report_dir(str(report), force=True)


# --------------------------------------------------------------------------- real runs


def test_two_targets_write_one_combined_result_and_report(tmp_path: Path, one_group_pair: Path) -> None:
    report = tmp_path / "r"
    proc = smis("run", "--config", str(one_group_pair), "--config", str(SLD), "--jobs", "2", "--report-dir",
                str(report), *QUICK, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, output(proc)
    doc = document(report)
    assert doc["verdict"] == "conformant", doc["headline"]
    names = [t["name"] for t in doc["manifest"]["targets"]]
    assert names == ["mock-pair-one-group", "mock-sld"]
    for entry in doc["manifest"]["targets"]:
        own = document(report / entry["name"])
        assert entry["config_hash"] == own["manifest"]["config_hash"] and entry["manifest"] == own["manifest"]
        assert entry["verdict"] == own["verdict"] and (report / f"{entry['name']}.log").is_file()
    rows = {r["id"]: r for r in doc["rows"]}
    assert {i for i, r in rows.items() if r["in_scope"]} == set(QUICK)
    assert rows["SLD-02"]["targets"]["mock-sld"]["verdict"] == "pass"
    assert rows["SLD-02"]["targets"]["mock-pair-one-group"]["in_scope"] is False
    assert rows["T106-03"]["targets"]["mock-pair-one-group"]["verdict"] == "pass"
    html = (report / "index.html").read_text()
    assert "mock-pair-one-group" in html and "mock-sld" in html and 'data-overall="conformant"' in html
    lines = proc.stdout.splitlines()
    for name in names:
        assert any(line.startswith(f"target {name}: started") and f"{name}.log" in line for line in lines)
        assert any(line.startswith(f"target {name}: CONFORMANT") and line.endswith(" s)") for line in lines)
    assert lines[-1] == doc["headline"], "the combined headline is the last line"
    assert "waiting for" not in proc.stdout, "the workers' own output is in their logs"
    assert "T106-03" in (report / "mock-pair-one-group.log").read_text()
    again = smis("report", str(report), "--out", str(tmp_path / "again"), cwd=tmp_path, timeout=60)
    assert again.returncode == 0 and 'data-overall="conformant"' in (tmp_path / "again" / "index.html").read_text()
    rerun = smis("run", "--rerun", str(report), "--report-dir", str(tmp_path / "rerun"), cwd=tmp_path, timeout=60)
    assert rerun.returncode == 2 and "rerun one target's own directory" in rerun.stderr, output(rerun)


def test_the_same_config_twice_is_refused_before_anything_starts(tmp_path: Path, one_group_pair: Path) -> None:
    report = tmp_path / "r"
    other_spelling = os.path.relpath(one_group_pair, tmp_path)
    proc = smis("run", "--config", str(one_group_pair), "--config", other_spelling, "--report-dir", str(report),
                cwd=tmp_path, timeout=60)  # fmt: skip
    assert proc.returncode == 2, output(proc)
    [line] = proc.stderr.strip().splitlines()
    assert "given twice" in line and other_spelling in line and "two workers" in line
    assert not report.exists()


@pytest.mark.parametrize("case", ["missing", "broken", "empty"])
def test_a_bad_config_among_several_is_refused_naming_it(tmp_path: Path, one_group_pair: Path, case: str) -> None:
    bad = tmp_path / "bad.yaml"
    if case == "broken":
        bad.write_text("topology: pair\ngroups: [g]\nsimulated: {groups: 2}\npolling: {interval: -1}\n")
    elif case == "empty":
        bad.write_text("")
    proc = smis("run", "--config", str(one_group_pair), "--config", str(bad), "--report-dir", str(tmp_path / "r"),
                cwd=tmp_path, timeout=60)  # fmt: skip
    assert proc.returncode == 2, output(proc)
    assert str(bad) in proc.stderr.splitlines()[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_rerun_with_several_configs_is_refused(tmp_path: Path, one_group_pair: Path) -> None:
    proc = smis("run", "--config", str(one_group_pair), "--config", str(SLD), "--rerun", str(tmp_path),
                cwd=tmp_path, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "--rerun reruns one run" in proc.stderr, output(proc)


def test_one_config_keeps_the_layout_of_one_run(tmp_path: Path, one_group_pair: Path) -> None:
    report = tmp_path / "r"
    proc = smis("run", "--config", str(one_group_pair), "--jobs", "3", "--report-dir", str(report), "T106-03",
                cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert {"results.json", "results.jsonl", "transcript.jsonl", "junit.xml", "index.html"} <= {
        p.name for p in report.iterdir()}  # fmt: skip
    assert not [p for p in report.iterdir() if p.is_dir() and p.name != "recording"], "no directory per target"
    assert "targets" not in document(report)["manifest"]
    assert not any(line.startswith("target ") for line in proc.stdout.splitlines())


def test_dry_run_of_several_targets_prints_each_plan(tmp_path: Path, one_group_pair: Path) -> None:
    proc = smis("run", "--config", str(one_group_pair), "--config", str(SLD), "--jobs", "4", "--dry-run",
                "--report-dir", str(tmp_path / "r"), cwd=tmp_path, timeout=60)  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert "== target mock-pair-one-group" in proc.stdout and "== target mock-sld" in proc.stdout
    assert "on secondary: setrcopygroup failover" in proc.stdout and "check SLD-01, SLD-02, SLD-03" in proc.stdout
    assert not (tmp_path / "r").exists()


def test_a_signal_stops_every_target_each_tears_down_and_the_run_is_interrupted(
    tmp_path: Path, one_group_pair: Path
) -> None:
    report = tmp_path / "r"
    proc = subprocess.Popen([*harness_command(), "run", "--config", str(one_group_pair), "--config", str(SLD),
                             "--report-dir", str(report), "table107", *SLD_IDS], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip
    transcript = report / "mock-pair-one-group" / "transcript.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if transcript.exists() and "setrcopygroup failover" in transcript.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 130, f"{stdout[-3000:]}\n{stderr[-3000:]}"
    doc = document(report)
    assert doc["verdict"] == "error" and doc["overall"]["interrupted_by"] == "SIGINT"
    pair = document(report / "mock-pair-one-group")
    assert pair["overall"]["interrupted_by"] == "SIGINT" and pair["final_state"]["natural"] is True, "torn down"
    assert (report / "mock-sld" / "results.json").is_file() or "target mock-sld" in doc["headline"]
    assert stdout.splitlines()[-1] == doc["headline"]


def test_the_default_run_covers_every_documented_row_conformant(tmp_path: Path) -> None:
    """The newcomer's first command: the pair (both groups) and the SLD trio, in parallel."""
    report = tmp_path / "r"
    started = time.monotonic()
    proc = smis("run", "--report-dir", str(report), cwd=tmp_path, timeout=600)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, output(proc)
    doc = document(report)
    assert doc["verdict"] == "conformant", doc["headline"]
    assert all(r["in_scope"] and r["verdict"] == "pass" for r in doc["rows"]), "every documented row PASS"
    assert len(doc["rows"]) == len(load_spec().rows)
    rows = {r["id"]: r for r in doc["rows"]}
    assert all(rows[i]["targets"]["mock-sld"]["verdict"] == "pass" for i in SLD_IDS)
    assert rows["T107-02"]["targets"]["mock-pair"]["verdict"] == "pass"
    assert (report / "mock-pair" / "rcg_periodic_1" / "results.json").is_file(), "the pair tours both groups"
    assert proc.stdout.splitlines()[-1] == doc["headline"]
    print(f"default run: {elapsed:.1f} s", file=sys.stderr)


def _worker_pid(parent: int, config: Path, timeout: float = 60) -> int:
    """The pid of the worker `parent` started for `config` (from /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if int(stat[1]) == parent and str(config).encode() in command:
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError(f"no worker for {config}")


def test_a_worker_that_dies_makes_the_run_error_naming_its_target(tmp_path: Path, one_group_pair: Path) -> None:
    report = tmp_path / "r"
    proc = subprocess.Popen([*harness_command(), "run", "--config", str(one_group_pair), "--config", str(SLD),
                             "--report-dir", str(report), "table107", *SLD_IDS], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip
    transcript = report / "mock-pair-one-group" / "transcript.jsonl"
    worker = _worker_pid(proc.pid, one_group_pair)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (transcript.exists() and "failover" in transcript.read_text()):
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 1, f"{stdout[-3000:]}\n{stderr[-3000:]}"
    doc = document(report)
    assert doc["verdict"] == "error" and "target mock-pair-one-group: the run was killed by SIGKILL" in doc["headline"]
    rows = {r["id"]: r for r in doc["rows"]}
    assert rows["T107-16"]["verdict"] == "error" and "target mock-pair-one-group" in rows["T107-16"]["reason"]
    assert rows["SLD-01"]["verdict"] == "pass", "the other target's rows stand"
    assert any(line.startswith("target mock-pair-one-group: ERROR: the run was killed by SIGKILL")
               for line in stdout.splitlines()), stdout  # fmt: skip
    assert 'data-overall="error"' in (report / "index.html").read_text()
