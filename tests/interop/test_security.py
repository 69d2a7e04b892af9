"""The WebSocket handshake: subprotocol, known endpoint, Basic credentials, and logins under
attack: throttled failures, password checks that leave the API responsive, credentials that
change under an open connection."""

import asyncio
import statistics
import threading
import time
import urllib.request

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from charger import basic_auth, connect
from server import eventually, new_endpoint

PASSWORD = "correct-horse-battery"


async def refusal(joule, endpoint: str, **options) -> tuple[int, bytes, str | None]:
    """The HTTP status, body and authentication challenge Joule refused the handshake with."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(joule, endpoint, **options):
            pass
    response = refused.value.response
    return response.status_code, response.body, response.headers.get("WWW-Authenticate")


async def refused(joule, endpoint: str, **options) -> int:
    """The HTTP status Joule refused the handshake with."""
    return (await refusal(joule, endpoint, **options))[0]


async def test_basic_security_needs_the_chargestations_own_credentials(joule, api):
    cs = await api.create_chargestation(security={"type": "basic", "password": PASSWORD})
    other = await api.create_chargestation(security={"type": "basic", "password": "another-password"})
    endpoint = cs["endpoint"]

    assert await refused(joule, endpoint) == 401
    assert await refused(joule, endpoint, headers=basic_auth(endpoint, "wrong-password")) == 401
    assert await refused(joule, endpoint, headers=basic_auth(endpoint, PASSWORD[:-1])) == 401
    # Another chargestation's login, with either password, is no login for this one.
    assert await refused(joule, endpoint, headers=basic_auth(other["endpoint"], "another-password")) == 401
    assert await refused(joule, endpoint, headers=basic_auth(other["endpoint"], PASSWORD)) == 401
    assert (await api.chargestation(cs["_id"]))["online"] is False

    async with connect(joule, endpoint, headers=basic_auth(endpoint, PASSWORD)) as charger:
        assert (await charger.boot()).status == "Accepted"
        assert (await api.chargestation(cs["_id"]))["online"] is True


async def test_an_unknown_endpoint_is_refused_like_a_wrong_password(joule, api):
    cs = await api.create_chargestation(security={"type": "basic", "password": PASSWORD})
    unknown = new_endpoint()
    answers = [
        await refusal(joule, unknown, headers=basic_auth(unknown, PASSWORD)),
        await refusal(joule, cs["endpoint"], headers=basic_auth(cs["endpoint"], "wrong-password")),
        await refusal(joule, unknown),
        await refusal(joule, cs["endpoint"]),
    ]
    assert answers[0][0] == 401, answers
    assert all(answer == answers[0] for answer in answers), "status, body and challenge tell nothing about the endpoint"


@pytest.mark.parametrize("subprotocols", [None, ["ocpp2.1"]], ids=["none", "ocpp2.1"])
async def test_a_subprotocol_joule_speaks_is_required(joule, api, subprotocols):
    cs = await api.create_chargestation()
    with pytest.raises(InvalidStatus) as refusal:
        async with websockets.connect(f"{joule.ws_url}/ocpp/{cs['endpoint']}", subprotocols=subprotocols, open_timeout=10):
            pass
    assert 400 <= refusal.value.response.status_code < 500


async def test_changing_security_disconnects_the_charger(joule, api):
    cs = await api.create_chargestation()
    endpoint = cs["endpoint"]
    async with connect(joule, endpoint) as charger:
        assert (await charger.boot()).status == "Accepted"
        await api.ok("PATCH", f"/v1.1/chargestations/{cs['_id']}", {"security": {"type": "basic", "password": PASSWORD}})
        await asyncio.wait_for(charger.wire.ws.wait_closed(), 10)
        assert "security" in charger.wire.ws.close_reason
    await eventually(lambda: offline(api, cs["_id"]))
    assert await refused(joule, endpoint) == 401, "the old way in is closed"

    async with connect(joule, endpoint, headers=basic_auth(endpoint, PASSWORD)) as charger:
        assert (await charger.boot()).status == "Accepted"
        await api.ok("PATCH", f"/v1.1/chargestations/{cs['_id']}", {"security": {"type": "basic", "password": "a-new-password"}})
        await asyncio.wait_for(charger.wire.ws.wait_closed(), 10)
    await eventually(lambda: offline(api, cs["_id"]))
    assert await refused(joule, endpoint, headers=basic_auth(endpoint, PASSWORD)) == 401
    async with connect(joule, endpoint, headers=basic_auth(endpoint, "a-new-password")) as charger:
        assert (await charger.boot()).status == "Accepted"
        assert (await api.chargestation(cs["_id"]))["online"] is True


async def offline(api, cs_id: str) -> bool:
    return (await api.chargestation(cs_id))["online"] is False


async def timed_refusal(joule, endpoint: str, password: str) -> float:
    started = time.perf_counter()
    assert await refused(joule, endpoint, headers=basic_auth(endpoint, password)) == 401
    return time.perf_counter() - started


async def test_repeated_failures_are_refused_for_a_while(own_joule):
    joule = own_joule()
    api = joule.organization()
    cs = await api.create_chargestation(security={"type": "basic", "password": PASSWORD})
    other = await api.create_chargestation(security={"type": "basic", "password": PASSWORD})
    open_cs = await api.create_chargestation()

    # An unknown endpoint costs a password check like a known one: its refusal takes as long.
    wrong, unknown = [], []
    for _ in range(5):
        wrong.append(await timed_refusal(joule, cs["endpoint"], "wrong-password"))
        unknown.append(await timed_refusal(joule, new_endpoint(), PASSWORD))
    assert statistics.median(unknown) > statistics.median(wrong) / 2, (unknown, wrong)

    # Ten failures for one endpoint within a minute: refused at once, even with the right password.
    for _ in range(5):
        assert await refused(joule, cs["endpoint"], headers=basic_auth(cs["endpoint"], "wrong-password")) == 401
    with pytest.raises(InvalidStatus) as throttled:
        async with connect(joule, cs["endpoint"], headers=basic_auth(cs["endpoint"], PASSWORD)):
            pass
    assert throttled.value.response.status_code == 429
    assert 1 <= int(throttled.value.response.headers["Retry-After"]) <= 60
    async with connect(joule, other["endpoint"], headers=basic_auth(other["endpoint"], PASSWORD)) as charger:
        assert (await charger.boot()).status == "Accepted", "other endpoints are not held up"

    # Fifty failures from one address, over any endpoints: that address waits, others do not.
    for _ in range(35):
        await refused(joule, new_endpoint(), headers=basic_auth("someone", "guess"))
    assert await refused(joule, open_cs["endpoint"]) == 429
    async with connect(joule, open_cs["endpoint"], local_addr=("127.0.0.2", 0)) as charger:
        assert (await charger.boot()).status == "Accepted"


def healthz_latencies(url: str, stop: threading.Event) -> list[float]:
    """Times GET /healthz back to back until `stop` is set."""
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
            assert r.status == 200
        latencies.append(time.perf_counter() - started)
    return latencies


def counted(joule, series: str) -> float:
    """A Prometheus series at `GET /metrics`, such as `name{label="value"}` (0 while absent)."""
    with urllib.request.urlopen(f"{joule.url}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    line = next((l for l in metrics.splitlines() if l.startswith(series + " ")), None)
    return float(line.split()[-1]) if line else 0.0


def logins(joule, result: str) -> float:
    return counted(joule, f'joule_charger_logins_total{{result="{result}"}}')


async def test_a_flood_of_wrong_passwords_leaves_the_api_responsive(own_joule):
    joule = own_joule()

    async def guess(client: int, deadline: float):
        # Each guesser its own address and fresh endpoint names, so throttling never saves the
        # server a password check: every attempt costs one.
        while time.perf_counter() < deadline:
            endpoint = new_endpoint()
            with pytest.raises(InvalidStatus):
                async with connect(joule, endpoint, headers=basic_auth(endpoint, "guess"), local_addr=(f"127.0.1.{client + 1}", 0)):
                    pass

    stop = threading.Event()
    measuring = asyncio.create_task(asyncio.to_thread(healthz_latencies, joule.url, stop))
    deadline = time.perf_counter() + 4
    await asyncio.gather(*(guess(client, deadline) for client in range(60)))
    stop.set()
    latencies = sorted(await measuring)
    checks = logins(joule, "refused")
    assert checks >= 60, f"the flood ran: {checks} refused logins"
    # With the checks on the API's own workers, the median was 150 ms and more.
    assert statistics.median(latencies) < 0.05, statistics.median(latencies)
    assert latencies[int(len(latencies) * 0.99)] < 0.1, latencies[-10:]


async def test_chargers_beyond_the_nodes_cap_are_refused_with_a_503_to_retry(own_joule):
    joule = own_joule(JOULE_MAX_CHARGERS="2")
    api = joule.organization()
    stations = [await api.create_chargestation() for _ in range(3)]
    async with connect(joule, stations[0]["endpoint"]) as first, connect(joule, stations[1]["endpoint"]):
        await first.boot()
        # Refused before the endpoint is even looked up: an unknown one is answered alike.
        for endpoint in (stations[2]["endpoint"], new_endpoint()):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(joule, endpoint):
                    pass
            response = refused.value.response
            assert (response.status_code, response.headers.get("Retry-After")) == (503, "1")
            assert b"too many charger connections" in response.body
        assert counted(joule, 'joule_charger_connections_refused_total{limit="connections"}') == 2
        assert (await api.chargestation(stations[2]["_id"]))["online"] is False
    # The seats are given back when connections end.
    async def admitted():
        try:
            async with connect(joule, stations[2]["endpoint"]) as third:
                return (await third.boot()).status
        except InvalidStatus:
            return None

    assert await eventually(admitted) == "Accepted"


async def test_handshakes_beyond_the_cap_wait_their_turn_or_are_refused_with_a_503(own_joule):
    async def connect_all(joule, stations) -> list[int | str]:
        """Each charger's outcome, all connecting at once: Accepted, or the refusal's status."""

        async def one(cs):
            endpoint = cs["endpoint"]
            try:
                async with connect(joule, endpoint, headers=basic_auth(endpoint, PASSWORD)) as charger:
                    return (await charger.boot()).status
            except InvalidStatus as refused:
                response = refused.response
                assert (response.headers.get("Retry-After"), b"too many charger handshakes" in response.body) == ("1", True)
                return response.status_code

        return await asyncio.gather(*(one(cs) for cs in stations))

    # One handshake at a time, each a password check (tens of milliseconds at least).
    waiting = own_joule(JOULE_MAX_HANDSHAKES="1")
    api = waiting.organization()
    stations = [await api.create_chargestation(security={"type": "basic", "password": PASSWORD}) for _ in range(6)]
    assert await connect_all(waiting, stations) == ["Accepted"] * 6
    assert counted(waiting, 'joule_charger_connections_refused_total{limit="handshakes"}') == 0

    refusing = own_joule(JOULE_MAX_HANDSHAKES="1", JOULE_HANDSHAKE_WAIT="0")
    api = refusing.organization()
    stations = [await api.create_chargestation(security={"type": "basic", "password": PASSWORD}) for _ in range(6)]
    outcomes = await connect_all(refusing, stations)
    assert set(outcomes) == {"Accepted", 503}, outcomes
    assert counted(refusing, 'joule_charger_connections_refused_total{limit="handshakes"}') == outcomes.count(503)
