"""The app state's typed services (core/services.py): a missing one says who installs it, one key holds
one service per process, caches are created once."""

from __future__ import annotations

import pytest

from kefu.core.services import ServiceInstalledTwice, ServiceKey, ServiceMissing, Services

CLOCKS: ServiceKey[list[int]] = ServiceKey("the test clocks", "test_services (by hand)")


def test_a_missing_service_names_who_installs_it() -> None:
    services = Services()
    with pytest.raises(
        ServiceMissing, match=r"^the test clocks is not installed \(test_services \(by hand\) installs it\)$"
    ):
        services.get(CLOCKS)
    assert services.find(CLOCKS) is None and CLOCKS not in services


def test_one_service_per_key() -> None:
    services, first = Services(), [1]
    assert services.install(CLOCKS, first) is first
    assert services.install(CLOCKS, first) is first  # the same one again is harmless
    with pytest.raises(ServiceInstalledTwice, match="the test clocks is installed already"):
        services.install(CLOCKS, [2])
    assert services.get(CLOCKS) is first
    assert services.remove(CLOCKS) is first and CLOCKS not in services
    assert services.remove(CLOCKS) is None


def test_get_or_install_creates_a_cache_once() -> None:
    services, made = Services(), []

    def make() -> list[int]:
        made.append(1)
        return []

    assert services.get_or_install(CLOCKS, make) is services.get_or_install(CLOCKS, make)
    assert made == [1]


def test_the_bot_accessor_does_not_install() -> None:
    from kefu.bot.runtime import get_runtime

    class Bare:
        services = Services()

    with pytest.raises(ServiceMissing, match="install_bot"):
        get_runtime(Bare())  # type: ignore[arg-type]
