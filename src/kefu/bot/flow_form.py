"""The flow builder of the admin (/admin/bot/flows): what the admin typed ↔ a flow definition.

`FlowForm` holds the form's fields exactly as typed (strings), so a rejected form is shown again as it
was. `FlowForm.build()` makes the definition dict the JSON API takes (`POST /api/v1/bot/flows`);
`FlowCreate` / `FlowDefinition` validate it, and `field_errors` puts each error next to the field it
concerns. Messages are msgids (marked `N_`), translated by the page in the UI language.

Two views edit the same definition: the form, and the JSON of the definition for power users.
Form → JSON always works (the JSON shows what the form builds, valid or not); JSON → form only for a
definition `FlowDefinition` accepts, since the form has no place for anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from kefu.bot.flows import SLOT_ENTITIES, validate_definition

VIEWS = ("form", "json")
METHODS = ("", "GET", "POST")  # "" = no HTTP action
ENTITIES = tuple(SLOT_ENTITIES)
SLOT_FIELDS = ("name", "entity", "regex", "prompt_zh", "prompt_en", "retry_zh", "retry_en", "sample")
JSON_KEY = "definition"  # where errors of the JSON view (and of fields the form lacks) are shown


def N_(message: str) -> str:
    """Marks a msgid for extraction; the page translates it."""
    return message


@dataclass(frozen=True)
class FieldError:
    key: str  # "name", "slots.0.prompt", "action.url", … ("" = the form as a whole)
    message: str  # msgid
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, translate: Callable[..., str]) -> str:
        return translate(self.message, **self.params)


@dataclass
class SlotRow:
    name: str = ""
    entity: str = "text"
    regex: str = ""
    prompt_zh: str = ""
    prompt_en: str = ""
    retry_zh: str = ""
    retry_en: str = ""
    sample: str = ""  # a value for "Test it"; not part of the definition


@dataclass
class FlowForm:
    view: str = "form"
    name: str = ""
    enabled: bool = True
    description: str = ""
    slots: list[SlotRow] = field(default_factory=lambda: [SlotRow()])
    method: str = ""
    url: str = ""
    timeout: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    reply_zh: str = ""
    reply_en: str = ""
    not_found_zh: str = ""
    not_found_en: str = ""
    give_up_zh: str = ""
    give_up_en: str = ""
    max_retries: str = ""
    definition_json: str = ""

    # ---- in ---------------------------------------------------------------------------------------

    @classmethod
    def parse(cls, form: FormData) -> FlowForm:
        """The posted form. A post without `view` but with `definition` is the JSON view (older clients)."""

        def one(key: str) -> str:
            value = form.get(key)
            return value if isinstance(value, str) else ""

        def many(key: str) -> list[str]:
            return [v if isinstance(v, str) else "" for v in form.getlist(key)]

        columns = {f: many(f"slot_{f}") for f in SLOT_FIELDS}
        n_rows = max(len(c) for c in columns.values())
        rows = [SlotRow(**{f: c[i] if i < len(c) else "" for f, c in columns.items()}) for i in range(n_rows)]
        names, values = many("header_name"), many("header_value")
        headers = [(k, values[i] if i < len(values) else "") for i, k in enumerate(names)]
        view = one("view") or ("json" if "definition" in form else "form")
        return cls(
            view=view if view in VIEWS else "form",
            name=one("name"),
            enabled=one("enabled") in ("true", "on", "1"),
            description=one("description"),
            slots=rows,
            method=one("action_method").upper(),
            url=one("action_url"),
            timeout=one("action_timeout"),
            headers=headers,
            body=one("action_body"),
            reply_zh=one("reply_zh"),
            reply_en=one("reply_en"),
            not_found_zh=one("not_found_zh"),
            not_found_en=one("not_found_en"),
            give_up_zh=one("give_up_zh"),
            give_up_en=one("give_up_en"),
            max_retries=one("max_retries"),
            definition_json=one("definition"),
        )

    @classmethod
    def of_definition(cls, name: str, enabled: bool, definition: dict[str, Any]) -> FlowForm:
        """The form showing a stored (or validated) definition."""
        d = definition
        action = d.get("action") if isinstance(d.get("action"), dict) else None
        slots = [_row(s) for s in d.get("slots") or [] if isinstance(s, dict)]
        form = cls(
            name=name,
            enabled=enabled,
            description=_str(d.get("description")),
            slots=slots or [SlotRow()],
            max_retries=_str(d.get("max_retries")),
        )
        form.reply_zh, form.reply_en = _pair(d.get("reply"))
        form.not_found_zh, form.not_found_en = _pair(d.get("not_found_reply"))
        form.give_up_zh, form.give_up_en = _pair(d.get("give_up_reply"))
        if action is not None:
            form.method = _str(action.get("method")).upper() or "GET"
            form.url = _str(action.get("url"))
            form.timeout = _str(action.get("timeout_s"))
            headers = action.get("headers") if isinstance(action.get("headers"), dict) else {}
            form.headers = [(str(k), _str(v)) for k, v in headers.items()]
            body = action.get("body")
            form.body = "" if body is None else json.dumps(body, ensure_ascii=False, indent=2)
        form.definition_json = json.dumps(definition, ensure_ascii=False, indent=2)
        return form

    # ---- out --------------------------------------------------------------------------------------

    def build(self) -> tuple[dict[str, Any], list[FieldError]]:
        """The definition dict (not validated yet) and what the form itself could not express."""
        if self.view == "json":
            return self._build_json()
        problems: list[FieldError] = []
        definition: dict[str, Any] = {"description": self.description.strip(), "slots": [_slot(r) for r in self.slots]}
        if self.method:
            definition["action"] = self._action(problems)
        definition["reply"] = _texts(self.reply_zh, self.reply_en)
        if _texts(self.not_found_zh, self.not_found_en):
            definition["not_found_reply"] = _texts(self.not_found_zh, self.not_found_en)
        if _texts(self.give_up_zh, self.give_up_en):
            definition["give_up_reply"] = _texts(self.give_up_zh, self.give_up_en)
        if self.max_retries.strip():
            definition["max_retries"] = _number(self.max_retries)
        return definition, problems

    def _action(self, problems: list[FieldError]) -> dict[str, Any]:
        action: dict[str, Any] = {"method": self.method, "url": self.url.strip()}
        if self.timeout.strip():
            action["timeout_s"] = _number(self.timeout)
        headers: dict[str, str] = {}
        for name, value in self.headers:
            name = name.strip()
            if not name and not value.strip():
                continue
            if not name:
                problems.append(FieldError("action.headers", N_("A header needs a name.")))
            elif name.lower() in (h.lower() for h in headers):
                problems.append(FieldError("action.headers", N_("The header %(name)s is given twice."), {"name": name}))
            else:
                headers[name] = value.strip()
        if headers:
            action["headers"] = headers
        if self.method == "POST" and self.body.strip():
            try:
                body = json.loads(self.body)
            except json.JSONDecodeError as exc:
                problems.append(_json_problem("action.body", exc))
            else:
                if isinstance(body, dict):
                    action["body"] = body
                else:
                    problems.append(FieldError("action.body", N_("The body must be a JSON object: {…}.")))
        return action

    def _build_json(self) -> tuple[dict[str, Any], list[FieldError]]:
        try:
            data = json.loads(self.definition_json)
        except json.JSONDecodeError as exc:
            return {}, [_json_problem(JSON_KEY, exc)]
        if not isinstance(data, dict):
            return {}, [FieldError(JSON_KEY, N_("The definition must be a JSON object: {…}."))]
        return data, []

    def samples(self) -> dict[str, str]:
        """The sample slot values typed for "Test it", by slot name."""
        return {r.name.strip(): r.sample.strip() for r in self.slots if r.name.strip()}

    def switched(self, view: str) -> tuple[FlowForm, list[FieldError]]:
        """This form shown in `view`; itself with the reasons when it cannot be."""
        if view == self.view or view not in VIEWS:
            return self, []
        definition, problems = self.build()
        if problems:
            return self, problems
        if view == "json":
            self.definition_json = json.dumps(definition, ensure_ascii=False, indent=2)
            self.view = "json"
            return self, []
        try:
            valid = validate_definition(definition)
        except ValidationError as exc:
            return self, field_errors(exc, definition, prefix=False)
        switched = FlowForm.of_definition(self.name, self.enabled, valid.model_dump(mode="json", exclude_none=True))
        return switched, []


# ---- errors ------------------------------------------------------------------------------------------

_BY_TYPE = {
    "missing": N_("This field is required."),
    "string_too_short": N_("Too short: at least %(min_length)s characters."),
    "string_too_long": N_("Too long: at most %(max_length)s characters."),
    "string_pattern_mismatch": N_("Use letters, digits and _ only, not starting with a digit (at most 41)."),
    "greater_than": N_("Must be more than %(gt)s."),
    "greater_than_equal": N_("Must be at least %(ge)s."),
    "less_than": N_("Must be less than %(lt)s."),
    "less_than_equal": N_("Must be at most %(le)s."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "too_short": N_("Give at least %(min_length)s."),
    "too_long": N_("At most %(max_length)s."),
    "literal_error": N_("Choose one of: %(expected)s."),
    "dict_type": N_("Must be a JSON object: {…}."),
    "list_type": N_("Must be a JSON list: […]."),
    "string_type": N_("Must be text."),
    "bool_type": N_("Must be true or false."),
    "bool_parsing": N_("Must be true or false."),
    "extra_forbidden": N_("Unknown field."),
}
# FlowDefinition's own checks (kefu.bot.flows), matched on their message: (pattern, msgid, field or None)
_VALUE_ERRORS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"^unknown entity type"), N_("Unknown entity type: choose one from the list."), None),
    (re.compile(r"^regex does not compile: (?P<detail>.*)"),
     N_("The regular expression does not compile: %(detail)s"), None),
    (re.compile(r"^prompt needs a text"), N_("Write the prompt in at least one language."), None),
    (re.compile(r"^reply needs a text"), N_("Write the reply in at least one language."), None),
    (re.compile(r"^url must start with"), N_("The URL must start with http:// or https://."), None),
    (re.compile(r"^url needs a fixed host"),
     N_("The host must be fixed: {slot} placeholders may only appear in the path or query."), None),
    (re.compile(r"^action\.url uses \{(?P<name>[^}]*)\}"),
     N_("The URL uses {%(name)s}, which is not a slot."), "action.url"),
    (re.compile(r"^reply uses placeholders"),
     N_("Without an HTTP action the reply may only use {slot} placeholders."), "reply"),
    (re.compile(r"^slot names must be unique"), N_("Another slot has the same name."), "slots.*.name"),
    (re.compile(r"^texts are keyed by language"), N_("Texts are keyed by language: zh or en."), None),
]  # fmt: skip


def field_errors(exc: ValidationError, definition: dict[str, Any], *, prefix: bool = True) -> list[FieldError]:
    """Each of pydantic's errors (from FlowCreate when `prefix`, else from FlowDefinition) as a FieldError
    on the form field it concerns."""
    out: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if prefix and loc[:1] == ["definition"]:
            loc = loc[1:]
        elif prefix:
            loc = ["@" + p for p in loc]  # name, enabled: outside the definition
        key = _key(loc)
        ctx = err.get("ctx") or {}
        if err["type"] == "value_error":
            out.extend(_value_error(key, str(ctx.get("error", err["msg"])), definition))
        elif err["type"] in ("missing", "string_too_short") and ctx.get("min_length", 1) == 1:
            out.append(FieldError(key, _BY_TYPE["missing"]))
        elif err["type"] == "too_short" and key == "slots":
            out.append(FieldError(key, N_("Add at least one slot.")))
        elif err["type"] in _BY_TYPE:
            params = {k: _param(v) for k, v in ctx.items() if isinstance(v, (int, float, str))}
            out.append(FieldError(key, _BY_TYPE[err["type"]], params))
        else:
            out.append(FieldError(key, N_("Not valid: %(detail)s"), {"detail": err["msg"]}))
    return out


def _key(loc: list[str]) -> str:
    if loc and loc[0].startswith("@"):
        return loc[0][1:]
    if loc[:1] == ["slots"] and len(loc) >= 3:
        return f"slots.{loc[1]}.{loc[2]}"
    if loc[:1] == ["action"] and len(loc) >= 2:
        return f"action.{loc[1]}"
    return loc[0] if loc else JSON_KEY


def _value_error(key: str, message: str, definition: dict[str, Any]) -> list[FieldError]:
    for pattern, msgid, where in _VALUE_ERRORS:
        m = pattern.match(message)
        if m is None:
            continue
        if where == "slots.*.name":
            names = [str(s.get("name", "")) if isinstance(s, dict) else "" for s in definition.get("slots") or []]
            return [FieldError(f"slots.{i}.name", msgid) for i, n in enumerate(names) if names.count(n) > 1]
        return [FieldError(where or key, msgid, m.groupdict())]
    return [FieldError(key, N_("Not valid: %(detail)s"), {"detail": message})]


def _param(value: Any) -> Any:
    """A limit or choice as a person reads it: 30 (not 30.0), GET or POST (not 'GET' or 'POST')."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.replace("'", "") if isinstance(value, str) else value


