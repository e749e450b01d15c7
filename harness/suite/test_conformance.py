"""Every documented row, from the packaged feature files."""

from importlib import resources

from pytest_bdd import scenarios

from harness.steps.conformance import *  # noqa: F403  (step definitions must be visible to this module)

scenarios(str(resources.files("harness") / "features"))
