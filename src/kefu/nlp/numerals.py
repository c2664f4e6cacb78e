"""Chinese numerals → numbers: 一百二十 → 120, 两万五千 → 25000, 十五 → 15, 三点五 → 3.5."""

from __future__ import annotations

from decimal import Decimal

DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
CHARS = "".join([*DIGITS, *SMALL_UNITS, *BIG_UNITS])


def parse_zh_int(text: str) -> int | None:
    """An integer written in Chinese numerals, or None if `text` is not one."""
    if not text or any(ch not in DIGITS and ch not in SMALL_UNITS and ch not in BIG_UNITS for ch in text):
        return None
    total, section, digit, largest = 0, 0, None, 0
    for ch in text:
        if ch in DIGITS:
            digit = DIGITS[ch] if digit is None else digit * 10 + DIGITS[ch]  # 二〇二六 style
        elif ch in SMALL_UNITS:
            section += (1 if digit is None else digit) * SMALL_UNITS[ch]
            digit = None
        else:
            section += digit or 0
            unit = BIG_UNITS[ch]
            if unit < largest:  # 一亿二千万: 万 applies to its own section only
                total += section * unit
            else:
                total, largest = (total + section) * unit, unit
            section, digit = 0, None
    return total + section + (digit or 0)


def parse_number(text: str) -> Decimal | None:
    """Arabic ("1,200.50", "1.5万") or Chinese ("一百二十", "三点五") numbers."""
    text = text.replace(",", "").replace(" ", "")
    multiplier = 1
    if text and text[-1] in BIG_UNITS and any(c.isdigit() for c in text):
        multiplier, text = BIG_UNITS[text[-1]], text[:-1]
    try:
        return Decimal(text) * multiplier
    except ArithmeticError:
        pass
    whole, _, frac = text.partition("点")
    value = parse_zh_int(whole)
    if value is None:
        return None
    if frac:
        digits = [DIGITS.get(ch) for ch in frac]
        if any(d is None for d in digits):
            return None
        return Decimal(f"{value}.{''.join(str(d) for d in digits)}") * multiplier
    return Decimal(value) * multiplier
