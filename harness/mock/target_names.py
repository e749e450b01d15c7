"""How the administrators of the simulated arrays named their remote-copy targets.

A target is named by whoever created it: nothing ties its name to the array it
leads to. On the captured Alletra MP 10.5 pair both targets are named
`AlletraMP_E18U31`: on D22U27 the target is named after its peer, on E18U31 after
the array itself. Only `showrcopy -d` shows the peer behind a target (SysName,
SysID). The styles (peer, own, shared, templates) and their check are `harness.target_naming`.

Target names are unique on an array: where a style gives an array two targets
of the same name (``own`` or ``shared`` on an array with several targets), the
later one is named after its peer instead.
"""

from __future__ import annotations

from harness.mock.world import Link, World
from harness.target_naming import TargetNamingError, check_target_names


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
