"""Build the simulated worlds from a `harness.world_spec.WorldSpec`: a remote-copy pair, or an SLD trio, with
optional background noise."""

from __future__ import annotations

import dataclasses
import random

from harness.mock.clock import Clock
from harness.mock.target_names import name_targets
from harness.mock.world import Array, Durations, Mode, World
from harness.target_naming import default_target_names
from harness.world_spec import Behaviour, WorldSpec

PAIR_ARRAYS = ("primary", "secondary")
SLD_ARRAYS = ("primary", "sync_secondary", "periodic_secondary")
NOISE_GROUP_SIZE = 100


def build_world(spec: WorldSpec, clock: Clock | None = None, durations: Durations | None = None) -> World:
    rng = random.Random(spec.seed)
    durations = durations or Durations()
    if spec.period is not None:
        durations = dataclasses.replace(durations, period=spec.period)
    world = World(clock=clock, durations=durations, behaviour=spec.behaviour)
    keys = PAIR_ARRAYS if spec.topology == "pair" else SLD_ARRAYS
    for index, key in enumerate(keys):
        world.add_array(_make_array(key, index, rng, spec.behaviour))
    if spec.topology == "pair":
        _build_pair(world, spec, rng)
    else:
        _build_sld(world, spec, rng)
    name_targets(world, spec.target_names or default_target_names(spec.behaviour))
    return world


def _make_array(key: str, index: int, rng: random.Random, behaviour: Behaviour) -> Array:
    system_id = 90000 + rng.randrange(1000, 9999) * 10 + index
    letter = "abc"[index]
    array = Array(
        key=key,
        system_name=f"s3par-sim-{letter}",
        system_id=system_id,
        serial=f"16{system_id % 100000:05d}",
        wwn=f"2FF70002AC{system_id % 0x1000000:06X}",
    )
    if behaviour == "10.5":  # identity shaped as the captured Alletra MP arrays print it
        array.model = "HPE Alletra Storage MP"
        array.os_version = "10.5.0"
        array.serial = f"CZ{system_id:08X}"
    return array


class _VolumeMaker:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.next_id = {key: 100 + rng.randrange(0, 50) for key in world.arrays}

    def make(self, array: str, name: str) -> str:
        arr = self.world.arrays[array]
        vol_id = self.next_id[array]
        self.next_id[array] += 1
        wwn = f"60002AC{arr.system_id % 0x100000:05X}{vol_id:020X}"[:32]
        self.world.add_volume(array, name, vol_id, wwn)
        return name


def _group_mode(index: int) -> Mode:
    return "sync" if index % 2 == 0 else "periodic"


def _build_pair(world: World, spec: WorldSpec, rng: random.Random) -> None:
    world.add_link("primary", "secondary", "IP")
    vols = _VolumeMaker(world, rng)
    for g in range(spec.groups):
        mode = _group_mode(g)
        name = f"rcg_{mode}_{g}"
        pairs = []
        for v in range(spec.volumes_per_group):
            vol = f"{name}.v{v}"
            pairs.append((vols.make("primary", vol), vols.make("secondary", vol)))
        world.add_replication(name, "primary", "secondary", mode, pairs)
    _add_noise(world, spec, vols, "primary", "secondary")


def _build_sld(world: World, spec: WorldSpec, rng: random.Random) -> None:
    world.add_link("primary", "sync_secondary", "FC")
    world.add_link("primary", "periodic_secondary", "IP")
    world.add_link("sync_secondary", "periodic_secondary", "IP")
    vols = _VolumeMaker(world, rng)
    creator_id = world.arrays["primary"].system_id
    for g in range(spec.groups):
        name = f"rcg_sld_{g}"
        secondary_name = f"{name}.r{creator_id}"
        names = [f"{name}.v{v}" for v in range(spec.volumes_per_group)]
        for key in SLD_ARRAYS:
            for vol in names:
                vols.make(key, vol)
        pairs = [(v, v) for v in names]
        world.add_replication(name, "primary", "sync_secondary", "sync", pairs)
        world.add_replication(name, "primary", "periodic_secondary", "periodic", pairs)
        world.add_replication(
            name,
            "sync_secondary",
            "periodic_secondary",
            "periodic",
            pairs,
            source_group_name=secondary_name,
            target_group_name=secondary_name,
            backup=True,
        )
    _add_noise(world, spec, vols, "primary", "sync_secondary")


def _add_noise(world: World, spec: WorldSpec, vols: _VolumeMaker, source: str, target: str) -> None:
    remaining = spec.scale
    index = 0
    while remaining > 0:
        size = min(NOISE_GROUP_SIZE, remaining)
        name = f"noise_{index:04d}"
        pairs = [(vols.make(source, f"{name}.v{v}"), vols.make(target, f"{name}.v{v}")) for v in range(size)]
        world.add_replication(name, source, target, "sync", pairs, noise=True)
        remaining -= size
        index += 1
