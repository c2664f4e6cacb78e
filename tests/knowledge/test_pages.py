"""Knowledge pages: admin list/edit/publish/history/import, the public help centre and the workspace
search fragment — each form changes what the API returns."""

from __future__ import annotations

from kefu.core.constants import Role
from tests.knowledge.data import create_faqs
from tests.support.factories import World
from tests.web.conftest import login


async def test_admin_creates_edits_publishes_and_sees_history(api: World) -> None:
    browser = await login(api, api.admin, cookies={"kefu_locale": "en"})
    r = await browser.http.get("/admin/knowledge")
    assert r.status_code == 200
    assert "<h1>Knowledge base</h1>" in r.text

    form = {
        "question": "如何开发票？",
        "variants": "怎么开发票\n\n如何開發票？ \n",
        "answer": "订单页申请 <发票>",
        "category": "发票",
        "tags": "发票, 售后",
        "language": "zh",
    }
    r = await browser.post_form("/admin/knowledge/faqs", form)
    assert r.status_code == 303, r.text
    faq = (await api.http.get("/api/v1/knowledge/faqs")).json()["items"][0]
    assert r.headers["location"] == f"/admin/knowledge/faqs/{faq['id']}"
    assert (faq["variants"], faq["tags"], faq["status"], faq["answer"]) == (
        ["怎么开发票", "如何開發票？"],
        ["发票", "售后"],
        "draft",
        "订单页申请 <发票>",
    )

    r = await browser.post_form(f"/admin/knowledge/faqs/{faq['id']}", {**form, "answer": "新答案", "version": "1"})
    assert r.status_code == 303
    r = await browser.post_form(f"/admin/knowledge/faqs/{faq['id']}/publish", {})
    assert r.status_code == 303
    got = (await api.http.get(f"/api/v1/knowledge/faqs/{faq['id']}")).json()
    assert (got["answer"], got["status"], got["version"]) == ("新答案", "published", 3)

    page = await browser.http.get(f"/admin/knowledge/faqs/{faq['id']}")
    assert page.status_code == 200
    assert page.text.count("<td>v") == 3  # three history rows
    assert "订单页申请 &lt;发票&gt;" in page.text  # the v1 snapshot, escaped

    # Restore v1's content from the history table: a new version, still published.
    assert page.text.count("/restore/") == 2  # every row but the current version
    assert f'action="/admin/knowledge/faqs/{faq["id"]}/restore/1"' in page.text
    r = await browser.post_form(f"/admin/knowledge/faqs/{faq['id']}/restore/1", {})
    assert (r.status_code, r.headers["location"]) == (303, f"/admin/knowledge/faqs/{faq['id']}")
    got = (await api.http.get(f"/api/v1/knowledge/faqs/{faq['id']}")).json()
    assert (got["answer"], got["status"], got["version"]) == ("订单页申请 <发票>", "published", 4)
    r = await browser.post_form(f"/admin/knowledge/faqs/{faq['id']}/restore/9", {})
    assert r.status_code == 404

    # A stale form (version 1) is refused and shown again with the reason; nothing changes.
    r = await browser.post_form(f"/admin/knowledge/faqs/{faq['id']}", {**form, "answer": "旧表单", "version": "1"})
    assert r.status_code == 409
    assert f"FAQ entry {faq['id']} is at version 4, not 1; reload it" in r.text
    assert (await api.http.get(f"/api/v1/knowledge/faqs/{faq['id']}")).json()["answer"] == "订单页申请 <发票>"

    r = await browser.post_form("/admin/knowledge/faqs", {**form, "question": ""})
    assert r.status_code == 422
    assert "question" in r.text
    assert len((await api.http.get("/api/v1/knowledge/faqs")).json()["items"]) == 1

    r = await browser.post_form(f"/admin/knowledge/faqs/{faq['id']}/delete", {})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/knowledge?kind=faqs")
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == []


