"""Shared fixtures: a manual clock and the standard simulated pair world on it."""

import pytest

from harness.mock.clock import ManualClock
from harness.mock.topology import WorldSpec, build_world
from harness.mock.world import World


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> World:
    return build_world(WorldSpec(topology="pair", groups=2, volumes_per_group=2), clock=clock)
