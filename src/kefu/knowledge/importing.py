"""Parse a CSV or JSON import into rows with line numbers (no database; the service validates and writes).

CSV columns (header row required): question, answer, variants, category, tags, language[, status];
variants and tags are separated by `|`. JSON: a list of objects with the same keys (variants and tags
as lists or `|`-separated strings), or {"entries": [...]}.

A refused file is a BadRequest / TooLarge whose message is English for programs and whose details are
`{"code": ImportProblem, "params": {...}}`, so a page can say the same in its own language.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kefu.core.errors import BadRequest, KefuError, TooLarge

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_JSON_DEPTH = 8  # {"entries": [{"variants": ["…"]}]} nests 4 deep
CSV_COLUMNS = ("question", "answer", "variants", "category", "tags", "language", "status")
REQUIRED_COLUMNS = ("question", "answer")
LIST_FIELDS = ("variants", "tags")


class ImportProblem(StrEnum):
    """Why a whole file is refused (the `code` in the error's details)."""

    TOO_LARGE = "file_too_large"  # params: max_mb
    NOT_UTF8 = "not_utf8"
    NO_ENTRIES = "no_entries"
    TOO_MANY_ROWS = "too_many_rows"  # params: rows, limit
    MISSING_COLUMNS = "csv_missing_columns"  # params: expected, missing
    UNKNOWN_COLUMNS = "csv_unknown_columns"  # params: unknown
    EXTRA_FIELDS = "csv_extra_fields"  # params: line
    MALFORMED_CSV = "csv_malformed"  # params: line, reason
    INVALID_JSON = "json_invalid"  # params: line, column, reason
    NOT_A_LIST = "json_not_a_list"
    NOT_AN_OBJECT = "json_entry_not_an_object"  # params: line
    TOO_DEEP = "json_too_deep"  # params: max_depth


def refuse(problem: ImportProblem, message: str, *, too_large: bool = False, **params: Any) -> KefuError:
    error = TooLarge if too_large else BadRequest
    return error(message, details={"code": str(problem), "params": params})


@dataclass(frozen=True)
class ImportRow:
    line: int  # CSV: the physical line of the record; JSON: the 1-based item number
    data: dict[str, Any]


def parse_import(raw: bytes, fmt: str) -> list[ImportRow]:
    if len(raw) > MAX_IMPORT_BYTES:
        max_mb = MAX_IMPORT_BYTES // (1024 * 1024)
        raise refuse(ImportProblem.TOO_LARGE, f"import file is larger than {max_mb} MB", too_large=True, max_mb=max_mb)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(ImportProblem.NOT_UTF8, "import file is not UTF-8 text") from exc
    rows = parse_csv(text) if fmt == "csv" else parse_json(text)
    if not rows:
        raise refuse(ImportProblem.NO_ENTRIES, "import file has no entries")
    if len(rows) > MAX_IMPORT_ROWS:
        message = f"import has {len(rows)} entries; the limit is {MAX_IMPORT_ROWS} per file"
        raise refuse(ImportProblem.TOO_MANY_ROWS, message, too_large=True, rows=len(rows), limit=MAX_IMPORT_ROWS)
    return rows


def parse_csv(text: str) -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        expected, absent = ", ".join(CSV_COLUMNS[:6]), ", ".join(missing)
        message = f"CSV header must name the columns {expected}; missing: {absent}"
        raise refuse(ImportProblem.MISSING_COLUMNS, message, expected=expected, missing=absent)
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if unknown:
        names = ", ".join(unknown)
        raise refuse(ImportProblem.UNKNOWN_COLUMNS, f"CSV header has unknown column(s): {names}", unknown=names)
    reader.fieldnames = header
    rows: list[ImportRow] = []
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any((v or "").strip() for k, v in record.items() if k is not None):
                continue
            if None in record:
                message = f"line {start}: more fields than the header has columns"
                raise refuse(ImportProblem.EXTRA_FIELDS, message, line=start)
            rows.append(ImportRow(start, _clean({k: v for k, v in record.items() if v is not None and v != ""})))
    except csv.Error as exc:
        line = reader.line_num
        message = f"line {line}: CSV is malformed: {exc}"
        raise refuse(ImportProblem.MALFORMED_CSV, message, line=line, reason=str(exc)) from exc
    return rows


def parse_json(text: str) -> list[ImportRow]:
    message = f"import nests deeper than {MAX_JSON_DEPTH} levels; entries are flat objects"
    too_deep = refuse(ImportProblem.TOO_DEEP, message, max_depth=MAX_JSON_DEPTH)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"import is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        raise refuse(ImportProblem.INVALID_JSON, message, line=exc.lineno, column=exc.colno, reason=exc.msg) from exc
    except RecursionError:  # nested beyond what the parser's stack allows
        raise too_deep from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    return rows_from_json(data)


def json_depth(value: Any) -> int:
    """How deep a parsed JSON value nests (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def rows_from_json(data: Any) -> list[ImportRow]:
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list):
        raise refuse(ImportProblem.NOT_A_LIST, 'JSON import must be a list of entries (or {"entries": [...]})')
    rows = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            message = f"line {number}: each entry must be a JSON object"
            raise refuse(ImportProblem.NOT_AN_OBJECT, message, line=number)
        rows.append(ImportRow(number, _clean(item)))
    return rows


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for key in LIST_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = [part.strip() for part in out[key].split("|") if part.strip()]
    return out
