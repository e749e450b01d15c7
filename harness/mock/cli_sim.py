"""The simulated array CLI: a command line in, (stdout, stderr, exit status) out.

Pure with respect to I/O: no sockets, no terminals. `ArrayCLI.run` parses one
command line (several commands may be joined by ``;``), reads or drives the
shared `World` under its lock, reads what show commands print with `cli_views`
and renders replies with `cli_format`.

Wording chosen where no real capture exists (kept stable; clients may rely on it):

* errors go to stderr as ``Error: <message>`` with exit status 1; world refusals
  (`ArrayCommandError`) keep the world's wording, e.g.
  ``Error: Remote copy group G not stopped``;
* unknown command: ``Error: invalid command name "<cmd>"`` (the array's Tcl
  wording, prefixed with ``Error:``); unknown option: ``Error: Invalid option <opt>``;
  a missing group name: ``Error: <cmd> requires a group name`` and a ``Usage:`` line;
* confirmation (setrcopygroup / stoprcopygroup without ``-f``):
  ``Are you sure you want to <op> group(s) <g1>, <g2>?`` then
  ``select q=quit y=yes n=no: ``; ``y``/``yes`` proceeds, ``n``/``q`` or end of
  input does nothing (exit status 0), anything else asks again (three times);
* ``setrcopygroup failover|recover|restore``: one stdout line per group,
  ``Failover started for group <g> (task <id>)``; with ``-waittask`` the command
  blocks until the operation ends and prints ``Task <id> done`` (or
  ``Error: <reason>`` on stderr, exit status 1); ``reverse`` prints
  ``Reverse done for group <g>``;
* ``startrcopygroup`` and ``stoprcopygroup`` print nothing on success (as set
  commands on the array do); ``syncrcopy`` prints
  ``Synchronization request issued for group <g>`` (``-w`` then waits and adds
  ``Synchronization of group <g> completed``);
* ``exit`` / ``quit`` end the command line and ask the caller (the SSH shell) to
  close the session.

Accepted options without an effect in the simulator: setrcopygroup ``-nostart
-nosync -discard -nopromote -nosnap -stopgroups``; stoprcopygroup ``-nosnap
-remote``; syncrcopy ``-N -ovrd``. ``setrcopygroup reverse -local``,
``switchover`` and ``override`` are refused as not supported.
"""

from __future__ import annotations

import fnmatch
import itertools
import shlex
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from harness.mock.cli_format import (
    RemoteCopyView,
    render_showrcopy,
    render_showsys,
    render_showsys_detail,
    render_showversion,
)
from harness.mock.cli_views import (
    group_blocks,
    link_rows,
    release_type,
    system_detail,
    system_row,
    target_rows,
)
from harness.mock.deviations import Deviations
from harness.mock.world import (
    ArrayCommandError,
    Operation,
    OperationResult,
    Replication,
    SyncStatus,
    World,
)

__all__ = ["ArrayCLI", "CommandResult", "Confirm", "OutputSink", "SessionEnv"]

Confirm = Callable[[str], str]
"""Shows a confirmation prompt and returns the answer line; raises EOFError when there is none."""

OutputSink = Callable[[Literal["stdout", "stderr"], str], None]
"""Receives output as it is produced (in order), for callers that stream it (the SSH server)."""

PROMPT_CHOICES = "select q=quit y=yes n=no: "
_YES = {"y", "yes"}
_NO = {"n", "no", "q", "quit"}
_SHOW_FLAGS = frozenset({"-csvtable", "-nohdtot"})


@dataclass
class SessionEnv:
    """Per-session CLI environment (``setclienv``): survives between commands of one session."""

    csvtable: bool = False
    nohdtot: bool = False


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    status: int
    exit_session: bool = False  # `exit`/`quit` was given: the session should close


class _Failed(Exception):
    """Ends one command with a message on stderr and exit status 1."""


@dataclass
class _Args:
    flags: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)


