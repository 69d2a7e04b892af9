"""Several `joule serve` processes on one PostgreSQL database behave as one system (SPEC 11):
a command or a wallet session goes through whichever node the API is called on, to the node the
charger is connected to; a node that starts beside another touches nothing of it; a node killed
mid-session loses nothing: its charger reconnects to another node, which carries the session on
to its capture, and only the chargers that do not come back go offline once its lease runs out."""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger import Charger, connect, timestamp
from server import REPO, Api, Joule, eventually
from wallet import SessionCharger, all_events, driver, meter_values, money, now, story, wait_session
from webhook_receiver import Receiver

LEASE_S = 3
CALL_TIMEOUT_S = 2
SHORT = {"JOULE_NODE_LEASE": str(LEASE_S), "JOULE_CALL_TIMEOUT": str(CALL_TIMEOUT_S)}
ENERGY = [{"type": "ENERGY", "price": 0.35, "tax": 8.25}]


def through(joule: "Joule | Proxy", api: Api) -> Api:
    """The same organization's API on another node."""
    return Api(joule.url, api.key)


class BusyCharger(Charger):
    """Answers GetConfiguration at length, ClearCache too late, and Reset with a CALLERROR."""

    @on(Action.get_configuration)
    def on_get_configuration(self, key=None, **_):
        return call_result.GetConfiguration(configuration_key=[{"key": k, "readonly": True, "value": "v" * 400} for k in key or []])

    @on(Action.clear_cache)
    async def on_clear_cache(self, **_):
        await asyncio.sleep(CALL_TIMEOUT_S + 2)
        return call_result.ClearCache(status="Accepted")

    @on(Action.reset)
    def on_reset(self, **_):
        raise RuntimeError("the relay is stuck")


async def online(api: Api, cs_id: str) -> bool:
    return (await api.chargestation(cs_id))["online"]


async def test_commands_reach_a_charger_through_either_node_with_one_nodes_statuses(nodes):
    a = nodes(**SHORT)
    api_a = a.organization()
    cs = await api_a.create_chargestation()
    async with connect(a, cs["endpoint"], BusyCharger) as charger:
        await charger.boot()
        # A node that starts beside a running one leaves its chargers alone.
        b = nodes(**SHORT)
        api_b = through(b, api_a)
        assert await online(api_b, cs["_id"])
        assert [e["type"] for e in await all_events(api_b) if e["type"] == "chargestation.offline"] == []

        # Through B to the charger on A and back: a request and an answer too large for a
        # NOTIFY's payload, a CALLERROR (502), no answer in time (504).
        keys = [f"Key{i:03d}" for i in range(40)]
        answer = await api_b.command(cs["_id"], "GetConfiguration", {"key": keys})
        assert answer.status == 200, answer
        assert [k["key"] for k in answer.result["configurationKey"]] == keys
        assert charger.calls_received()[-1] == ("GetConfiguration", {"key": keys})
        failed = await api_b.command(cs["_id"], "Reset", {"type": "Soft"})
        assert (failed.status, "InternalError" in failed.message) == (502, True), failed
        late = await api_b.command(cs["_id"], "ClearCache", {})
        assert late.status == 504, late

        # The charger connects to B while its connection to A is open: B holds it now, and A
        # closes the stale connection.
        async with connect(b, cs["endpoint"], BusyCharger) as moved:
            await moved.boot()
            await asyncio.wait_for(charger.wire.ws.wait_closed(), 10)
            assert (charger.wire.ws.close_code, charger.wire.ws.close_reason) == (1000, "connected to another node")
            answer = await api_a.command(cs["_id"], "GetConfiguration", {"key": ["HeartbeatInterval"]})
            assert answer.status == 200, answer
            assert moved.calls_received()[-1] == ("GetConfiguration", {"key": ["HeartbeatInterval"]})
            # A's end of its stale connection did not take the charger offline.
            assert await online(api_a, cs["_id"])
    await eventually(lambda: online_is(api_a, cs["_id"], False))
    for api in (api_a, api_b):
        gone = await api.command(cs["_id"], "ClearCache", {})
        assert gone.status == 409, gone


