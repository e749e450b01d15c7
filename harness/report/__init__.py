"""The HTML compliance report (index.html) of a run, the combined matrix of several runs, and
the certification bundle (`smis-harness report`, `smis-harness bundle`)."""

from __future__ import annotations

import sys
from pathlib import Path


def render_after_run(report_dir: Path) -> Path | None:
    """Write index.html at the end of `smis-harness run`; a failure is reported, never raised."""
    try:
        from harness.report.render import render_run

        path = render_run(report_dir)
    except Exception as exc:  # the run's verdicts are on disk already: a report failure must not change them
        print(f"smis-harness: the HTML report could not be written ({type(exc).__name__}: {exc}); "
              f"regenerate it with `smis-harness report {report_dir}`", file=sys.stderr)  # fmt: skip
        return None
    print(f"report: {path}", file=sys.stderr)
    return path
