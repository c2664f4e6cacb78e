"""Fixed-window counters for rate limiting: in-process (embedded) or Redis (shared by every node).

`hit` counts one attempt and answers, atomically, how many the window holds now (this one included) and
how long the window still lasts — so a caller counts *first* and then decides: N parallel requests see
N different counts, and at most `limit` of them get through (check-then-count let a burst through).
`lock` stretches a window (a back-off), `undo` gives one attempt back (a login that turned out right),
`retry_after` only looks. Redis runs each operation as one MULTI/EXEC; the in-process limiter's methods
never await, so on the event loop each runs as a whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Window:
    count: int  # attempts in the current window, the one just counted included
    reset_s: int  # seconds until the window ends (at least 1)

    def over(self, limit: int) -> bool:
        return self.count > limit


class RateLimiter(Protocol):
    async def retry_after(self, key: str, limit: int) -> int:
        """0 if fewer than `limit` hits are in the current window, else seconds until it resets."""
        ...

    async def hit(self, key: str, window_s: int) -> Window:
        """Count one attempt (a new window starts when none is running) and return the window."""
        ...

    async def lock(self, key: str, seconds: int) -> None:
        """Keep the current window for at least `seconds` from now (never shortens it)."""
        ...

    async def undo(self, key: str) -> None:
        """Give one counted attempt back."""
        ...

    async def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key → (ends at, count)

    def _current(self, key: str) -> tuple[float, int] | None:
        found = self._windows.get(key)
        if found is not None and found[0] <= time.monotonic():
            del self._windows[key]
            return None
        return found

    @staticmethod
    def _left(ends: float) -> int:
        return max(1, round(ends - time.monotonic()))

    async def retry_after(self, key: str, limit: int) -> int:
        found = self._current(key)
        return 0 if found is None or found[1] < limit else self._left(found[0])

    async def hit(self, key: str, window_s: int) -> Window:
        found = self._current(key)
        ends, count = found if found else (time.monotonic() + window_s, 0)
        self._windows[key] = (ends, count + 1)
        if len(self._windows) > 100_000:
            self._sweep()
        return Window(count + 1, self._left(ends))

    async def lock(self, key: str, seconds: int) -> None:
        found = self._current(key)
        if found is not None:
            self._windows[key] = (max(found[0], time.monotonic() + seconds), found[1])

    async def undo(self, key: str) -> None:
        found = self._current(key)
        if found is not None:
            self._windows[key] = (found[0], max(0, found[1] - 1))

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, (ends, _) in self._windows.items() if ends <= now]:
            del self._windows[key]


class RedisRateLimiter:
    def __init__(self, url: str, prefix: str = "kefu:rl:") -> None:
        import redis.asyncio as aioredis

        self._redis: Any = aioredis.from_url(url)
        self.prefix = prefix

    async def retry_after(self, key: str, limit: int) -> int:
        k = self.prefix + key
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(k)
            pipe.ttl(k)
            count, ttl = await pipe.execute()
        return 0 if count is None or int(count) < limit else max(1, int(ttl))

    async def hit(self, key: str, window_s: int) -> Window:
        k = self.prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, window_s, nx=True)
            pipe.ttl(k)
            count, _, ttl = await pipe.execute()
        return Window(int(count), max(1, int(ttl)))

    async def lock(self, key: str, seconds: int) -> None:
        await self._redis.expire(self.prefix + key, seconds, gt=True)

    async def undo(self, key: str) -> None:
        k = self.prefix + key
        # DECR on a key that expired in between would create it at -1 without a TTL: only when it exists.
        await self._redis.eval(
            "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0", 1, k
        )

    async def reset(self, key: str) -> None:
        await self._redis.delete(self.prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None, prefix: str = "kefu:") -> RateLimiter:
    return RedisRateLimiter(redis_url, prefix + "rl:") if redis_url else MemoryRateLimiter()
