"""How the administrators of the simulated arrays named their remote-copy targets.

A target is named by whoever created it: nothing ties its name to the array it
leads to. On the captured Alletra MP 10.5 pair both targets are named
`AlletraMP_E18U31`: on D22U27 the target is named after its peer, on E18U31 after
the array itself. Only `showrcopy -d` shows the peer behind a target (SysName,
SysID). Styles (`simulated.target_names`, `mock serve --target-names`):

* ``peer``: a target is named after the array it leads to (the 3.1 default);
* ``own``: after the array it is on;
* ``shared``: both ends of a link carry the receiving array's name, as on the
  captured 10.5 pair (the 10.5 default);
* a template with ``{own}``, ``{peer}``, ``{own_id}``, ``{peer_id}`` (system
  names and decimal system ids), e.g. ``rc_{own}_to_{peer}``.

Target names are unique on an array: where a style gives an array two targets
of the same name (``own`` or ``shared`` on an array with several targets), the
later one is named after its peer instead.
"""

from __future__ import annotations

import string
from typing import Literal

from harness.mock.world import Link, World

__all__ = ["PLACEHOLDERS", "STYLES", "TargetNamingError", "check_target_names", "default_target_names", "name_targets"]

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


def name_targets(world: World, style: str) -> None:
    """Name both ends' targets of every link of `world` in `style` (links in creation order)."""
    check_target_names(style)
    taken: dict[str, set[str]] = {key: set() for key in world.arrays}
    for link in world.links:
        for array in (link.a, link.b):
            name = _name(world, link, array, style)
            peer_name = world.arrays[link.other(array)].system_name
            if name in taken[array]:
                name = peer_name
            if name in taken[array]:
                raise TargetNamingError(f"target names {style!r} give {array} two targets named {name}")
            taken[array].add(name)
            link.names[array] = name


def _name(world: World, link: Link, array: str, style: str) -> str:
    own, peer = world.arrays[array], world.arrays[link.other(array)]
    if style == "peer":
        return peer.system_name
    if style == "own":
        return own.system_name
    if style == "shared":
        return world.arrays[link.b].system_name
    return style.format(own=own.system_name, peer=peer.system_name, own_id=own.system_id, peer_id=peer.system_id)
