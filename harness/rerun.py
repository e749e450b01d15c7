"""`smis-harness run --rerun RUN_DIR`: run again only the rows an earlier run did not settle (FAIL,
ERROR, NOT_OBSERVED, never decided), with that run's configuration (its hash checked), and say which
rows changed verdict. A flapping link or a busy array need not force a whole DR tour again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import TargetConfig

if TYPE_CHECKING:
    from harness.run_command import RunRequest

RERUN_VERDICTS = ("fail", "error", "not_observed")
CHANGES_FILE = "rerun.json"


class RerunError(Exception):
    """The earlier run cannot be rerun; the message says why and what to do."""


@dataclass
class EarlierRun:
    run_dir: Path
    manifest: dict[str, Any]
    verdicts: dict[str, str]  # row id -> verdict, rows in scope

    def check_same_config(self, target: TargetConfig) -> None:
        stated, now = self.manifest.get("config_hash"), target.config_hash()
        if stated != now:
            raise RerunError(f"{target.source}: the configuration changed since {self.run_dir} (config hash "
                             f"{str(stated)[:12]}…, now {now[:12]}…); a rerun uses the same configuration — "
                             "run the whole suite instead")  # fmt: skip

    def report_changes(self, report_dir: Path) -> dict[str, Any]:
        """Print and write (rerun.json) which rows changed verdict against the earlier run."""
        rows = json.loads((report_dir / "results.json").read_text())["rows"]
        now = {r["id"]: r["verdict"] for r in rows if r.get("in_scope", True) and r["id"] in self.verdicts}
        changed = {i: {"before": self.verdicts[i], "now": v} for i, v in now.items() if v != self.verdicts[i]}
        document = {"rerun_of": str(self.run_dir), "rows": sorted(now), "changed": changed,
                    "unchanged": sorted(i for i in now if i not in changed)}  # fmt: skip
        (report_dir / CHANGES_FILE).write_text(json.dumps(document, indent=2))
        print(f"rerun of {self.run_dir}: {len(changed)} of {len(now)} rows changed verdict")
        for row_id, change in changed.items():
            print(f"  {row_id}: {change['before']} -> {change['now']}")
        return document


def rerun_plan(request: RunRequest) -> EarlierRun:
    """Read the earlier run and fill `request` in place: its configuration and deviations (unless given)
    and the rows to run (those of the user's selection, if any, that need it)."""
    assert request.rerun is not None
    earlier = load_earlier(Path(request.rerun))
    config = earlier.manifest.get("config") or {}
    request.config = request.config or _config_source(earlier)
    request.deviations = request.deviations or (config.get("simulated") or {}).get("deviations")
    wanted = [i for i, v in earlier.verdicts.items() if v in RERUN_VERDICTS]
    chosen = set(request.select)
    request.select = [i for i in wanted if not chosen or i in chosen]
    request.manifest_extra = {**request.manifest_extra, "rerun_of": str(earlier.run_dir.resolve())}
    return earlier


def load_earlier(run_dir: Path) -> EarlierRun:
    path = run_dir / "results.json"
    if not path.is_file():
        raise RerunError(f"{run_dir}: no results.json (the run did not finish); a rerun needs the earlier "
                         "run's manifest — run the whole suite instead")  # fmt: skip
    try:
        document = json.loads(path.read_text())
        rows, manifest = document["rows"], document["manifest"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RerunError(f"{path}: not a results document ({exc})") from None
    if manifest.get("targets"):
        names = ", ".join(str(t.get("name")) for t in manifest["targets"] if isinstance(t, dict))
        raise RerunError(f"{run_dir}: a run of several targets; rerun one target's own directory ({names})")
    if manifest.get("groups"):
        raise RerunError(f"{run_dir}: a run of several groups; rerun one group's own directory "
                         f"({', '.join(manifest['groups'])})")  # fmt: skip
    verdicts = {r["id"]: r["verdict"] for r in rows if r.get("in_scope", True)}
    return EarlierRun(run_dir, manifest, verdicts)


def _config_source(earlier: EarlierRun) -> str:
    source = str(earlier.manifest.get("config_source") or "")
    if not source or not Path(source).is_file():
        raise RerunError(f"{earlier.run_dir}: its configuration file {source or '(unknown)'} is not there; "
                         "give it with --config")  # fmt: skip
    return source
