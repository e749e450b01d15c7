#!/usr/bin/env python
"""Benchmark the HTML report: how long rendering a full run takes, and how big index.html gets.

Without RUN_DIR it first runs the whole suite against the built-in simulated pair
(`smis-harness run --config harness/targets/mock-pair.yaml`) into a temporary directory. Then,
`--repeat` times, it times:

  load     reading results.json, observations.jsonl and transcript.jsonl (harness.report.model.load_run)
  model    building the view: rows, cells, per-row evidence (build_view)
  render   jinja2 templates and the SVG timelines (render_html)
  total    load + model + render + writing index.html (what `smis-harness report RUN_DIR` does)

and prints median and max per phase, the size of index.html and the size of the run's files.
The targets: total under 2 s and index.html under 5 MB (exit status 1 with --check if missed).

    python bench/bench_report.py [RUN_DIR] [--repeat 5] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.report.model import build_view, load_run
from harness.report.render import REPORT_NAME, render_html

TIME_LIMIT_S = 2.0
SIZE_LIMIT_B = 5 * 1024 * 1024


def full_run(where: Path) -> Path:
    run_dir = where / "run"
    print(f"running the full suite against the simulated pair into {run_dir} ...", file=sys.stderr)
    pair = Path(__file__).resolve().parents[1] / "harness" / "targets" / "mock-pair.yaml"  # not the default's trio too
    done = subprocess.run([sys.executable, "-m", "harness.command_line", "run", "--config", str(pair), "--report-dir",
                           str(run_dir)], capture_output=True, text=True)  # fmt: skip
    if not (run_dir / "results.json").is_file():
        sys.exit(f"the run wrote no results.json (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return run_dir


def measure(run_dir: Path, repeat: int) -> tuple[dict[str, list[float]], int, int, int]:
    phases: dict[str, list[float]] = {"load": [], "model": [], "render": [], "total": []}
    size = rows = observations = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        data = load_run(run_dir)
        t1 = time.perf_counter()
        view = build_view(data)
        t2 = time.perf_counter()
        html = render_html(view)
        t3 = time.perf_counter()
        (run_dir / REPORT_NAME).write_text(html, encoding="utf-8")
        t4 = time.perf_counter()
        for name, value in (("load", t1 - t0), ("model", t2 - t1), ("render", t3 - t2), ("total", t4 - t0)):
            phases[name].append(value)
        size, rows, observations = len(html.encode()), len(view.rows), len(data.observations)
    return phases, size, rows, observations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", help="a run directory (default: run the full suite first)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run_dir = Path(args.run_dir) if args.run_dir else full_run(Path(tmp))
        phases, size, rows, observations = measure(run_dir, max(1, args.repeat))
        inputs = sum(p.stat().st_size for p in run_dir.iterdir() if p.is_file() and p.name != REPORT_NAME)
    print(f"run: {rows} rows, {observations} observations, {inputs / 1e6:.2f} MB of run files")
    print(f"{'phase':<8} {'median ms':>10} {'max ms':>10}   (n={len(phases['total'])})")
    for name, values in phases.items():
        print(f"{name:<8} {statistics.median(values) * 1000:>10.1f} {max(values) * 1000:>10.1f}")
    total = statistics.median(phases["total"])
    print(f"index.html: {size} bytes ({size / 1e6:.2f} MB)")
    time_ok, size_ok = total < TIME_LIMIT_S, size < SIZE_LIMIT_B
    print(f"targets: render {total:.2f} s < {TIME_LIMIT_S:g} s {'OK' if time_ok else 'MISSED'}; "
          f"size < 5 MB {'OK' if size_ok else 'MISSED'}")  # fmt: skip
    return 1 if args.check and not (time_ok and size_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
