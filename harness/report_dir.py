"""Where a run writes (`--report-dir`): checked before anything starts, never shared with an earlier run.

- absent: created (with its parents);
- an empty directory: used;
- a directory holding anything: refused, so two runs' files never mix (results.jsonl is appended to as
  rows finish, so a reused directory would hold both runs' rows). With `--force` an earlier run in it is
  replaced: its files are deleted first, but only when every entry is one a run writes (the result
  files, index.html, rerun.json, the recording/ directory, per-target and per-group directories holding the
  same with each target's log beside its directory, or the rejudged/ output of `smis-harness rejudge`);
  anything else there (notes, other tools' files) is never deleted and the directory is refused even
  with `--force`;
- a file, or a place the harness cannot create or write: refused.

Without `--report-dir` each run gets a new `reports/<UTC timestamp>` (`-2`, `-3`... when a run of the
same second has it). A dry run checks the same rules but creates and deletes nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from harness.recording import RECORDING_DIR, RECORDING_FILES
from harness.rejudge import OUT_DIR, REJUDGE_FILE
from harness.report.bundle import RUN_FILES
from harness.report.render import REPORT_NAME
from harness.rerun import CHANGES_FILE
from harness.result_files import default_report_dir

RUN_OUTPUTS = frozenset({*RUN_FILES, REPORT_NAME, CHANGES_FILE, REJUDGE_FILE})
"""Files a run writes into its directory (and into each per-group directory of a multi-group run); the
run's recording goes to its recording/ directory (RECORDING_FILES)."""


class ReportDirError(ValueError):
    """A report directory the run cannot use; the message names it, the cause and the remedy."""


def prepare_report_dir(given: str | None, *, force: bool = False, create: bool = True) -> Path | None:
    """The directory this run writes to, checked (and with `create`, created or emptied and tested by
    writing a probe file). None for a dry run without --report-dir."""
    if given is None:
        return _claim_default() if create else None
    if not given.strip():
        raise ReportDirError("--report-dir: empty directory name; give a directory, or leave it out for reports/<time>")
    path = Path(given).expanduser()
    if path.is_symlink() and not path.exists():
        raise ReportDirError(f"--report-dir {path}: a dangling symbolic link; give a directory")
    if path.exists():
        _check_existing(path, force=force, remove=create)
    else:
        _check_creatable(path)
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportDirError(f"--report-dir {path}: cannot create it: {exc.strerror or exc}") from None
        try:
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            raise ReportDirError(f"--report-dir {path}: cannot write there: {exc.strerror or exc}") from None
    return path


def _claim_default() -> Path:
    base = default_report_dir()
    for attempt in range(1, 100):
        path = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ReportDirError(
                f"cannot create the report directory {path}: {exc.strerror or exc}; give --report-dir DIR"
            ) from None
        return path
    raise ReportDirError(f"{base}: 99 runs of this second already have a directory; give --report-dir DIR")


def _check_existing(path: Path, *, force: bool, remove: bool) -> None:
    if not path.is_dir():
        raise ReportDirError(f"--report-dir {path}: is a file, not a directory; give a directory")
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        raise ReportDirError(f"--report-dir {path}: cannot list it: {exc.strerror or exc}") from None
    if not entries:
        return
    names = ", ".join(e.name for e in entries[:5]) + (", ..." if len(entries) > 5 else "")
    if not force:
        raise ReportDirError(
            f"--report-dir {path}: not empty ({names}); a run never writes into a directory holding other files "
            "(it would mix two runs): give a new directory, leave --report-dir out (reports/<time>), or add "
            "--force to replace an earlier run there"
        )
    foreign = _foreign(path, entries, depth=2)
    if foreign:
        listed = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ReportDirError(
            f"--report-dir {path}: holds files no run writes ({listed}); --force replaces only an earlier run's "
            "files and never deletes others: give another directory"
        )
    if remove:
        try:
            for entry in entries:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        except OSError as exc:
            raise ReportDirError(
                f"--report-dir {path}: cannot remove the earlier run's {exc.filename}: {exc.strerror or exc}"
            ) from None


def _foreign(root: Path, entries: list[Path], *, depth: int) -> list[str]:
    """Entries (relative to root) a run does not write: anything but its output files, and below the top
    level up to `depth` layers of run directories holding only those (a run of several targets: a directory
    per target, and per group of a target of several groups), with each target's `<target>.log` beside it."""
    out: list[str] = []
    for entry in entries:
        if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
            out.append(str(entry.relative_to(root)))
        elif entry.is_file():
            if entry.name not in RUN_OUTPUTS and not _target_log(entry):
                out.append(str(entry.relative_to(root)))
        elif entry.name == RECORDING_DIR:
            out += [str(p.relative_to(root)) for p in sorted(entry.iterdir())
                    if p.is_symlink() or not p.is_file() or p.name not in RECORDING_FILES]  # fmt: skip
        elif depth == 0:
            out.append(f"{entry.relative_to(root)}/")
        else:
            try:  # a target's or a group's run, or rejudge's output (which holds the groups' of a multi-group run)
                below = depth if entry.name == OUT_DIR else depth - 1
                out += _foreign(root, sorted(entry.iterdir()), depth=below)
            except OSError:
                out.append(f"{entry.relative_to(root)}/")
    return out


def _target_log(entry: Path) -> bool:
    """`<target>.log` beside its target's directory (a run of several targets)."""
    return entry.suffix == ".log" and (entry.parent / entry.stem).is_dir()


def _check_creatable(path: Path) -> None:
    parent = path.absolute().parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise ReportDirError(f"--report-dir {path}: cannot be created: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportDirError(f"--report-dir {path}: cannot be created: {parent} is not writable")
