"""The one redaction step every output of a run passes through: result files, progress lines, test
failure text, junit.xml. Fed by the configuration's secret values (`TargetConfig.secret_values`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape as xml_escape

MASK = "**********"
MIN_SECRET_LENGTH = 3
"""Shorter values are not masked: replacing every 'ab' in the evidence would garble it (and such a
password protects nothing)."""


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        # as written, as HTML and XML escape them (CIM-XML, as pywbem writes it, leaves ' alone), and each of
        # those as JSON escapes it (the recording's CIM-XML is JSON text), so serialized text is redacted too
        escaped = kept | {html.escape(s) for s in kept} | {xml_escape(s, {'"': "&quot;"}) for s in kept}
        forms = escaped | {json.dumps(s)[1:-1] for s in escaped}
        values = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def text(self, value: str) -> str:
        return self._pattern.sub(MASK, value) if self._pattern else value

    def data(self, value: Any) -> Any:
        """A JSON-able value with every string (keys included) redacted."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def summarize_exception(exc_type: str, message: str, frames: list[tuple[str, int, str]]) -> str:
    """What a crash shows instead of pytest's traceback: the exception and where, never frame locals or
    function arguments (they may hold credentials)."""
    where = "; ".join(f"{path}:{line} in {function}" for path, line, function in frames[-3:])
    first = message.strip().splitlines()[0] if message.strip() else ""
    return f"{exc_type}: {first}" + (f" (at {where})" if where else "")
