"""Joule killed (SIGKILL) in the middle of a wallet session and started again on the same
database: the charger comes back with the StopTransaction it queued while Joule was away, and
the session ends, is captured once, and every event is there once, in order."""

import asyncio
import contextlib
from datetime import timedelta

from ocpp.v16 import call

from charger import Charger, connect, parse_time, timestamp
from server import eventually
from wallet import SessionCharger, all_events, driver, meter_values, money, now, round_money, session_of, story

ENERGY = [{"type": "ENERGY", "price": 0.35, "tax": 8.25}]
CAPTURE = ["session.ended", "payment.captured", "session.payment.captured", "wallet.updated"]


async def test_a_wallet_session_survives_a_crash_of_joule(own_joule):
    joule = own_joule()
    api = joule.organization()
    d = await driver(api, ENERGY, balance=5000)
    t0 = now() - timedelta(minutes=30)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session = await d.start()
        tx = await charger.start_remote(session, meter_start=500, at=t0)
        await charger.status(1, "Charging", t0)
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=10)), 1700))
        running = await session_of(api, session["_id"])
        assert running["status"] == "started"
        before = await all_events(api)
        joule.kill()
        await asyncio.wait_for(charger.wire.ws.wait_closed(), 10)

    # While Joule is down the driver unplugs; the charger queues the stop with its own time.
    stopped_at = t0 + timedelta(minutes=20)
    stop = call.StopTransaction(
        meter_stop=2900,
        timestamp=timestamp(stopped_at),
        transaction_id=tx,
        reason="EVDisconnected",
        id_tag=session["idTag"],
        transaction_data=[{"timestamp": timestamp(t0 + timedelta(minutes=15)), "sampled_value": [{"value": "2300", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}],
    )
    joule.restart()

    # Nothing committed before the crash is lost; the hold is still there.
    assert [e["_id"] for e in (await all_events(api))[: len(before)]] == [e["_id"] for e in before]
    assert len(await all_events(api)) >= len(before)
    assert (await session_of(api, session["_id"]))["status"] == "started"
    held = await d.wallet_now()
    assert (held["balance"], held["available_balance"]) == (5000, 0), held

    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await charger.status(1, "Finishing")
        await charger.send(stop)
        await charger.send(stop)  # its confirmation lost too, it sends the stop once more

    ended = await session_of(api, session["_id"])
    # 2.4 kWh at $0.35 plus 8.25% tax: $0.90930.
    cost = round_money(money("2.4") * money("0.35") * (1 + money("8.25") / 100))
    assert (ended["status"], parse_time(ended["endedAt"])) == ("ended", stopped_at), ended
    payment = ended["payment"]
    assert (payment["status"], money(payment["captured_amount"]), money(payment["uncollected_amount"])) == ("succeeded", cost, 0), payment
    wallet = await d.wallet_now()
    assert wallet["balance"] == wallet["available_balance"] == 5000 - 91, wallet
    ledger = await d.ledger()
    assert [(e["type"], e["amount"]) for e in ledger] == [("session_capture", -91), ("adjustment", 5000)], ledger

    after = await all_events(api)
    assert [e["_id"] for e in after[: len(before)]] == [e["_id"] for e in before], "events from before the crash changed"
    ids = [e["_id"] for e in after]
    assert len(ids) == len(set(ids)), "an event is listed twice"
    told_before = story(before, session["_id"], d.wallet["_id"])
    told = story(after, session["_id"], d.wallet["_id"])
    assert told[: len(told_before)] == told_before
    assert [t for t in told[len(told_before) :] if t != "session.updated"] == CAPTURE, told


CHARGERS = 24
UNDER_LOAD_S = 1.5


async def test_every_answered_reading_and_stop_survives_a_kill_under_load(own_joule):
    """Many chargers send readings as fast as Joule answers them (readings of many connections
    share a commit), some stop their transaction meanwhile; Joule is killed (SIGKILL) under that
    load. After a restart every reading and every StopTransaction Joule answered is there."""
    joule = own_joule()
    api = joule.organization()
    await api.create_token("CARD-LOAD")
    # By (chargestation, transactionId): transaction ids count per chargestation.
    answered: dict[tuple[str, int], int] = {}
    stopping: set[tuple[str, int]] = set()
    stopped: set[tuple[str, int]] = set()
    killed = asyncio.Event()

    async def charge(i: int, cs_id: str, charger: Charger):
        await charger.boot()
        started = await charger.send(call.StartTransaction(connector_id=1, id_tag="CARD-LOAD", meter_start=0, timestamp=timestamp()))
        key = (cs_id, started.transaction_id)
        answered[key] = 0
        wh = 0
        while not killed.is_set():
            wh += 10
            if i % 4 == 0 and wh == 50:
                stopping.add(key)
                await charger.send(call.StopTransaction(meter_stop=wh, timestamp=timestamp(), transaction_id=key[1], id_tag="CARD-LOAD"))
                stopped.add(key)
                return
            await charger.send(meter_values(1, key[1], timestamp(), wh))
            answered[key] = wh

    async def run(i: int):
        cs = await api.create_chargestation()
        async with connect(joule, cs["endpoint"]) as charger:
            with contextlib.suppress(Exception):
                await charge(i, cs["_id"], charger)

    chargers = [asyncio.create_task(run(i)) for i in range(CHARGERS)]
    await eventually(lambda: asyncio.sleep(0, result=len(stopped) == CHARGERS // 4), 30)
    await asyncio.sleep(UNDER_LOAD_S)
    joule.kill()
    killed.set()
    await asyncio.gather(*chargers)
    assert stopped and sum(answered.values()) > 0, (stopped, answered)

    joule.restart()
    sessions = await api.ok("GET", "/v1.1/sessions?limit=100")
    by_transaction = {(s["chargestation"], s["transactionId"]): s for s in sessions}
    assert set(by_transaction) == set(answered), "every transaction Joule answered is there"
    for key, wh in answered.items():
        session = await api.ok("GET", f"/v1.1/sessions/{by_transaction[key]['_id']}")
        stored = max((r["energy"] for r in session["energy_report"]), default=0)
        assert stored >= wh, f"{key}: the reading of {wh} Wh was answered, {stored} Wh is stored"
        # An answered stop is there; one sent but not answered before the kill may be.
        if key in stopped:
            assert session["status"] == "ended", (key, session)
        assert session["status"] == "ended" or key not in stopped, (key, session["status"])
        assert session["status"] == "started" or key in stopping, (key, session["status"])
