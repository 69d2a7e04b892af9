"""Wallet-paid sessions end to end: a funded driver, a priced connector and a charger that
takes remote starts, stops and charging profiles as a test tells it to."""

import asyncio
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger import Charger, timestamp
from server import REST_THREADS, Api, new_endpoint

ENERGY_REGISTER = "Energy.Active.Import.Register"


class SessionCharger(Charger):
    """A charger whose answers to RemoteStartTransaction, RemoteStopTransaction,
    SetChargingProfile and ClearChargingProfile are in `answers` (all Accepted at first)."""

    def __init__(self, endpoint, wire):
        super().__init__(endpoint, wire)
        self.answers = {
            "RemoteStartTransaction": "Accepted",
            "RemoteStopTransaction": "Accepted",
            "SetChargingProfile": "Accepted",
            "ClearChargingProfile": "Accepted",
        }

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(self, **_):
        return call_result.RemoteStartTransaction(self.answers["RemoteStartTransaction"])

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, **_):
        return call_result.RemoteStopTransaction(self.answers["RemoteStopTransaction"])

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, **_):
        return call_result.SetChargingProfile(self.answers["SetChargingProfile"])

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, **_):
        return call_result.ClearChargingProfile(self.answers["ClearChargingProfile"])

    def calls_of(self, action: str) -> list[dict]:
        """The payloads of every `action` CALL Joule sent this charger, oldest first."""
        return [payload for name, payload in self.calls_received() if name == action]

    def _answered(self, call_id: str) -> bool:
        return any(frame[0] in (3, 4) and frame[1] == call_id for frame in self.wire.outbound)

    async def nth_call(self, action: str, n: int = 0, seconds: float = 15) -> dict:
        """The payload of the `n`th (from 0) `action` CALL from Joule, once this charger has
        answered it; fails after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            frames = [f for f in self.wire.inbound if f[0] == 2 and f[2] == action]
            if len(frames) > n and self._answered(frames[n][1]):
                return frames[n][3]
            assert loop.time() < deadline, f"no {action} #{n + 1} from Joule within {seconds} s (got {self.calls_received()})"
            await asyncio.sleep(0.02)

    async def status(self, connector_id: int, status: str, at: datetime | None = None):
        await self.send(call.StatusNotification(connector_id=connector_id, error_code="NoError", status=status, timestamp=timestamp(at)))

    async def start_remote(self, session: dict, meter_start: int, at: datetime | None = None, n: int = 0) -> int:
        """Takes the `n`th RemoteStartTransaction Joule sent for `session` as a charger does:
        Authorize, then StartTransaction with the idTag it was given. Answers the transactionId."""
        remote = await self.nth_call("RemoteStartTransaction", n)
        assert remote["connectorId"] == session["connector_id"], remote
        assert remote["idTag"] == session["idTag"] and 0 < len(remote["idTag"]) <= 20, (remote, session["idTag"])
        authorized = await self.send(call.Authorize(id_tag=remote["idTag"]))
        assert authorized.id_tag_info["status"] == "Accepted", authorized
        started = await self.send(call.StartTransaction(connector_id=remote["connectorId"], id_tag=remote["idTag"], meter_start=meter_start, timestamp=timestamp(at)))
        assert started.id_tag_info["status"] == "Accepted", started
        assert started.transaction_id > 0
        return started.transaction_id


def energy_reading(at: str, wh: int) -> dict:
    return {"timestamp": at, "sampled_value": [{"value": str(wh), "measurand": ENERGY_REGISTER, "unit": "Wh", "context": "Sample.Periodic"}]}


def meter_values(connector_id: int, tx: int, at: str, wh: int):
    return call.MeterValues(connector_id=connector_id, transaction_id=tx, meter_value=[energy_reading(at, wh)])


def money(value) -> Decimal:
    """A JSON number of major units as the exact decimal it was written as."""
    return Decimal(str(value))


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def now() -> datetime:
    """Now, to the millisecond (what OCPP timestamps carry), so that what a test computes
    from a time is what Joule computes from its timestamp."""
    at = datetime.now(timezone.utc)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def ms_between(a: datetime, b: datetime) -> int:
    return round((b - a).total_seconds() * 1000)


@dataclass
class Driver:
    """A user with a funded wallet, and a chargestation with a connector priced by a rate."""

    api: Api
    user: dict
    wallet: dict
    rate: dict
    chargestation: dict
    connector: dict

    async def start(self, **extra) -> dict:
        return await self.api.ok("POST", "/v1.1/sessions", {"type": "wallet", "connector": self.connector["_id"], "user": self.user["_id"], **extra})

    async def wallet_now(self) -> dict:
        return await self.api.ok("GET", f"/v1.1/wallets/{self.wallet['_id']}")

    async def ledger(self) -> list[dict]:
        return await self.api.ok("GET", f"/v1.1/wallets/{self.wallet['_id']}/transactions?limit=100")


async def create_user(api: Api, balance: int | None = None, currency: str = "usd") -> tuple[dict, dict | None]:
    """A driver and, unless `balance` is None, a wallet credited with `balance` cents."""
    user = await api.ok("POST", "/v1.1/users", {"firstname": "Grace", "lastname": "Hopper", "email": f"{new_endpoint().lower()}@example.com"})
    if balance is None:
        return user, None
    wallet = await api.ok("POST", f"/v1.1/users/{user['_id']}/wallet", {"currency": currency})
    if balance:
        wallet = (await api.ok("POST", f"/v1.1/wallets/{wallet['_id']}/adjustments", {"amount": balance, "reason": "test credit"}))["wallet"]
    return user, wallet


async def create_rate(api: Api, components: list[dict], currency: str = "USD") -> dict:
    return await api.ok("POST", "/v1.1/rates", {"name": "Interop", "currency": currency, "price_components": components})


async def create_connector(api: Api, cs_id: str, number: int, rate: dict | None) -> dict:
    body = {"chargestation": cs_id, "connector_id": number}
    if rate is not None:
        body["rate"] = rate["_id"]
    return await api.ok("POST", "/v1.1/connectors", body)


async def driver(api: Api, components: list[dict], balance: int, minimum_balance: int | None = None) -> Driver:
    """A driver with `balance` cents, on connector 1 of a new chargestation priced by `components` (USD)."""
    if minimum_balance is not None:
        org = await api.ok("PATCH", "/v1.1/organization", {"configurations": {"session": {"minimum_balance": minimum_balance}}})
        assert org["configurations"]["session"]["minimum_balance"] == minimum_balance, org
    user, wallet = await create_user(api, balance)
    rate = await create_rate(api, components)
    cs = await api.create_chargestation()
    connector = await create_connector(api, cs["_id"], 1, rate)
    return Driver(api, user, wallet, rate, cs, connector)


async def session_of(api: Api, session_id: str) -> dict:
    return await api.ok("GET", f"/v1.1/sessions/{session_id}")


async def wait_session(api: Api, session_id: str, status: str, seconds: float = 15) -> dict:
    """The session once its status is `status`; fails after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (session := await session_of(api, session_id))["status"] != status:
        assert loop.time() < deadline, f"session {session_id} is still {session['status']} after {seconds} s, not {status}"
        await asyncio.sleep(0.1)
    return session


