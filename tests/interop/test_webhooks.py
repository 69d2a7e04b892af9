"""Webhooks from a real `joule serve` to a receiver on a local port that verifies every delivery
with the `standardwebhooks` package and recomputes `edrv-signature`: a wallet session's events,
signed and in order per chargestation; rotation; retries; a SIGKILL mid-delivery."""

from datetime import timedelta

import pytest
from ocpp.v16 import call

from charger import connect, timestamp
from server import Api, eventually
from wallet import SessionCharger, all_events, driver, meter_values, now, story, wait_session
from webhook_receiver import Receiver

ENERGY = [{"type": "ENERGY", "price": 0.35, "tax": 8.25}]
# SPEC section 5: a wallet session paused and resumed once, session.updated left out. These
# events are about the session's chargestation, so they arrive in this order.
SESSION_EVENTS = [
    "session.created", "payment.created", "payment.authorized", "session.started", "session.paused", "session.resumed",
    "session.ended", "payment.captured", "session.payment.captured",
]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def offline(api: Api, cs_id: str) -> bool:
    return not (await api.chargestation(cs_id))["online"]


async def subscribe(api: Api, receiver: Receiver, events: list[str]) -> dict:
    endpoint = await api.ok("POST", "/v1.1/webhooks", {"url": receiver.url, "events": events, "description": "interop receiver"})
    receiver.secrets.append(endpoint["secret"])
    return endpoint


def first_deliveries(receiver: Receiver) -> dict[str, int]:
    """Each event id delivered with a 2xx, and the position of its first such delivery."""
    order: dict[str, int] = {}
    for i, d in enumerate(receiver.delivered()):
        order.setdefault(d.id, i)
    return order


async def events_since(api: Api, first_id: str) -> list[dict]:
    events = await all_events(api)
    return events[next(i for i, e in enumerate(events) if e["_id"] == first_id):]


def assert_in_order_per_chargestation(receiver: Receiver, events: list[dict], chargestations: list[str]):
    order = first_deliveries(receiver)
    for cs in chargestations:
        ids = [e["_id"] for e in events if cs in (e["data"].get("chargestation"), e["data"].get("_id") if e["object"] == "chargestation" else None)]
        positions = [order[i] for i in ids if i in order]
        assert positions == sorted(positions), f"events of {cs} out of order"


async def test_a_wallet_session_reaches_the_receiver_signed_and_in_order(joule, api, receiver):
    # The first try of session.started fails: the session's later events wait for its retry.
    receiver.answer = lambda d, nth: 500 if d.event["type"] == "session.started" and nth == 1 else 204
    endpoint = await subscribe(api, receiver, ["*"])
    d = await driver(api, ENERGY, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await charger.status(1, "Available")
        session = await d.start()
        # An hour at 7.2 kW, as the charger queued it (the times are its own).
        t0 = now() - timedelta(hours=1)
        tx = await charger.start_remote(session, meter_start=0, at=t0)
        await charger.status(1, "Charging")
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=20)), 2400))
        await api.ok("POST", f"/v1.1/sessions/{session['_id']}/pause")
        await api.ok("POST", f"/v1.1/sessions/{session['_id']}/resume")
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=40)), 4800))
        await charger.send(call.StopTransaction(meter_stop=6000, timestamp=timestamp(t0 + timedelta(minutes=50)), transaction_id=tx, reason="Local", id_tag=session["idTag"]))
    await wait_session(api, session["_id"], "ended")
    await eventually(lambda: offline(api, d.chargestation["_id"]))

    events = await events_since(api, (await api.ok("GET", "/v1.1/events?type=webhook_endpoint.created&limit=1"))[0]["_id"])
    await receiver.wait(lambda: set(first_deliveries(receiver)) >= {e["_id"] for e in events}, 30, "every event delivered")
    got = receiver.got()
    assert all(g.verified_by == [endpoint["secret"]] for g in got), [(g.event["type"], g.verified_by) for g in got]
    assert {g.id for g in got} == {e["_id"] for e in events}, "exactly the outbox's events"
    by_id = {e["_id"]: e for e in events}
    assert all(g.event == by_id[g.id] for g in got), "the body is the event as GET /v1.1/events shows it"
    assert [g.event["type"] for g in got].count("session.started") == 2, "retried once"

    delivered_story = story([g.event for g in receiver.delivered()], session["_id"])
    assert [t for t in delivered_story if t != "session.updated"] == SESSION_EVENTS, delivered_story
    assert delivered_story == story(events, session["_id"]), "in the outbox's order"
    wallet_updates = [e["_id"] for e in events if e["type"] == "wallet.updated" and e["data"]["_id"] == d.wallet["_id"]]
    assert len(wallet_updates) == 3 and set(wallet_updates) <= set(first_deliveries(receiver)), "funding, hold, capture"
    assert_in_order_per_chargestation(receiver, events, [d.chargestation["_id"]])

    attempts = await api.ok("GET", f"/v1.1/webhooks/{endpoint['_id']}/deliveries?limit=100")
    failed = [a for a in attempts if a["status"] == "failed"]
    assert [(a["type"], a["response_status"], a["attempt"]) for a in failed] == [("session.started", 500, 1)], failed
    assert failed[0]["nextRetryAt"] is not None


