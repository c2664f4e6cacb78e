"""Loading labelled text files: JSONL `{"text", "label", ...}` or CSV `text,label`."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Labelled:
    """One labelled example; labels are always strings (ints in the file become "0", "1", …)."""

    text: str
    label: str


class DataError(ValueError):
    """The file cannot be read as labelled data; the message says which line and why."""


def load_labelled(path: str | Path) -> list[Labelled]:
    """Reads a JSONL (`.jsonl`/`.json`) or CSV (`.csv`, header `text,label`) file of labelled texts."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    return _load_jsonl(path)


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line of a JSONL file; DataError names a bad line."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def _load_jsonl(path: Path) -> list[Labelled]:
    return [_row(obj, path, number) for number, obj in json_lines(path)]


def _load_csv(path: Path) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise DataError(f"{path}: CSV needs a header with the columns text,label")
        return [_row(obj, path, number) for number, obj in enumerate(reader, start=2)]


def _row(obj: object, path: Path, number: int) -> Labelled:
    if not isinstance(obj, dict) or "text" not in obj or "label" not in obj:
        raise DataError(f"{path}:{number}: expected an object with 'text' and 'label'")
    text, label = obj["text"], obj["label"]
    if not isinstance(text, str) or label is None or isinstance(label, bool | dict | list):
        raise DataError(f"{path}:{number}: 'text' must be a string and 'label' a string or integer")
    return Labelled(text=text, label=str(label))


def texts_and_labels(rows: list[Labelled]) -> tuple[list[str], list[str]]:
    return [r.text for r in rows], [r.label for r in rows]


def drop_empty(rows: list[Labelled]) -> list[Labelled]:
    """Training rows with a blank text teach nothing (some public sets have a few); counted on stderr."""
    kept = [r for r in rows if r.text.strip()]
    if len(kept) < len(rows):
        print(f"skipping {len(rows) - len(kept)} training rows with an empty text", file=sys.stderr)
    return kept
