"""The per-process services a domain installs on the app (the bot, the knowledge index, the ingest
writer, the widget's caches), typed by key instead of held in a string-keyed dict.

core cannot name the domains' classes (it sits below them), so each domain declares its own
`ServiceKey[T]` next to the class, and `Services.get(KEY)` returns a `T` to the type checker — the
pattern of aiohttp's `AppKey`. A service is installed once, by `create_app` (or, for a cache that
costs nothing to create, on first use with `get_or_install`); asking for one that is not installed
is a `ServiceMissing` error naming who installs it. docs/architecture.md "Services on the app state"
lists the keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """Names one service; `installed_by` says where it comes from (shown when it is missing)."""

    __slots__ = ("installed_by", "name")

    def __init__(self, name: str, installed_by: str) -> None:
        self.name = name
        self.installed_by = installed_by

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


class ServiceMissing(LookupError):
    """A service was asked for before it was installed."""


class ServiceInstalledTwice(RuntimeError):
    """A second, different service was installed under a key (one per process)."""


class Services:
    """One process's services, shared by the app state and the in-process job context."""

    def __init__(self) -> None:
        self._items: dict[ServiceKey[Any], Any] = {}

    def install(self, key: ServiceKey[T], service: T) -> T:
        current = self._items.get(key)
        if current is not None and current is not service:
            raise ServiceInstalledTwice(f"{key.name} is installed already")
        self._items[key] = service
        return service

    def get(self, key: ServiceKey[T]) -> T:
        try:
            return cast(T, self._items[key])
        except KeyError:
            raise ServiceMissing(f"{key.name} is not installed ({key.installed_by} installs it)") from None

    def find(self, key: ServiceKey[T]) -> T | None:
        return cast("T | None", self._items.get(key))

    def get_or_install(self, key: ServiceKey[T], factory: Callable[[], T]) -> T:
        """For caches that are free to create: the installed one, or a new one installed now."""
        current = self.find(key)
        return current if current is not None else self.install(key, factory())

    def remove(self, key: ServiceKey[T]) -> T | None:
        return cast("T | None", self._items.pop(key, None))

    def __contains__(self, key: ServiceKey[Any]) -> bool:
        return key in self._items
