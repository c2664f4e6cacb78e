"""Per-message wall-clock timing for latency percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def per_message_seconds(fn: Callable[[str], Any], texts: list[str], warmup: int = 3) -> list[float]:
    """Calls `fn` once per text (after a few warm-up calls) and returns each call's duration in seconds."""
    for text in texts[:warmup]:
        fn(text)
    seconds = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        seconds.append(time.perf_counter() - start)
    return seconds
