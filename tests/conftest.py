"""Shared fixtures: a manual clock and the standard simulated pair world on it."""

import os

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


@pytest.fixture(autouse=True, scope="session")
def _private_lock_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Simulated arrays of the same seed share serials: this session's disruptive runs lock arrays in a
    folder of their own, not the machine's (another test session or a real lab run may hold those)."""
    os.environ["SMIS_HARNESS_LOCK_DIR"] = str(tmp_path_factory.mktemp("array-locks"))

