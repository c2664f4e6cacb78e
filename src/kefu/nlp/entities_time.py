"""Dates and times in customer messages, zh and en, resolved against an injected aware `now`.

Conventions (documented in docs/nlp-text-and-search.md):
- 周五 / "Friday" = the next Friday on or after today; 下周五 / "next Friday" = Friday of next
  (Monday-based) week; 这周五 / 本周五 / "this Friday" = Friday of this week.
- 3月5日 / "March 5" without a year = that day in the current year.
- A Chinese hour 1–6 without 上午/凌晨/… is afternoon (明天两点 → 14:00).
- A time right before or after a date ("明天下午3点", "tomorrow at 3pm") becomes one datetime.
Values: date "2026-03-06", time "15:00", datetime "2026-03-06T15:00:00+08:00".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from kefu.nlp.numerals import parse_zh_int

_ZH_NUM = r"\d{1,2}|[零一二两三四五六七八九十]{1,3}"
_WEEKDAY_ZH = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "七": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_WEEKDAY_EN = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_MONTH_EN = {
    m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_REL_ZH = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3, "昨天": -1, "昨日": -1, "前天": -2}
_REL_EN = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "yesterday": -1,
    "the day after tomorrow": 2,
    "day after tomorrow": 2,
}
_EN_COUNT = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)

DATE_RE = re.compile(
    r"(?P<iso>(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2}))"
    r"|(?P<zhmd>(?:(?P<zy>\d{4})\s*年\s*)?(?P<zm>\d{1,2})\s*月\s*(?P<zd>\d{1,2})\s*[日号])"
    r"|(?P<zhrel>大后天|后天|明天|明日|今天|今日|昨天|昨日|前天)"
    r"|(?P<zhwk>(?P<zwp>下下|下|上|这|本)?个?(?:周|星期|礼拜)(?P<zwd>[一二三四五六日天七1-7]))"
    r"|(?P<zhin>(?P<zn>\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(?P<zu>天|周|个星期|星期)(?:以后|之后|后))"
    r"|\b(?P<enrel>the day after tomorrow|day after tomorrow|today|tonight|tomorrow|yesterday)\b"
    r"|\b(?P<enwk>(?:(?P<ewp>next|this|last|coming)\s+)?(?P<ewd>monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday))\b"
    r"|\b(?P<enin>in\s+(?P<en>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?P<eu>days?|weeks?))\b"
    rf"|\b(?P<enmd>(?P<emm>{_MONTHS})\.?\s+(?P<emd>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s*(?P<emy>\d{{4}}))?)\b"
    rf"|\b(?P<endm>(?P<edd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<edm>{_MONTHS})(?:,?\s*(?P<edy>\d{{4}}))?)\b",
    re.IGNORECASE,
)
TIME_RE = re.compile(
    rf"(?P<zh>(?P<zp>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?\s*(?P<zh_h>{_ZH_NUM})\s*[点时]"
    rf"(?:\s*(?P<zh_half>半|一刻|三刻)|\s*(?P<zh_m>{_ZH_NUM})\s*分?)?(?P<zh_clock>钟)?)"
    r"|(?P<zp2>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)\s*(?P<c_h2>\d{1,2})[:：](?P<c_m2>\d{2})"
    r"|\b(?P<en_h>\d{1,2})(?::(?P<en_m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?![a-z])"
    r"|\b(?P<c_h>\d{1,2})[:：](?P<c_m>\d{2})\b",
    re.IGNORECASE,
)
_PM_ZH = ("下午", "傍晚", "晚上", "夜里")
_GAP = re.compile(r"\s*(?:at|@|,|的)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    type: str
    value: str
    start: int
    end: int


def find_dates_times(text: str, now: datetime, tz: tzinfo) -> list[Found]:
    """`text` is folded (half-width, simplified, lower-case) and has the same offsets as the original."""
    local = now.astimezone(tz)
    dates = [(m.start(), m.end(), d) for m in DATE_RE.finditer(text) if (d := _date(m, local.date()))]
    times = [(m.start(), m.end(), t, _is_weak(m)) for m in TIME_RE.finditer(text) if (t := _time(m))]
    return list(_combine(text, dates, times, tz))


def _is_weak(m: re.Match[str]) -> bool:
    """一点 / 三点 alone are often not times (快一点, 三点建议): keep them only next to a date."""
    g = m.group
    return bool(g("zh")) and not g("zh_h").isdigit() and not (g("zp") or g("zh_half") or g("zh_m") or g("zh_clock"))


def _combine(
    text: str, dates: list[tuple[int, int, date]], times: list[tuple[int, int, time, bool]], tz: tzinfo
) -> Iterator[Found]:
    used: set[int] = set()
    for d_start, d_end, day in dates:
        paired = next(
            (
                i
                for i, (t_start, t_end, _, _) in enumerate(times)
                if i not in used and (_GAP.fullmatch(text[d_end:t_start]) or _GAP.fullmatch(text[t_end:d_start]))
            ),
            None,
        )
        if paired is None:
            yield Found("date", day.isoformat(), d_start, d_end)
            continue
        used.add(paired)
        t_start, t_end, clock, _ = times[paired]
        moment = datetime.combine(day, clock, tzinfo=tz)
        yield Found("datetime", moment.isoformat(), min(d_start, t_start), max(d_end, t_end))
    for i, (t_start, t_end, clock, weak) in enumerate(times):
        if i not in used and not weak:
            yield Found("time", clock.strftime("%H:%M"), t_start, t_end)


def _date(m: re.Match[str], today: date) -> date | None:
    kind = m.lastgroup
    g = m.group
    try:
        if m.group("iso"):
            return date(int(g("iy")), int(g("im")), int(g("id")))
        if g("zhmd"):
            return date(int(g("zy") or today.year), int(g("zm")), int(g("zd")))
        if g("zhrel"):
            return today + timedelta(days=_REL_ZH[g("zhrel")])
        if g("zhwk"):
            return _weekday(
                today,
                _WEEKDAY_ZH[g("zwd")],
                {"下": "next", "下下": "after", "上": "last", "这": "this", "本": "this"}.get(g("zwp") or ""),
            )
        if g("zhin"):
            n = int(g("zn")) if g("zn").isdigit() else parse_zh_int(g("zn")) or 0
            return today + timedelta(days=n * (1 if g("zu") == "天" else 7))
        if g("enrel"):
            return today + timedelta(days=_REL_EN[g("enrel").lower()])
        if g("enwk"):
            return _weekday(today, _WEEKDAY_EN[g("ewd").lower()], (g("ewp") or "").lower() or None)
        if g("enin"):
            n = int(g("en")) if g("en").isdigit() else _EN_COUNT[g("en").lower()]
            return today + timedelta(days=n * (1 if g("eu").lower().startswith("day") else 7))
        if g("enmd"):
            return date(int(g("emy") or today.year), _MONTH_EN[g("emm")[:3].lower()], int(g("emd")))
        if g("endm"):
            return date(int(g("edy") or today.year), _MONTH_EN[g("edm")[:3].lower()], int(g("edd")))
    except ValueError:  # 2月30日
        return None
    raise AssertionError(f"unhandled date pattern {kind}")


def _weekday(today: date, weekday: int, which: str | None) -> date:
    monday = today - timedelta(days=today.weekday())
    if which in ("this",):
        return monday + timedelta(days=weekday)
    if which == "next":
        return monday + timedelta(days=7 + weekday)
    if which == "after":
        return monday + timedelta(days=14 + weekday)
    if which == "last":
        return monday + timedelta(days=weekday - 7)
    return today + timedelta(days=(weekday - today.weekday()) % 7)  # bare / "coming": on or after today


def _time(m: re.Match[str]) -> time | None:
    g = m.group
    if g("zh"):
        hour = _zh_or_int(g("zh_h"))
        minute = {"半": 30, "一刻": 15, "三刻": 45}.get(g("zh_half") or "", 0)
        if g("zh_m"):
            minute = _zh_or_int(g("zh_m"))
        if not g("zp") and 1 <= hour <= 6:  # 明天两点 means 14:00 in a service chat; 凌晨两点 is said so
            hour += 12
        return _clock(hour, minute, g("zp"))
    if g("c_h2"):
        return _clock(int(g("c_h2")), int(g("c_m2")), g("zp2"))
    if g("en_h"):
        hour, minute = int(g("en_h")), int(g("en_m") or 0)
        if not 1 <= hour <= 12:
            return None
        pm = g("ampm").lower().startswith("p")
        return _clock(hour % 12 + (12 if pm else 0), minute, None)
    return _clock(int(g("c_h")), int(g("c_m")), None)


def _zh_or_int(token: str) -> int:
    return int(token) if token.isdigit() else parse_zh_int(token) or 0


def _clock(hour: int, minute: int, period: str | None) -> time | None:
    if (period in _PM_ZH and hour < 12) or (period == "中午" and hour < 6):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)