async def all_events(api: Api) -> list[dict]:
    """Every event of the organization, oldest first."""
    events, page = [], 1
    while True:
        batch = await api.ok("GET", f"/v1.1/events?limit=100&page={page}")
        events.extend(batch)
        if len(batch) < 100:
            return list(reversed(events))
        page += 1


def story(events: list[dict], session_id: str, wallet_id: str | None = None) -> list[str]:
    """The types of the events about one session, its payment and its wallet, oldest first,
    from the session's creation on."""

    def about(e: dict) -> bool:
        data = e["data"] or {}
        if e["type"].startswith("session."):
            return data.get("_id") == session_id
        if e["type"].startswith("payment."):
            return data.get("session") == session_id
        return e["type"] == "wallet.updated" and wallet_id is not None and data.get("_id") == wallet_id

    created = next(i for i, e in enumerate(events) if e["type"] == "session.created" and e["data"]["_id"] == session_id)
    return [e["type"] for e in events[created:] if about(e)]


async def sessions(api: Api) -> list[dict]:
    return await api.ok("GET", "/v1.1/sessions?limit=100")


async def metric(joule, name: str) -> float:
    """The sum of a Prometheus counter's series at `GET /metrics` (0 when it has none yet)."""

    def read() -> str:
        with urllib.request.urlopen(f"{joule.url}/metrics", timeout=10) as r:
            return r.read().decode()

    text = await asyncio.get_running_loop().run_in_executor(REST_THREADS, read)
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total
