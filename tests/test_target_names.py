"""How the simulated arrays name their remote-copy targets, and how the CLI uses those names."""

from __future__ import annotations

import pytest

from harness.mock.cli_sim import ArrayCLI
from harness.mock.clock import ManualClock
from harness.mock.target_names import TargetNamingError, check_target_names, name_targets
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import World


def names(world: World) -> dict[tuple[str, str], str]:
    """(array, peer) -> the name `array` gives its target toward `peer`."""
    return {(key, t.peer): t.name for key in world.arrays for t in world.targets(key)}


def system(world: World, key: str) -> str:
    return world.arrays[key].system_name


def test_3_1_names_targets_after_the_peer(clock: ManualClock) -> None:
    world = build_world(WorldSpec(behaviour="3.1"), clock=clock)
    assert names(world) == {("primary", "secondary"): system(world, "secondary"),
                            ("secondary", "primary"): system(world, "primary")}  # fmt: skip


def test_10_5_names_targets_as_the_captured_pair_does(clock: ManualClock) -> None:
    """D22U27 (whose groups E18U31 receives) names its target after E18U31; E18U31 names its own after itself."""
    world = build_world(WorldSpec(behaviour="10.5"), clock=clock)
    receiver = system(world, "secondary")
    assert names(world) == {("primary", "secondary"): receiver, ("secondary", "primary"): receiver}
    assert names(world)[("secondary", "primary")] != system(world, "primary")  # not after the peer


@pytest.mark.parametrize("behaviour", ["3.1", "10.5"])
@pytest.mark.parametrize("style", ["peer", "own", "shared", "rc_{own}_{peer_id}"])
def test_every_style_gives_unique_names_on_every_array(behaviour: str, style: str, clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="sld", behaviour=behaviour, target_names=style), clock=clock)  # type: ignore[arg-type]
    for key in world.arrays:
        listed = [t.name for t in world.targets(key)]
        assert len(listed) == len(set(listed)) == 2


def test_a_name_taken_on_an_array_falls_back_to_the_peer(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="sld", target_names="own"), clock=clock)
    found = names(world)
    assert found[("primary", "sync_secondary")] == system(world, "primary")  # first link: own name
    assert found[("primary", "periodic_secondary")] == system(world, "periodic_secondary")  # taken: the peer's


def test_templates(clock: ManualClock) -> None:
    world = build_world(WorldSpec(target_names="rc_{own_id}_to_{peer}"), clock=clock)
    primary_id = world.arrays["primary"].system_id
    assert names(world)[("primary", "secondary")] == f"rc_{primary_id}_to_{system(world, 'secondary')}"


@pytest.mark.parametrize(
    ("style", "problem"),
    [
        ("{nope}", "unknown placeholder {nope}"),
        ("fixed", "neither a style nor a template"),
        ("a {own}", "cannot contain spaces"),
        ("{own:>9}", "no format"),
        ("{own", "expected '}'"),
    ],
)
def test_unusable_styles_are_refused_with_the_remedy(style: str, problem: str) -> None:
    with pytest.raises(TargetNamingError) as info:
        check_target_names(style)
    assert problem in str(info.value) and "peer, own, shared" in str(info.value)


def test_a_collision_that_cannot_be_resolved_is_refused(clock: ManualClock) -> None:
    world = build_world(WorldSpec(topology="sld"), clock=clock)
    world.arrays["periodic_secondary"].system_name = world.arrays["sync_secondary"].system_name
    with pytest.raises(TargetNamingError, match="two targets named"):
        name_targets(world, "peer")


# --------------------------------------------------------------------------- the CLI uses the target's name


def test_group_rows_and_minus_t_use_the_target_name(clock: ManualClock) -> None:
    world = build_world(WorldSpec(behaviour="10.5", target_names="own"), clock=clock)
    cli = ArrayCLI(world, "secondary")
    own, peer = system(world, "secondary"), system(world, "primary")
    group = world.groups_on("secondary")[0][0]
    text = cli.run(f"showrcopy groups {group}").stdout
    row = text.split("\n")[text.split("\n").index("Group Information") + 3]
    assert row.split()[:2] == [group, own]
    world.set_power("primary", False)
    clock.advance(world.durations.link_detect + 0.01)
    refused = cli.run(f"setrcopygroup failover -f -t {peer} {group}")
    assert (refused.status, refused.stderr) == (1, f"Error: Target {peer} is not a target of group {group}\n")
    assert cli.run(f"setrcopygroup failover -f -t {own} {group}").status == 0
    assert world.groups_on("secondary", group)[0][1][0].side("secondary").role.value == "Primary-Rev"
