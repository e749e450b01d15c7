"""The conformance suite as a pytest module (collected by `smis-harness run` or `pytest --pyargs harness.suite`)."""