def _json_problem(key: str, exc: json.JSONDecodeError) -> FieldError:
    return FieldError(
        key,
        N_("This is not valid JSON (line %(line)s, column %(column)s): %(detail)s"),
        {"line": exc.lineno, "column": exc.colno, "detail": exc.msg},
    )


# ---- helpers -----------------------------------------------------------------------------------------


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pair(texts: Any) -> tuple[str, str]:
    if not isinstance(texts, dict):
        return "", ""
    return _str(texts.get("zh")), _str(texts.get("en"))


def _texts(zh: str, en: str) -> dict[str, str]:
    return {k: v.strip() for k, v in (("zh", zh), ("en", en)) if v.strip()}


def _number(text: str) -> Any:
    """ "3" → 3, "2.5" → 2.5; anything else as typed (FlowDefinition then says it is not a number)."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _row(slot: dict[str, Any]) -> SlotRow:
    prompt_zh, prompt_en = _pair(slot.get("prompt"))
    retry_zh, retry_en = _pair(slot.get("retry_prompt"))
    return SlotRow(
        name=_str(slot.get("name")),
        entity=_str(slot.get("entity")) or "text",
        regex=_str(slot.get("regex")),
        prompt_zh=prompt_zh,
        prompt_en=prompt_en,
        retry_zh=retry_zh,
        retry_en=retry_en,
    )


def _slot(row: SlotRow) -> dict[str, Any]:
    slot: dict[str, Any] = {"name": row.name.strip(), "entity": row.entity.strip() or "text"}
    if row.regex.strip():
        slot["regex"] = row.regex.strip()
    slot["prompt"] = _texts(row.prompt_zh, row.prompt_en)
    if _texts(row.retry_zh, row.retry_en):
        slot["retry_prompt"] = _texts(row.retry_zh, row.retry_en)
    return slot
