"""Stripe wallet top-ups against localstripe, the stateful Stripe fake from PyPI, with Stripe's
own `stripe` Python package as the driver's app.

Joule runs with JOULE_STRIPE_API_BASE pointing at localstripe: it creates the PaymentIntents
there, and localstripe sends the signed `payment_intent.*` webhooks back to Joule. The driver's
app pays the way localstripe supports: it attaches a payment method by updating the
PaymentIntent, then confirms without parameters. Where localstripe lacks a behaviour (it does
not decline `pm_card_visa_chargeDeclined` when charging it, only when saving it to a
customer), the event real Stripe would send is signed with the `stripe` package's own helper.
"""

import asyncio
import http.server
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import stripe
from ocpp.v16 import call

from charger import connect, timestamp
from conftest import fresh_database, stop
from localstripe_server import LocalStripe
from server import REST_THREADS, Joule, eventually
from wallet import SessionCharger, create_connector, create_rate, create_user, meter_values, now, session_of

# localstripe takes any `sk_test_` key; Joule never needs more than the shape of one.
SECRET_KEY = "sk_test_" + "joule" * 5
WEBHOOK_NAME = "joule"


@pytest.fixture(scope="session")
def localstripe():
    fake = LocalStripe()
    yield fake
    fake.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def stripe_joule(request, tmp_path_factory, localstripe):
    """Joule on each backend, calling localstripe instead of Stripe."""
    with fresh_database(request.param, tmp_path_factory) as url:
        joule = Joule(url, {"JOULE_STRIPE_API_BASE": localstripe.url})
        yield joule
        stop(joule)


class Shop:
    """An organization with its Stripe keys set in Joule, and its driver's app."""

    def __init__(self, joule: Joule, localstripe: LocalStripe):
        self.joule = joule
        self.localstripe = localstripe
        self.api = joule.organization()
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        org = self.api.request_sync("PATCH", "/v1.1/organization", {"stripe": {"secret_key": SECRET_KEY, "webhook_secret": self.webhook_secret}})
        assert org.status == 200 and org.result["stripe"] == {"configured": True}, org
        self.id = org.result["_id"]
        self.webhook_url = f"{joule.url}/v1.1/integrations/stripe/{self.id}/webhook"
        # The driver's app, on Stripe's own client library.
        self.app = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.url}, max_network_retries=0)

    def send_webhooks_to(self, url: str):
        """localstripe's events, signed with this organization's webhook secret, go to `url` (and
        only there: one registration, replaced by each test)."""
        self.localstripe.register_webhook(WEBHOOK_NAME, url, self.webhook_secret)

    async def top_up(self, wallet: dict, amount: int, **fields) -> dict:
        return await self.api.ok("POST", "/v1.1/top_up", {"type": "manual", "wallet": wallet["_id"], "amount": amount, **fields})

    async def top_up_now(self, top_up_id: str) -> dict:
        return await self.api.ok("GET", f"/v1.1/top_up/{top_up_id}")

    async def wait_status(self, top_up_id: str, status: str) -> dict:
        async def reached():
            t = await self.top_up_now(top_up_id)
            return t if t["status"] == status else None

        return await eventually(reached, seconds=15)

    async def pay(self, payment_intent: str, payment_method: str = "pm_card_visa"):
        """As the driver's app does it on localstripe: attach the method, then confirm."""

        def run():
            self.app.v1.payment_intents.update(payment_intent, params={"payment_method": payment_method})
            return self.app.v1.payment_intents.confirm(payment_intent)

        return await asyncio.get_running_loop().run_in_executor(REST_THREADS, run)

    async def wallet(self, wallet: dict) -> dict:
        return await self.api.ok("GET", f"/v1.1/wallets/{wallet['_id']}")

    async def ledger(self, wallet: dict) -> list[dict]:
        return await self.api.ok("GET", f"/v1.1/wallets/{wallet['_id']}/transactions?limit=100")

    async def top_up_events(self) -> list[tuple[str, str]]:
        events = reversed(await self.api.ok("GET", "/v1.1/events?limit=100"))
        return [(e["type"], e["data"]["_id"]) for e in events if e["type"].startswith("top_up.") or e["type"] == "wallet.updated"]


