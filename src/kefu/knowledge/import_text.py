"""The knowledge import's problems in the page's language.

The API answers with English messages plus codes (`importing.ImportProblem` for a refused file, pydantic's
error type per bad row, see `service._row_errors`); the admin page turns those codes into sentences of its
locale here. A code this table does not know falls back to the API's English message.
"""

from __future__ import annotations

from typing import Any

from kefu.core.errors import KefuError
from kefu.web.templating import translate


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated later, in the request's locale."""
    return message


FILE_PROBLEMS = {
    "file_too_large": N_("The file is larger than %(max_mb)s MB."),
    "not_utf8": N_("The file is not UTF-8 text. Save it as UTF-8 (in Excel: CSV UTF-8) and import it again."),
    "no_entries": N_("The file has no entries."),
    "too_many_rows": N_("The file has %(rows)s entries; at most %(limit)s can be imported at once."),
    "csv_missing_columns": N_("The CSV header must name the columns %(expected)s; missing: %(missing)s."),
    "csv_unknown_columns": N_("The CSV header has unknown columns: %(unknown)s."),
    "csv_extra_fields": N_("Line %(line)s has more fields than the header has columns."),
    "csv_malformed": N_("Line %(line)s: the CSV is malformed (%(reason)s)."),
    "json_invalid": N_("The file is not valid JSON (line %(line)s, column %(column)s: %(reason)s)."),
    "json_not_a_list": N_("The JSON file must be a list of entries."),
    "json_entry_not_an_object": N_("Entry %(line)s of the JSON file is not an object."),
    "json_too_deep": N_("The JSON file nests deeper than %(max_depth)s levels; entries are flat objects."),
}

ROW_PROBLEMS = {
    "missing": N_("required"),
    "string_too_short": N_("must not be empty"),
    "string_too_long": N_("at most %(max_length)s characters"),
    "too_long": N_("at most %(max_length)s items"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list"),
    "enum": N_("must be one of %(expected)s"),
    "string_pattern_mismatch": N_("not in the expected format"),
    "unknown_column": N_("unknown column"),
}
LANGUAGE_PATTERN = N_("not a language code such as zh, en or zh-TW")

FIELDS = {
    "question": N_("Question"),
    "answer": N_("Answer"),
    "variants": N_("Other ways customers ask it"),
    "category": N_("Category"),
    "tags": N_("Tags"),
    "language": N_("Language"),
    "status": N_("Status"),
}

ROWS_REFUSED = N_("Nothing was imported. Correct the lines below and import the file again.")


def _say(locale: str, message: str, params: Any) -> str | None:
    try:
        return translate(locale, message, **params) if isinstance(params, dict) else None
    except (KeyError, TypeError, ValueError):  # a parameter the sentence needs is missing
        return None


def _field(locale: str, field: str) -> str:
    name, _, rest = field.partition(".")
    if name not in FIELDS:
        return field
    label = translate(locale, FIELDS[name])
    return f"{label} {int(rest) + 1}" if rest.isdigit() else label


def row_problem(locale: str, detail: dict[str, Any]) -> dict[str, Any]:
    """{line, field, message} of one bad row, field and message in `locale`."""
    code, field = detail.get("code"), str(detail.get("field", ""))
    if (code, field) == ("string_pattern_mismatch", "language"):
        known: str | None = LANGUAGE_PATTERN
    else:
        known = ROW_PROBLEMS.get(str(code))
    message = _say(locale, known, detail.get("params") or {}) if known else None
    return {"line": detail.get("line"), "field": _field(locale, field), "message": message or detail.get("message")}


def import_problem(locale: str, exc: KefuError) -> tuple[str, list[dict[str, Any]]]:
    """The page's headline and list of bad rows for a refused import."""
    if isinstance(exc.details, list):
        return translate(locale, ROWS_REFUSED), [row_problem(locale, d) for d in exc.details if isinstance(d, dict)]
    details = exc.details if isinstance(exc.details, dict) else {}
    known = FILE_PROBLEMS.get(str(details.get("code")))
    return (_say(locale, known, details.get("params")) if known else None) or exc.message, []