class _Output:
    def __init__(self, sink: OutputSink | None) -> None:
        self.sink = sink
        self.out: list[str] = []
        self.err: list[str] = []

    def write(self, text: str) -> None:
        if text:
            self.out.append(text)
            if self.sink:
                self.sink("stdout", text)

    def error(self, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        self.err.append(text)
        if self.sink:
            self.sink("stderr", text)


@dataclass
class _Context:
    out: _Output
    session: SessionEnv
    confirm: Confirm | None
    abort: threading.Event | None


_task_ids: weakref.WeakKeyDictionary[World, itertools.count[int]] = weakref.WeakKeyDictionary()
_task_ids_lock = threading.Lock()


def _next_task_id(world: World) -> int:
    with _task_ids_lock:
        counter = _task_ids.setdefault(world, itertools.count(1))
        return next(counter)


USAGES = {
    "showrcopy": "Usage: showrcopy [-d] [-csvtable] [-nohdtot] [links|targets|groups [<group_name>|<pattern>...]]",
    "setrcopygroup": "Usage: setrcopygroup {failover|recover|restore|reverse} [options] <group_name>...",
    "startrcopygroup": "Usage: startrcopygroup [-nosync] [-wait] [-t <target_name>] <group_name>",
    "stoprcopygroup": "Usage: stoprcopygroup [-f] [-nosnap] [-remote] [-t <target_name>] <group_name>",
    "syncrcopy": "Usage: syncrcopy [-w] <group_name>",
    "setclienv": "Usage: setclienv {csvtable|nohdtot} {0|1}",
    "showsys": "Usage: showsys [-d] [-csvtable] [-nohdtot]",
    "showversion": "Usage: showversion [-a] [-b] [-s]",
}


class ArrayCLI:
    """The CLI of one simulated array (`array` is the world key, e.g. "primary")."""

    def __init__(
        self,
        world: World,
        array: str,
        deviations: Deviations | None = None,
        *,
        wait_timeout: float = 600.0,
        poll_interval: float = 0.05,
    ) -> None:
        if array not in world.arrays:
            raise KeyError(f"no array {array!r} in the world")
        self.world = world
        self.array = array
        self.deviations = deviations or Deviations()
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self._commands: dict[str, Callable[[list[str], _Context], int]] = {
            "showrcopy": self._showrcopy,
            "setrcopygroup": self._setrcopygroup,
            "startrcopygroup": self._startrcopygroup,
            "stoprcopygroup": self._stoprcopygroup,
            "syncrcopy": self._syncrcopy,
            "showsys": self._showsys,
            "showversion": self._showversion,
            "setclienv": self._setclienv,
        }

    # ----------------------------------------------------------------- entry point
    def run(
        self,
        command_line: str,
        *,
        confirm: Confirm | None = None,
        session: SessionEnv | None = None,
        output: OutputSink | None = None,
        abort: threading.Event | None = None,
    ) -> CommandResult:
        """Run a command line; the exit status is the last command's.

        `confirm` shows a prompt and returns the answer (EOFError: no answer). Without it
        the prompt is printed on stdout and treated as unanswered, like an exec channel
        whose stdin is closed. `output` receives output as produced; `abort` cuts waits short.
        """
        session = session if session is not None else SessionEnv()
        ctx = _Context(_Output(output), session, confirm, abort)
        status = 0
        exit_session = False
        try:
            commands = _split_commands(command_line)
        except ValueError as exc:
            ctx.out.error(f"Error: {exc}")
            commands, status = [], 1
        for argv in commands:
            if not argv:
                continue
            name = argv[0]
            if name in ("exit", "quit"):
                exit_session = True
                status = 0
                break
            handler = self._commands.get(name)
            if handler is None:
                ctx.out.error(f'Error: invalid command name "{name}"')
                status = 1
                continue
            try:
                status = handler(argv[1:], ctx)
            except _Failed as exc:
                ctx.out.error(str(exc))
                status = 1
        return CommandResult("".join(ctx.out.out), "".join(ctx.out.err), status, exit_session)

    # ----------------------------------------------------------------- showrcopy
    def _showrcopy(self, argv: list[str], ctx: _Context) -> int:
        args = _parse_args("showrcopy", argv, flags=_SHOW_FLAGS | {"-d"})
        form = args.positional[0] if args.positional else "all"
        names = args.positional[1:]
        if form not in ("all", "links", "targets", "groups") or (names and form != "groups"):
            bad = form if form not in ("links", "targets", "groups") else names[0]
            raise _Failed(f"Error: Invalid argument {bad}\n{USAGES['showrcopy']}")
        csv, headers = self._table_mode(args, ctx.session)
        missing: list[str] = []
        with self.world.lock:
            if not any(rep.involves(self.array) for rep in self.world.replications):
                ctx.out.write(render_showrcopy(RemoteCopyView(configured=False)))
                return 0
            groups = None
            if form in ("all", "groups"):
                groups, missing = group_blocks(self.world, self.array, names, self.deviations)
            view = RemoteCopyView(
                targets=target_rows(self.world, self.array) if form in ("all", "targets") else None,
                links=link_rows(self.world, self.array) if form in ("all", "links") else None,
                groups=groups,
            )
            text = render_showrcopy(view, csv=csv, headers=headers, detailed="-d" in args.flags)
        ctx.out.write(text)
        for name in missing:
            ctx.out.error(f"Error: group matching {name} does not exist on the system")
        return 1 if missing else 0

    @staticmethod
    def _table_mode(args: _Args, session: SessionEnv) -> tuple[bool, bool]:
        csv = session.csvtable or "-csvtable" in args.flags
        headers = not (session.nohdtot or "-nohdtot" in args.flags)
        return csv, headers

    # ----------------------------------------------------------------- DR commands
    def _setrcopygroup(self, argv: list[str], ctx: _Context) -> int:
        if not argv or argv[0].startswith("-"):
            if argv and argv[0] not in _SETRCOPY_FLAGS | {"-t"}:
                raise _Failed(f"Error: Invalid option {argv[0]}")
            raise _Failed(f"Error: setrcopygroup requires an operation\n{USAGES['setrcopygroup']}")
        op, rest = argv[0], argv[1:]
        if op in ("switchover", "override"):
            raise _Failed(f"Error: {op} is not supported by this simulator")
        if op not in ("failover", "recover", "restore", "reverse"):
            raise _Failed(f"Error: Invalid operation {op}\n{USAGES['setrcopygroup']}")
        args = _parse_args("setrcopygroup", rest, flags=_SETRCOPY_FLAGS, valued={"-t"})
        reverse_how = args.flags & {"-natural", "-current", "-local"}
        if reverse_how and op != "reverse":
            raise _Failed(f"Error: Invalid option {sorted(reverse_how)[0]}")
        if "-local" in reverse_how:
            raise _Failed("Error: -local is not supported by this simulator")
        if len(reverse_how) > 1:
            raise _Failed("Error: -natural and -current cannot be used together")
        groups = self._resolve_groups("setrcopygroup", args)
        question = f"Are you sure you want to {op} group(s) {', '.join(groups)}?"
        if "-f" not in args.flags and not self._ask(ctx, question):
            return 0
        target = args.values.get("-t")
        status = 0
        tasks: list[tuple[int, str, Operation, float]] = []
        for group in groups:
            try:
                with self.world.lock:
                    issued = self.world.now()
                    if op == "reverse":
                        self.world.reverse(self.array, group, _reverse_how(args.flags))
                    else:
                        getattr(self.world, op)(self.array, group, target)
            except ArrayCommandError as exc:
                ctx.out.error(f"Error: {exc}")
                status = 1
                continue
            if op == "reverse":
                ctx.out.write(f"Reverse done for group {group}\n")
                continue
            task = _next_task_id(self.world)
            ctx.out.write(f"{op.capitalize()} started for group {group} (task {task})\n")
            tasks.append((task, group, Operation(op), issued))
        if "-waittask" in args.flags:
            for task, group, operation, issued in tasks:
                problem = self._wait_operation(group, target, operation, issued, ctx.abort)
                if problem:
                    ctx.out.error(f"Error: {problem}")
                    status = 1
                else:
                    ctx.out.write(f"Task {task} done\n")
        return status

    def _startrcopygroup(self, argv: list[str], ctx: _Context) -> int:
        args = _parse_args("startrcopygroup", argv, flags={"-nosync", "-wait", "-pat"}, valued={"-t"})
        groups = self._resolve_groups("startrcopygroup", args)
        target = args.values.get("-t")
        status = 0
        for group in groups:
            try:
                self.world.start_group(self.array, group, target, nosync="-nosync" in args.flags)
            except ArrayCommandError as exc:
                ctx.out.error(f"Error: {exc}")
                status = 1
                continue
            if "-wait" in args.flags:
                problem = self._wait_synced(group, target, ctx.abort)
                if problem:
                    ctx.out.error(f"Error: {problem}")
                    status = 1
        return status

    def _stoprcopygroup(self, argv: list[str], ctx: _Context) -> int:
        args = _parse_args("stoprcopygroup", argv, flags={"-f", "-nosnap", "-remote", "-pat"}, valued={"-t"})
        groups = self._resolve_groups("stoprcopygroup", args)
        question = f"Are you sure you want to stop group(s) {', '.join(groups)}?"
        if "-f" not in args.flags and not self._ask(ctx, question):
            return 0
        status = 0
        for group in groups:
            try:
                self.world.stop_group(self.array, group, args.values.get("-t"))
            except ArrayCommandError as exc:
                ctx.out.error(f"Error: {exc}")
                status = 1
        return status

    def _syncrcopy(self, argv: list[str], ctx: _Context) -> int:
        args = _parse_args("syncrcopy", argv, flags={"-w", "-N", "-ovrd"})
        groups = self._resolve_groups("syncrcopy", args)
        status = 0
        for group in groups:
            try:
                self.world.sync_group(self.array, group)
            except ArrayCommandError as exc:
                ctx.out.error(f"Error: {exc}")
                status = 1
                continue
            ctx.out.write(f"Synchronization request issued for group {group}\n")
            if "-w" in args.flags:
                problem = self._wait_synced(group, None, ctx.abort)
                if problem:
                    ctx.out.error(f"Error: {problem}")
                    status = 1
                else:
                    ctx.out.write(f"Synchronization of group {group} completed\n")
        return status

    def _resolve_groups(self, command: str, args: _Args) -> list[str]:
        if not args.positional:
            raise _Failed(f"Error: {command} requires a group name\n{USAGES[command]}")
        names: list[str] = []
        if "-pat" in args.flags:
            everything = [name for name, _ in self.world.groups_on(self.array)]
            for pattern in args.positional:
                found = [n for n in everything if fnmatch.fnmatchcase(n, pattern)]
                if not found:
                    raise _Failed(f"Error: group matching {pattern} does not exist on the system")
                names += [n for n in found if n not in names]
            return names
        for name in args.positional:
            if not self.world.groups_on(self.array, name):
                raise _Failed(f"Error: group matching {name} does not exist on the system")
            if name not in names:
                names.append(name)
        return names

    def _ask(self, ctx: _Context, question: str) -> bool:
        prompt = f"{question}\n{PROMPT_CHOICES}"
        if ctx.confirm is None:
            ctx.out.write(prompt + "\n")
            return False
        for _ in range(3):
            try:
                answer = ctx.confirm(prompt).strip().lower()
            except EOFError:
                return False
            if answer in _YES:
                return True
            if answer in _NO:
                return False
        return False

    # ----------------------------------------------------------------- waiting (outside the lock)
    def _reps(self, group: str, target: str | None) -> list[Replication]:
        reps = [rep for _, found in self.world.groups_on(self.array, group) for rep in found if not rep.backup]
        if target is not None:
            reps = [r for r in reps if self.world.target_name(self.array, r.peer(self.array).array) == target]
        return reps

    def _wait(self, done: Callable[[], str | None], abort: threading.Event | None, what: str) -> str | None:
        """Poll `done` (under the world lock) until it returns a verdict: "" for success, else a reason."""
        deadline = time.monotonic() + self.wait_timeout
        while True:
            with self.world.lock:
                verdict = done()
            if verdict is not None:
                return verdict or None
            if time.monotonic() >= deadline:
                return f"timed out waiting for {what}"
            if abort is not None and abort.wait(self.poll_interval):
                return f"interrupted while waiting for {what}"
            if abort is None:
                time.sleep(self.poll_interval)

    def _wait_operation(
        self, group: str, target: str | None, operation: Operation, issued: float, abort: threading.Event | None
    ) -> str | None:
        def done() -> str | None:
            reps = self._reps(group, target)
            if any(r.operation is not None and r.operation.operation is operation for r in reps):
                return None
            results: list[OperationResult | None] = [r.last_result for r in reps]
            for result in results:
                if result is None or result.operation is not operation or result.finished < issued:
                    continue
                if not result.ok:
                    return result.message or f"{operation.value} of group {group} failed"
            return ""

        return self._wait(done, abort, f"the {operation.value} of group {group}")

    def _wait_synced(self, group: str, target: str | None, abort: threading.Event | None) -> str | None:
        def done() -> str | None:
            reps = self._reps(group, target)
            pairs = [p for r in reps for p in r.pairs]
            if any(p.sync_status is SyncStatus.SYNCING for p in pairs):
                return None
            stuck = [p for p in pairs if p.sync_status is not SyncStatus.SYNCED]
            return f"group {group} did not synchronize ({stuck[0].sync_status.value})" if stuck else ""

        return self._wait(done, abort, f"the synchronization of group {group}")

    # ----------------------------------------------------------------- system commands
    def _showsys(self, argv: list[str], ctx: _Context) -> int:
        args = _parse_args("showsys", argv, flags=_SHOW_FLAGS | {"-d"})
        if args.positional:
            raise _Failed(f"Error: Invalid argument {args.positional[0]}\n{USAGES['showsys']}")
        csv, headers = self._table_mode(args, ctx.session)
        with self.world.lock:
            if "-d" in args.flags:
                text = render_showsys_detail(system_detail(self.world, self.array))
            else:
                text = render_showsys(system_row(self.world, self.array), csv=csv, headers=headers)
        ctx.out.write(text)
        return 0

    def _showversion(self, argv: list[str], ctx: _Context) -> int:
        args = _parse_args("showversion", argv, flags={"-a", "-b", "-s"})
        if args.positional:
            raise _Failed(f"Error: Invalid argument {args.positional[0]}\n{USAGES['showversion']}")
        release = self.world.arrays[self.array].os_version
        full = render_showversion(release, release_type=release_type(self.world))
        ctx.out.write(release + "\n" if "-s" in args.flags else full)
        return 0

    def _setclienv(self, argv: list[str], ctx: _Context) -> int:
        if len(argv) != 2:
            raise _Failed(f"Error: setclienv requires a parameter and a value\n{USAGES['setclienv']}")
        param, value = argv
        if param in ("listdom", "hafter", "editor"):
            return 0  # accepted, no effect in the simulator
        if param not in ("csvtable", "nohdtot"):
            raise _Failed(f"Error: Invalid parameter {param}\n{USAGES['setclienv']}")
        if value not in ("0", "1"):
            raise _Failed(f"Error: Invalid value {value} for {param}; use 0 or 1")
        setattr(ctx.session, param, value == "1")
        return 0


_SETRCOPY_FLAGS = frozenset(
    {
        "-f",
        "-nostart",
        "-nosync",
        "-discard",
        "-nopromote",
        "-nosnap",
        "-stopgroups",
        "-natural",
        "-current",
        "-local",
        "-waittask",
        "-pat",
    }
)


def _parse_args(
    command: str, argv: list[str], *, flags: set[str] | frozenset[str], valued: set[str] | None = None
) -> _Args:
    """Options may appear anywhere (``-csvtable`` is often appended); names never start with '-'."""
    valued = valued or set()
    args = _Args()
    items = iter(argv)
    for token in items:
        if token.startswith("-") and len(token) > 1:
            if token in flags:
                args.flags.add(token)
            elif token in valued:
                value = next(items, None)
                if value is None:
                    raise _Failed(f"Error: Option {token} requires a value\n{USAGES[command]}")
                args.values[token] = value
            else:
                raise _Failed(f"Error: Invalid option {token}")
        else:
            args.positional.append(token)
    return args


def _split_commands(line: str) -> list[list[str]]:
    """Split on unquoted ';' and words (shell-like quoting)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    lexer.commenters = ""
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) == {";"}:
            commands.extend([] for _ in token)
        else:
            commands[-1].append(token)
    return commands


def _reverse_how(flags: set[str]) -> Literal["swap", "natural", "current"]:
    if "-natural" in flags:
        return "natural"
    return "current" if "-current" in flags else "swap"