@pytest.fixture
def shop(stripe_joule, localstripe) -> Shop:
    s = Shop(stripe_joule, localstripe)
    s.send_webhooks_to(s.webhook_url)
    return s


def deliver(url: str, body: bytes, signature: str | None) -> tuple[int, dict]:
    """POSTs a Stripe delivery to Joule as Stripe would: the exact bytes, the signature header."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Receiver:
    """Stands in for Joule's webhook URL to keep what localstripe sends: each delivery's exact
    body and its Stripe-Signature."""

    def __init__(self):
        self.deliveries: list[tuple[bytes, str]] = []
        received = self.deliveries

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, self.headers["Stripe-Signature"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def delivery(self, kind: str, payment_intent: str) -> tuple[bytes, str]:
        def found():
            for body, signature in self.deliveries:
                event = json.loads(body)
                if event["type"] == kind and event["data"]["object"]["id"] == payment_intent:
                    return body, signature
            return None

        async def probe():
            return found()

        return await eventually(probe, seconds=15)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def test_a_manual_top_up_paid_with_a_card_credits_the_wallet_once(shop):
    user, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 2500, wallet_amount=3000)
    assert {k: created[k] for k in ("user", "wallet", "type", "amount", "wallet_amount", "currency", "status")} == {
        "user": user["_id"], "wallet": wallet["_id"], "type": "manual", "amount": 2500, "wallet_amount": 3000, "currency": "usd", "status": "created"}
    assert created["payment_intent"].startswith("pi_") and created["client_secret"].startswith(created["payment_intent"]), created
    assert created["expiredAt"] > created["createdAt"]

    # The PaymentIntent Joule made at Stripe: the amount, in USD, naming the top-up.
    intent = shop.app.v1.payment_intents.retrieve(created["payment_intent"])
    assert (intent.amount, intent.currency, intent.status, intent.metadata["top_up"]) == (2500, "usd", "requires_payment_method", created["_id"])

    paid = await shop.pay(created["payment_intent"])
    assert paid.status == "succeeded"
    done = await shop.wait_status(created["_id"], "completed")
    assert done["client_secret"] is None
    await asyncio.sleep(1.5)  # anything else localstripe might send has arrived by now
    assert (await shop.wallet(wallet))["balance"] == 3000
    ledger = await shop.ledger(wallet)
    assert [(e["type"], e["amount"], e["balance_after"], e["reference"]) for e in ledger] == [("top_up", 3000, 3000, created["_id"])], ledger
    assert await shop.top_up_events() == [("top_up.created", created["_id"]), ("top_up.completed", created["_id"]), ("wallet.updated", wallet["_id"])]


async def test_a_declined_card_fails_the_top_up_and_another_card_pays_it(shop):
    _, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 1500)
    # The card localstripe declines when it is charged (Stripe's 4000 0000 0000 0341).
    with pytest.raises(stripe.CardError) as declined:
        await shop.pay(created["payment_intent"], "pm_card_chargeCustomerFail")
    assert (declined.value.http_status, declined.value.code) == (402, "card_declined")
    failed = await shop.wait_status(created["_id"], "failed")
    assert (failed["failure_code"], failed["failure_message"]) == ("card_declined", "Your card was declined.")
    assert failed["client_secret"] == created["client_secret"], "the driver may try another card"
    assert (await shop.wallet(wallet))["balance"] == 0
    assert await shop.ledger(wallet) == []

    # Real Stripe lets the driver pay the same PaymentIntent with another card; localstripe
    # does not confirm an intent whose charge failed, so Stripe's event is signed here.
    body = stripe_event("payment_intent.succeeded", shop.app.v1.payment_intents.retrieve(created["payment_intent"]), status="succeeded", last_payment_error=None)
    status, answer = deliver(shop.webhook_url, body.encode(), stripe.WebhookSignature.generate_signature_header(body, shop.webhook_secret))
    assert (status, answer["result"]["applied"]) == (200, True), answer
    done = await shop.top_up_now(created["_id"])
    assert (done["status"], done["failure_code"]) == ("completed", None)
    assert (await shop.wallet(wallet))["balance"] == 1500


def stripe_event(kind: str, intent, **changes) -> str:
    """The event Stripe sends about a PaymentIntent (as retrieved), with `changes` made to it."""
    pi = json.loads(json.dumps(intent.to_dict()))
    pi.update(changes)
    event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2024-06-20", "created": int(time.time()), "type": kind, "data": {"object": pi}}
    return json.dumps(event, indent=2)


async def test_pm_card_visa_charge_declined_as_stripe_reports_it(shop):
    """localstripe charges pm_card_visa_chargeDeclined (it declines it only when saving it to a
    customer); real Stripe declines the charge and sends payment_intent.payment_failed. That
    event, for a PaymentIntent Joule made on localstripe, signed by the stripe package."""
    _, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 1500)
    intent = shop.app.v1.payment_intents.retrieve(created["payment_intent"])
    declined = {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined.",
                "payment_method": {"id": "pm_card_visa_chargeDeclined", "object": "payment_method"}}
    body = stripe_event("payment_intent.payment_failed", intent, status="requires_payment_method", last_payment_error=declined)
    header = stripe.WebhookSignature.generate_signature_header(body, shop.webhook_secret)
    status, answer = deliver(shop.webhook_url, body.encode(), header)
    assert (status, answer["result"]["applied"]) == (200, True), answer
    failed = await shop.top_up_now(created["_id"])
    assert (failed["status"], failed["failure_code"], failed["failure_message"]) == ("failed", "card_declined:generic_decline", "Your card was declined.")
    assert (await shop.wallet(wallet))["balance"] == 0


async def test_an_off_session_top_up_with_a_saved_card_completes_at_once(shop):
    _, wallet = await create_user(shop.api, balance=0)
    done = await shop.top_up(wallet, 2000, type="manual_with_payment_method", payment_method="pm_card_visa")
    assert (done["type"], done["status"], done["payment_method"], done["client_secret"]) == ("manual_with_payment_method", "completed", "pm_card_visa", None), done
    assert shop.app.v1.payment_intents.retrieve(done["payment_intent"]).status == "succeeded"
    assert (await shop.wallet(wallet))["balance"] == 2000
    # localstripe's payment_intent.succeeded comes a second later and changes nothing.
    await asyncio.sleep(2)
    assert [(e["type"], e["amount"]) for e in await shop.ledger(wallet)] == [("top_up", 2000)]
    assert (await shop.top_up_now(done["_id"]))["status"] == "completed"

    # A saved card the bank declines: Stripe's message and code, and a failed top-up.
    answer = await shop.api.request("POST", "/v1.1/top_up", {"type": "manual_with_payment_method", "wallet": wallet["_id"], "amount": 2000, "payment_method": "pm_card_chargeCustomerFail"})
    assert answer.status == 402 and answer.result is None, answer
    assert answer.message == "Stripe declined the payment: Your card was declined. (code card_declined)", answer
    listed = await shop.api.ok("GET", f"/v1.1/top_up?wallet={wallet['_id']}&status=failed")
    assert [(t["status"], t["failure_code"]) for t in listed] == [("failed", "card_declined")], listed
    await asyncio.sleep(1.5)
    assert (await shop.wallet(wallet))["balance"] == 2000


async def test_stripes_refusals_reach_the_caller_with_stripes_words(shop):
    _, wallet = await create_user(shop.api, balance=0)
    # A payment method Stripe does not know: Stripe's invalid request, a 400.
    unknown = await shop.api.request("POST", "/v1.1/top_up", {"type": "manual_with_payment_method", "wallet": wallet["_id"], "amount": 2000, "payment_method": "pm_nosuchmethod"})
    assert (unknown.status, unknown.result) == (400, None), unknown
    assert unknown.message.startswith("Stripe refused the request: "), unknown
    # A key Stripe does not take (localstripe takes only sk_ keys): the organization must fix it.
    restricted = "rk_test_" + secrets.token_hex(12)
    assert (await shop.api.ok("PATCH", "/v1.1/organization", {"stripe": {"secret_key": restricted}}))["stripe"] == {"configured": True}
    refused = await shop.api.request("POST", "/v1.1/top_up", {"type": "manual", "wallet": wallet["_id"], "amount": 2000})
    assert (refused.status, refused.message) == (405, "Stripe refused the organization's secret key; set a valid one with PATCH /v1.1/organization"), refused
    assert restricted not in refused.message and restricted not in "".join(shop.joule.log)
    listed = await shop.api.ok("GET", f"/v1.1/top_up?wallet={wallet['_id']}")
    assert [t["status"] for t in listed] == ["failed", "failed"], listed
    assert (await shop.wallet(wallet))["balance"] == 0


async def test_forged_stale_and_replayed_deliveries_credit_nothing_more(shop, receiver):
    """The delivery localstripe signed is kept; forgeries of it and an old copy are refused
    and change nothing; the genuine one credits, and replaying it credits no more."""
    shop.send_webhooks_to(receiver.url)
    _, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 2500)
    await shop.pay(created["payment_intent"])
    body, signature = await receiver.delivery("payment_intent.succeeded", created["payment_intent"])
    # What localstripe sent is what Stripe's own library accepts.
    stripe.WebhookSignature.verify_header(body.decode(), signature, shop.webhook_secret, tolerance=300)

    t = int(time.time())
    forged_secret = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_" + secrets.token_hex(16))
    tampered = body.replace(b'"amount": 2500', b'"amount": 250000')
    assert tampered != body
    # Beyond the 300 s tolerance by ten seconds: `t` is truncated and Joule reads its clock a
    # moment later, so one second beyond could fall within it when a second ticks in between.
    stale = stripe.WebhookSignature.generate_signature_header(body.decode(), shop.webhook_secret, timestamp=t - 310)
    future = stripe.WebhookSignature.generate_signature_header(body.decode(), shop.webhook_secret, timestamp=t + 310)
    refused = [
        (body, None, "missing"),
        (body, "garbage", "must be"),
        (body, forged_secret, "no v1 signature matches"),
        (tampered, signature, "no v1 signature matches"),
        (body, stale, "300 seconds"),
        (body, future, "300 seconds"),
    ]
    for sent, header, why in refused:
        status, answer = deliver(shop.webhook_url, sent, header)
        assert status == 400 and why in answer["message"] and answer["result"] is None, (header, answer)
    assert (await shop.top_up_now(created["_id"]))["status"] == "created"
    assert (await shop.wallet(wallet))["balance"] == 0
    assert await shop.top_up_events() == [("top_up.created", created["_id"])]

    status, answer = deliver(shop.webhook_url, body, signature)
    assert (status, answer["result"]) == (200, {"event": json.loads(body)["id"], "type": "payment_intent.succeeded", "applied": True}), answer
    for _ in range(2):
        status, answer = deliver(shop.webhook_url, body, signature)
        assert (status, answer["result"]["applied"]) == (200, False), answer
    # A signature with one good v1 among others (a secret being rolled) is believed too.
    good_v1 = signature.split("v1=")[1]
    rolled = f"t={signature.split(',')[0][2:]},v1={'0' * 64},v1={good_v1}"
    assert deliver(shop.webhook_url, body, rolled)[1]["result"]["applied"] is False
    assert (await shop.wallet(wallet))["balance"] == 2500
    assert [e["type"] for e in await shop.ledger(wallet)] == ["top_up"]


async def test_the_same_event_delivered_twice_at_once_credits_once(shop, receiver):
    shop.send_webhooks_to(receiver.url)
    _, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 4000)
    await shop.pay(created["payment_intent"])
    body, signature = await receiver.delivery("payment_intent.succeeded", created["payment_intent"])
    loop = asyncio.get_running_loop()
    answers = await asyncio.gather(*(loop.run_in_executor(REST_THREADS, deliver, shop.webhook_url, body, signature) for _ in range(2)))
    assert [status for status, _ in answers] == [200, 200], answers
    assert sorted(a["result"]["applied"] for _, a in answers) == [False, True], answers
    # And a burst of the same delivery.
    answers = await asyncio.gather(*(loop.run_in_executor(REST_THREADS, deliver, shop.webhook_url, body, signature) for _ in range(8)))
    assert all(status == 200 and not a["result"]["applied"] for status, a in answers), answers
    assert (await shop.wallet(wallet))["balance"] == 4000
    assert [e["amount"] for e in await shop.ledger(wallet)] == [4000]
    assert [t for t, _ in await shop.top_up_events()] == ["top_up.created", "top_up.completed", "wallet.updated"]


async def test_a_driver_goes_from_an_empty_wallet_to_a_finished_wallet_paid_session(shop):
    """Everything through the API: the driver funds an empty wallet with a card through Stripe,
    then charges, paying from the wallet."""
    api = shop.api
    user, wallet = await create_user(api, balance=0)
    rate = await create_rate(api, [{"type": "ENERGY", "price": 0.35, "tax": 8.25}])
    cs = await api.create_chargestation()
    connector = await create_connector(api, cs["_id"], 1, rate)
    start = {"type": "wallet", "connector": connector["_id"], "user": user["_id"]}

    async with connect(shop.joule, cs["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await charger.status(1, "Available")
        refused = await api.request("POST", "/v1.1/sessions", start)
        assert (refused.status, refused.message) == (405, "User does not have minimum balance"), refused

        created = await shop.top_up(wallet, 2500)
        await shop.pay(created["payment_intent"])
        await shop.wait_status(created["_id"], "completed")
        funded = await shop.wallet(wallet)
        assert (funded["balance"], funded["available_balance"]) == (2500, 2500)

        session = await api.ok("POST", "/v1.1/sessions", start)
        assert (session["status"], session["payment"]["authorized_amount"]) == ("created", 25), session
        t0 = now() - timedelta(minutes=30)
        tx = await charger.start_remote(session, meter_start=0, at=t0)
        await charger.status(1, "Charging")
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(minutes=15)), 2000))
        await charger.send(call.StopTransaction(meter_stop=4000, timestamp=timestamp(t0 + timedelta(minutes=30)), transaction_id=tx, reason="EVDisconnected", id_tag=session["idTag"]))

    ended = await session_of(api, session["_id"])
    # 4 kWh at $0.35 plus 8.25% tax: $1.5155, captured as $1.52.
    assert (ended["status"], ended["payment"]["status"], ended["payment"]["captured_amount"]) == ("ended", "succeeded", 1.52), ended
    after = await shop.wallet(wallet)
    assert (after["balance"], after["available_balance"]) == (2500 - 152, 2500 - 152), after
    ledger = await shop.ledger(wallet)
    assert [(e["type"], e["amount"], e["reference"]) for e in ledger] == [("session_capture", -152, session["_id"]), ("top_up", 2500, created["_id"])], ledger


async def test_an_unpaid_top_up_expires_and_its_payment_intent_is_cancelled(own_joule, localstripe):
    joule = own_joule(JOULE_STRIPE_API_BASE=localstripe.url, JOULE_TOP_UP_LIFETIME="2")
    shop = Shop(joule, localstripe)
    shop.send_webhooks_to(shop.webhook_url)
    _, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 1000)
    expired = await shop.wait_status(created["_id"], "expired")
    assert expired["client_secret"] is None
    intent = shop.app.v1.payment_intents.retrieve(created["payment_intent"])
    assert intent.status == "canceled", intent
    # The driver can no longer pay it.
    with pytest.raises(stripe.StripeError):
        await shop.pay(created["payment_intent"])
    assert (await shop.wallet(wallet))["balance"] == 0
    assert [t for t, _ in await shop.top_up_events()] == ["top_up.created", "top_up.expired"]


def test_api_keys_never_show(shop):
    org = shop.api.request_sync("GET", "/v1.1/organization")
    everything = json.dumps(org.result) + json.dumps(shop.api.request_sync("GET", "/v1.1/events?limit=100").result)
    assert SECRET_KEY not in everything and shop.webhook_secret not in everything
    assert SECRET_KEY not in "".join(shop.joule.log) and shop.webhook_secret not in "".join(shop.joule.log)
    assert org.result["stripe"] == {"configured": True}



class LostAnswers:
    """A Stripe whose answers to PaymentIntent creations are lost while `losing` is set: a proxy
    in front of localstripe that forwards the first creation under each `Idempotency-Key`
    (Stripe makes the PaymentIntent), answers 500, and answers every later request under that
    key with the first answer, as Stripe replays an idempotent request (localstripe does not)."""

    def __init__(self, upstream: str):
        self.losing = True
        self.creation_keys: list[str] = []
        answers: dict[str, tuple[int, bytes]] = {}
        proxy = self

        def forward(method: str, path: str, headers, body: bytes | None) -> tuple[int, bytes]:
            sent = {k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type", "stripe-version", "idempotency-key")}
            try:
                with urllib.request.urlopen(urllib.request.Request(upstream + path, data=body, method=method, headers=sent), timeout=30) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status: int, body: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self.answer(*forward("GET", self.path, self.headers, None))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key")
                if self.path != "/v1/payment_intents" or key is None:
                    return self.answer(*forward("POST", self.path, self.headers, body))
                proxy.creation_keys.append(key)
                if key not in answers:
                    answers[key] = forward("POST", self.path, self.headers, body)
                if proxy.losing:
                    return self.answer(500, b'{"error": {"type": "api_error", "message": "An error occurred with our connection to Stripe."}}')
                self.answer(*answers[key])

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def post_with_key(api, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    request = urllib.request.Request(api.base_url + path, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def test_a_retry_after_stripes_answer_was_lost_continues_the_top_up_and_charges_once(own_joule, localstripe):
    lost = LostAnswers(localstripe.url)
    try:
        shop = Shop(own_joule(JOULE_STRIPE_API_BASE=lost.url), localstripe)
        shop.send_webhooks_to(shop.webhook_url)
        _, wallet = await create_user(shop.api, balance=0)
        body = {"type": "manual", "wallet": wallet["_id"], "amount": 2500}
        status, first = post_with_key(shop.api, "/v1.1/top_up", body, "top-up-lost")
        assert (status, first["message"]) == (502, "Stripe could not be reached; try again"), first
        [waiting] = await shop.api.ok("GET", f"/v1.1/top_up?wallet={wallet['_id']}")
        assert (waiting["status"], waiting["payment_intent"]) == ("created", None), waiting

        lost.losing = False
        status, retried = post_with_key(shop.api, "/v1.1/top_up", body, "top-up-lost")
        assert status == 200, retried
        created = retried["result"]
        assert created["_id"] == waiting["_id"] and created["client_secret"].startswith(created["payment_intent"]), created
        # Every creation Joule sent, first try and retries, carried the top-up's one key, so
        # Stripe made one PaymentIntent.
        assert len(lost.creation_keys) > 1 and set(lost.creation_keys) == {f"joule-top-up-{created['_id']}"}, lost.creation_keys
        intents = [pi for pi in shop.app.v1.payment_intents.list(params={"limit": 100}).data if pi.metadata.to_dict().get("top_up") == created["_id"]]
        assert [pi.id for pi in intents] == [created["payment_intent"]]
        # A later retry reads the top-up again, client secret included.
        status, again = post_with_key(shop.api, "/v1.1/top_up", body, "top-up-lost")
        assert (status, again["result"]["_id"], again["result"]["client_secret"]) == (200, created["_id"], created["client_secret"]), again

        await shop.pay(created["payment_intent"])
        await shop.wait_status(created["_id"], "completed")
        assert (await shop.wallet(wallet))["balance"] == 2500
        assert [(e["type"], e["amount"]) for e in await shop.ledger(wallet)] == [("top_up", 2500)]
    finally:
        lost.close()


async def test_a_top_up_paid_at_stripe_whose_event_never_came_completes_when_it_expires(own_joule, localstripe, receiver):
    shop = Shop(own_joule(JOULE_STRIPE_API_BASE=localstripe.url, JOULE_TOP_UP_LIFETIME="3"), localstripe)
    shop.send_webhooks_to(receiver.url)  # Stripe's events never reach Joule
    _, wallet = await create_user(shop.api, balance=0)
    created = await shop.top_up(wallet, 1800)
    await shop.pay(created["payment_intent"])
    # At its expiry Joule asks Stripe, finds the payment, and credits it instead of expiring.
    done = await shop.wait_status(created["_id"], "completed")
    assert done["payment_intent"] == created["payment_intent"]
    assert shop.app.v1.payment_intents.retrieve(created["payment_intent"]).status == "succeeded"
    assert (await shop.wallet(wallet))["balance"] == 1800
    assert [(e["type"], e["amount"]) for e in await shop.ledger(wallet)] == [("top_up", 1800)]
    assert [t for t, _ in await shop.top_up_events()] == ["top_up.created", "top_up.completed", "wallet.updated"]
