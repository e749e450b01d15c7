"""Enumeration contexts for the DSP0200 pull operations of the mock CIMOM.

An Open* operation gets the backend's full result, encoded up front; the first page is answered at
once and the rest is kept in an enumeration context that Pull* pages through and CloseEnumeration
drops. An idle context expires after its OperationTimeout.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from pywbem import (
    CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED,
    CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED,
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_INVALID_OPERATION_TIMEOUT,
    CIM_ERR_SERVER_LIMITS_EXCEEDED,
    CIMError,
)

from harness.mock import cimxml_codec as codec
from harness.mock.cimxml_params import invalid

__all__ = [
    "DEFAULT_ENUM_TIMEOUT",
    "MAX_ENUM_CONTEXTS",
    "MAX_ENUM_TIMEOUT",
    "Enumeration",
    "EnumerationContexts",
    "pop_open_options",
]

DEFAULT_ENUM_TIMEOUT = 300  # seconds an idle enumeration context lives (OperationTimeout=NULL)
MAX_ENUM_TIMEOUT = 3600
MAX_ENUM_CONTEXTS = 256


@dataclass
class Enumeration:
    namespace: str
    kind: str  # "instances" | "paths"
    items: list[str]  # pre-encoded VALUE.INSTANCEWITHPATH / INSTANCEPATH elements
    timeout: float
    expires: float
    pos: int = 0


def pop_open_options(p: dict[str, Any], default_timeout: int) -> tuple[int, int]:
    """Take the Open* options out of the typed parameters `p`; return (OperationTimeout, MaxObjectCount).

    Filtered enumerations and ContinueOnError are refused.
    """
    if p.pop("FilterQuery", None) is not None and p.get("FilterQueryLanguage") is None:
        raise invalid("FilterQuery requires FilterQueryLanguage")
    if p.pop("FilterQueryLanguage", None) is not None:
        raise CIMError(CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED, "filtered enumerations are not supported")
    if p.pop("ContinueOnError", False):
        raise CIMError(CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED, "ContinueOnError is not supported")
    timeout = p.pop("OperationTimeout", default_timeout)
    if not 0 < timeout <= MAX_ENUM_TIMEOUT:
        raise CIMError(CIM_ERR_INVALID_OPERATION_TIMEOUT, f"OperationTimeout must be 1..{MAX_ENUM_TIMEOUT} seconds")
    max_count = p.pop("MaxObjectCount", 0)
    return timeout, max_count


class EnumerationContexts:
    """The open enumeration contexts of one dispatcher. Each method returns (result XML, out-params XML)."""

    def __init__(self) -> None:
        self._enums: dict[str, Enumeration] = {}
        self._lock = threading.Lock()

    def open(self, enum: Enumeration, max_count: int) -> tuple[str, str]:
        """First page of a fresh enumeration; a context is kept only if more remains."""
        if len(enum.items) <= max_count:
            return "".join(enum.items), codec.pull_params_xml(True, None)
        with self._lock:
            self._expire()
            if len(self._enums) >= MAX_ENUM_CONTEXTS:
                raise CIMError(CIM_ERR_SERVER_LIMITS_EXCEEDED, "too many open enumeration contexts")
            enum_id = secrets.token_hex(12)
            self._enums[enum_id] = enum
            return self._page(enum_id, enum, max_count)

    def pull(self, namespace: str, enum_id: str, kind: str, count: int) -> tuple[str, str]:
        with self._lock:
            enum = self._take(namespace, enum_id, kind)
            return self._page(enum_id, enum, count)

    def close(self, namespace: str, enum_id: str) -> None:
        with self._lock:
            self._take(namespace, enum_id, None)
            del self._enums[enum_id]

    # -- callers hold self._lock

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, e in self._enums.items() if e.expires < now]:
            del self._enums[key]

    def _page(self, enum_id: str, enum: Enumeration, count: int) -> tuple[str, str]:
        chunk = enum.items[enum.pos : enum.pos + count]
        enum.pos += len(chunk)
        if enum.pos >= len(enum.items):
            del self._enums[enum_id]
            return "".join(chunk), codec.pull_params_xml(True, None)
        enum.expires = time.monotonic() + enum.timeout
        return "".join(chunk), codec.pull_params_xml(False, enum_id)

    def _take(self, namespace: str, enum_id: str, kind: str | None) -> Enumeration:
        self._expire()
        enum = self._enums.get(enum_id)
        if enum is None or enum.namespace.lower() != namespace.lower() or kind not in (None, enum.kind):
            raise CIMError(CIM_ERR_INVALID_ENUMERATION_CONTEXT, f"invalid enumeration context {enum_id!r}")
        return enum
