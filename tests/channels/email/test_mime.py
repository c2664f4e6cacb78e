"""Reading mail: charsets, sanitising, quote trimming, automated mail, malformed bytes (no database)."""

from __future__ import annotations

import pytest

from kefu.channels.email import mime, threads
from kefu.core.errors import BadRequest, Unprocessable
from tests.channels.email.conftest import fixture


def test_plain_mail() -> None:
    m = mime.parse(fixture("plain.eml"))
    assert (m.subject, m.from_name, m.from_addr, m.to) == (
        "Where is my order?",
        "Li Wei",
        "li.wei@example.com",
        ["support@shop.example"],
    )
    assert (m.message_id, m.client_message_id, m.automated) == (
        "<plain-1@mail.example.com>",
        "plain-1@mail.example.com",
        [],
    )
    assert m.content == "Hello,\n\nmy order 20261207001 has not arrived yet. Can you check?\n\nLi Wei"


def test_gb2312_labelled_chinese_subject_and_body_decode_with_gbk_characters() -> None:
    m = mime.parse(fixture("gbk_chinese.eml"))
    assert (m.subject, m.from_name) == ("关于订单的问题（朱镕基路店）", "王芳")
    assert m.content == "你好，\n\n我的订单还没有收到，啰嗦一句：请尽快处理。"
    assert "在 2026年12月7日 10:00，客服 <support@shop.example> 写道：\n> 您的订单已发货。" in m.text


def test_html_only_mail_is_sanitised_and_read_as_text() -> None:
    m = mime.parse(fixture("html_only.eml"))
    assert "<script" not in m.html and "alert" not in m.html and "onerror" not in m.html and "<img" not in m.html
    assert "<style" not in m.html and "javascript:" not in m.html
    assert '<a href="https://shop.example/orders/42" rel="noopener noreferrer">my order</a>' in m.html
    assert m.content == "I would like a refund for order 42.\n\nclick my order"  # the quoted blockquote trimmed
    assert "> On Monday you wrote: your order has shipped" in m.text


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("reply_en.eml", "Thanks, it arrived today."),
        ("reply_outlook.eml", "Still waiting."),
        ("reply_zh_outlook.eml", "请问什么时候发货？"),
        ("gbk_chinese.eml", "你好，\n\n我的订单还没有收到，啰嗦一句：请尽快处理。"),
    ],
)
def test_quoted_history_is_trimmed_and_kept_in_the_text(name: str, content: str) -> None:
    m = mime.parse(fixture(name))
    assert m.content == content
    assert len(m.text) > len(m.content)


@pytest.mark.parametrize(
    ("text", "trimmed"),
    [
        ("ok\n\n在 2026年12月7日 星期一 上午10:00，客服 写道：\n原文", "ok"),
        ("好的\n------------------ 原始邮件 ------------------\n发件人: x", "好的"),
        ("收到\n寄件者: 客服\n寄件日期: 2026年12月7日\n主旨: 訂單", "收到"),
        ("line one\n> quoted\nline two", "line one\nline two"),
        ("From: me\nthis is not a header block", "From: me\nthis is not a header block"),
        ("> only a quote", "> only a quote"),  # nothing left: the whole text
    ],
)
def test_trim_quoted(text: str, trimmed: str) -> None:
    assert mime.trim_quoted(text) == trimmed


def test_auto_reply_headers_are_recognised() -> None:
    m = mime.parse(fixture("autoreply.eml"))
    assert m.automated == ["auto-submitted: auto-replied", "precedence: bulk", "x-autoreply"]
    plain = fixture("plain.eml")
    assert mime.parse(b"Auto-Submitted: no\r\n" + plain).automated == []
    assert mime.parse(b"List-Id: <news.example.com>\r\n" + plain).automated == ["mailing list"]
    bounce = plain.replace(b"Li Wei <Li.Wei@Example.com>", b"MAILER-DAEMON@mx.example.com")
    assert mime.parse(bounce).automated == ["delivery report"]


def test_attachments_are_read_with_their_names_and_types() -> None:
    m = mime.parse(fixture("multipart_attachment.eml"))
    assert [(a.name, a.content_type, len(a.data)) for a in m.attachments] == [
        ("damage.png", "image/png", 67),
        ("setup.exe", "application/x-msdownload", 8),
    ]
    assert m.content == "The box was broken, see the photo."


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (b"", BadRequest, "the mail is empty"),
        (b"   \r\n", BadRequest, "the mail is empty"),
        (b"this is not a mail at all", BadRequest, "not an RFC 5322 mail: no header section"),
        (b"Subject: hi\r\n\r\nno sender", Unprocessable, "the mail names no sender address (From)"),
        (b"From: nobody\r\nSubject: hi\r\n\r\nx", Unprocessable, "the mail names no sender address (From)"),
    ],
)
def test_malformed_mail_is_refused(raw: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        mime.parse(raw)
    assert str(caught.value) == message


def test_long_message_ids_are_hashed_and_a_missing_one_is_the_bytes_hash() -> None:
    long_id = "<" + "a" * 150 + "@example.com>"
    cmid = mime.client_message_id(long_id, b"x")
    assert cmid.startswith("sha256:") and len(cmid) == 71
    assert (
        mime.client_message_id(None, b"raw")
        == mime.client_message_id(None, b"raw")
        != mime.client_message_id(None, b"raw2")
    )


def test_our_message_ids_carry_a_token_that_a_forger_cannot_make() -> None:
    ours = threads.our_message_id("s3cret", 42, "shop.example")
    assert ours.startswith("<kefu.42.") and ours.endswith("@shop.example>")
    assert threads.our_message("s3cret", ours) == 42
    forged = ours.replace("kefu.42.", "kefu.43.")
    assert threads.our_message("s3cret", forged) is None
    assert threads.our_message("other-secret", ours) is None
    assert threads.threaded_message("s3cret", ["<x@y>"], [ours, "<z@y>"]) == 42


def test_reply_subject_and_headers() -> None:
    assert mime.reply_subject("RE: 回复: Where is my order?") == "Re: Where is my order?"
    assert mime.reply_subject("") == "Re:"
    msg = mime.build_reply(
        mime.Reply(
            from_addr="support@shop.example",
            from_name="客服",
            to="li.wei@example.com",
            subject="Re: 订单",
            message_id="<kefu.1.abc@shop.example>",
            text="您好",
            in_reply_to="<a@b>",
            references=["<0@b>", "<a@b>"],
            auto_submitted=True,
        )
    )
    assert (msg["To"], msg["Message-ID"], msg["In-Reply-To"], msg["References"], msg["Auto-Submitted"]) == (
        "li.wei@example.com",
        "<kefu.1.abc@shop.example>",
        "<a@b>",
        "<0@b> <a@b>",
        "auto-replied",
    )
    assert str(msg["Subject"]) == "Re: 订单" and msg.get_content().strip() == "您好"
