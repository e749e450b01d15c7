"""Header-driven reading of the tables the 3PAR / HPE Alletra CLI prints (plain text and CSV).

A plain-text table is read from its header line: every header word marks where its column
starts (dashes around a word, as in ``---Name---``, belong to the column).  Each
whitespace-separated word of a row belongs to the column with the greatest header start at
or before the word's last character, so:

* left-aligned text values (``Name``, ``Status``, ``Options`` ...) start exactly where their
  header word starts, and may hold spaces (``Syncing (42%)``, ``2026-10-09 23:32:20 IST``);
* right-aligned numbers may start before their header word (``12370`` under `` ID  ``);
* columns the parser does not know (``Socks``, ``VV_iter``, a newer OS's additions) are read
  the same way and kept by name, so an extra column never shifts the known ones;
* a word that starts before the start of the previous column's header, or a known text
  value that does not start where its header starts, means the row does not fit its header:
  a :class:`CliParseError` names the line, the section and the column.

CSV tables (``-csvtable``) use the header record's fields as column names; without header
records (``-nohdtot``) the layout is chosen by the number of fields among the layouts the
CLI prints (:attr:`TableSpec.layouts`).
"""

from __future__ import annotations

import bisect
import csv
import re
from dataclasses import dataclass, replace

__all__ = ["CliParseError", "Column", "Line", "TableSpec", "csv_fields", "csv_row", "header_columns", "numbered_lines",
           "parse_int", "plain_row"]  # fmt: skip

_WORD = re.compile(r"\S+")


class CliParseError(ValueError):
    """CLI output that does not match the layout the parser knows: says what was expected, and where."""

    def __init__(
        self, expected: str, lineno: int | None = None, line: str | None = None, section: str | None = None
    ) -> None:
        self.expected, self.lineno, self.line, self.section = expected, lineno, line, section
        where = "" if section is None else f" in section {section!r}"
        where += "" if lineno is None else f" at line {lineno}: {line!r}"
        super().__init__(f"expected {expected}{where}")


@dataclass(frozen=True)
class Line:
    """One line of CLI output: its 1-based number in the input, its text, the section it sits in."""

    no: int
    text: str
    section: str | None = None

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    def error(self, expected: str) -> CliParseError:
        return CliParseError(expected, self.no, self.text, self.section)

    def within(self, section: str) -> Line:
        return replace(self, section=section)


def numbered_lines(text: str) -> list[Line]:
    """Numbered lines (1-based, as in the input), without a leading ``# <command>`` line."""
    lines = [Line(no, line) for no, line in enumerate(text.splitlines(), start=1)]
    first = next((ln for ln in lines if not ln.blank), None)
    if first is not None and first.text.lstrip().startswith("#"):
        lines.remove(first)
    return lines


@dataclass(frozen=True)
class TableSpec:
    """What the parser knows of one table: how to recognise its header, which values it needs.

    Column keys are the header words without dashes; a word that appears twice is keyed with
    the word before it (the volume table's ``LocalVV ID`` and ``RemoteVV ID``).
    """

    what: str  # "a group row": used in messages
    required: tuple[str, ...]  # keys the header must have, the first one first
    values: frozenset[str] = frozenset()  # keys whose value must not be empty
    text: frozenset[str] = frozenset()  # left-aligned known columns: the value starts at the header word
    numbers: frozenset[str] = frozenset()  # right-aligned known columns (integers)
    spaced: frozenset[str] = frozenset()  # known columns whose value may hold spaces
    layouts: tuple[tuple[str, ...], ...] = ()  # column keys of header-less CSV records, by field count

    @property
    def header(self) -> str:
        """The required header words, as printed (``LocalVV ID RemoteVV ID ...``)."""
        return " ".join(key.split()[-1] for key in self.required)

    @property
    def known(self) -> frozenset[str]:
        return self.text | self.numbers


@dataclass(frozen=True)
class Column:
    key: str
    start: int  # 0-based position of the header word (with its dashes)


def _keys(names: list[str]) -> list[str] | None:
    keys = [name if names.count(name) == 1 or i == 0 else f"{names[i - 1]} {name}" for i, name in enumerate(names)]
    return keys if len(set(keys)) == len(keys) and all(keys) else None


