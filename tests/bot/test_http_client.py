"""kefu.core.http — the one outbound client: address policy, redirects re-checked, timeout, size limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from kefu.core.http import (
    HttpPolicy,
    OutboundDenied,
    OutboundError,
    OutboundHttp,
    OutboundTimeout,
    OutboundTooLarge,
    is_public_address,
    make_http,
)
from kefu.settings import Settings
from tests.bot.httpserver import serve


@pytest.fixture(scope="module")
def local() -> Iterator[str]:
    with serve() as (base, _):
        yield base


def allowed(**kw: object) -> OutboundHttp:
    return OutboundHttp(HttpPolicy(frozenset({"127.0.0.1"})), **kw)  # type: ignore[arg-type]


def test_addresses_that_are_not_public() -> None:
    for addr in [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.1.1",
        "172.16.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "100.64.0.1",
    ]:
        assert not is_public_address(addr), addr
    assert is_public_address("8.8.8.8")
    assert is_public_address("2606:4700:4700::1111")


async def test_loopback_is_denied_by_default_with_a_clear_message(local: str) -> None:
    with pytest.raises(OutboundDenied) as err:
        await OutboundHttp().get(local + "/orders/KF20261125001")
    assert str(err.value) == (
        "host '127.0.0.1' resolves to the non-public address 127.0.0.1; add it to KEFU_HTTP_ALLOW_HOSTS to allow it"
    )


async def test_localhost_name_is_resolved_and_denied() -> None:
    with pytest.raises(OutboundDenied, match="host 'localhost' resolves to the non-public address"):
        await OutboundHttp().get("http://localhost:9/x")


async def test_metadata_address_and_other_schemes_are_denied() -> None:
    with pytest.raises(OutboundDenied, match=r"169\.254\.169\.254"):
        await OutboundHttp().get("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(OutboundDenied, match="only http and https URLs may be called, not 'file'"):
        await OutboundHttp().get("file:///etc/passwd")


async def test_allow_listed_host_is_called(local: str) -> None:
    resp = await allowed().get(local + "/orders/KF20261125001")
    assert resp.status_code == 200
    assert resp.json() == {
        "order_id": "KF20261125001",
        "status": "已发货",
        "status_en": "shipped",
        "eta": "11月28日",
        "carrier": "SF",
    }


async def test_redirect_to_a_denied_host_is_refused(local: str) -> None:
    port = local.rsplit(":", 1)[1]
    with pytest.raises(OutboundDenied, match="host 'localhost'"):
        await allowed().get(f"{local}/redirect-to/http://localhost:{port}/orders/KF20261125001")
    resp = await allowed().get(f"{local}/redirect-to/{local}/orders/KF20261125002")
    assert resp.json()["status"] == "待发货"


async def test_timeout_is_one_overall_deadline(local: str) -> None:
    with pytest.raises(OutboundTimeout) as err:
        await allowed().get(local + "/slow?secret=1", timeout_s=0.3)
    assert str(err.value) == f"GET {local}/slow timed out after 0.3 s"  # no query string in messages


async def test_responses_over_the_size_limit_are_cut_off(local: str) -> None:
    with pytest.raises(OutboundTooLarge, match="answered more than 10,000 bytes"):
        await allowed(max_bytes=10_000).get(local + "/big")


async def test_non_json_and_connection_errors_are_outbound_errors(local: str) -> None:
    resp = await allowed().get(local + "/text")
    with pytest.raises(OutboundError, match="did not answer with JSON"):
        resp.json()
    with pytest.raises(OutboundError, match=re.escape("GET http://127.0.0.1:9/ failed: ConnectError")):
        await allowed().get("http://127.0.0.1:9/")


def test_policy_from_settings_allows_the_configured_hosts_and_base_url() -> None:
    s = Settings(http_allow_hosts=" erp.lan, 10.0.0.5 ,", base_url="https://kefu.example.com/")
    assert make_http(s).policy.allow_hosts == frozenset({"erp.lan", "10.0.0.5", "kefu.example.com"})
