"""Shared fixtures: a manual clock and the standard simulated pair world on it; the default simulated pair
with one group under test."""

import os
from pathlib import Path

import pytest
import yaml

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



ONE_GROUP = "rcg_sync_0"


@pytest.fixture(scope="session")
def one_group_pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default simulated pair (fixtures/mock-pair.yaml) with one group under test, rcg_sync_0: a run
    whose files (transcript.jsonl, junit.xml, ...) and console are those of one group's run. The default
    itself tours rcg_sync_0 and rcg_periodic_1 together, in one tour (per-group directories, merged rows)."""
    document = yaml.safe_load((Path(__file__).resolve().parents[1] / "fixtures" / "mock-pair.yaml").read_text())
    document["groups"] = [ONE_GROUP]
    path = tmp_path_factory.mktemp("targets") / "mock-pair-one-group.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
