"""Tap to charge (SPEC 5, card sessions): an RFID card whose token belongs to a user with a
wallet starts a wallet-paid session at the charger, with the `ocpp` package as the charger: the
checks at Authorize and StartTransaction, the hold, the capture, two cards of one user at once,
a retried StartTransaction, a start the charger made while offline, and the local
authorization list that lets cards work while a charger cannot reach Joule."""

import asyncio
from datetime import timedelta
from decimal import Decimal

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger import Charger, connect, timestamp
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
    to_cents,
    wait_session,
)

ENERGY = [{"type": "ENERGY", "price": 0.35}]
HOLD_AND_START = ["session.created", "payment.created", "payment.authorized", "wallet.updated", "session.started"]
CAPTURE = ["session.ended", "payment.captured", "session.payment.captured", "wallet.updated"]


async def card_of(api, user: dict) -> dict:
    return await api.create_token(new_endpoint()[:20], user=user["_id"])


async def start(charger, tag: str, meter_start: int = 0, at=None, connector_id: int = 1):
    return await charger.send(call.StartTransaction(connector_id=connector_id, id_tag=tag, meter_start=meter_start, timestamp=timestamp(at)))


async def refusals(api) -> list[dict]:
    return [e["data"] for e in await all_events(api) if e["type"] == "session.start_failure"]


async def card_session(api, tx: int, cs_id: str) -> dict | None:
    return next((s for s in await sessions(api) if s.get("transactionId") == tx and s["chargestation"] == cs_id), None)