async def test_admin_imports_csv_and_sees_bad_lines(api: World) -> None:
    browser = await login(api, api.admin, cookies={"kefu_locale": "en"})
    good = "question,answer,variants\n退货运费谁出？,质量问题由我们承担。,退货运费|退貨運費誰付\n".encode()
    files = {"file": ("faq.csv", good, "text/csv")}
    r = await browser.http.post(
        "/admin/knowledge/import", data={"csrf_token": browser.csrf, "publish": "true"}, files=files
    )
    assert (r.status_code, r.headers["location"]) == (303, "/admin/knowledge?imported=1")
    items = (await api.http.get("/api/v1/knowledge/faqs")).json()["items"]
    assert [(i["question"], i["variants"], i["status"]) for i in items] == [
        ("退货运费谁出？", ["退货运费", "退貨運費誰付"], "published")
    ]
    assert "Imported 1 FAQ entries." in (await browser.http.get(r.headers["location"])).text

    bad = b"question,answer\nok,ok\nmissing,\n"
    r = await browser.http.post(
        "/admin/knowledge/import", data={"csrf_token": browser.csrf}, files={"file": ("faq.csv", bad, "text/csv")}
    )
    assert r.status_code == 422
    assert "Line 3 · Answer: required" in r.text
    assert len((await api.http.get("/api/v1/knowledge/faqs")).json()["items"]) == 1

    r = await browser.http.post("/admin/knowledge/import", files={"file": ("faq.csv", good, "text/csv")})
    assert r.status_code == 403  # no CSRF token


async def test_import_problems_are_shown_in_the_page_language(api: World) -> None:
    bad_rows = "question,answer,language\nok,ok,zh\nmissing,,zh\n{long},ok,zh\nfine,ok,Chinese\n".format(
        long="问" * 501
    )
    bad_header = b"foo,bar\n1,2\n"
    expected = {
        "zh_CN": (
            "未导入任何条目。请修改以下各行后重新导入文件。",
            [
                "第 3 行 · 答案: 必填",
                "第 4 行 · 问题: 最多 500 个字符",
                "第 5 行 · 语言: 不是语言代码（如 zh、en 或 zh-TW）",
            ],
            "CSV 表头须包含列 question, answer, variants, category, tags, language；缺少：question, answer。",
        ),
        "zh_TW": (
            "未匯入任何條目。請修改以下各行後重新匯入檔案。",
            [
                "第 3 行 · 答案: 必填",
                "第 4 行 · 問題: 最多 500 個字元",
                "第 5 行 · 語言: 不是語言代碼（如 zh、en 或 zh-TW）",
            ],
            "CSV 標題列須包含欄 question, answer, variants, category, tags, language；缺少：question, answer。",
        ),
        "en": (
            "Nothing was imported. Correct the lines below and import the file again.",
            [
                "Line 3 · Answer: required",
                "Line 4 · Question: at most 500 characters",
                "Line 5 · Language: not a language code such as zh, en or zh-TW",
            ],
            "The CSV header must name the columns question, answer, variants, category, tags, language; "
            "missing: question, answer.",
        ),
    }
    for lang, (headline, lines, header_problem) in expected.items():
        browser = await login(api, api.admin, cookies={"kefu_locale": lang})
        r = await browser.http.post(
            "/admin/knowledge/import",
            data={"csrf_token": browser.csrf},
            files={"file": ("faq.csv", bad_rows.encode(), "text/csv")},
        )
        assert r.status_code == 422
        assert f'<p class="alert error" role="alert" id="form-error">{headline}</p>' in r.text, lang
        shown = r.text.split('id="import-errors">')[1].split("</ul>")[0]
        assert [li.split("</li>")[0] for li in shown.split("<li>")[1:]] == lines, lang
        r = await browser.http.post(
            "/admin/knowledge/import",
            data={"csrf_token": browser.csrf},
            files={"file": ("faq.csv", bad_header, "text/csv")},
        )
        assert r.status_code == 400
        assert f'id="form-error">{header_problem}</p>' in r.text, lang
        assert 'id="import-errors"' not in r.text
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == []


