"""Test ids that are row ids: `test_table107[T107-02]` rather than every value of the Examples row joined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from harness.spec import ROW_ID

T = TypeVar("T", bound=Callable[..., Any])


def with_row_ids(test: T) -> T:
    """Give each example of a scenario outline test the id of the row in its `id` column (pytest-bdd names an
    example by all its values joined with "-")."""
    marks = []
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize" and len(mark.args) == 2:
            params = [_with_row_id(p) for p in mark.args[1]]
            mark = pytest.mark.parametrize(mark.args[0], params, **mark.kwargs).mark
        marks.append(mark)
    test.pytestmark = marks  # type: ignore[attr-defined]
    return test


def _with_row_id(param: Any) -> Any:
    example = param.values[0] if len(param.values) == 1 else None
    row_id = example.get("id") if isinstance(example, dict) else None
    if not isinstance(row_id, str) or not ROW_ID.fullmatch(row_id):
        return param
    return pytest.param(*param.values, id=row_id, marks=param.marks)
