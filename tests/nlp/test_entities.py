"""Entity extraction: exact spans and normalised values, zh and en, relative dates against a fixed now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kefu.nlp.entities import Entity, extract_entities, fold
from kefu.nlp.numerals import parse_number, parse_zh_int

# Wednesday 2026-03-04 10:00 in Shanghai (02:00 UTC)
NOW = datetime(2026, 3, 4, 2, 0, tzinfo=ZoneInfo("UTC"))


def spans(text: str, **kwargs: object) -> list[tuple[str, str, str]]:
    return [(e.type, e.value, e.text) for e in extract_entities(text, now=NOW, **kwargs)]  # type: ignore[arg-type]


def test_full_message_zh() -> None:
    text = "我的订单号是 E20260304-1234，手机13812345678，明天下午3点前送到，退款一百二十元"
    assert extract_entities(text, now=NOW) == [
        Entity("order_id", "E20260304-1234", "E20260304-1234", 7, 21),
        Entity("phone", "+8613812345678", "13812345678", 24, 35),
        Entity("datetime", "2026-03-05T15:00:00+08:00", "明天下午3点", 36, 42),
        Entity("money", "120.00 CNY", "一百二十元", 48, 53),
    ]


def test_full_message_en() -> None:
    text = "UPS 1Z999AA10123456784, email me at Alice.Smith@Example.com, refund $25.50 by next Monday 3pm"
    assert extract_entities(text, now=NOW) == [
        Entity("tracking_number", "1Z999AA10123456784", "1Z999AA10123456784", 4, 22, "ups"),
        Entity("email", "alice.smith@example.com", "Alice.Smith@Example.com", 36, 59),
        Entity("money", "25.50 USD", "$25.50", 68, 74),
        Entity("datetime", "2026-03-09T15:00:00+08:00", "next Monday 3pm", 78, 93),
    ]


def test_full_width_and_traditional_keep_original_spans() -> None:
    text = "訂單號：２０２４０３０５１２３４５６７８９０ 金額￥８８.５"
    assert extract_entities(text, now=NOW) == [
        Entity("order_id", "202403051234567890", "２０２４０３０５１２３４５６７８９０", 4, 22),
        Entity("money", "88.50 CNY", "￥８８.５", 25, 30),
    ]
    assert fold("ＳＦ訂單ＡＢ") == "sf订单ab"


def test_tracking_numbers_by_carrier() -> None:
    text = "顺丰SF1234567890123还没到；京东 JD0012345678901；圆通YT1234567890123；快递单号 7700123456789"
    assert [(e.value, e.detail) for e in extract_entities(text, now=NOW)] == [
        ("SF1234567890123", "sf"),
        ("JD0012345678901", "jd"),
        ("YT1234567890123", "yto"),
        ("7700123456789", "generic"),
    ]


def test_account_order_patterns_replace_the_default() -> None:
    text = "订单号 A123456，工单 KF-2026-0001"
    assert spans(text, order_patterns=[r"KF-\d{4}-\d{4}"]) == [("order_id", "KF-2026-0001", "KF-2026-0001")]
    assert spans(text) == [("order_id", "A123456", "A123456")]
    assert spans("po number: po_778812", order_patterns=[r"po number:\s*(po_\d+)"]) == [
        ("order_id", "PO_778812", "po_778812")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me at +1 415-555-2671", [("phone", "+14155552671", "+1 415-555-2671")]),
        ("座机010-62345678", [("phone", "+861062345678", "010-62345678")]),
        ("我的电话是 138 1234 5678", [("phone", "+8613812345678", "138 1234 5678")]),
        ("+86 138-1234-5678", [("phone", "+8613812345678", "+86 138-1234-5678")]),
        ("编号 12345", []),
    ],
)
def test_phones(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("退我3块吧", [("money", "3.00 CNY", "3块")]),
        ("共1.5万元", [("money", "15000.00 CNY", "1.5万元")]),
        ("10块钱", [("money", "10.00 CNY", "10块钱")]),
        ("charged USD 1,200 twice", [("money", "1200.00 USD", "USD 1,200")]),
        ("RMB 99", [("money", "99.00 CNY", "RMB 99")]),
        ("it was 30 dollars", [("money", "30.00 USD", "30 dollars")]),
        ("两千五百元", [("money", "2500.00 CNY", "两千五百元")]),
        ("€12.5", [("money", "12.50 EUR", "€12.5")]),
        ("三块蛋糕", []),
    ],
)
def test_money(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", ("date", "2026-03-04")),
        ("明天", ("date", "2026-03-05")),
        ("后天", ("date", "2026-03-06")),
        ("大后天", ("date", "2026-03-07")),
        ("昨天", ("date", "2026-03-03")),
        ("周五", ("date", "2026-03-06")),
        ("星期三", ("date", "2026-03-04")),
        ("周一", ("date", "2026-03-09")),
        ("下周一", ("date", "2026-03-09")),
        ("下周五", ("date", "2026-03-13")),
        ("这周日", ("date", "2026-03-08")),
        ("上周二", ("date", "2026-02-24")),
        ("3月5日", ("date", "2026-03-05")),
        ("2027年1月2号", ("date", "2027-01-02")),
        ("2026-12-01", ("date", "2026-12-01")),
        ("2026/12/1", ("date", "2026-12-01")),
        ("3天后", ("date", "2026-03-07")),
        ("两周以后", ("date", "2026-03-18")),
        ("tomorrow", ("date", "2026-03-05")),
        ("the day after tomorrow", ("date", "2026-03-06")),
        ("next Monday", ("date", "2026-03-09")),
        ("this Friday", ("date", "2026-03-06")),
        ("on Tuesday", ("date", "2026-03-10")),
        ("in 3 days", ("date", "2026-03-07")),
        ("in a week", ("date", "2026-03-11")),
        ("March 5th", ("date", "2026-03-05")),
        ("5 Dec 2027", ("date", "2027-12-05")),
        ("下午3点", ("time", "15:00")),
        ("晚上8:30", ("time", "20:30")),
        ("上午10点半", ("time", "10:30")),
        ("三点钟", ("time", "15:00")),
        ("15:45", ("time", "15:45")),
        ("3:30 pm", ("time", "15:30")),
        ("12am", ("time", "00:00")),
        ("明天两点", ("datetime", "2026-03-05T14:00:00+08:00")),
        ("后天上午10点一刻", ("datetime", "2026-03-06T10:15:00+08:00")),
        ("tomorrow at 9am", ("datetime", "2026-03-05T09:00:00+08:00")),
        ("2026-12-01 15:30", ("datetime", "2026-12-01T15:30:00+08:00")),
    ],
)
def test_dates_and_times(text: str, expected: tuple[str, str]) -> None:
    assert spans(text) == [(*expected, text.removeprefix("on "))]


def test_relative_dates_follow_the_time_zone() -> None:
    late = datetime(2026, 3, 4, 17, 0, tzinfo=ZoneInfo("UTC"))  # already 5 March 01:00 in Shanghai
    assert extract_entities("明天", now=late)[0].value == "2026-03-06"
    assert extract_entities("明天", now=late, tz="Europe/London")[0].value == "2026-03-05"


@pytest.mark.parametrize("text", ["快一点", "2月30日", "有点贵", "等了25:99", "I may come", "no entity here"])
def test_no_false_positives(text: str) -> None:
    assert extract_entities(text, now=NOW) == []


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="needs an aware `now`"):
        extract_entities("明天", now=datetime(2026, 3, 4))


def test_numerals() -> None:
    words = ["一百二十", "两万五千", "一亿二千万", "十五", "一百零八", "二〇二六"]
    assert [parse_zh_int(t) for t in words] == [120, 25000, 120_000_000, 15, 108, 2026]
    assert parse_zh_int("abc") is None
    assert [str(parse_number(t)) for t in ["1,200.50", "三点五"]] == ["1200.50", "3.5"]
