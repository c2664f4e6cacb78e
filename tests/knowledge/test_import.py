"""CSV / JSON import: all or nothing, bad rows named by line, nothing written on error."""

from __future__ import annotations

import json
from typing import Any

from tests.support.factories import World

CSV_OK = """question,answer,variants,category,tags,language
如何申请退货？,在订单页点击“申请退货”。,怎么退货|如何申請退貨？,退换货,退货|售后,zh
"How do I get an invoice?","Open the order, click ""Invoice"".",invoice please|need a receipt,invoices,billing,en
"""


async def faqs(world: World) -> list[dict[str, Any]]:
    r = await world.http.get("/api/v1/knowledge/faqs")
    return r.json()["items"]  # type: ignore[no-any-return]


def fields(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item[k] for k in ("question", "answer", "variants", "category", "tags", "language", "status"))


async def test_csv_file_import(api: World) -> None:
    r = await api.http.post(
        "/api/v1/knowledge/import?status=published", files={"file": ("faq.csv", CSV_OK.encode(), "text/csv")}
    )
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 2
    items = await faqs(api)
    assert [i["id"] for i in items] == r.json()["ids"][::-1]
    assert [fields(i) for i in items[::-1]] == [
        (
            "如何申请退货？",
            "在订单页点击“申请退货”。",
            ["怎么退货", "如何申請退貨？"],
            "退换货",
            ["退货", "售后"],
            "zh",
            "published",
        ),
        (
            "How do I get an invoice?",
            'Open the order, click "Invoice".',
            ["invoice please", "need a receipt"],
            "invoices",
            ["billing"],
            "en",
            "published",
        ),
    ]
    assert {i["version"] for i in items} == {1}
    r = await api.http.get("/api/v1/knowledge/search", params={"q": "need a receipt for my order"})
    assert r.json()[0]["entry_id"] == items[0]["id"]


async def test_json_body_and_json_file_import(api: World) -> None:
    entries = [
        {
            "question": "发票抬头可以改吗？",
            "answer": "开票前可以修改。",
            "variants": "改抬头|發票抬頭可以改嗎",
            "status": "published",
        },
        {"question": "会员有什么权益？", "answer": "会员享受包邮和积分加倍。", "tags": ["会员"]},
    ]
    r = await api.http.post("/api/v1/knowledge/import", json=entries)
    assert (r.status_code, r.json()["created"]) == (201, 2), r.text
    items = (await faqs(api))[::-1]
    assert [(i["question"], i["variants"], i["tags"], i["status"], i["language"]) for i in items] == [
        ("发票抬头可以改吗？", ["改抬头", "發票抬頭可以改嗎"], [], "published", "zh"),
        ("会员有什么权益？", [], ["会员"], "draft", "zh"),
    ]
    blob = json.dumps({"entries": [{"question": "Q", "answer": "A", "language": "en"}]}).encode()
    r = await api.http.post("/api/v1/knowledge/import", files={"file": ("faq.json", blob, "application/json")})
    assert (r.status_code, r.json()["created"]) == (201, 1), r.text
    assert len(await faqs(api)) == 3


async def test_bad_rows_are_named_and_nothing_is_written(api: World) -> None:
    bad_csv = CSV_OK + '"no answer here",,,,,zh\nfine,fine,,,,\nbad lang,answer,,,,Chinese\n'
    r = await api.http.post("/api/v1/knowledge/import", files={"file": ("faq.csv", bad_csv.encode(), "text/csv")})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["message"] == "line 4: answer: Field required (and 1 more)"
    assert err["details"] == [
        {"line": 4, "field": "answer", "message": "Field required", "code": "missing", "params": {}},
        {
            "line": 6,
            "field": "language",
            "message": "String should match pattern '^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$'",
            "code": "string_pattern_mismatch",
            "params": {},
        },
    ]
    # A quoted field spanning lines: the line named is where the bad record starts.
    multi = 'question,answer\n"two\nlines",ok\n"x",\n'
    r = await api.http.post("/api/v1/knowledge/import", content=multi.encode(), headers={"content-type": "text/csv"})
    assert (r.status_code, r.json()["error"]["message"]) == (422, "line 4: answer: Field required")

    r = await api.http.post("/api/v1/knowledge/import", json=[{"question": "ok", "answer": "ok"}, {"question": "x"}])
    assert (r.status_code, r.json()["error"]["message"]) == (422, "line 2: answer: Field required")
    r = await api.http.post("/api/v1/knowledge/import", json=[{"question": "ok", "answer": "ok", "colour": "red"}])
    assert (r.status_code, r.json()["error"]["message"]) == (422, "line 1: colour: unknown column")
    assert r.json()["error"]["details"] == [
        {"line": 1, "field": "colour", "message": "unknown column", "code": "unknown_column", "params": {}}
    ]
    r = await api.http.post("/api/v1/knowledge/import", json=[{"question": "q" * 501, "answer": "ok"}])
    assert r.json()["error"]["details"] == [
        {
            "line": 1,
            "field": "question",
            "message": "String should have at most 500 characters",
            "code": "string_too_long",
            "params": {"max_length": 500},
        }
    ]
    assert await faqs(api) == []
    r = await api.http.get("/api/v1/events?type=knowledge.entry_created")
    assert r.json() == []


