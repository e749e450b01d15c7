"""Every documented row, from the packaged feature files: one test per row, its id the row's id
(`test_table107[T107-02]`)."""

from importlib import resources

from pytest_bdd import scenario

from harness.steps.conformance import *  # noqa: F403  (step definitions must be visible to this module)
from harness.steps.row_ids import with_row_ids

FEATURES = resources.files("harness") / "features"


@with_row_ids
@scenario(str(FEATURES / "table106.feature"), "<id> volumes <SyncStatus> in normal operation")
def test_table106() -> None:
    """Table 106: normal operation, on both arrays."""


@with_row_ids
@scenario(str(FEATURES / "table107.feature"), "<id> <sequence of events>")
def test_table107() -> None:
    """Table 107: the DR sequence."""


@with_row_ids
@scenario(str(FEATURES / "sld.feature"), "<id> <title>")
def test_sld() -> None:
    """The SLD backup link."""


@with_row_ids
@scenario(str(FEATURES / "rules.feature"), "<id> <rule>")
def test_rules() -> None:
    """The rules around the tables, over every observation."""
