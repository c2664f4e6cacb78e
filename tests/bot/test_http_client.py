"""kefu.core.http — the one outbound client: only listed hosts, only public addresses unless listed with
their port, the checked address pinned for the connection, redirects re-checked, timeout, size limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from kefu.core.http import (
    AllowedHost,
    HttpPolicy,
    OutboundDenied,
    OutboundError,
    OutboundHttp,
    OutboundTimeout,
    OutboundTooLarge,
    is_public_address,
    parse_hosts,
)
from tests.bot.httpserver import serve


@pytest.fixture(scope="module")
def local() -> Iterator[str]:
    with serve() as (base, _):
        yield base


PORT = 0


@pytest.fixture(scope="module", autouse=True)
def _port(local: str) -> None:
    global PORT
    PORT = int(local.rsplit(":", 1)[1])


def allowed(**kw: object) -> OutboundHttp:
    """A client whose policy lists the local test server's host:port (loopback: allowed by its port)."""
    return OutboundHttp(HttpPolicy.of([f"127.0.0.1:{PORT}"]), **kw)  # type: ignore[arg-type]


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
        "fd00::5",
        "ff02::1",
        "::",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "::ffff:10.0.0.1",
    ]:
        assert not is_public_address(addr), addr
    assert is_public_address("8.8.8.8")
    assert is_public_address("2606:4700:4700::1111")


async def test_nothing_is_called_that_the_account_did_not_list(local: str) -> None:
    with pytest.raises(OutboundDenied) as err:
        await OutboundHttp().get(local + "/orders/KF20261125001")
    assert (
        str(err.value) == f"127.0.0.1:{PORT} is not on this account's list of outbound hosts (Admin → Outbound hosts)"
    )
    with pytest.raises(OutboundDenied, match="only http and https URLs may be called, not 'file'"):
        await OutboundHttp().get("file:///etc/passwd")


async def test_the_listed_port_does_not_open_the_hosts_other_ports(local: str) -> None:
    """The demo lists kefu's own host:port; kefu's other local services stay out of reach."""
    for url in ("http://127.0.0.1:6379/", "http://127.0.0.1/", "https://127.0.0.1/", "http://localhost:{PORT}/"):
        with pytest.raises(OutboundDenied, match="is not on this account's list of outbound hosts"):
            await allowed().get(url.format(PORT=PORT))


async def test_other_spellings_of_loopback_are_not_the_listed_host(local: str) -> None:
    for host in ("2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0", "[::]"):
        with pytest.raises(OutboundDenied, match="is not on this account's list"):
            await allowed().get(f"http://{host}:{PORT}/orders/KF20261125001")


async def test_a_host_listed_without_port_may_only_reach_public_addresses() -> None:
    fake = {"api.shop.example": ["93.184.216.34"], "rebind.example": ["10.0.0.7"], "meta.example": ["169.254.169.254"]}
    fake |= {"six.example": ["::ffff:127.0.0.1"], "zero.example": ["0.0.0.0"], "dec.example": ["127.0.0.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        return fake[host]

    policy = HttpPolicy.of(fake)
    client = OutboundHttp(policy, resolve=resolve, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert (await client.get("https://api.shop.example/orders")).status_code == 200
    for host, addr in [(h, a[0]) for h, a in fake.items() if h != "api.shop.example"]:
        with pytest.raises(OutboundDenied) as err:
            await client.get(f"http://{host}/x")
        assert str(err.value) == (
            f"host '{host}' resolves to the non-public address {addr}; list it with its port ({host}:80) to allow it"
        )
    listed_port = OutboundHttp(
        HttpPolicy.of(["rebind.example:80"]),
        resolve=resolve,
        transport=httpx.MockTransport(lambda r: httpx.Response(204)),
    )
    assert (await listed_port.get("http://rebind.example/x")).status_code == 204  # the admin's explicit choice


async def test_the_checked_address_is_the_one_connected_to() -> None:
    """DNS rebinding: the name answers a public address for the check and loopback afterwards. kefu
    resolves once and connects to the checked address, naming the host in Host and SNI."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    lookups: list[str] = []
    seen: list[httpx.Request] = []

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return answers[min(len(lookups) - 1, 1)]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = OutboundHttp(HttpPolicy.of(["api.shop.example"]), resolve=resolve, transport=httpx.MockTransport(handler))
    resp = await client.get("https://api.shop.example/orders/1?x=2", headers={"Host": "evil.example"})
    assert resp.json() == {"ok": True}
    assert lookups == ["api.shop.example"]
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34/orders/1?x=2"
    assert request.headers["host"] == "api.shop.example"
    assert request.extensions["sni_hostname"] == "api.shop.example"


def test_outbound_host_entries_are_parsed_strictly() -> None:
    assert [str(h) for h in parse_hosts(" API.shop.example:443\nerp.lan , [FD00::5]:80 api.shop.example:443")] == [
        "api.shop.example:443",
        "erp.lan",
        "[fd00::5]:80",
    ]
    assert AllowedHost.parse("10.0.0.5:8080") == AllowedHost("10.0.0.5", 8080)
    for bad, message in [
        ("http://erp.lan/", "'http://erp.lan/': give a host or host:port, not a URL"),
        ("erp.lan:http", "'erp.lan:http': the port must be a number"),
        ("erp.lan:70000", "'erp.lan:70000': the port must be between 1 and 65535"),
        ("2130706433", "'2130706433': not a host name or IP address"),
        ("bad_host!", "'bad_host!': not a host name or IP address"),
    ]:
        with pytest.raises(ValueError) as err:
            AllowedHost.parse(bad)
        assert str(err.value) == message


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
    with pytest.raises(OutboundDenied, match=f"localhost:{port} is not on this account's list"):
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
        await OutboundHttp(HttpPolicy.of(["127.0.0.1:9"])).get("http://127.0.0.1:9/")
