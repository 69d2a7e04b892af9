"""Joule stopped with SIGTERM while chargers are connected: it closes each connection with a
WebSocket close frame (1001, going away), records every disconnection before it closes the
database, and logs no warning or error for an orderly stop."""

import asyncio
import contextlib
import json
import time

from ocpp.v16 import call

from charger import connect, parse_time

CHARGERS = 12
# SPEC: a stop within a bounded time, by default 10 s.
STOP_SECONDS = 10


def records(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_sigterm_closes_every_charger_and_records_each_end(own_joule):
    joule = own_joule()
    api = joule.organization()
    stations = [await api.create_chargestation() for _ in range(CHARGERS)]
    async with contextlib.AsyncExitStack() as stack:
        chargers = [await stack.enter_async_context(connect(joule, cs["endpoint"])) for cs in stations]
        for charger in chargers:
            await charger.boot()
            await charger.send(call.Heartbeat())
        connected = [await api.chargestation(cs["_id"]) for cs in stations]
        assert all(cs["online"] for cs in connected), connected

        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, joule.stop)
        stopped_in = time.monotonic() - started
        for charger in chargers:
            await asyncio.wait_for(charger.wire.ws.wait_closed(), STOP_SECONDS)
        codes = [charger.wire.ws.close_code for charger in chargers]

    assert joule.process.returncode == 0
    assert stopped_in < STOP_SECONDS, stopped_in
    assert codes == [1001] * CHARGERS, codes
    logged = records(joule.log)
    assert [r for r in logged if r["level"] in ("WARN", "ERROR")] == []
    told = [r["fields"].get("chargers") for r in logged if r["fields"].get("message") == "closing the charger connections"]
    recorded = [r["fields"].get("chargers") for r in logged if r["fields"].get("message") == "recorded the charger connections' ends"]
    assert (told, recorded) == ([CHARGERS], [CHARGERS]), logged[-10:]

    before_restart = len(joule.log)
    joule.restart()
    # The stopped server recorded every end itself: the new one finds none left online.
    assert not any("left online" in line for line in joule.log[before_restart:])
    for cs, was in zip(stations, connected):
        stored = await api.chargestation(cs["_id"])
        assert stored["online"] is False, stored
        assert parse_time(stored["lastDisconnectAt"]) >= parse_time(was["lastConnectAt"])
    offline = [e["data"]["_id"] for e in await api.events() if e["type"] == "chargestation.offline"]
    assert sorted(offline) == sorted(cs["_id"] for cs in stations)

