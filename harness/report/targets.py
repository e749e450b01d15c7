"""The report of a run of several targets: the multi-run matrix over its targets' directories, headed
by the combined verdict of its results.json (`smis-harness run` writes it; `smis-harness report RUN_DIR`
writes it again)."""

from __future__ import annotations

from pathlib import Path

from harness.child_runs import read_results
from harness.report.model import ReportError, is_run_dir
from harness.report.render import render_combined


def is_targets_run(run_dir: Path) -> bool:
    """Whether `run_dir` holds the combined results of a run of several targets."""
    document, _ = read_results(run_dir)
    return bool(document and isinstance((document.get("manifest") or {}).get("targets"), list))


def render_targets_report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """The multi-run matrix over the targets' directories, headed by the combined verdict (`index.html`)."""
    document, problem = read_results(run_dir)
    if document is None:
        raise ReportError(f"{run_dir}: {problem}")
    names = [str(t.get("run")) for t in document["manifest"]["targets"] if isinstance(t, dict)]
    dirs = [run_dir / n for n in names if "/" not in n and is_run_dir(run_dir / n)]
    missing = [n for n in names if run_dir / n not in dirs]
    stated = (str(document.get("verdict")), str(document.get("headline", "")))
    return render_combined(dirs, out_dir or run_dir, stated=stated, missing=missing)
