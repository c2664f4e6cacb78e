"""Fixed-window failure counters for rate limiting: in-process (embedded) or Redis (shared by every node).

`retry_after` asks whether a key is over its limit without counting; `hit` counts one failure. Login uses
it so that only failed attempts count and a blocked caller learns how long to wait.
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class RateLimiter(Protocol):
    async def retry_after(self, key: str, limit: int) -> int:
        """0 if fewer than `limit` hits are in the current window, else seconds until it resets."""
        ...

    async def hit(self, key: str, window_s: int) -> None: ...

    async def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int, int]] = {}  # key → (start, count, window_s)

    def _current(self, key: str) -> tuple[float, int, int] | None:
        found = self._windows.get(key)
        if found is not None and time.monotonic() - found[0] >= found[2]:
            del self._windows[key]
            return None
        return found

    async def retry_after(self, key: str, limit: int) -> int:
        found = self._current(key)
        if found is None or found[1] < limit:
            return 0
        start, _, window_s = found
        return max(1, int(window_s - (time.monotonic() - start)))

    async def hit(self, key: str, window_s: int) -> None:
        found = self._current(key)
        start, count = (found[0], found[1]) if found else (time.monotonic(), 0)
        self._windows[key] = (start, count + 1, window_s)

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)


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

    async def hit(self, key: str, window_s: int) -> None:
        k = self.prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, window_s, nx=True)
            await pipe.execute()

    async def reset(self, key: str) -> None:
        await self._redis.delete(self.prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None, prefix: str = "kefu:") -> RateLimiter:
    return RedisRateLimiter(redis_url, prefix + "rl:") if redis_url else MemoryRateLimiter()
