"""Wallet-paid sessions through the REST API, with the `ocpp` package as the charger: the start
checks, the hold, the charger's start and stop, pause and resume, the capture, and what a
charger that repeats itself or never starts does to the money."""

import asyncio
from datetime import timedelta

from ocpp.v16 import call

from charger import connect, parse_time, timestamp
from server import eventually, new_endpoint
from wallet import (
    SessionCharger,
    all_events,
    create_connector,
    create_rate,
    create_user,
    driver,
    meter_values,
    money,
    now,
    round_money,
    session_of,
    sessions,
    story,
    wait_session,
)

ENERGY = [{"type": "ENERGY", "price": 0.35, "tax": 8.25}]
# What a session's hold, start and capture write, oldest first (session.updated left out).
HOLD = ["session.created", "payment.created", "payment.authorized", "wallet.updated"]
CAPTURE = ["session.ended", "payment.captured", "session.payment.captured", "wallet.updated"]


def without_updates(types: list[str]) -> list[str]:
    return [t for t in types if t != "session.updated"]


async def user_wallet(api, user_id: str) -> dict | None:
    # Not GET /users/{id}/wallet: that creates a wallet when there is none.
    return (await api.ok("GET", f"/v1.1/users/{user_id}"))["wallet"]


async def test_each_start_check_refuses_in_spec_order_and_changes_nothing(joule, api):
    rate = await create_rate(api, [{"type": "ENERGY", "price": 0.35}])
    euro_rate = await create_rate(api, [{"type": "ENERGY", "price": 0.30}], currency="EUR")
    cs = await api.create_chargestation()
    busy = await create_connector(api, cs["_id"], 1, rate)
    unpriced = await create_connector(api, cs["_id"], 2, None)
    euro = await create_connector(api, cs["_id"], 3, euro_rate)
    free = await create_connector(api, cs["_id"], 4, rate)
    holder, holder_wallet = await create_user(api, 5000)
    user, _ = await create_user(api)
    stranger = joule.organization()
    foreign_cs = await stranger.create_chargestation()
    foreign = await create_connector(stranger, foreign_cs["_id"], 1, None)

    async def snapshot():
        return (
            await user_wallet(api, user["_id"]),
            await user_wallet(api, holder["_id"]),
            [(s["_id"], s["status"]) for s in await sessions(api)],
            [e["_id"] for e in await all_events(api)],
        )

    async def refused(connector: str, user_id: str, status: int, message: str | None):
        before = await snapshot()
        answer = await api.request("POST", "/v1.1/sessions", {"type": "wallet", "connector": connector, "user": user_id})
        assert answer.status == status, (connector, user_id, answer)
        assert answer.result is None, answer
        if message is not None:
            assert answer.message == message, answer
        assert await snapshot() == before, f"a refused start ({status} {message}) changed something"

    async with connect(joule, cs["endpoint"], SessionCharger) as charger:
        await charger.boot()
        # Another driver's session takes connector 1: the charger accepts the start and then waits.
        taken = await api.ok("POST", "/v1.1/sessions", {"type": "wallet", "connector": busy["_id"], "user": holder["_id"]})
        await charger.nth_call("RemoteStartTransaction")
        assert (await session_of(api, taken["_id"]))["status"] == "created"
    await eventually(lambda: offline(api, cs["_id"]))

    # Connector 1 is now busy and its chargestation offline; the user has no wallet.
    unknown = "0123456789abcdef01234567"
    await refused(unknown, user["_id"], 404, None)
    await refused(foreign["_id"], user["_id"], 404, None)
    await refused(busy["_id"], unknown, 404, None)
    await refused(busy["_id"], user["_id"], 405, "User does not have a wallet")

    wallet = await api.ok("POST", f"/v1.1/users/{user['_id']}/wallet", {"currency": "usd"})
    await refused(busy["_id"], user["_id"], 405, "User does not have minimum balance")
    await adjust(api, wallet["_id"], 1999)
    await refused(busy["_id"], user["_id"], 405, "User does not have minimum balance")
    # What is held for a session is not available: the holder has a balance but nothing available.
    held = await user_wallet(api, holder["_id"])
    assert (held["balance"], held["available_balance"]) == (5000, 0), held
    await refused(free["_id"], holder["_id"], 405, "User does not have minimum balance")

    await adjust(api, wallet["_id"], 1)  # the organization's default minimum: 2000 cents
    await refused(euro["_id"], user["_id"], 405, "Wallet currency does not match the rate currency")
    await refused(unpriced["_id"], user["_id"], 405, "Connector does not have a rate")
    await refused(busy["_id"], user["_id"], 409, "Chargestation is offline")
    await refused(free["_id"], user["_id"], 409, "Chargestation is offline")

    async with connect(joule, cs["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await refused(busy["_id"], user["_id"], 409, "Connector is not available")
        session = await api.ok("POST", "/v1.1/sessions", {"type": "wallet", "connector": free["_id"], "user": user["_id"]})
        assert (session["status"], session["connector"], session["payment"]["authorized_amount"]) == ("created", free["_id"], 20)
        remote = await charger.nth_call("RemoteStartTransaction")
        assert remote == {"connectorId": 4, "idTag": session["idTag"]}
    after = await user_wallet(api, user["_id"])
    assert (after["balance"], after["available_balance"]) == (2000, 0), after


async def offline(api, cs_id: str) -> bool:
    return (await api.chargestation(cs_id))["online"] is False


async def adjust(api, wallet_id: str, cents: int) -> dict:
    return (await api.ok("POST", f"/v1.1/wallets/{wallet_id}/adjustments", {"amount": cents, "reason": "test credit"}))["wallet"]


async def test_a_wallet_session_from_start_to_capture(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await charger.status(1, "Available")
        session = await d.start()
        assert (session["status"], session["type"], session["user"], session["chargestation"], session["connector"], session["rate"]) == (
            "created", "wallet", d.user["_id"], d.chargestation["_id"], d.connector["_id"], d.rate["_id"])
        payment = session["payment"]
        assert {k: payment[k] for k in ("session", "currency", "captured_amount", "type", "status", "wallet")} == {
            "session": session["_id"], "currency": "usd", "captured_amount": 0, "type": "api_wallet", "status": "authorized", "wallet": d.wallet["_id"]}
        assert money(payment["authorized_amount"]) == money("50.00")
        held = await d.wallet_now()
        assert (held["balance"], held["available_balance"]) == (5000, 0), held

        # The charger reports an hour at 7.2 kW, as it queued it (the times are its own).
        t0 = now() - timedelta(hours=1)
        tx = await charger.start_remote(session, meter_start=1200, at=t0)
        await charger.status(1, "Charging")
        started = await session_of(api, session["_id"])
        assert (started["status"], started["transactionId"]) == ("started", tx), started
        assert parse_time(started["startedAt"]) == t0
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=20)), 3600))
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=40)), 6000))
        running = await session_of(api, session["_id"])
        assert money(running["metrics"]["energyConsumed"]) == 4800, running["metrics"]
        # 4.8 kWh at $0.35 plus 8.25% tax: $1.81867, so far.
        assert money(running["cost"]["amount"]) == money("1.82"), running["cost"]
        stopped_at = t0 + timedelta(minutes=50)
        await charger.send(call.StopTransaction(meter_stop=7200, timestamp=timestamp(stopped_at), transaction_id=tx, reason="EVDisconnected", id_tag=session["idTag"]))

    ended = await session_of(api, session["_id"])
    # 6 kWh at $0.35 plus 8.25% tax, priced here from what the charger sent.
    cost = round_money(money("6.000") * money("0.35") * (1 + money("8.25") / 100))
    assert cost == money("2.27")
    assert ended["status"] == "ended", ended
    assert parse_time(ended["endedAt"]) == stopped_at
    assert (money(ended["cost"]["amount"]), ended["cost"]["currency"]) == (cost, "USD"), ended["cost"]
    paid = ended["payment"]
    assert (paid["status"], money(paid["captured_amount"]), money(paid["authorized_amount"]), money(paid["uncollected_amount"])) == ("succeeded", cost, 50, 0), paid

    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (5000 - 227, 5000 - 227), wallet
    ledger = await d.ledger()
    assert [(e["type"], e["amount"], e["balance_after"]) for e in ledger] == [("session_capture", -227, 4773), ("adjustment", 5000, 5000)], ledger
    assert ledger[0]["reference"] == session["_id"]

    events = await all_events(api)
    told = story(events, session["_id"], d.wallet["_id"])
    assert without_updates(told) == HOLD + ["session.started"] + CAPTURE, told
    # The first reading is news about the session; the next, moments later, is coalesced with it.
    assert told[told.index("session.started") + 1 : told.index("session.ended")] == ["session.updated"], told
    by_type = {e["type"]: e for e in events if e["type"] in ("session.ended", "payment.captured", "session.payment.captured")}
    assert money(by_type["session.ended"]["data"]["cost"]["amount"]) == cost
    assert money(by_type["payment.captured"]["data"]["captured_amount"]) == cost
    assert by_type["session.payment.captured"]["data"]["payment"]["status"] == "succeeded"


