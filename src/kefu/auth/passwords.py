"""Password hashing with argon2id (argon2-cffi), off the event loop.

One argon2 call takes tens of milliseconds of CPU and 64 MiB: run on the event loop, a burst of logins
stalls every other request of the process. `check_password` and `make_password_hash` run it in a
dedicated thread pool of one thread per CPU, and a semaphore of the same size keeps the waiting ones on the
loop (not queued in the pool), so at most that many hashes are computed — or held in memory — at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A valid hash of a random password: verifying against it keeps unknown-email logins as slow as real ones.
_DUMMY = _hasher.hash("kefu-dummy-password-for-timing")

SLOTS = max(1, min(os.cpu_count() or 1, 8))
_pool = ThreadPoolExecutor(max_workers=SLOTS, thread_name_prefix="kefu-argon2")
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_running = 0  # hashes being computed now (read by tests and diagnostics)
_running_lock = threading.Lock()


def use_fast_hashing() -> None:
    """Cheaper argon2 parameters for the test suite only (still argon2id, still salted)."""
    global _hasher, _DUMMY
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY = _hasher.hash("kefu-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def running() -> int:
    return _running


def _counted(fn: object, *args: str | None) -> object:
    global _running
    with _running_lock:
        _running += 1
    try:
        return fn(*args)  # type: ignore[operator]
    finally:
        with _running_lock:
            _running -= 1


async def _off_loop(fn: object, *args: str | None) -> object:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(SLOTS)
    async with slots:
        return await loop.run_in_executor(_pool, _counted, fn, *args)


async def check_password(password_hash: str | None, password: str) -> bool:
    """`verify_password` in the hashing pool."""
    return bool(await _off_loop(verify_password, password_hash, password))


async def make_password_hash(password: str) -> str:
    """`hash_password` in the hashing pool."""
    return str(await _off_loop(hash_password, password))
