"""A run packed for certification review, and the check that nothing in it was changed.

The archive (.tar.gz, or .zip when the name says so) holds one folder named after the run:
its results, evidence files, the HTML report (rendered afresh from those files), the run
manifest on its own (manifest.json) and SHA256SUMS listing the SHA-256 of every other file
(`sha256sum -c` reads it), optionally signed (SHA256SUMS.sig, OpenSSH SSHSIG, Ed25519). `verify`
reads the archive in memory, never extracts it: it checks every hash, the signature, and that the
report states the verdict the results support. The run's recording (recording/) is packed too; with
`rejudge`, `verify` judges the bundled run again from it (harness.rejudge) and fails on any row whose
bundled verdict is not the one its recorded observations give.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from harness.overall import judge_run
from harness.recording import RECORDING_DIR, RECORDING_FILES
from harness.report.model import ReportError, is_run_dir, load_view
from harness.report.render import REPORT_NAME, render_html
from harness.report.signing import SigningError, sign, verify

SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
RUN_FILES = ("results.json", "results.jsonl", "observations.jsonl", "transcript.jsonl", "junit.xml")


class BundleError(Exception):
    """The run directory or the archive cannot be used; the message says why."""


@dataclass
class Verification:
    archive: Path
    checked: int = 0
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    signature: str = "unsigned"  # unsigned | "signed by SHA256:..." (checked or not) | a failure
    signature_ok: bool = True
    verdict_problems: list[str] = field(default_factory=list)
    sums_sha256: str = ""
    rejudge: list[str] | None = None  # with --rejudge: what judging the recording again said (None: not asked)
    rejudge_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        problems = self.altered or self.missing or self.extra or self.verdict_problems or self.rejudge_problems
        return not problems and self.signature_ok

    def lines(self) -> list[str]:
        out = [f"altered: {name}" for name in self.altered]
        out += [f"missing: {name}" for name in self.missing]
        out += [f"extra (not in {SUMS}): {name}" for name in self.extra]
        out += [f"verdict: {problem}" for problem in self.verdict_problems]
        out += [f"rejudge: {line}" for line in self.rejudge or []]
        out.append(f"{SUMS} sha256: {self.sums_sha256}")
        out.append(f"signature: {self.signature}")
        verdict = "OK" if self.ok else "MISMATCH"
        out.append(f"{verdict}: {self.checked} files listed in {SUMS}; {len(self.altered)} altered, "
                   f"{len(self.missing)} missing, {len(self.extra)} extra")  # fmt: skip
        return out


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle_contents(run_dir: Path) -> dict[str, bytes]:
    """File name -> content for a run directory: its files, manifest.json, index.html, SHA256SUMS
    (and the same for each group's own run directory of a multi-group run)."""
    if not run_dir.exists():
        raise BundleError(f"{run_dir}: no such directory")
    if not is_run_dir(run_dir):
        raise BundleError(f"{run_dir}: not a run directory (neither results.json nor results.jsonl is there)")
    files = _run_files(run_dir)
    manifest = json.loads(files["manifest.json"])
    for sub in (manifest.get("group_runs") or {}).values():
        if is_run_dir(run_dir / str(sub)) and "/" not in str(sub) and str(sub) not in ("", ".", ".."):
            files.update({f"{sub}/{name}": data for name, data in _run_files(run_dir / str(sub)).items()})
    sums = "".join(f"{_sha256(data)}  {name}\n" for name, data in sorted(files.items()))
    files[SUMS] = sums.encode()
    return files


def _run_files(run_dir: Path) -> dict[str, bytes]:
    try:
        view = load_view(run_dir)
    except ReportError as exc:
        raise BundleError(str(exc)) from None
    files = {name: (run_dir / name).read_bytes() for name in RUN_FILES if (run_dir / name).is_file()}
    for name in RECORDING_FILES:
        if (run_dir / RECORDING_DIR / name).is_file():
            files[f"{RECORDING_DIR}/{name}"] = (run_dir / RECORDING_DIR / name).read_bytes()
    files["manifest.json"] = json.dumps(view.manifest or {"complete": False}, indent=2).encode()
    files[REPORT_NAME] = render_html(view).encode("utf-8")
    return files


def make_bundle(
    run_dir: Path | str, out: Path | str | None = None, sign_key: Path | str | None = None,
    passphrase: bytes | None = None,
) -> Path:  # fmt: skip
    """Write the archive; default `<run dir>.tar.gz` beside the run directory; with `sign_key` (Ed25519)
    SHA256SUMS is signed. Returns its path."""
    run_dir = Path(run_dir)
    files = bundle_contents(run_dir)
    if sign_key is not None:
        try:
            files[SIGNATURE] = sign(files[SUMS], sign_key, passphrase).encode()
        except SigningError as exc:
            raise BundleError(f"cannot sign: {exc}") from None
    root = run_dir.resolve().name
    target = Path(out) if out is not None else run_dir.resolve().parent / f"{root}.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    if target.name.endswith(".zip"):
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in sorted(files.items()):
                archive.writestr(f"{root}/{name}", data)
        return target
    with tarfile.open(target, "w:gz") as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mtime, info.mode = len(data), now, 0o644
            archive.addfile(info, io.BytesIO(data))
    return target


def _members(path: Path) -> dict[str, bytes]:
    """Archive member path -> content (regular files only), read without extracting."""
    if not path.is_file():
        raise BundleError(f"{path}: no such file")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
        with tarfile.open(path, "r:*") as archive:
            out = {}
            for member in archive.getmembers():
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    out[member.name] = handle.read()
            return out
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(f"{path}: corrupt or not a bundle archive (.tar.gz or .zip): {first}") from None


def sums_digest(archive: Path | str) -> str:
    """The SHA-256 of the bundle's SHA256SUMS: the one value to compare out of band."""
    members = _members(Path(archive))
    return _sha256(members[_sums_path(Path(archive), members)])


def _sums_path(path: Path, members: dict[str, bytes]) -> str:
    sums_paths = [name for name in members if name == SUMS or name.endswith("/" + SUMS)]
    if len(sums_paths) != 1:
        raise BundleError(f"{path}: not a run bundle ({'no' if not sums_paths else 'more than one'} {SUMS} in it)")
    return sums_paths[0]


def verify_bundle(path: Path | str, pubkey: Path | str | None = None, rejudge: bool = False) -> Verification:
    """Check every file against SHA256SUMS (altered, missing, extra files), the signature (against
    `pubkey` when given; required then), and that index.html states the verdict results.json's rows give;
    with `rejudge`, that judging the bundled recording again gives every bundled verdict."""
    path = Path(path)
    members = _members(path)
    sums_path = _sums_path(path, members)
    prefix = sums_path[: -len(SUMS)]
    listed: dict[str, str] = {}
    for number, line in enumerate(members[sums_path].decode(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise BundleError(f"{path}: {SUMS} line {number} is not '<sha256>  <file>': {line[:80]!r}")
        listed[name.strip()] = digest.lower()
    result = Verification(path, checked=len(listed), sums_sha256=_sha256(members[sums_path]))
    present = {name[len(prefix):]: data for name, data in members.items() if name.startswith(prefix)}
    result.extra = sorted(name for name in members if not name.startswith(prefix))
    for name, digest in sorted(listed.items()):
        if name not in present:
            result.missing.append(name)
        elif _sha256(present[name]) != digest:
            result.altered.append(name)
    result.extra += sorted(prefix + name for name in present if name not in listed and name not in (SUMS, SIGNATURE))
    _check_signature(result, members[sums_path], present.get(SIGNATURE), pubkey)
    result.verdict_problems = _verdict_problems(present)
    if rejudge:
        result.rejudge, result.rejudge_problems = _rejudged(path, present)
    return result


def _rejudged(path: Path, present: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """What judging the bundled run again says, and the differences from the bundled verdicts (problems)."""
    from harness.rejudge import RejudgeError, RunFiles, rejudge

    try:
        result = rejudge(RunFiles(str(path), present))
    except RejudgeError as exc:
        problem = f"cannot judge the bundled run again: {exc}"
        return [problem], [problem]
    problems = [f"{c.row}: bundled {c.was}, its recording gives {c.now}: {c.reason}" for c in result.changes]
    parts = list(result.groups.values()) or [result]
    judged = sum(len(r.judged) for r in parts)
    differing = sum(len(r.differing) for r in parts)
    lines = problems or [f"every bundled verdict is the one its recording gives ({judged} rows judged again)"]
    if differing:
        lines.append(f"{differing} observations rebuilt from the recording differ from observations.jsonl")
    return lines, problems


def _check_signature(result: Verification, sums: bytes, signature: bytes | None, pubkey: Path | str | None) -> None:
    if signature is None:
        result.signature = "unsigned" + (f" (a signature by {pubkey} was required)" if pubkey else "")
        result.signature_ok = pubkey is None
        return
    try:
        signer = verify(sums, signature.decode(errors="replace"), pubkey)
    except SigningError as exc:
        result.signature, result.signature_ok = f"BAD: {exc}", False
        return
    result.signature = (f"good, by the given key {signer}" if pubkey else
                        f"valid, by {signer} (not checked against a trusted key: give --pubkey)")  # fmt: skip


def _verdict_problems(present: dict[str, bytes]) -> list[str]:
    """The verdict and counts rebuilt from results.json's rows must be what results.json and index.html
    state (a hand-edited headline or a report from another run is caught here)."""
    try:
        document = json.loads(present["results.json"])
        rows = document["rows"]
    except (KeyError, ValueError, TypeError):
        return ["results.json is missing or unreadable: the verdict cannot be rebuilt"]
    stated = document.get("overall") or {}
    judged = judge_run(rows, problems=stated.get("problems") or (), final_states=_final_states(document))
    problems = []
    if document.get("verdict") != judged.verdict:
        problems.append(f"results.json states {document.get('verdict')!r}, its rows give {judged.verdict!r}")
    if stated.get("counts") is not None and stated.get("counts") != judged.counts:
        problems.append(f"results.json states counts {stated.get('counts')}, its rows give {judged.counts}")
    html = present.get(REPORT_NAME, b"").decode(errors="replace")
    shown = re.search(r'id="overall" data-overall="([a-z_]+)"', html)
    if not shown or shown.group(1) != judged.verdict:
        problems.append(f"{REPORT_NAME} states {shown.group(1) if shown else 'no verdict'!r}, "
                        f"results.json's rows give {judged.verdict!r}")  # fmt: skip
    return problems


def _final_states(document: dict) -> list:
    final = document.get("final_state") or {}
    return list(final.values()) if "natural" not in final and isinstance(final, dict) else [final]