async def running_session(joule, api, charger, d) -> tuple[dict, int]:
    session = await d.start()
    tx = await charger.start_remote(session, meter_start=0)
    await charger.status(1, "Charging")
    return session, tx


async def test_pause_and_resume_reach_the_charger_as_a_tx_profile_and_its_removal(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session, tx = await running_session(joule, api, charger, d)
        sid = session["_id"]

        paused = await api.ok("POST", f"/v1.1/sessions/{sid}/pause")
        assert (paused["_id"], paused["status"]) == (sid, "paused")
        [profile_call] = charger.calls_of("SetChargingProfile")
        assert profile_call["connectorId"] == 1, profile_call
        profile = profile_call["csChargingProfiles"]
        assert (profile["chargingProfilePurpose"], profile["transactionId"]) == ("TxProfile", tx), profile
        periods = profile["chargingSchedule"]["chargingSchedulePeriod"]
        assert periods and all(p["limit"] == 0 for p in periods), profile
        assert (await session_of(api, sid))["status"] == "paused"
        # Only a started session pauses; nothing more goes to the charger.
        again = await api.request("POST", f"/v1.1/sessions/{sid}/pause")
        assert again.status == 409, again
        assert len(charger.calls_of("SetChargingProfile")) == 1

        resumed = await api.ok("GET", f"/v1.1/sessions/{sid}/resume")
        assert resumed["status"] == "started"
        assert charger.calls_of("ClearChargingProfile") == [{"id": profile["chargingProfileId"]}]
        assert (await session_of(api, sid))["status"] == "started"

        # A charger that refuses: 409 with its answer, and nothing changes.
        for answer in ("Rejected", "NotSupported"):
            charger.answers["SetChargingProfile"] = answer
            events_before = [e["_id"] for e in await all_events(api)]
            refused = await api.request("POST", f"/v1.1/sessions/{sid}/pause")
            assert refused.status == 409 and answer in refused.message, refused
            assert (await session_of(api, sid))["status"] == "started"
            assert [e["_id"] for e in await all_events(api)] == events_before
        assert len(charger.calls_of("SetChargingProfile")) == 3

        charger.answers["SetChargingProfile"] = "Accepted"
        await api.ok("GET", f"/v1.1/sessions/{sid}/pause")
        assert len(charger.calls_of("SetChargingProfile")) == 4
        await api.ok("POST", f"/v1.1/sessions/{sid}/resume")
        assert (await session_of(api, sid))["status"] == "started"
        await charger.send(call.StopTransaction(meter_stop=500, timestamp=timestamp(), transaction_id=tx, reason="Local"))

    told = story(await all_events(api), sid, d.wallet["_id"])
    assert without_updates(told) == HOLD + ["session.started", "session.paused", "session.resumed", "session.paused", "session.resumed"] + CAPTURE, told
    ended = await session_of(api, sid)
    assert [bool(p["endTime"]) for p in ended["pauses"]] == [True, True], ended["pauses"]


async def test_stop_is_refused_with_parking_time_and_otherwise_reaches_the_charger(joule, api):
    parking = await driver(api, [{"type": "ENERGY", "price": 0.35}, {"type": "PARKING_TIME", "price": 2.0}], balance=3000)
    async with connect(joule, parking.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session, tx = await running_session(joule, api, charger, parking)
        refused = await api.request("POST", f"/v1.1/sessions/{session['_id']}/stop")
        assert (refused.status, refused.message, refused.result) == (405, "Session cannot be stopped via API when the rate has a PARKING_TIME component", None)
        assert (await api.request("GET", f"/v1.1/sessions/{session['_id']}/stop")).status == 405
        assert charger.calls_of("RemoteStopTransaction") == []
        assert (await session_of(api, session["_id"]))["status"] == "started"
        await charger.send(call.StopTransaction(meter_stop=100, timestamp=timestamp(), transaction_id=tx, reason="EVDisconnected"))
    assert (await session_of(api, session["_id"]))["status"] == "ended"

    d = await driver(api, ENERGY, balance=3000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session, tx = await running_session(joule, api, charger, d)
        stopping = await api.ok("POST", f"/v1.1/sessions/{session['_id']}/stop")
        assert stopping["_id"] == session["_id"]
        assert await charger.nth_call("RemoteStopTransaction") == {"transactionId": tx}
        # The session ends when the charger reports the stop, not before.
        assert (await session_of(api, session["_id"]))["status"] == "started"
        await charger.send(call.StopTransaction(meter_stop=1000, timestamp=timestamp(), transaction_id=tx, reason="Remote"))
    ended = await session_of(api, session["_id"])
    assert (ended["status"], ended["payment"]["status"], money(ended["payment"]["captured_amount"])) == ("ended", "succeeded", money("0.38")), ended


async def test_a_start_the_charger_rejects_cancels_the_session_and_releases_the_hold(joule, api):
    d = await driver(api, ENERGY, balance=2500)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        charger.answers["RemoteStartTransaction"] = "Rejected"
        session = await d.start()
        await charger.nth_call("RemoteStartTransaction")
        cancelled = await wait_session(api, session["_id"], "cancelled")
        assert cancelled["payment"]["status"] == "canceled", cancelled
        # The idTag Joule issued is no good once its session is cancelled.
        late = await charger.send(call.Authorize(id_tag=session["idTag"]))
        assert late.id_tag_info["status"] == "Invalid"
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (2500, 2500), wallet
    told = story(await all_events(api), session["_id"], d.wallet["_id"])
    assert told == HOLD + ["session.start_failure", "session.cancelled", "payment.canceled", "wallet.updated"], told
    assert await d.ledger() == [e for e in await d.ledger() if e["type"] == "adjustment"]


async def test_a_session_the_charger_never_starts_is_cancelled_after_the_start_timeout(own_joule):
    joule = own_joule(JOULE_START_TIMEOUT="2")
    api = joule.organization()
    d = await driver(api, ENERGY, balance=2500)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session = await d.start()
        await charger.nth_call("RemoteStartTransaction")  # Accepted, and then nothing
        # 2 s of timeout, and the runner looks every 5 s.
        cancelled = await wait_session(api, session["_id"], "cancelled", seconds=20)
        assert cancelled["payment"]["status"] == "canceled", cancelled
        # A start that comes too late is refused, and moves no money.
        late = await charger.send(call.StartTransaction(connector_id=1, id_tag=session["idTag"], meter_start=0, timestamp=timestamp()))
        assert late.id_tag_info["status"] == "Invalid", late
    assert (await session_of(api, session["_id"]))["status"] == "cancelled"
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (2500, 2500), wallet
    told = story(await all_events(api), session["_id"], d.wallet["_id"])
    assert told == HOLD + ["session.cancelled", "payment.canceled", "wallet.updated"], told


async def test_repeated_and_late_stops_and_meter_values_never_capture_twice(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    t0 = now() - timedelta(minutes=30)
    stop = None
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session = await d.start()
        tx = await charger.start_remote(session, meter_start=0, at=t0)
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=10)), 1000))
        stop = call.StopTransaction(meter_stop=2000, timestamp=timestamp(t0 + timedelta(minutes=20)), transaction_id=tx, reason="EVDisconnected", id_tag=session["idTag"])
        first = await charger.send(stop)
        assert first.id_tag_info is not None

        async def state():
            s = await session_of(api, session["_id"])
            return (await d.wallet_now(), await d.ledger(), s["status"], s["payment"], s["cost"], s["endedAt"])

        settled = await state()
        # 2 kWh at $0.35 plus 8.25% tax = $0.75775.
        assert (settled[2], money(settled[3]["captured_amount"])) == ("ended", money("0.76")), settled
        assert (settled[0]["balance"], settled[0]["available_balance"]) == (4924, 4924), settled[0]

        await charger.send(stop)
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=25)), 9000))
        await charger.send(call.StopTransaction(meter_stop=9000, timestamp=timestamp(t0 + timedelta(minutes=29)), transaction_id=tx, reason="Local"))
        assert await state() == settled
    # After a reconnect, the charger replays what it thinks was never confirmed.
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await charger.send(stop)
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=21)), 2500))
        await charger.send(stop)
        assert await state() == settled
    told = story(await all_events(api), session["_id"], d.wallet["_id"])
    assert without_updates(told) == HOLD + ["session.started"] + CAPTURE, told
    assert len([e for e in settled[1] if e["type"] == "session_capture"]) == 1


