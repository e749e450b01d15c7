"""The `smis-harness` command line."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    args.pytest_args = pytest_args
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose == 0:
        # paramiko logs a traceback when an array drops a connection mid-handshake (an array going down);
        # the harness records that as an observation error already
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except BrokenPipeError:  # stdout closed by its reader (`| head`): what was written stands, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smis-harness",
        description="Conformance harness for SMI-S remote-copy disaster-recovery reporting (HP 3PAR CIM API).",
    )
    parser.add_argument("--version", action="version", version=f"smis-harness {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (repeatable)")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser(
        "run",
        help="run the conformance suite (default: the built-in simulated pair and SLD trio, in parallel)",
        description="Run the conformance suite. Exit 0: conformant; 1: some row FAIL or ERROR; 2: usage or "
        "configuration error; 3: incomplete; 4: arrays left out of their natural state. Several --config (or "
        "none: the built-in simulated pair and SLD trio) run each target in a worker process of its own, each "
        "into <report-dir>/<target>/, with one combined results.json and report. Arguments after `--` go to "
        "pytest.",
    )
    run.add_argument("--config", metavar="FILE", action="append",
                     help="target configuration YAML; repeat it for several targets (default: the built-in "
                          "simulated pair and SLD trio)")  # fmt: skip
    run.add_argument("--jobs", type=_positive, metavar="N",
                     help="with several targets: how many run at once (default: one per target, at most one "
                          "per CPU core)")  # fmt: skip
    run.add_argument("--deviations", metavar="FILE", help="deviations for the built-in simulated arrays")
    run.add_argument(
        "--report-dir",
        metavar="DIR",
        help="where results go: a new or empty directory (default: a new reports/<timestamp>)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="--report-dir holds an earlier run: delete that run's files first (never other files)",
    )
    run.add_argument("--allow-disruptive", action="store_true", help="allow DR commands and fault actions")
    run.add_argument("--dry-run", action="store_true", help="print the planned steps; touch nothing")
    run.add_argument("--rerun", metavar="RUN_DIR",
                     help="run again only the rows RUN_DIR left FAIL, ERROR, NOT_OBSERVED or undecided, with "
                          "its configuration (hash checked); rerun.json lists the changed verdicts")  # fmt: skip
    run.add_argument("select", nargs="*", help="row ids or tags to run (e.g. T107-02 table106 rules)")
    run.set_defaults(handler=_run)

    report = commands.add_parser(
        "report",
        help="write the HTML compliance report of a run directory (or a combined matrix of several)",
        description="Regenerate index.html from a run directory's files (results.json, or results.jsonl + "
        "observations.jsonl of an interrupted run). With several run directories, write one combined matrix "
        "(rows by runs) into --out. Exit 0: written; 2: a path is not a readable run directory.",
    )
    report.add_argument("paths", nargs="+", metavar="RUN_DIR", help="run directories")
    report.add_argument("--out", metavar="DIR", help="where index.html goes (default: the run directory itself)")
    report.set_defaults(handler=_report)

    bundle = commands.add_parser(
        "bundle",
        help="pack a run for certification review (.tar.gz with SHA256SUMS), or verify such a bundle",
        description="Pack RUN_DIR (results, evidence, manifest, report, SHA256SUMS) into a .tar.gz (.zip if --out "
        "ends in .zip) and print the SHA-256 of its SHA256SUMS (compare it out of band); --sign KEY signs "
        "SHA256SUMS with an Ed25519 key (OpenSSH SSHSIG, namespace smis-harness; passphrase from "
        "$SMIS_HARNESS_SIGN_PASSPHRASE). With --verify FILE check every hash, the signature (against --pubkey "
        "when given) and that the report states the verdict results.json's rows give. Exit 0: written / "
        "verified; 1: files altered, missing or extra, a bad or missing signature, or a verdict mismatch; "
        "2: missing or unusable run directory, archive or key.",
    )
    bundle.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="the run directory to pack")
    bundle.add_argument("--out", metavar="FILE", help="archive to write (default: <RUN_DIR>.tar.gz beside it)")
    bundle.add_argument("--verify", metavar="FILE", help="check a bundle instead of writing one")
    bundle.add_argument("--sign", metavar="KEY", help="sign SHA256SUMS with this Ed25519 private key")
    bundle.add_argument("--pubkey", metavar="KEY", help="with --verify: the signature must be by this public key")
    bundle.add_argument("--rejudge", action="store_true",
                        help="with --verify: also judge the bundled run again from its recording; any verdict that "
                             "differs from the bundled one fails the verification")  # fmt: skip
    bundle.set_defaults(handler=_bundle)

    rejudge = commands.add_parser(
        "rejudge",
        help="judge recorded runs again with this harness's code, offline (from each run's recording/)",
        description="Rebuild each run's observations from its recording (CLI text through the harness's parser, "
        "CIM answers through its conversion), judge every row again with the current code, write the new "
        "results.json and report to --out (default <RUN_DIR>/rejudged/; with several runs, one directory each "
        "under --out) and print the rows whose verdict changed. Exit 0: every verdict as recorded; 1: some "
        "verdict changed; 2: not a run directory, no recording, unreadable files.",
    )
    rejudge.add_argument("paths", nargs="+", metavar="RUN_DIR", help="run directories (with recording/)")
    rejudge.add_argument("--out", metavar="DIR", help="where the re-judged results go (default <RUN_DIR>/rejudged)")
    rejudge.set_defaults(handler=_rejudge)

    restore = commands.add_parser(
        "restore",
        help="return a group to its natural state from wherever it is (a lab pair left failed over)",
        description="Connect with a run's preflight (identity, targets, the group on every array; not its "
        "state), see which stage the arrays show, and drive the group back to natural, printing each command. "
        "Needs `safety: disruptive: true` in the file and --allow-disruptive. Exit 0: natural afterwards; "
        "2: usage or configuration; 4: not natural (the commands to run by hand are printed).",
    )
    restore.add_argument("--config", metavar="FILE", required=True, help="target configuration YAML")
    restore.add_argument("--group", metavar="G", help="the group (default: the config's first group)")
    restore.add_argument("--allow-disruptive", action="store_true", help="consent to DR commands and actions")
    restore.add_argument("--report-dir", metavar="DIR", help="where the transcript goes (default reports/<time>)")
    restore.set_defaults(handler=_restore)

    selftest = commands.add_parser(
        "selftest",
        help="prove the harness catches deliberate provider deviations: clean targets and every profile, "
        "each checked against its answer key",
        description="Run the clean simulated targets (the pair with every group it lists, the SLD trio) and every "
        "deviation profile (fixtures/deviations/*.yaml) on its `expect: target`, each as its own `smis-harness run`, "
        "and compare each run's rows in scope with the profile's answer key: a listed row with another verdict is "
        "missed, an unlisted row not PASS a false alarm, a clean target's row not PASS a flake, a run that crashed, "
        "was interrupted or ended in error an error. Prints the detection matrix and totals; writes selftest.json "
        "and index.html into --report-dir. Exit 0: 100 %% detection, no false alarm, no error, no flake; 1: "
        "otherwise (the reason is the last line); 2: usage error.",
    )
    selftest.add_argument("--jobs", type=_positive, default=1, metavar="N",
                          help="runs at once (default 1); each run drives simulated arrays of its own")  # fmt: skip
    selftest.add_argument("--runs", type=_non_negative, default=1, metavar="K",
                          help="run each clean target K times (default 1; 0: profiles only); any row in scope "
                          "not PASS on a clean target is a flake")  # fmt: skip
    selftest.add_argument("--report-dir", metavar="DIR",
                          help="a new or empty directory (default: a new reports/selftest-<timestamp>)")  # fmt: skip
    selftest.add_argument("--profiles", metavar="GLOB", action="append",
                          help="profile files: a glob, a file or a directory (repeatable; default "
                          "fixtures/deviations/*.yaml; '' or none: no profile, the clean targets only)")  # fmt: skip
    selftest.set_defaults(handler=_selftest)

    bench = commands.add_parser(
        "bench",
        help="measure the harness's speed and memory figures against their baselines (bench/README.md)",
        description="Runs bench/bench_suite.py of a source checkout: every figure of bench/README.md measured "
        "against its baseline in this one process run; prints a table and, as the last stdout line, one JSON "
        "object with the figures; writes bench/results/bench-<date>.json. A few minutes; --quick: about two.",
    )
    bench.add_argument("--quick", action="store_true", help="small scale, one sample each (proves the bench works)")
    bench.add_argument("--out", metavar="FILE", help="where the JSON results go (default bench/results/)")
    bench.add_argument("--keep", metavar="DIR", help="keep the runs' report dirs and logs in DIR")
    bench.set_defaults(handler=_bench)

    mock = commands.add_parser("mock", help="the built-in simulated arrays")
    mock_commands = mock.add_subparsers(title="mock commands")
    serve = mock_commands.add_parser(
        "serve",
        help="start simulated arrays on loopback; print one JSON line describing them; serve until SIGINT/SIGTERM",
    )
    serve.add_argument("--topology", choices=["pair", "sld"], default="pair")
    serve.add_argument("--groups", type=_positive, default=2, help="remote-copy groups under test (default 2)")
    serve.add_argument("--volumes-per-group", type=_positive, default=2)
    serve.add_argument("--scale", type=_non_negative, default=0, help="extra noise volume pairs in other groups")
    serve.add_argument("--deviations", metavar="FILE", help="YAML file of deliberate provider deviations")
    serve.add_argument("--seed", type=int, default=0, help="seed for identities and volume ids")
    serve.add_argument("--behaviour", choices=["3.1", "10.5"], default="3.1", help="array OS behaviour to model")
    serve.add_argument(
        "--target-names",
        type=_target_names,
        metavar="STYLE",
        help="how arrays name their remote-copy targets: peer, own, shared or a template with {own} {peer} "
        "{own_id} {peer_id} (default: peer on 3.1, shared on 10.5, as on the captured pair)",
    )
    serve.add_argument(
        "--period", type=_positive_seconds, metavar="SECONDS", help="periodic groups sync every SECONDS (default 300)"
    )
    serve.add_argument("--http", action="store_true", help="serve CIM-XML over plain HTTP instead of HTTPS")
    serve.add_argument("--tls-cert", metavar="PEM", help="certificate to serve (default: self-signed, made at start)")
    serve.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    serve.add_argument(
        "--ssh-authorized-keys", metavar="FILE", help="OpenSSH public keys allowed to log in (besides the password)"
    )
    serve.add_argument(
        "--write-config",
        metavar="FILE",
        help="also write a lab-style target config for these arrays (secrets in mode-600 files beside it)",
    )
    serve.add_argument(
        "--replay",
        metavar="RUN_DIR",
        help="serve a recorded run (one group's run directory) instead of simulated arrays: the endpoints answer "
        "what the recorded arrays answered at the same point of the tour; with --write-config, `run` against it "
        "reproduces the recorded verdicts offline",
    )
    serve.set_defaults(handler=_mock_serve)
    ctl = mock_commands.add_parser(
        "ctl",
        help="send one request to a running `mock serve`'s control interface",
        description="Send ACTION with KEY=VALUE fields (e.g. `array_down array=primary`, `link a=primary "
        "b=secondary up=false`) to the control interface named in FILE (written by `mock serve --write-config`). "
        "Exit 0: done (the answer is printed); 1: refused; 2: usage error or unreachable.",
    )
    ctl.add_argument("--control", metavar="FILE", required=True, help="the control file (url and token)")
    ctl.add_argument("action", help="array_down, array_up, link, fail_next, force_sync_status, reset_to_new, "
                     "set_durations, state")  # fmt: skip
    ctl.add_argument("fields", nargs="*", metavar="KEY=VALUE", help="the action's fields")
    ctl.set_defaults(handler=_mock_ctl)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, got {text}")
    return value


def _target_names(text: str) -> str:
    from harness.target_naming import TargetNamingError, check_target_names

    try:
        return check_target_names(text)
    except TargetNamingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    from harness.run_command import RunRequest, run_suite

    configs: list[str] = args.config or []
    request = RunRequest(
        config=configs[0] if len(configs) == 1 else None,
        deviations=args.deviations,
        report_dir=args.report_dir,
        allow_disruptive=args.allow_disruptive,
        dry_run=args.dry_run,
        force=args.force,
        select=args.select,
        pytest_args=args.pytest_args,
        rerun=args.rerun,
    )
    if len(configs) > 1 or (not configs and not args.rerun):
        from harness.multi_target import run_targets

        return run_targets(request, configs, args.jobs)
    return run_suite(request)


def _bench(args: argparse.Namespace) -> int:
    bench_dir = Path(__file__).resolve().parents[1] / "bench"
    if not (bench_dir / "bench_suite.py").is_file():
        print(f"smis-harness bench: needs the bench/ directory of a source checkout (not found at {bench_dir}); "
              "clone the repository and `pip install -e .` there", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    sys.path.insert(0, str(bench_dir))
    import bench_suite

    options = ["--quick"] if args.quick else []
    for name in ("out", "keep"):
        if getattr(args, name):
            options += [f"--{name}", getattr(args, name)]
    return int(bench_suite.main(options))


def _selftest(args: argparse.Namespace) -> int:
    from harness.selftest import run_command

    if args.pytest_args:
        print("smis-harness selftest: takes no arguments after `--`", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args)


def _restore(args: argparse.Namespace) -> int:
    from harness.restore import restore_group

    return restore_group(args.config, args.group, args.allow_disruptive, args.report_dir)


def _report(args: argparse.Namespace) -> int:
    from harness.report.model import ReportError
    from harness.report.render import render_combined, render_run
    from harness.report.targets import is_targets_run, render_targets_report

    try:
        if len(args.paths) == 1 and is_targets_run(Path(args.paths[0])):
            path = render_targets_report(Path(args.paths[0]), Path(args.out) if args.out else None)
        elif len(args.paths) == 1:
            path = render_run(args.paths[0], args.out)
        elif not args.out:
            print("smis-harness report: several run directories make one combined matrix: give --out DIR",
                  file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        else:
            path = render_combined(args.paths, args.out)
    except ReportError as exc:
        print(f"smis-harness report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"smis-harness report: cannot write the report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(path)
    return EXIT_OK


def _bundle(args: argparse.Namespace) -> int:
    from harness.report.bundle import BundleError, make_bundle, sums_digest, verify_bundle

    if bool(args.verify) == bool(args.run_dir):
        print("smis-harness bundle: give either RUN_DIR (to pack) or --verify FILE (to check)", file=sys.stderr)
        return EXIT_USAGE
    if (args.sign and args.verify) or ((args.pubkey or args.rejudge) and not args.verify):
        print("smis-harness bundle: --sign goes with RUN_DIR, --pubkey and --rejudge with --verify", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.verify:
            result = verify_bundle(args.verify, args.pubkey, rejudge=args.rejudge)
            for line in result.lines():
                print(line)
            return EXIT_OK if result.ok else EXIT_FAILED
        passphrase = os.environ.get("SMIS_HARNESS_SIGN_PASSPHRASE")
        path = make_bundle(args.run_dir, args.out, args.sign, passphrase.encode() if passphrase else None)
        print(f"SHA256SUMS sha256: {sums_digest(path)}" + ("  (signed)" if args.sign else ""))
    except BundleError as exc:
        print(f"smis-harness bundle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"smis-harness bundle: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(path)
    return EXIT_OK


def _rejudge(args: argparse.Namespace) -> int:
    from harness.rejudge import run_rejudge

    return run_rejudge(args.paths, args.out)


def _mock_serve(args: argparse.Namespace) -> int:
    if args.replay is not None:
        from harness.mock.replay_command import serve_replay

        return serve_replay(args)
    from harness.deviation_format import DeviationError, load_deviations
    from harness.mock.lab_config import write_lab_config
    from harness.mock.service import SimulatedArrays
    from harness.world_spec import WorldSpec

    spec = WorldSpec(
        topology=args.topology,
        groups=args.groups,
        volumes_per_group=args.volumes_per_group,
        scale=args.scale,
        seed=args.seed,
        behaviour=args.behaviour,
        target_names=args.target_names,
        period=args.period,
    )
    if bool(args.tls_cert) != bool(args.tls_key):
        print("smis-harness mock serve: give --tls-cert and --tls-key together", file=sys.stderr)
        return EXIT_USAGE
    try:
        deviations = load_deviations(args.deviations) if args.deviations else None
        keys = _read_keys(args.ssh_authorized_keys) if args.ssh_authorized_keys else None
        sim = SimulatedArrays(
            spec,
            deviations=deviations,
            tls=not args.http,
            certfile=args.tls_cert,
            keyfile=args.tls_key,
            authorized_keys=keys,
        )
        sim.start()
    except (DeviationError, OSError, ValueError) as exc:
        print(f"smis-harness mock serve: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def write(path: Path) -> list[Path]:
        return write_lab_config(path, sim.describe(), sim.world.durations)

    return serve_until_signal(sim.describe, sim.stop, args.write_config, write)


def serve_until_signal(describe: Callable[[], dict[str, Any]], stop: Callable[[], None], write_config: str | None,
                       write: Callable[[Path], list[Path]], name: str = "mock serve") -> int:  # fmt: skip
    """Write the configuration (if asked), print the JSON line, serve until SIGINT/SIGTERM, then stop the
    servers and remove the secret files written."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    written: list[Path] = []
    try:
        if write_config:
            try:
                written = write(Path(write_config))
            except OSError as exc:
                print(f"smis-harness {name}: cannot write --write-config {write_config}: "
                      f"{exc.strerror or exc} ({exc.filename or write_config})", file=sys.stderr)  # fmt: skip
                return EXIT_USAGE
        print(json.dumps(describe()), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stop()
        for path in written:
            path.unlink(missing_ok=True)
    return EXIT_OK


def _mock_ctl(args: argparse.Namespace) -> int:
    from harness.control_client import (
        ControlClientError,
        ControlRefused,
        post_control,
        read_control_file,
        request_body,
    )

    try:
        body = request_body(args.action, args.fields)
        endpoint = read_control_file(Path(args.control))
    except ControlClientError as exc:
        print(f"smis-harness mock ctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        answer = post_control(endpoint, body)
    except ControlClientError as exc:
        print(f"smis-harness mock ctl: {exc}", file=sys.stderr)
        return EXIT_FAILED if isinstance(exc, ControlRefused) else EXIT_USAGE
    print(json.dumps(answer))
    return EXIT_OK


def _read_keys(path: str) -> list[str]:
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


if __name__ == "__main__":
    sys.exit(main())