def _is_header(keys: list[str] | None, spec: TableSpec) -> bool:
    return keys is not None and bool(keys) and keys[0] == spec.required[0] and set(spec.required) <= set(keys)


def header_columns(line: Line, spec: TableSpec) -> list[Column] | None:
    """The columns of `spec`'s table if `line` is its plain-text header, else None."""
    words = list(_WORD.finditer(line.text))
    keys = _keys([word.group().strip("-") for word in words])
    if keys is None or not _is_header(keys, spec):
        return None
    return [Column(key, word.start()) for key, word in zip(keys, words, strict=True)]


def plain_row(line: Line, columns: list[Column], spec: TableSpec) -> dict[str, str]:
    """The values of a plain-text row, by column key (empty when a column holds nothing)."""
    text = line.text.rstrip()
    starts = [column.start for column in columns]
    spans: dict[int, tuple[int, int]] = {}
    for word in _WORD.finditer(text):
        index = bisect.bisect_right(starts, word.end() - 1) - 1
        if index < 0:
            raise line.error(f"{spec.what} indented by {starts[0]} like its header '{spec.header}'")
        if index > 0 and word.start() <= starts[index - 1]:
            first_column = columns[max(bisect.bisect_right(starts, word.start()) - 1, 0)].key
            raise line.error(
                f"{spec.what} whose values fit the columns of its header "
                f"({word.group()!r} runs from column {first_column} into {columns[index].key})"
            )
        first = spans.get(index, (word.start(), 0))[0]
        spans[index] = (first, word.end())
    values = {column.key: "" for column in columns}
    for index, (begin, end) in spans.items():
        column = columns[index]
        if column.key in spec.text and begin != column.start:
            raise line.error(
                f"{spec.what} aligned with its header: the {column.key} value {text[begin:end]!r} starts at "
                f"position {begin + 1}, its header word at {column.start + 1}"
            )
        values[column.key] = text[begin:end]
    _check(values, line, spec)
    return values


def csv_fields(line: Line) -> list[str]:
    """The fields of a CSV record (values stripped)."""
    try:
        return [value.strip() for value in next(csv.reader([line.text.strip()], strict=True))]
    except (csv.Error, StopIteration) as exc:
        raise line.error(f"a well-formed CSV record ({exc})") from exc


def csv_header(fields: list[str], spec: TableSpec) -> tuple[str, ...] | None:
    """The column keys if the CSV record `fields` is `spec`'s header record, else None."""
    keys = _keys(fields)
    return tuple(keys) if keys is not None and _is_header(keys, spec) else None


def csv_row(fields: list[str], keys: tuple[str, ...] | None, line: Line, spec: TableSpec) -> dict[str, str]:
    """The values of a CSV record under the header `keys` (None: a layout chosen by field count)."""
    if keys is None:
        keys = next((layout for layout in spec.layouts if len(layout) == len(fields)), None)
        if keys is None:
            counts = " or ".join(str(len(layout)) for layout in spec.layouts)
            raise line.error(f"{spec.what} with {counts} CSV fields ({' | '.join(map(','.join, spec.layouts))})")
    elif len(keys) != len(fields):
        raise line.error(f"{spec.what} with {len(keys)} CSV fields like its header record ({','.join(keys)})")
    values = dict(zip(keys, fields, strict=True))
    _check(values, line, spec)
    return values


def _check(values: dict[str, str], line: Line, spec: TableSpec) -> None:
    for key, value in values.items():
        if not value and key in spec.values:
            raise line.error(f"{spec.what} with a value in column {key} ('{spec.header} ...')")
        if " " in value and key in spec.known and key not in spec.spaced:
            raise line.error(f"{spec.what} with a single word in column {key} ('{spec.header} ...')")


def parse_int(value: str, line: Line, column: str, hex_ok: bool = False) -> int:
    """A decimal integer (or ``0x...`` where the CLI prints ids in hex)."""
    if re.fullmatch(r"\d{1,20}", value):
        return int(value)
    if hex_ok and re.fullmatch(r"0[xX][0-9a-fA-F]{1,16}", value):
        return int(value, 16)
    raise line.error(f"an integer in column {column}, not {value!r},")