async def test_concurrent_wallet_sessions_each_hold_and_capture_their_own(joule, api):
    """Two drivers on two connectors of one charger, interleaved: each capture touches only
    its own wallet."""
    rate = await create_rate(api, ENERGY)
    cs = await api.create_chargestation(new_endpoint())
    connectors = [await create_connector(api, cs["_id"], n, rate) for n in (1, 2)]
    users = [await create_user(api, balance) for balance in (3000, 4000)]
    async with connect(joule, cs["endpoint"], SessionCharger) as charger:
        await charger.boot()
        started = []
        for n, ((user, _), connector) in enumerate(zip(users, connectors)):
            session = await api.ok("POST", "/v1.1/sessions", {"type": "wallet", "connector": connector["_id"], "user": user["_id"]})
            started.append((session, await charger.start_remote(session, meter_start=0, n=n)))
        t = timestamp()
        await asyncio.gather(*(charger.send(call.StopTransaction(meter_stop=wh, timestamp=t, transaction_id=tx, reason="Local")) for (_, tx), wh in zip(started, (1000, 3000))))
    # 1 kWh: $0.378875; 3 kWh: $1.136625.
    for (session, _), (_, wallet), cents in zip(started, users, (38, 114)):
        ended = await session_of(api, session["_id"])
        assert money(ended["payment"]["captured_amount"]) * 100 == cents, ended["payment"]
        after = await api.ok("GET", f"/v1.1/wallets/{wallet['_id']}")
        assert after["balance"] == after["available_balance"] == wallet["balance"] - cents, after
