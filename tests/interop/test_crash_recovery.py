"""Joule killed (SIGKILL) in the middle of a wallet session and started again on the same
database: the charger comes back with the StopTransaction it queued while Joule was away, and
the session ends, is captured once, and every event is there once, in order."""

import asyncio
from datetime import timedelta

from ocpp.v16 import call

from charger import connect, parse_time, timestamp
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