async def test_after_a_rotation_both_secrets_verify(joule, api, receiver):
    endpoint = await subscribe(api, receiver, ["user.created"])
    rotated = await api.ok("POST", f"/v1.1/webhooks/{endpoint['_id']}/rotate_secret")
    assert rotated["secret"] != endpoint["secret"] and rotated["secret"].startswith("whsec_")
    receiver.secrets.append(rotated["secret"])
    assert "secret" not in await api.ok("GET", f"/v1.1/webhooks/{endpoint['_id']}")
    await api.ok("POST", "/v1.1/users", {"firstname": "Ada"})
    await receiver.wait(lambda: len(receiver.delivered()) == 1, 10, "the delivery")
    d = receiver.got()[0]
    assert d.verified_by == [endpoint["secret"], rotated["secret"]]
    assert len(d.signature.split(" ")) == 2 and d.edrv.count(",v1=") == 2


async def test_retries_keep_the_webhook_id_and_a_410_disables(own_joule, receiver):
    # A thousandth of the schedule: 5 ms, 300 ms, 1.8 s...
    joule = own_joule(JOULE_WEBHOOK_RETRY_SCALE="0.001")
    api = joule.organization()
    receiver.answer = lambda d, nth: 503 if nth <= 3 else 200
    endpoint = await subscribe(api, receiver, ["user.created"])
    await api.ok("POST", "/v1.1/users", {"firstname": "Ada"})
    await receiver.wait(lambda: len(receiver.delivered()) == 1, 20, "the fourth attempt")
    got = receiver.got()
    assert len(got) == 4 and len({g.id for g in got}) == 1 and all(g.verified_by for g in got), got
    # The receiver has the fourth attempt before Joule records how it went.
    async def four_attempts() -> list | None:
        attempts = await api.ok("GET", f"/v1.1/webhooks/{endpoint['_id']}/deliveries")
        return attempts if len(attempts) == 4 else None

    attempts = await eventually(four_attempts)
    assert [(a["attempt"], a["response_status"], a["status"]) for a in reversed(attempts)] == [(1, 503, "failed"), (2, 503, "failed"), (3, 503, "failed"), (4, 200, "succeeded")]
    assert all(a["duration_ms"] >= 0 and a["event"] == got[0].id for a in attempts)

    receiver.answer = lambda d, nth: 410
    await api.ok("POST", "/v1.1/users", {"firstname": "Grace"})
    await receiver.wait(lambda: len(receiver.got()) == 5, 10, "the 410")
    gone = await eventually(lambda: disabled_webhook(api, endpoint["_id"]))
    assert (gone["enabled"], gone["disabled_reason"]) == (False, "The endpoint answered 410 Gone"), gone
    disabled = await api.ok("GET", "/v1.1/events?type=webhook_endpoint.disabled")
    assert [e["data"]["_id"] for e in disabled] == [endpoint["_id"]]


async def disabled_webhook(api: Api, webhook_id: str) -> dict | None:
    webhook = await api.ok("GET", f"/v1.1/webhooks/{webhook_id}")
    return None if webhook["enabled"] else webhook


async def test_after_a_sigkill_mid_delivery_every_event_arrives(own_joule, receiver):
    joule = own_joule(JOULE_WEBHOOK_RETRY_SCALE="0.001")
    api = joule.organization()
    # Before the crash: every third event is held in flight, the others fail and wait for
    # their retry; after the restart the receiver takes everything.
    crashed = False

    def answer(d, nth):
        if crashed:
            return 200
        return None if int(d.id, 16) % 3 == 0 else 503

    receiver.answer = answer
    endpoint = await subscribe(api, receiver, ["*"])
    stations = []
    for i in range(3):
        cs = await api.create_chargestation()
        stations.append(cs["_id"])
        for registration in ["Pending", "Accepted"]:
            await api.ok("PATCH", f"/v1.1/chargestations/{cs['_id']}", {"registration": registration})
    for i in range(10):
        await api.ok("POST", "/v1.1/users", {"firstname": f"Driver {i}"})
    await receiver.wait(lambda: any(d.status == 0 for d in receiver.got()) and any(d.status == 503 for d in receiver.got()), 20, "deliveries in flight and failed")

    joule.kill()
    crashed = True
    receiver.release()
    joule.restart()

    events = await events_since(api, (await api.ok("GET", "/v1.1/events?type=webhook_endpoint.created&limit=1"))[0]["_id"])
    assert events[0]["data"]["_id"] == endpoint["_id"]
    # Held deliveries wait for their lease (15 s) to end.
    await receiver.wait(lambda: set(first_deliveries(receiver)) >= {e["_id"] for e in events}, 60, "every event after the restart")
    assert all(d.verified_by for d in receiver.got())
    assert_in_order_per_chargestation(receiver, events, stations)
