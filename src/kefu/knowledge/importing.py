"""Parse a CSV or JSON import into rows with line numbers (no database; the service validates and writes).

CSV columns (header row required): question, answer, variants, category, tags, language[, status];
variants and tags are separated by `|`. JSON: a list of objects with the same keys (variants and tags
as lists or `|`-separated strings), or {"entries": [...]}.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from kefu.core.errors import BadRequest, TooLarge

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_JSON_DEPTH = 8  # {"entries": [{"variants": ["…"]}]} nests 4 deep
CSV_COLUMNS = ("question", "answer", "variants", "category", "tags", "language", "status")
REQUIRED_COLUMNS = ("question", "answer")
LIST_FIELDS = ("variants", "tags")


@dataclass(frozen=True)
class ImportRow:
    line: int  # CSV: the physical line of the record; JSON: the 1-based item number
    data: dict[str, Any]


def parse_import(raw: bytes, fmt: str) -> list[ImportRow]:
    if len(raw) > MAX_IMPORT_BYTES:
        raise TooLarge(f"import file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest("import file is not UTF-8 text") from exc
    rows = parse_csv(text) if fmt == "csv" else parse_json(text)
    if not rows:
        raise BadRequest("import file has no entries")
    if len(rows) > MAX_IMPORT_ROWS:
        raise TooLarge(f"import has {len(rows)} entries; the limit is {MAX_IMPORT_ROWS} per file")
    return rows


def parse_csv(text: str) -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        expected = ", ".join(CSV_COLUMNS[:6])
        raise BadRequest(f"CSV header must name the columns {expected}; missing: {', '.join(missing)}")
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if unknown:
        raise BadRequest(f"CSV header has unknown column(s): {', '.join(unknown)}")
    reader.fieldnames = header
    rows: list[ImportRow] = []
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any((v or "").strip() for k, v in record.items() if k is not None):
                continue
            if None in record:
                raise BadRequest(f"line {start}: more fields than the header has columns")
            rows.append(ImportRow(start, _clean({k: v for k, v in record.items() if v is not None and v != ""})))
    except csv.Error as exc:
        raise BadRequest(f"line {reader.line_num}: CSV is malformed: {exc}") from exc
    return rows


def parse_json(text: str) -> list[ImportRow]:
    too_deep = BadRequest(f"import nests deeper than {MAX_JSON_DEPTH} levels; entries are flat objects")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"import is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
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
        raise BadRequest('JSON import must be a list of entries (or {"entries": [...]})')
    rows = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise BadRequest(f"line {number}: each entry must be a JSON object")
        rows.append(ImportRow(number, _clean(item)))
    return rows


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for key in LIST_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = [part.strip() for part in out[key].split("|") if part.strip()]
    return out
