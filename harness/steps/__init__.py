"""pytest-bdd step definitions: parse the step text, call the run."""