async def online_is(api: Api, cs_id: str, expected: bool) -> bool:
    return await online(api, cs_id) == expected


async def test_a_wallet_session_through_the_other_node_survives_the_death_of_the_node_holding_its_charger(nodes):
    a, b = nodes(**SHORT), nodes(**SHORT)
    api_b = through(b, a.organization())
    receiver = Receiver()
    try:
        endpoint = await api_b.ok("POST", "/v1.1/webhooks", {"url": receiver.url, "events": ["*"], "description": "two nodes"})
        receiver.secrets.append(endpoint["secret"])
        d = await driver(api_b, ENERGY, balance=5000)
        stays = await api_b.create_chargestation()
        left = await api_b.create_chargestation()
        t0 = now() - timedelta(minutes=30)
        async with connect(b, stays["endpoint"]) as on_b, connect(a, left["endpoint"]) as gone:
            await on_b.boot()
            await gone.boot()
            async with connect(a, d.chargestation["endpoint"], SessionCharger) as charger:
                await charger.boot()
                # Started, paused and resumed through B; the charger is on A.
                session = await d.start()
                tx = await charger.start_remote(session, meter_start=0, at=t0)
                await charger.status(1, "Charging", t0)
                await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=10)), 1000))
                await api_b.ok("POST", f"/v1.1/sessions/{session['_id']}/pause")
                assert charger.calls_of("SetChargingProfile"), charger.calls_received()
                await api_b.ok("POST", f"/v1.1/sessions/{session['_id']}/resume")
                assert charger.calls_of("ClearChargingProfile"), charger.calls_received()
                # Deliveries are at least once: one A made but had not recorded when it died
                # would be made again. Killed once each is recorded, A leaves none of those.
                await eventually(lambda: all_recorded(api_b, endpoint), 30)
                a.kill()
                await asyncio.wait_for(charger.wire.ws.wait_closed(), 10)

            # The charger comes back on B, which carries its session on from the database.
            async with connect(b, d.chargestation["endpoint"], SessionCharger) as charger:
                await charger.boot()
                await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=20)), 2000))
                await api_b.ok("POST", f"/v1.1/sessions/{session['_id']}/stop")
                await charger.nth_call("RemoteStopTransaction")
                stop = call.StopTransaction(meter_stop=2400, timestamp=timestamp(t0 + timedelta(minutes=25)), transaction_id=tx, reason="Remote", id_tag=session["idTag"])
                await charger.send(stop)
                ended = await wait_session(api_b, session["_id"], "ended")

                # Once A's lease ran out, the charger that did not come back is offline; the
                # one on B and the one that moved never were.
                await eventually(lambda: online_is(api_b, left["_id"], False), LEASE_S * 4)
                assert await online(api_b, stays["_id"]) and await online(api_b, d.chargestation["_id"])
                offline = [e["data"]["_id"] for e in await all_events(api_b) if e["type"] == "chargestation.offline"]
                assert offline == [left["_id"]], offline

        payment = ended["payment"]
        assert money(payment["captured_amount"]) <= money(payment["authorized_amount"]), payment
        assert payment["status"] == "succeeded", payment
        wallet = await d.wallet_now()
        captured = round(money(payment["captured_amount"]) * 100)
        assert wallet["balance"] == wallet["available_balance"] == 5000 - captured, wallet
        assert [e["type"] for e in await d.ledger()].count("session_capture") == 1

        events = await all_events(api_b)
        told = story(events, session["_id"], d.wallet["_id"])
        assert told.count("payment.captured") == 1 and told.count("session.ended") == 1, told
        # Every event reaches the receiver exactly once, whichever node delivered it.
        ids = deliverable(events, endpoint)
        await receiver.wait(lambda: ids <= {x.id for x in receiver.delivered()}, 30, "every event delivered")
        delivered = [x.id for x in receiver.delivered() if x.id in ids]
        assert len(delivered) == len(set(delivered)), "an event was delivered twice"
        assert all(x.verified_by for x in receiver.delivered())
    finally:
        receiver.close()