async def test_agents_cannot_open_the_knowledge_admin(api: World) -> None:
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent, cookies={"kefu_locale": "en"})
    for url in ("/admin/knowledge", "/admin/knowledge/faqs/new"):
        r = await browser.http.get(url)
        assert r.status_code == 403, url
    r = await browser.post_form("/admin/knowledge/faqs", {"question": "q", "answer": "a"})
    assert r.status_code == 403
    assert (await api.http.get("/api/v1/knowledge/faqs")).json()["items"] == []


async def test_workspace_fragment_and_public_help_centre(api: World) -> None:
    faqs = await create_faqs(api)
    inbox = await api.inbox()
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent, cookies={"kefu_locale": "en"})
    r = await browser.http.get("/app/knowledge/search", params={"q": "怎麼退貨"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.count('class="card kb-hit"') == 5
    assert f'data-entry="faq:{faqs[0]["id"]}"' in r.text.split('class="card kb-hit"')[1]
    assert f'data-kefu-insert="{faqs[0]["answer"]}"' in r.text
    assert "Insert into reply" in r.text

    anonymous = api.client(cookies={"kefu_locale": "zh_CN"})
    r = await anonymous.get(f"/help/{inbox['public_key']}", params={"q": "退款多久能到账"})
    assert r.status_code == 200
    results = r.text.split('id="help-results"')[1].split("</section>")[0]
    assert results.index("退款多久到账？") < results.index("</details>")  # the right answer comes first
    assert "How can I track my package?" not in r.text.split('id="help-faqs"')[1]  # zh visitors see zh FAQ
    r = await anonymous.get("/help/unknown-key")
    assert r.status_code == 404


async def test_help_centre_in_traditional_chinese_shows_traditional_text(api: World) -> None:
    """A 繁體 page shows simplified entries converted (OpenCC s2tw: Taiwan character forms, the shop's own
    words); entries already traditional or in English are shown as written; the stored text is unchanged."""
    faqs = await create_faqs(api)
    r = await api.http.post(
        "/api/v1/knowledge/faqs",
        json={"question": "門市營業時間？", "answer": "每天 10:00–22:00。", "category": "門市", "language": "zh-TW",
              "status": "published"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    inbox = await api.inbox()
    visitor = api.client(cookies={"kefu_locale": "zh_TW"})
    r = await visitor.get(f"/help/{inbox['public_key']}")
    assert r.status_code == 200
    faqs_html = r.text.split('id="help-faqs"')[1]
    for text in (
        "<h2>退換貨</h2>",
        "<summary>如何申請退貨？</summary>",
        "<p>在“我的訂單”中找到商品，點擊“申請退貨”，填寫原因後寄回即可，簽收後 3 個工作日內審核。</p>",
        "<h2>退款</h2>",
        "<summary>退款多久到賬？</summary>",
        "<h2>門市</h2>",
        "<summary>門市營業時間？</summary>",
    ):
        assert text in faqs_html, text
    for simplified in ("退换货", "如何申请退货", "我的订单"):
        assert simplified not in r.text
    r = await visitor.get(f"/help/{inbox['public_key']}", params={"q": "退款多久能到账"})
    results = r.text.split('id="help-results"')[1].split("</section>")[0]
    assert (
        "<summary><strong>退款多久到賬？</strong></summary><p>退貨審核通過後，退款原路返回，一般 1-5 個工作日到賬。</p>"
        in results
    )
    # Simplified pages and the stored entries are unchanged.
    r = await api.client(cookies={"kefu_locale": "zh_CN"}).get(f"/help/{inbox['public_key']}")
    assert "<summary>如何申请退货？</summary>" in r.text and "<h2>退换货</h2>" in r.text
    stored = (await api.http.get(f"/api/v1/knowledge/faqs/{faqs[0]['id']}")).json()
    assert (stored["question"], stored["category"]) == ("如何申请退货？", "退换货")
    # English visitors see the English entries, untouched.
    r = await api.client(cookies={"kefu_locale": "en"}).get(f"/help/{inbox['public_key']}")
    assert "<summary>How do I return an item?</summary>" in r.text