async def test_malformed_imports_are_clear_4xx(api: World) -> None:
    cases: list[tuple[dict[str, Any], int, str, dict[str, Any] | None]] = [
        (
            {"files": {"file": ("f.csv", b"foo,bar\n1,2\n", "text/csv")}},
            400,
            "CSV header must name the columns question, answer, variants, category, tags, language; "
            "missing: question, answer",
            {
                "code": "csv_missing_columns",
                "params": {
                    "expected": "question, answer, variants, category, tags, language",
                    "missing": "question, answer",
                },
            },
        ),
        (
            {"files": {"file": ("f.csv", b"question,answer,colour\nq,a,red\n", "text/csv")}},
            400,
            "CSV header has unknown column(s): colour",
            {"code": "csv_unknown_columns", "params": {"unknown": "colour"}},
        ),
        (
            {"files": {"file": ("f.csv", b"question,answer\nq,a,extra\n", "text/csv")}},
            400,
            "line 2: more fields than the header has columns",
            {"code": "csv_extra_fields", "params": {"line": 2}},
        ),
        (
            {"files": {"file": ("f.csv", b"question,answer\n", "text/csv")}},
            400,
            "import file has no entries",
            {"code": "no_entries", "params": {}},
        ),
        (
            {"files": {"file": ("f.csv", "question,answer\nq,a\n".encode("utf-16"), "text/csv")}},
            400,
            "import file is not UTF-8 text",
            {"code": "not_utf8", "params": {}},
        ),
        (
            {"files": {"file": ("f.json", b"[{", "application/json")}},
            400,
            "import is not valid JSON (line 1, column 3: Expecting property name enclosed in double quotes)",
            {
                "code": "json_invalid",
                "params": {"line": 1, "column": 3, "reason": "Expecting property name enclosed in double quotes"},
            },
        ),
        (
            {"json": {"question": "q"}},
            400,
            'JSON import must be a list of entries (or {"entries": [...]})',
            {"code": "json_not_a_list", "params": {}},
        ),
        (
            {"json": ["q"]},
            400,
            "line 1: each entry must be a JSON object",
            {"code": "json_entry_not_an_object", "params": {"line": 1}},
        ),
        (
            {"files": {"other": ("f.csv", b"x", "text/csv")}},
            400,
            "send the import file in the multipart field 'file'",
            None,
        ),
        (
            {"content": b"<xml/>", "headers": {"content-type": "application/xml"}},
            400,
            "send a file (multipart/form-data, field 'file'), a JSON list or a text/csv body",
            None,
        ),
        (
            {"files": {"file": ("f.csv", b"question,answer\n" + b"q,a\n" * 700_000, "text/csv")}},
            413,
            "import file is larger than 2 MB",
            {"code": "file_too_large", "params": {"max_mb": 2}},
        ),
    ]
    for kwargs, status, message, details in cases:
        r = await api.http.post("/api/v1/knowledge/import", **kwargs)
        assert (r.status_code, r.json()["error"]["message"]) == (status, message), kwargs.keys()
        assert r.json()["error"].get("details") == details, message
    assert await faqs(api) == []
