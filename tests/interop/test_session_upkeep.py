"""What Joule does about sessions by itself or for the operator when a charger misbehaves (SPEC
5, soft end; SPEC 7, stop pursuit and supervision): a session whose charger is gone is ended
without it and settled once; a silent session is ended by Joule; a stop the charger refuses is
sent again until it ends the session; one session the runner cannot read does not stop it
looking after the others; `session.updated` is coalesced."""

import sqlite3
import subprocess
import urllib.request
from datetime import timedelta

from ocpp.v16 import call

from charger import connect, timestamp
from server import eventually
from wallet import SessionCharger, all_events, driver, meter_values, money, now, session_of, story, wait_session

ENERGY = [{"type": "ENERGY", "price": 0.35, "tax": 8.25}]
HOLD = ["session.created", "payment.created", "payment.authorized", "wallet.updated"]
CAPTURE = ["session.ended", "payment.captured", "session.payment.captured", "wallet.updated"]
CANCEL = ["session.cancelled", "payment.canceled", "wallet.updated"]


def without_updates(types: list[str]) -> list[str]:
    return [t for t in types if t != "session.updated"]


async def offline(api, cs_id: str) -> bool:
    return (await api.chargestation(cs_id))["online"] is False


def execute_sql(joule, sql: str):
    """Changes Joule's database behind its back, as a fault would."""
    if joule.database_url.startswith("sqlite://"):
        with sqlite3.connect(joule.database_url.removeprefix("sqlite://")) as db:
            db.execute(sql)
        return
    subprocess.run(["psql", joule.database_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True)


def metric(joule, name: str) -> float:
    with urllib.request.urlopen(f"{joule.url}/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(name + " ") or line.startswith(name + "{"))


async def started(d, charger, at=None) -> tuple[dict, int]:
    """A session of the driver `d` that the booted `charger` started at `at`, and its transactionId."""
    session = await d.start()
    return session, await charger.start_remote(session, meter_start=0, at=at)


async def test_a_session_whose_charger_is_gone_is_ended_by_the_operator_and_settled_once(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    t0 = now() - timedelta(minutes=30)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session, tx = await started(d, charger, t0)
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=10)), 2000))
    sid = session["_id"]
    await eventually(lambda: offline(api, d.chargestation["_id"]))

    ended = await api.ok("POST", f"/v1.1/sessions/{sid}/end")
    # 2 kWh at $0.35 plus 8.25% tax: $0.75775, from the readings stored so far.
    assert (ended["status"], ended["ended_by"], money(ended["cost"]["amount"])) == ("ended", "operator", money("0.76")), ended
    paid = ended["payment"]
    assert (paid["status"], money(paid["captured_amount"]), money(paid["uncollected_amount"])) == ("succeeded", money("0.76"), 0), paid
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (4924, 4924), wallet
    events = await all_events(api)
    assert without_updates(story(events, sid, d.wallet["_id"])) == HOLD + ["session.started"] + CAPTURE
    [told] = [e for e in events if e["type"] == "session.ended" and e["data"]["_id"] == sid]
    assert told["data"]["ended_by"] == "operator", told
    again = await api.request("POST", f"/v1.1/sessions/{sid}/end")
    assert (again.status, again.message) == (409, "Session is ended, not running"), again

    def settled(s: dict) -> tuple:
        return (s["status"], s["ended_by"], s["endedAt"], s["cost"], s["payment"])

    before = settled(await session_of(api, sid))
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        # The charger comes back and reports the stop it could not send: recorded, answered, not charged.
        await charger.send(call.StopTransaction(meter_stop=9000, timestamp=timestamp(t0 + timedelta(minutes=25)), transaction_id=tx, reason="PowerLoss"))
        [stopped] = [t for t in await api.transactions(d.chargestation["_id"]) if t["transactionId"] == tx]
        assert (stopped["meterStop"], stopped["stopReason"]) == (9000, "PowerLoss"), stopped
        assert settled(await session_of(api, sid)) == before
        assert (await d.wallet_now())["balance"] == 4924
        assert [e["type"] for e in await d.ledger()] == ["session_capture", "adjustment"]

        # The connector took a new session at once; one the charger never starts is cancelled by the operator.
        second = await d.start()
        await charger.nth_call("RemoteStartTransaction")
        cancelled = await api.ok("POST", f"/v1.1/sessions/{second['_id']}/end")
        assert (cancelled["status"], cancelled["payment"]["status"]) == ("cancelled", "canceled"), cancelled
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (4924, 4924), wallet
    assert story(await all_events(api), second["_id"], d.wallet["_id"]) == HOLD + CANCEL


