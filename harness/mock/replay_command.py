"""The `smis-harness mock serve --replay RUN_DIR [--write-config FILE]` command.

Exit 0 after SIGINT/SIGTERM; 2 with one line on stderr for input it cannot serve: no such directory, not
a finished run, no recording, a recording format this harness does not know, a run of several groups
(its per-group directories are served one at a time), options that shape simulated arrays.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.mock.replay_tour import Tour, TourError, load_tour
from harness.rejudge import RejudgeError, RunFiles

NAME = "mock serve --replay"
EXIT_OK, EXIT_USAGE = 0, 2
WORLD_OPTIONS = {"topology": "pair", "groups": 2, "volumes_per_group": 2, "scale": 0, "deviations": None,
                 "seed": 0, "behaviour": "3.1", "target_names": None, "period": None}  # fmt: skip
"""`mock serve` options that shape simulated arrays, with their defaults: a replay serves what was recorded."""


def load_run(given: str) -> Tour:
    """The tour of the run directory `given`. Raises TourError."""
    path = Path(given)
    if not path.exists():
        raise TourError(f"{given}: no such directory")
    if not path.is_dir():
        raise TourError(f"{given}: not a directory (give a run directory: the --report-dir of a run)")
    try:
        return load_tour(RunFiles.from_dir(path))
    except RejudgeError as exc:
        raise TourError(str(exc)) from None
    except OSError as exc:
        raise TourError(f"{given}: cannot read the run ({exc.strerror or exc})") from None


def serve_replay(args: argparse.Namespace) -> int:
    """Serve the recorded run until SIGINT/SIGTERM (the command's exit status)."""
    from harness.command_line import _read_keys, serve_until_signal
    from harness.mock.lab_config import write_lab_config
    from harness.mock.replay_config import replay_builder, replay_header
    from harness.mock.replay_serve import ReplayServers

    shaping = [f"--{name.replace('_', '-')}" for name, default in WORLD_OPTIONS.items()
               if getattr(args, name, default) != default]  # fmt: skip
    if shaping:
        return _usage(f"{', '.join(shaping)}: shape simulated arrays; a replay serves the recorded run as it was")
    if bool(args.tls_cert) != bool(args.tls_key):
        return _usage("give --tls-cert and --tls-key together")
    try:
        tour = load_run(args.replay)
        keys = _read_keys(args.ssh_authorized_keys) if args.ssh_authorized_keys else None
        servers = ReplayServers(tour, log=_log, tls=not args.http, certfile=args.tls_cert, keyfile=args.tls_key,
                                authorized_keys=keys).start()  # fmt: skip
    except TourError as exc:
        return _usage(str(exc))
    except (OSError, ValueError) as exc:
        return _usage(f"{args.replay}: {exc}")

    def write(path: Path) -> list[Path]:
        build = replay_builder(tour.config, tour.group, tour.read_paths)
        return write_lab_config(path, servers.describe(), build=build, header=replay_header(tour.name))

    def stop() -> None:
        servers.stop()
        left = servers.replay.remaining()
        done = len(tour.steps) - len(left)
        ended = "every recorded step replayed" if not left else f"next: {left[0].describe()}"
        _log(f"replay of {tour.name}: stopped after {done} of {len(tour.steps)} steps ({ended}); "
             f"{len(servers.replay.refusals)} requests refused")  # fmt: skip

    return serve_until_signal(servers.describe, stop, args.write_config, write, NAME)


def _usage(text: str) -> int:
    print(f"smis-harness {NAME}: {text}", file=sys.stderr)
    return EXIT_USAGE


def _log(text: str) -> None:
    print(f"smis-harness {NAME}: {text}", file=sys.stderr, flush=True)