async def test_a_card_starts_a_wallet_session_that_ends_with_its_capture(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    card = await card_of(api, d.user)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        assert (await charger.send(call.Authorize(id_tag=card["physicalId"]))).id_tag_info["status"] == "Accepted"
        started = await start(charger, card["physicalId"], meter_start=1000)
        assert started.id_tag_info["status"] == "Accepted", started
        session = await card_session(api, started.transaction_id, d.chargestation["_id"])
        assert session is not None, "the card's start made no session"
        assert (session["status"], session["type"], session["token"], session["user"]) == ("started", "wallet", card["_id"], d.user["_id"])
        payment = session["payment"]
        assert (payment["status"], payment["type"], money(payment["authorized_amount"])) == ("authorized", "rfid_wallet", Decimal("50")), payment
        held = await d.wallet_now()
        assert (held["balance"], held["available_balance"]) == (5000, 0), "the whole available balance is held"

        await charger.send(meter_values(1, started.transaction_id, timestamp(now()), 11000))
        await charger.send(call.StopTransaction(meter_stop=21000, timestamp=timestamp(now()), transaction_id=started.transaction_id, reason="Local"))
        ended = await wait_session(api, session["_id"], "ended")

    cost = money(ended["cost"]["amount"])
    assert cost == round_money(Decimal("20") * Decimal("0.35")), ended["cost"]
    assert money(ended["payment"]["captured_amount"]) == cost and ended["payment"]["status"] == "succeeded", ended["payment"]
    after = await d.wallet_now()
    assert after["balance"] == after["available_balance"] == 5000 - to_cents(cost), after
    assert [e["type"] for e in await d.ledger()] == ["session_capture", "adjustment"]
    events = [t for t in story(await all_events(api), session["_id"], d.wallet["_id"]) if t != "session.updated"]
    assert events == HOLD_AND_START + CAPTURE, events


async def test_a_card_session_pauses_resumes_and_stops_at_the_organizations_card_target(joule, api):
    org = await api.ok("PATCH", "/v1.1/organization", {"configurations": {"session": {"card_target": {"energy": 2}}}})
    assert org["configurations"]["session"]["card_target"] == {"energy": 2, "time": 720}, org
    bad = await api.request("PATCH", "/v1.1/organization", {"configurations": {"session": {"card_target": {"energy": 0}}}})
    assert (bad.status, bad.message.split(":")[0]) == (400, "Invalid `configurations.session.card_target.energy`"), bad
    d = await driver(api, ENERGY, balance=5000)
    card = await card_of(api, d.user)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        started = await start(charger, card["physicalId"])
        tx = started.transaction_id
        session = await card_session(api, tx, d.chargestation["_id"])
        assert session["target"] == {"energy": 2, "time": 720}, session
        paused = await api.ok("POST", f"/v1.1/sessions/{session['_id']}/pause")
        assert paused["status"] == "paused"
        profile = (await charger.nth_call("SetChargingProfile"))["csChargingProfiles"]
        assert (profile["transactionId"], profile["chargingProfilePurpose"]) == (tx, "TxProfile"), profile
        assert (await api.ok("POST", f"/v1.1/sessions/{session['_id']}/resume"))["status"] == "started"
        # Past the 2 kWh target: Joule stops the session itself.
        await charger.send(meter_values(1, tx, timestamp(now()), 2100))
        assert (await charger.nth_call("RemoteStopTransaction"))["transactionId"] == tx
        assert (await session_of(api, session["_id"]))["stop_requested"]["reason"] == "target.energy"
        await charger.send(call.StopTransaction(meter_stop=2200, timestamp=timestamp(now()), transaction_id=tx, reason="Remote"))
        ended = await wait_session(api, session["_id"], "ended")
    cost = money(ended["cost"]["amount"])
    assert money(ended["payment"]["captured_amount"]) == cost == round_money(Decimal("2.2") * Decimal("0.35")), ended
    assert (await d.wallet_now())["available_balance"] == 5000 - to_cents(cost)


async def test_a_card_session_is_stopped_and_soft_ended_through_the_api_like_any_other(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    card = await card_of(api, d.user)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        tx = (await start(charger, card["physicalId"], meter_start=0)).transaction_id
        session = await card_session(api, tx, d.chargestation["_id"])
        await charger.send(meter_values(1, tx, timestamp(now()), 4000))
        stopped = await api.ok("POST", f"/v1.1/sessions/{session['_id']}/stop")
        assert stopped["stop_requested"]["reason"] == "api", stopped
        assert (await charger.nth_call("RemoteStopTransaction"))["transactionId"] == tx
        # The charger never reports the end: the operator ends it from the readings so far.
        ended = await api.ok("POST", f"/v1.1/sessions/{session['_id']}/end")
        assert (ended["status"], ended["ended_by"]) == ("ended", "operator"), ended
        captured = money(ended["payment"]["captured_amount"])
        assert captured == round_money(Decimal("4") * Decimal("0.35")), ended["payment"]
        # A StopTransaction that comes later is answered and charges nothing again.
        await charger.send(call.StopTransaction(meter_stop=9000, timestamp=timestamp(now()), transaction_id=tx, reason="Local"))
    wallet = await d.wallet_now()
    assert wallet["balance"] == wallet["available_balance"] == 5000 - to_cents(captured), wallet
    assert [e["type"] for e in await d.ledger()].count("session_capture") == 1


async def test_a_card_below_the_minimum_balance_or_in_another_currency_is_blocked(joule, api):
    poor = await driver(api, ENERGY, balance=1500)
    poor_card = await card_of(api, poor.user)
    euro_rate = await create_rate(api, [{"type": "ENERGY", "price": 0.30}], currency="EUR")
    cs = await api.create_chargestation()
    await create_connector(api, cs["_id"], 1, euro_rate)
    rich, rich_wallet = await create_user(api, 9000)
    rich_card = await card_of(api, rich)
    plain_card = await api.create_token(new_endpoint()[:20])

    async with connect(joule, poor.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        authorized = await charger.send(call.Authorize(id_tag=poor_card["physicalId"]))
        assert authorized.id_tag_info["status"] == "Blocked", authorized
        started = await start(charger, poor_card["physicalId"])
        assert started.id_tag_info["status"] == "Blocked", started
        assert await card_session(api, started.transaction_id, poor.chargestation["_id"]) is None
        await charger.send(call.StopTransaction(meter_stop=0, timestamp=timestamp(now()), transaction_id=started.transaction_id, reason="DeAuthorized"))
    assert (await poor.wallet_now())["available_balance"] == 1500, "a refused card holds nothing"

    async with connect(joule, cs["endpoint"], SessionCharger) as charger:
        await charger.boot()
        # At Authorize only the balance is known to matter: the connector is not.
        assert (await charger.send(call.Authorize(id_tag=rich_card["physicalId"]))).id_tag_info["status"] == "Accepted"
        started = await start(charger, rich_card["physicalId"])
        assert started.id_tag_info["status"] == "Blocked", started
        assert await card_session(api, started.transaction_id, cs["_id"]) is None
        # A token without a user charges as before: a session without payment.
        plain = await start(charger, plain_card["physicalId"], at=now() + timedelta(seconds=1))
        assert plain.id_tag_info["status"] == "Accepted"
        plain_session = await card_session(api, plain.transaction_id, cs["_id"])
        assert plain_session is not None and plain_session.get("type") is None and plain_session.get("payment") is None, plain_session
    wallet = await api.ok("GET", f"/v1.1/wallets/{rich_wallet['_id']}")
    assert wallet["available_balance"] == 9000

    said = [(r["message"], r["token"], r.get("transactionId") is not None) for r in await refusals(api)]
    assert said == [
        ("User does not have minimum balance", poor_card["_id"], False),
        ("User does not have minimum balance", poor_card["_id"], True),
        ("Wallet currency does not match the rate currency", rich_card["_id"], True),
    ], said


async def test_two_cards_of_one_user_at_once_never_hold_more_than_the_wallet_has(joule, api):
    d = await driver(api, ENERGY, balance=6000)
    cards = [await card_of(api, d.user), await card_of(api, d.user)]
    second_cs = await api.create_chargestation()
    await create_connector(api, second_cs["_id"], 1, d.rate)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as one, connect(joule, second_cs["endpoint"], SessionCharger) as two:
        await asyncio.gather(one.boot(), two.boot())
        answers = await asyncio.gather(start(one, cards[0]["physicalId"]), start(two, cards[1]["physicalId"]))
    statuses = sorted(a.id_tag_info["status"] for a in answers)
    assert statuses == ["Accepted", "Blocked"], statuses
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (6000, 0), wallet
    paid = [s for s in await sessions(api) if s.get("type") == "wallet"]
    assert len(paid) == 1 and money(paid[0]["payment"]["authorized_amount"]) == Decimal("60"), paid
    assert [r["message"] for r in await refusals(api)] == ["User does not have minimum balance"]


async def test_a_retried_start_transaction_holds_once_and_answers_the_same(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    card = await card_of(api, d.user)
    at = now()
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        first = await start(charger, card["physicalId"], at=at)
        again = await start(charger, card["physicalId"], at=at)
    assert (again.transaction_id, again.id_tag_info["status"]) == (first.transaction_id, "Accepted"), (first, again)
    assert len([s for s in await sessions(api) if s.get("token") == card["_id"]]) == 1
    assert (await d.wallet_now())["available_balance"] == 0
    holds = [e for e in await all_events(api) if e["type"] == "payment.authorized"]
    assert len(holds) == 1, holds


async def test_a_start_made_offline_is_paid_from_the_real_start_as_far_as_the_hold_goes(joule, api):
    # Twenty dollars an hour: two hours offline cost $40, more than the wallets below hold.
    time_rate = [{"type": "TIME", "price": 20}]
    d = await driver(api, time_rate, balance=2500)
    card = await card_of(api, d.user)
    poor, _ = await create_user(api, 1500)
    poor_card = await card_of(api, poor)
    second = await create_connector(api, d.chargestation["_id"], 2, d.rate)
    began = now() - timedelta(hours=2)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        # Both started on the charger's local list two hours ago, before it was connected.
        accepted = await start(charger, card["physicalId"], at=began)
        assert accepted.id_tag_info["status"] == "Accepted", accepted
        blocked = await start(charger, poor_card["physicalId"], at=began, connector_id=second["connector_id"])
        assert blocked.id_tag_info["status"] == "Blocked", "below the minimum: told to stop, yet billed for what it took"
        ended = []
        for started, tag in ((accepted, card), (blocked, poor_card)):
            session = await card_session(api, started.transaction_id, d.chargestation["_id"])
            assert session is not None and session["type"] == "wallet", session
            await charger.send(call.StopTransaction(meter_stop=30000, timestamp=timestamp(now()), transaction_id=started.transaction_id, id_tag=tag["physicalId"], reason="Local"))
            ended.append(await wait_session(api, session["_id"], "ended"))

    for session, held in zip(ended, (Decimal("25"), Decimal("15"))):
        payment = session["payment"]
        cost = money(session["cost"]["amount"])
        assert Decimal("39.99") <= cost <= Decimal("40.02"), ("billed from the charger's start, two hours ago", session["cost"])
        assert money(payment["authorized_amount"]) == held and money(payment["captured_amount"]) == held, payment
        assert money(payment["uncollected_amount"]) == cost - held, payment
    assert (await d.wallet_now())["balance"] == 0
    assert (await api.ok("GET", f"/v1.1/users/{poor['_id']}"))["wallet"]["balance"] == 0


class ListCharger(Charger):
    """Keeps its local authorization list as OCPP 1.6 says, answering SendLocalList with
    `answers[updateType]` and applying only what it accepts."""

    def __init__(self, endpoint, wire):
        super().__init__(endpoint, wire)
        self.version = 0
        self.entries: dict[str, dict] = {}
        self.answers = {"Full": "Accepted", "Differential": "Accepted"}
        self.updates: list[tuple[str, int, int]] = []

    @on(Action.send_local_list)
    def on_send_local_list(self, list_version, update_type, local_authorization_list=None, **_):
        self.updates.append((update_type, list_version, len(local_authorization_list or [])))
        answer = self.answers[update_type]
        if answer == "Accepted":
            if update_type == "Full":
                self.entries = {}
            for e in local_authorization_list or []:
                if "id_tag_info" in e:
                    self.entries[e["id_tag"]] = e["id_tag_info"]["status"]
                else:
                    self.entries.pop(e["id_tag"], None)
            self.version = list_version
        return call_result.SendLocalList(answer)


async def test_the_local_list_is_sent_whole_then_kept_up_to_date_with_the_changes(joule, api):
    accepted = await api.create_token("LIST-A")
    blocked = await api.create_token("LIST-B", status="Blocked")
    expired = await api.create_token("LIST-C", expiresAt="2020-01-01T00:00:00.000Z")
    cs = await api.create_chargestation()
    path = f"/v1.1/chargestations/{cs['_id']}/local_list/sync"

    async def shown() -> tuple:
        local = (await api.ok("GET", f"/v1.1/chargestations/{cs['_id']}"))["localList"]
        return (local["version"], local["status"])

    offline = await api.request("POST", path)
    assert (offline.status, offline.message) == (409, "Chargestation is offline"), offline
    async with connect(joule, cs["endpoint"], ListCharger) as charger:
        await charger.boot()
        assert await api.ok("POST", path) == {"status": "Accepted", "listVersion": 1}
        assert charger.entries == {"LIST-A": "Accepted", "LIST-B": "Blocked", "LIST-C": "Expired"}
        assert await shown() == (1, "Accepted")
        # Nothing changed: the same version, sent whole (a differential update must raise it).
        assert await api.ok("POST", path) == {"status": "Accepted", "listVersion": 1}

        # Each change of the tokens reaches the charger by itself, as a differential update.
        await api.ok("PATCH", f"/v1.1/tokens/{blocked['_id']}", {"status": "Accepted"})
        await eventually(lambda: async_true(charger.entries.get("LIST-B") == "Accepted"))
        deleted = await api.request("DELETE", f"/v1.1/tokens/{expired['_id']}")
        assert deleted.status == 200, deleted
        await eventually(lambda: async_true("LIST-C" not in charger.entries))
        await api.create_token("LIST-D")
        await eventually(lambda: async_true("LIST-D" in charger.entries))
        assert charger.updates[2:] == [("Differential", 2, 1), ("Differential", 3, 1), ("Differential", 4, 1)], charger.updates
        assert charger.entries == {"LIST-A": "Accepted", "LIST-B": "Accepted", "LIST-D": "Accepted"}
        await eventually(lambda: async_equal(shown(), (4, "Accepted")))

        # A charger that refuses the changes alone gets the whole list.
        charger.answers["Differential"] = "VersionMismatch"
        await api.ok("PATCH", f"/v1.1/tokens/{accepted['_id']}", {"active": False})
        await eventually(lambda: async_true(charger.version == 5))
        assert [u[0] for u in charger.updates[-2:]] == ["Differential", "Full"], charger.updates
        assert charger.entries == {"LIST-A": "Blocked", "LIST-B": "Accepted", "LIST-D": "Accepted"}

        # One that cannot keep a list says so; the version still counts the list sent.
        charger.answers["Full"] = "NotSupported"
        await api.create_token("LIST-E")
        await eventually(lambda: async_equal(shown(), (6, "NotSupported")))
        assert charger.version == 5

    # A token changed while the charger is away reaches it when it connects again.
    await api.create_token("LIST-F")
    async with connect(joule, cs["endpoint"], ListCharger) as charger:
        await charger.boot()
        await eventually(lambda: async_true(charger.version == 7))
        assert charger.updates == [("Full", 7, 5)], charger.updates
        assert charger.entries == {"LIST-A": "Blocked", "LIST-B": "Accepted", "LIST-D": "Accepted", "LIST-E": "Accepted", "LIST-F": "Accepted"}
        # Recorded once Joule has read the answer: still connected until then.
        await eventually(lambda: async_equal(shown(), (7, "Accepted")))

    stranger = joule.organization()
    assert (await stranger.request("POST", path)).status == 404, "another organization's chargestation does not exist"
    unknown = await api.request("POST", "/v1.1/chargestations/000000000000000000000000/local_list/sync")
    assert unknown.status == 404, unknown


async def async_true(value: bool) -> bool:
    return value


async def async_equal(awaitable, expected) -> bool:
    return await awaitable == expected