def deliverable(events: list[dict], endpoint: dict) -> set[str]:
    """The events the endpoint gets: those since its creation (times as Joule writes them compare as text)."""
    return {e["_id"] for e in events if e["createdAt"] >= endpoint["createdAt"]}


async def all_recorded(api: Api, endpoint: dict) -> bool:
    attempts = await api.ok("GET", f"/v1.1/webhooks/{endpoint['_id']}/deliveries?limit=100")
    return deliverable(await all_events(api), endpoint) <= {x["event"] for x in attempts if x["status"] == "succeeded"}


async def test_a_charger_cannot_reach_a_node_after_it_stopped_but_the_other_node_serves_it(nodes):
    a, b = nodes(**SHORT), nodes(**SHORT)
    api_a = a.organization()
    api_b = through(b, api_a)
    cs = await api_a.create_chargestation()
    async with connect(a, cs["endpoint"]) as charger:
        await charger.boot()
        await asyncio.get_running_loop().run_in_executor(None, a.stop)
        await asyncio.wait_for(charger.wire.ws.wait_closed(), 10)
    # A stopping node records its chargers' ends itself, at once.
    assert not await online(api_b, cs["_id"])
    with pytest.raises((OSError, websockets.InvalidHandshake)):
        async with connect(a, cs["endpoint"]):
            pass
    async with connect(b, cs["endpoint"]) as charger:
        await charger.boot()
        assert await online(api_b, cs["_id"])
        assert (await api_b.command(cs["_id"], "ClearCache", {})).status == 200


@dataclass
class Proxy:
    """HAProxy in front of the nodes, run with the configuration operators use
    (`deploy/haproxy.cfg`); chargers and API clients connect to it as to one Joule."""

    url: str
    ws_url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def haproxy(*nodes: Joule):
    if not shutil.which("haproxy"):
        pytest.skip("haproxy is not installed (scripts/test installs it from the distribution's packages as root)")
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "JOULE_PROXY_LISTEN": address, **{f"JOULE_NODE{i + 1}": n.address for i, n in enumerate(nodes)}}
    # Its log goes to a file: a pipe nobody reads would stall it once full.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(["haproxy", "-db", "-f", str(REPO / "deploy" / "haproxy.cfg")], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield Proxy(f"http://{address}", f"ws://{address}")
        except BaseException:
            log.seek(0)
            print("haproxy's log:\n" + log.read())
            raise
        finally:
            process.terminate()
            process.wait(10)


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def connected_chargers(joule: Joule) -> float:
    with urllib.request.urlopen(f"{joule.url}/metrics", timeout=5) as r:
        line = next(line for line in r.read().decode().splitlines() if line.startswith("joule_connected_chargers"))
    return float(line.split()[-1])


async def test_chargers_and_clients_through_haproxy_reach_the_nodes_and_move_when_one_dies(nodes):
    a, b = nodes(**SHORT), nodes(**SHORT)
    with haproxy(a, b) as proxy:
        await eventually(lambda: asyncio.to_thread(ready, proxy.url), 20)
        api = through(proxy, a.organization())
        first, second = await api.create_chargestation(), await api.create_chargestation()
        async with connect(proxy, first["endpoint"]) as one, connect(proxy, second["endpoint"]) as two:
            await one.boot()
            await two.boot()
            # The proxy spread them: one charger on each node.
            assert (connected_chargers(a), connected_chargers(b)) == (1, 1)
            for cs in (first, second):
                assert (await api.command(cs["_id"], "ClearCache", {})).result == {"status": "Accepted"}
            a.kill()

            def closed(charger: Charger) -> bool:
                return charger.wire.ws.state.name == "CLOSED"

            await eventually(lambda: asyncio.sleep(0, result=closed(one) or closed(two)), 10)
            assert not (closed(one) and closed(two)), "only the charger on the killed node lost its connection"
            moved = first if closed(one) else second
        # It comes back through the proxy, to B, and is served.
        async with connect(proxy, moved["endpoint"]) as back:
            await back.boot()
            assert (await api.command(moved["_id"], "ClearCache", {})).result == {"status": "Accepted"}
