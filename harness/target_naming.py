"""The styles in which the simulated arrays' remote-copy targets are named, and the check of a style.

Styles (`simulated.target_names`, `mock serve --target-names`):

* ``peer``: a target is named after the array it leads to (the 3.1 default);
* ``own``: after the array it is on;
* ``shared``: both ends of a link carry the receiving array's name, as on the
  captured 10.5 pair (the 10.5 default);
* a template with ``{own}``, ``{peer}``, ``{own_id}``, ``{peer_id}`` (system
  names and decimal system ids), e.g. ``rc_{own}_to_{peer}``.

Shared by the target configuration (which checks the style it is given) and the simulator, which names
the targets of its world (`harness.mock.target_names`).
"""

from __future__ import annotations

import string
from typing import Literal

STYLES = ("peer", "own", "shared")
PLACEHOLDERS = ("own", "peer", "own_id", "peer_id")


class TargetNamingError(ValueError):
    """A target naming style that cannot be used; the message says why and what is accepted."""


def default_target_names(behaviour: Literal["3.1", "10.5"]) -> str:
    """The style an array OS generation is simulated with when none is given."""
    return "shared" if behaviour == "10.5" else "peer"


def check_target_names(style: str) -> str:
    """`style` if it is a known style or a usable template; else TargetNamingError naming the problem."""
    if style in STYLES:
        return style
    accepted = f"use {', '.join(STYLES)} or a template with {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
    try:
        parts = list(string.Formatter().parse(style))
    except ValueError as exc:
        raise TargetNamingError(f"target names {style!r}: {exc}; {accepted}") from None
    fields = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    unknown = [name for name, _, _ in fields if name not in PLACEHOLDERS]
    if unknown:
        raise TargetNamingError(f"target names {style!r}: unknown placeholder {{{unknown[0]}}}; {accepted}")
    if any(spec or conversion for _, spec, conversion in fields):
        raise TargetNamingError(f"target names {style!r}: placeholders take no format or conversion; {accepted}")
    if not fields:
        raise TargetNamingError(f"target names {style!r} is neither a style nor a template; {accepted}")
    if any(ch.isspace() for ch in style):
        raise TargetNamingError(f"target names {style!r}: a target name cannot contain spaces; {accepted}")
    return style
