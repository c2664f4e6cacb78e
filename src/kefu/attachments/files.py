"""What an upload may be: the allowed types, checked against the file's magic bytes, and the size limit.
Pure functions, no database."""

from __future__ import annotations

import re

from kefu.core.errors import TooLarge, Unprocessable, UnsupportedType
from kefu.settings import Settings

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
ALLOWED_TYPES = (*IMAGE_TYPES, "application/pdf", "text/plain")
_GENERIC = ("", "application/octet-stream")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def sniff(data: bytes) -> str | None:
    """The allowed binary type the bytes start like, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _is_text(data: bytes) -> bool:
    try:
        return b"\x00" not in data and bool(data.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def attachment_limits(settings: Settings) -> dict[str, object]:
    """The upload limit for templates: bytes (for a check in the browser) and as text."""
    return {
        "max_attachment_bytes": settings.max_attachment_bytes,
        "max_attachment_size": mib(settings.max_attachment_bytes),
    }


def clean_name(filename: str | None) -> str:
    """The file name without any directory part or control characters, at most 255 characters."""
    name = _CONTROL.sub("", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[-255:] or "file"


def check_file(data: bytes, declared: str | None, limit: int) -> str:
    """The content type to store, or the error that refuses the file."""
    if not data:
        raise Unprocessable("the file is empty")
    if len(data) > limit:
        raise TooLarge(f"the file is larger than the limit of {limit:,} bytes ({mib(limit)})")
    ctype = (declared or "").split(";", 1)[0].strip().lower()
    if ctype in _GENERIC:
        ctype = sniff(data) or ctype
    allowed = ", ".join(ALLOWED_TYPES)
    if ctype not in ALLOWED_TYPES:
        raise UnsupportedType(f"files of type {ctype or 'unknown'} are not accepted; allowed types: {allowed}")
    ok = _is_text(data) if ctype == "text/plain" else sniff(data) == ctype
    if not ok:
        raise UnsupportedType(f"the file's content is not {ctype}; allowed types: {allowed}")
    return ctype
