"""The client side of the simulator's control interface (harness.mock.control is the server).

It is not part of the simulator: the harness's `kind: simulator` actions talk to arrays that may be
served by another process (`mock serve`), so only the JSON over HTTP ties the two.

`post_control` sends one request (the runner's `kind: simulator` actions use it);
`smis-harness mock ctl --control FILE ACTION [KEY=VALUE ...]` uses it from a shell or a
`kind: script` action. FILE holds the control url and token (written by
`mock serve --write-config`, mode 600), so the token never appears on a command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr


class ControlClientError(Exception):
    """A control request that could not be sent or was refused; the message says which and why."""


class ControlRefused(ControlClientError):
    """The simulator answered and refused the request (unknown array, invalid field...)."""


@dataclass(frozen=True)
class ControlEndpoint:
    url: str
    token: SecretStr


def post_control(endpoint: ControlEndpoint, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """POST one control request; returns the answer (`{"ok": true, "state": ...}`)."""
    request = urllib.request.Request(
        endpoint.url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {endpoint.token.get_secret_value()}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return dict(json.loads(reply.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):  # the server answers {"error": "..."}
            detail = str(json.loads(detail).get("error", detail))
        raise ControlRefused(f"the simulator refused {body}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ControlClientError(
            f"the simulator's control interface at {endpoint.url} is unreachable ({reason}); is `mock serve` running?"
        ) from None


def write_control_file(path: Path, endpoint: ControlEndpoint) -> None:
    """The url and token as JSON, readable by the owner only (mode 600 from creation)."""
    data = json.dumps({"url": endpoint.url, "token": endpoint.token.get_secret_value()}) + "\n"
    write_private(path, data)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 600, never readable by others even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its old mode through O_CREAT
        handle.write(text)


def read_control_file(path: Path) -> ControlEndpoint:
    try:
        data = json.loads(path.read_text())
        return ControlEndpoint(url=str(data["url"]), token=SecretStr(str(data["token"])))
    except FileNotFoundError:
        raise ControlClientError(
            f"no control file {path}: `mock serve --write-config FILE` writes it beside FILE"
        ) from None
    except OSError as exc:
        raise ControlClientError(f"cannot read the control file {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError):
        raise ControlClientError(
            f"the control file {path} is not a JSON object with url and token (as `mock serve --write-config` "
            "writes it)"
        ) from None


def request_body(action: str, fields: Sequence[str]) -> dict[str, Any]:
    """`array_down`, `["array=primary", "scope=links"]` -> the JSON body; a value that reads as JSON
    (false, 3.5, {"recover": 3}) is taken as such, anything else as text."""
    body: dict[str, Any] = {"action": action}
    for item in fields:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ControlClientError(f"{item!r} is not KEY=VALUE (e.g. array=primary, up=false)")
        try:
            body[key] = json.loads(text)
        except ValueError:
            body[key] = text
    return body