async def test_a_silent_session_is_ended_by_joule_even_beside_one_the_runner_cannot_read(own_joule):
    joule = own_joule(JOULE_SESSION_STALE_AFTER="3")
    broken_api, api = joule.organization(), joule.organization()
    broken, d = await driver(broken_api, ENERGY, balance=3000), await driver(api, ENERGY, balance=5000)
    async with connect(joule, broken.chargestation["endpoint"], SessionCharger) as broken_charger, connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await broken_charger.boot()
        await charger.boot()
        unreadable = await broken.start()
        await broken_charger.start_remote(unreadable, meter_start=0)
        # Another organization's session whose stored data no longer decodes.
        execute_sql(joule, f"UPDATE sessions SET data = 'not a session' WHERE id = '{unreadable['_id']}'")
        t0 = now()
        session, tx = await started(d, charger, t0)
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(seconds=1)), 1000))
        # Then the charger says nothing more about it, though it stays connected.
        ended = await wait_session(api, session["_id"], "ended", seconds=30)
    assert (ended["ended_by"], money(ended["payment"]["captured_amount"])) == ("joule", money("0.38")), ended
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (4962, 4962), wallet
    assert without_updates(story(await all_events(api), session["_id"], d.wallet["_id"])) == HOLD + ["session.started"] + CAPTURE
    with urllib.request.urlopen(f"{joule.url}/readyz", timeout=10) as ready:
        assert ready.status == 200


async def test_a_stop_the_charger_rejects_is_sent_again_until_the_session_ends(own_joule):
    joule = own_joule(JOULE_STOP_RETRY_INTERVAL="1")
    api = joule.organization()
    d = await driver(api, ENERGY, balance=5000)
    resends_before = metric(joule, "joule_stop_resends_total")
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session, tx = await started(d, charger)
        sid = session["_id"]
        charger.answers["RemoteStopTransaction"] = "Rejected"
        stopping = await api.ok("POST", f"/v1.1/sessions/{sid}/stop")
        assert (stopping["status"], stopping["stop_requested"]["reason"]) == ("started", "api"), stopping
        assert await charger.nth_call("RemoteStopTransaction") == {"transactionId": tx}
        # Rejected: the runner sends it again on its timer...
        assert await charger.nth_call("RemoteStopTransaction", 1, seconds=20) == {"transactionId": tx}
        # ...and on each report the charger sends about the session.
        sent = len(charger.calls_of("RemoteStopTransaction"))
        await charger.send(meter_values(1, tx, timestamp(), 500))
        await charger.nth_call("RemoteStopTransaction", sent)
    await eventually(lambda: offline(api, d.chargestation["_id"]))
    assert (await session_of(api, sid))["status"] == "started"

    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        # Sent again as soon as the charger is back, before it even boots; now it takes it.
        assert await charger.nth_call("RemoteStopTransaction", seconds=3) == {"transactionId": tx}
        await charger.boot()
        await charger.send(call.StopTransaction(meter_stop=1000, timestamp=timestamp(), transaction_id=tx, reason="Remote"))
    ended = await session_of(api, sid)
    assert (ended["status"], ended["ended_by"], money(ended["payment"]["captured_amount"])) == ("ended", "chargestation", money("0.38")), ended
    told = story(await all_events(api), sid, d.wallet["_id"])
    assert without_updates(told) == HOLD + ["session.started", "session.stop_requested"] + CAPTURE, told
    assert metric(joule, "joule_stop_resends_total") - resends_before >= 3


async def test_readings_in_quick_succession_are_announced_once_and_all_shown(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session, tx = await started(d, charger, now() - timedelta(minutes=5))
        for wh in range(100, 1001, 100):
            await charger.send(meter_values(1, tx, timestamp(), wh))
        shown = await session_of(api, session["_id"])
        assert [r["energy"] for r in shown["energy_report"]] == [100 * i for i in range(1, 11)], shown["energy_report"]
        assert money(shown["metrics"]["energyConsumed"]) == 1000, shown["metrics"]
        told = story(await all_events(api), session["_id"], d.wallet["_id"])
        assert told.count("session.updated") == 1, told
        [update] = [e for e in await all_events(api) if e["type"] == "session.updated" and e["data"]["_id"] == session["_id"]]
        assert money(update["data"]["metrics"]["energyConsumed"]) == 100, "the first reading is announced"
