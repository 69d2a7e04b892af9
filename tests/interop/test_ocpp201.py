"""OCPP 2.0.1 chargers (SPEC 14), with the `ocpp` package's v201 ChargePoint as the charger,
which checks every message both ways against the official 2.0.1 schemas: the handshake, boot,
heartbeat and status, the refusals a 2.0.1 charger is answered with, authorization and reports,
the commands endpoint and the local list, transactions and wallet sessions (from a card and
from the API, beside a 1.6 charger)."""

import asyncio
import json
from datetime import timedelta
from decimal import Decimal

import websockets
from ocpp.routing import on
from ocpp.v16 import call as v16call
from ocpp.v201 import call, call_result

from charger import connect, timestamp
from charger201 import Charger201, connect201
from server import eventually, new_endpoint
from wallet import SessionCharger, create_user, driver, meter_values, money, now, session_of, sessions, wait_session


async def test_a_2_0_1_charger_boots_reports_status_and_heartbeats(joule, api):
    cs = await api.create_chargestation(protocol="ocpp2.0.1")
    assert cs["protocol"] == "ocpp2.0.1"
    async with connect201(joule, cs["endpoint"]) as charger:
        booted = await charger.boot()
        assert (booted.status, booted.interval) == ("Accepted", 300), booted
        await charger.send(call.StatusNotification(timestamp="2026-12-07T10:00:00.000Z", connector_status="Occupied", evse_id=1, connector_id=1))
        await charger.send(call.StatusNotification(timestamp="2026-12-07T10:00:01.000Z", connector_status="Available", evse_id=2, connector_id=1))
        # EVSE 0 is the chargestation itself: no connector is made of it.
        await charger.send(call.StatusNotification(timestamp="2026-12-07T10:00:02.000Z", connector_status="Available", evse_id=0, connector_id=0))
        beat = await charger.send(call.Heartbeat())
        assert beat.current_time.endswith("Z") or "+" in beat.current_time, beat
        shown = await api.ok("GET", f"/v1.1/chargestations/{cs['_id']}")
        assert shown["online"] and shown["bootInfo"]["chargingStation"]["model"] == "Interop-2", shown
        assert [(c["connector_id"], c["status"]) for c in shown["connectors"]] == [(1, "Preparing"), (2, "Available")], shown["connectors"]
    await eventually(lambda: offline(api, cs["_id"]))


async def offline(api, cs_id: str) -> bool:
    return not (await api.ok("GET", f"/v1.1/chargestations/{cs_id}"))["online"]


async def test_a_charger_offering_only_2_0_1_is_served_so_and_its_chargestation_says_so(joule, api):
    cs = await api.create_chargestation()
    assert cs["protocol"] == "ocpp1.6"
    async with connect201(joule, cs["endpoint"], subprotocols=("ocpp2.0.1",)) as charger:
        assert (await charger.boot()).status == "Accepted"
        assert (await api.ok("GET", f"/v1.1/chargestations/{cs['_id']}"))["protocol"] == "ocpp2.0.1"
    # One that offers both gets the version its chargestation is registered with.
    async with connect201(joule, cs["endpoint"], subprotocols=("ocpp1.6", "ocpp2.0.1")) as charger:
        assert (await charger.boot()).status == "Accepted"


async def test_a_handshake_without_a_known_subprotocol_is_refused(joule, api):
    cs = await api.create_chargestation(protocol="ocpp2.0.1")
    try:
        async with websockets.connect(f"{joule.ws_url}/ocpp/{cs['endpoint']}", subprotocols=["ocpp2.1"], open_timeout=10):
            raise AssertionError("connected without a subprotocol Joule speaks")
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 400


async def test_bad_messages_get_2_0_1_error_codes_and_the_connection_stays(joule, api):
    cs = await api.create_chargestation(protocol="ocpp2.0.1", registration="Pending")
    async with connect201(joule, cs["endpoint"]) as charger:
        pending = await charger.boot()
        assert (pending.status, pending.interval) == ("Pending", 10), pending
        answer = await charger.raw(json.dumps([2, "h1", "Heartbeat", {}]))
        assert answer[:3] == [4, "h1", "SecurityError"], answer
        missing = await charger.raw(json.dumps([2, "b1", "BootNotification", {"reason": "PowerUp"}]))
        assert missing[:3] == [4, "b1", "OccurrenceConstraintViolation"], missing
        extra = await charger.raw(json.dumps([2, "b2", "BootNotification", {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}, "extra": 1}]))
        assert extra[:3] == [4, "b2", "FormatViolation"], extra
        legacy = await charger.raw(json.dumps([2, "s1", "StartTransaction", {}]))
        assert legacy[:3] == [4, "s1", "NotImplemented"], legacy
        bad_type = await charger.raw(json.dumps([7, "x1", "Heartbeat", {}]))
        assert bad_type[:3] == [4, "x1", "MessageTypeNotSupported"], bad_type
        assert (await charger.boot()).status == "Pending", "the connection stays up"
    assert new_endpoint() != cs["endpoint"]


async def test_the_commands_endpoint_speaks_the_chargers_version(joule, api):
    cs = await api.create_chargestation(protocol="ocpp2.0.1")
    async with connect201(joule, cs["endpoint"]) as charger:
        await charger.boot()
        reset = await api.command(cs["_id"], "Reset", {"type": "OnIdle", "evseId": 1})
        assert (reset.status, reset.result) == (200, {"status": "Accepted"}), reset
        wanted = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}
        read = await api.command(cs["_id"], "GetVariables", wanted)
        assert read.status == 200 and read.result["getVariableResult"][0]["attributeValue"] == "300", read
        # A 1.6 action, a 1.6 payload and an invalid one never reach the charger.
        sent = len(charger.wire.inbound)
        legacy = await api.command(cs["_id"], "RemoteStartTransaction", {"idTag": "X"})
        assert (legacy.status, legacy.message.split(";")[0]) == (400, "Invalid `action`: `RemoteStartTransaction` is not an OCPP 2.0.1 command"), legacy
        old_reset = await api.command(cs["_id"], "Reset", {"type": "Hard"})
        assert old_reset.status == 400 and old_reset.message.startswith("Invalid Reset payload: /type"), old_reset
        assert len(charger.wire.inbound) == sent
    # A 1.6 chargestation is not sent a 2.0.1-only action.
    old = await api.create_chargestation()
    wrong = await api.command(old["_id"], "GetVariables", wanted)
    assert wrong.status == 400 and "not an OCPP 1.6 command" in wrong.message, wrong


async def test_tokens_are_authorized_and_reports_are_answered_and_kept(joule, api):
    await api.create_token("TAG-201-OK")
    await api.create_token("TAG-201-BLOCKED", status="Blocked")
    cs = await api.create_chargestation(protocol="ocpp2.0.1")
    async with connect201(joule, cs["endpoint"]) as charger:
        await charger.boot()

        async def status_of(tag: str) -> str:
            answer = await charger.send(call.Authorize(id_token={"id_token": tag, "type": "ISO14443"}))
            return answer.id_token_info["status"]

        assert [await status_of(t) for t in ("TAG-201-OK", "TAG-201-BLOCKED", "TAG-201-NOBODY")] == ["Accepted", "Blocked", "Invalid"]
        event = {"event_id": 7, "timestamp": "2026-12-07T10:00:00.000Z", "trigger": "Alerting", "actual_value": "Faulted", "event_notification_type": "HardWiredNotification",
                 "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}}, "variable": {"name": "AvailabilityState"}}
        await charger.send(call.NotifyEvent(generated_at="2026-12-07T10:00:00.000Z", seq_no=0, event_data=[event]))
        await charger.send(call.SecurityEventNotification(type="StartupOfTheDevice", timestamp="2026-12-07T10:00:00.000Z"))
        await charger.send(call.FirmwareStatusNotification(status="Installed"))
        transfer = await charger.send(call.DataTransfer(vendor_id="com.example"))
        assert transfer.status == "UnknownVendorId"
    kept = [(e["type"], e["data"]["chargestation"]) for e in await api.events() if e["type"].startswith("chargestation.") and e["type"].endswith(("event", "report"))]
    assert sorted(kept) == [("chargestation.notify_event", cs["_id"]), ("chargestation.security_event", cs["_id"])], kept
    notified = next(e for e in await api.events() if e["type"] == "chargestation.notify_event")
    assert notified["data"]["eventData"][0]["actualValue"] == "Faulted", notified


class ListCharger201(Charger201):
    """Keeps its local list as OCPP 2.0.1 says, accepting every update."""

    def __init__(self, endpoint, wire):
        super().__init__(endpoint, wire)
        self.version = 0
        self.entries: dict[str, tuple[str, str]] = {}
        self.updates: list[tuple[str, int]] = []

    @on("SendLocalList")
    def on_send_local_list(self, version_number, update_type, local_authorization_list=None, **_):
        self.updates.append((update_type, version_number))
        if update_type == "Full":
            self.entries = {}
        for e in local_authorization_list or []:
            token = e["id_token"]
            if "id_token_info" in e:
                self.entries[token["id_token"]] = (token["type"], e["id_token_info"]["status"])
            else:
                self.entries.pop(token["id_token"], None)
        self.version = version_number
        return call_result.SendLocalList(status="Accepted")


async def test_the_local_list_of_a_2_0_1_charger_holds_idtokens_of_their_kind(joule, api):
    card = await api.create_token("LIST201-CARD")
    await api.create_token("LIST201-APP", type="Central", status="Blocked")
    cs = await api.create_chargestation(protocol="ocpp2.0.1")
    async with connect201(joule, cs["endpoint"], ListCharger201) as charger:
        await charger.boot()
        synced = await api.ok("POST", f"/v1.1/chargestations/{cs['_id']}/local_list/sync")
        assert synced == {"status": "Accepted", "listVersion": 1}
        assert charger.entries == {"LIST201-CARD": ("ISO14443", "Accepted"), "LIST201-APP": ("Central", "Blocked")}
        await api.ok("DELETE", f"/v1.1/tokens/{card['_id']}")
        await eventually(lambda: no_card(charger))
        assert charger.updates == [("Full", 1), ("Differential", 2)], charger.updates


async def no_card(charger) -> bool:
    return "LIST201-CARD" not in charger.entries


def energy(at: str, wh: int, context: str = "Sample.Periodic") -> list[dict]:
    return [{"timestamp": at, "sampled_value": [{"value": wh, "measurand": "Energy.Active.Import.Register", "context": context, "unit_of_measure": {"unit": "Wh"}}]}]


def transaction_event(kind: str, tx: str, seq: int, wh: int | None = None, tag: str | None = None, seconds_ago: int = 0, **info):
    at = timestamp(now() - timedelta(seconds=seconds_ago))
    extra = {"meter_value": energy(at, wh, {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(kind, "Sample.Periodic"))} if wh is not None else {}
    if tag is not None:
        extra["id_token"] = {"id_token": tag, "type": "ISO14443"}
    trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic", "Ended": "EVDeparted"}[kind]
    return call.TransactionEvent(event_type=kind, timestamp=at, trigger_reason=trigger, seq_no=seq, transaction_info={"transaction_id": tx, **info},
                                 evse={"id": 1, "connector_id": 1}, **extra)


async def test_a_card_pays_a_session_on_a_2_0_1_charger_from_the_wallet(joule, api):
    d = await driver(api, [{"type": "ENERGY", "price": 0.35}], balance=5000)
    card = await api.create_token(new_endpoint()[:20], user=d.user["_id"])
    async with connect201(joule, d.chargestation["endpoint"]) as charger:
        await charger.boot()
        started = await charger.send(transaction_event("Started", "tx-201-a", 0, 1000, card["physicalId"], charging_state="Charging"))
        assert started.id_token_info["status"] == "Accepted", started
        session = next(s for s in await sessions(api) if s.get("token") == card["_id"])
        assert (session["status"], session["type"], session["payment"]["type"]) == ("started", "wallet", "rfid_wallet"), session
        updated = await charger.send(transaction_event("Updated", "tx-201-a", 1, 11000))
        assert updated.total_cost is None
        running = await session_of(api, session["_id"])
        assert money(running["cost"]["amount"]) == Decimal("3.5"), running["cost"]
        # The charger is told the running cost as it changes, at most once a minute.
        await eventually(lambda: calls(charger, "CostUpdated"))
        assert charger.calls_of("CostUpdated") == [{"totalCost": 3.5, "transactionId": "tx-201-a"}]
        ended = await charger.send(transaction_event("Ended", "tx-201-a", 2, 21000, card["physicalId"], stopped_reason="Local"))
        assert money(ended.total_cost) == Decimal("7"), ended
        assert ended.id_token_info["status"] == "Accepted"
    done = await wait_session(api, session["_id"], "ended")
    assert money(done["payment"]["captured_amount"]) == Decimal("7") and done["payment"]["status"] == "succeeded", done["payment"]
    assert (await d.wallet_now())["balance"] == 4300
    transactions = await api.transactions(d.chargestation["_id"])
    assert [(t["transactionId"], t["meterStart"], t["meterStop"]) for t in transactions] == [("tx-201-a", 1000, 21000)], transactions
    assert "ocppTransactionId" not in transactions[0]


async def test_a_2_0_1_session_is_stopped_at_its_target_and_unknown_transactions_are_taken(joule, api):
    await api.ok("PATCH", "/v1.1/organization", {"configurations": {"session": {"card_target": {"energy": 2}}}})
    d = await driver(api, [{"type": "ENERGY", "price": 0.35}], balance=5000)
    card = await api.create_token(new_endpoint()[:20], user=d.user["_id"])
    poor, _ = await create_user(api, 100)
    poor_card = await api.create_token(new_endpoint()[:20], user=poor["_id"])
    async with connect201(joule, d.chargestation["endpoint"]) as charger:
        await charger.boot()
        # Started a minute ago: 2.1 kWh since is 126 kW, far inside the $50 held.
        await charger.send(transaction_event("Started", "tx-201-b", 0, 0, card["physicalId"], seconds_ago=60))
        await charger.send(transaction_event("Updated", "tx-201-b", 1, 2100))
        await eventually(lambda: stop_sent(charger))
        assert charger.calls_of("RequestStopTransaction") == [{"transactionId": "tx-201-b"}]
        await charger.send(transaction_event("Ended", "tx-201-b", 2, 2200, stopped_reason="Remote"))
        # A card below the minimum balance is Blocked and starts no session.
        refused = await charger.send(transaction_event("Started", "tx-201-c", 0, 0, poor_card["physicalId"]))
        assert refused.id_token_info["status"] == "Blocked", refused
        again = await charger.send(transaction_event("Updated", "tx-201-c", 1, 10, poor_card["physicalId"]))
        assert again.id_token_info["status"] == "Blocked", "a refused card's transaction stays refused"
        # A transaction Joule first hears of in an Updated event, seqNo already 5: taken all the same.
        late = await charger.send(transaction_event("Updated", "tx-201-d", 5, 500))
        assert late.id_token_info is None
    stopped = next(s for s in await sessions(api) if s.get("token") == card["_id"])
    assert stopped["stop_requested"]["reason"] == "target.energy", stopped
    assert not [s for s in await sessions(api) if s.get("token") == poor_card["_id"]]
    ids = sorted(t["transactionId"] for t in await api.transactions(d.chargestation["_id"]))
    assert ids == ["tx-201-b", "tx-201-c", "tx-201-d"], ids


async def stop_sent(charger) -> bool:
    return bool(charger.calls_of("RequestStopTransaction"))


async def test_a_wallet_session_started_through_the_api_runs_on_a_2_0_1_charger(joule, api):
    d = await driver(api, [{"type": "ENERGY", "price": 0.35}], balance=5000)
    cs_id = d.chargestation["_id"]
    async with connect201(joule, d.chargestation["endpoint"]) as charger:
        await charger.boot()
        await charger.send(call.StatusNotification(timestamp=timestamp(now()), connector_status="Occupied", evse_id=1, connector_id=1))
        session = await d.start()
        await eventually(lambda: calls(charger, "RequestStartTransaction"))
        request = charger.calls_of("RequestStartTransaction")[0]
        assert request["evseId"] == 1 and request["idToken"] == {"idToken": session["idTag"], "type": "Central"}, request
        tag = {"id_token": session["idTag"], "type": "Central"}
        begin = energy(timestamp(now() - timedelta(seconds=60)), 0, "Transaction.Begin")
        started = await charger.send(call.TransactionEvent(event_type="Started", timestamp=timestamp(now() - timedelta(seconds=60)), trigger_reason="RemoteStart", seq_no=0,
                                                          transaction_info={"transaction_id": "tx-api-1", "remote_start_id": request["remoteStartId"], "charging_state": "Charging"},
                                                          evse={"id": 1, "connector_id": 1}, id_token=tag, meter_value=begin))
        assert started.id_token_info["status"] == "Accepted"
        assert (await wait_session(api, session["_id"], "started"))["transactionId"] is not None
        paused = await api.ok("POST", f"/v1.1/sessions/{session['_id']}/pause")
        assert paused["status"] == "paused"
        profile = charger.calls_of("SetChargingProfile")[0]
        assert profile["chargingProfile"]["transactionId"] == "tx-api-1" and profile["chargingProfile"]["chargingProfilePurpose"] == "TxProfile", profile
        assert (await api.ok("POST", f"/v1.1/sessions/{session['_id']}/resume"))["status"] == "started"
        assert charger.calls_of("ClearChargingProfile") == [{"chargingProfileId": profile["chargingProfile"]["id"]}]
        await charger.send(transaction_event("Updated", "tx-api-1", 1, 4000))
        await api.ok("POST", f"/v1.1/sessions/{session['_id']}/stop")
        # Pursued until the charger reports the end: it may go out more than once.
        stops = charger.calls_of("RequestStopTransaction")
        assert stops and all(stop == {"transactionId": "tx-api-1"} for stop in stops), stops
        ended = await charger.send(transaction_event("Ended", "tx-api-1", 2, 5000, stopped_reason="Remote"))
        assert money(ended.total_cost) == Decimal("1.75"), ended
    done = await wait_session(api, session["_id"], "ended")
    assert money(done["payment"]["captured_amount"]) == Decimal("1.75"), done["payment"]
    assert (await d.wallet_now())["available_balance"] == 5000 - 175
    assert (await api.ok("GET", f"/v1.1/chargestations/{cs_id}"))["protocol"] == "ocpp2.0.1"


async def calls(charger, action: str) -> bool:
    return bool(charger.calls_of(action))


async def test_a_1_6_and_a_2_0_1_charger_run_wallet_sessions_side_by_side(joule, api):
    old = await driver(api, [{"type": "ENERGY", "price": 0.35}], balance=5000)
    new = await driver(api, [{"type": "ENERGY", "price": 0.35}], balance=5000)
    async with connect(joule, old.chargestation["endpoint"], SessionCharger) as v16, connect201(joule, new.chargestation["endpoint"]) as v201:
        await asyncio.gather(v16.boot(), v201.boot())
        first, second = await asyncio.gather(old.start(), new.start())
        await eventually(lambda: calls(v201, "RequestStartTransaction"))
        tag = {"id_token": second["idTag"], "type": "Central"}
        tx16 = await v16.start_remote(first, meter_start=0, at=now() - timedelta(seconds=60))
        await v201.send(call.TransactionEvent(event_type="Started", timestamp=timestamp(now() - timedelta(seconds=60)), trigger_reason="RemoteStart", seq_no=0,
                                              transaction_info={"transaction_id": "side-by-side"}, evse={"id": 1, "connector_id": 1}, id_token=tag,
                                              meter_value=energy(timestamp(now() - timedelta(seconds=60)), 0, "Transaction.Begin")))
        await asyncio.gather(v16.send(meter_values(1, tx16, timestamp(now()), 2000)), v201.send(transaction_event("Updated", "side-by-side", 1, 2000)))
        await asyncio.gather(
            v16.send(v16call.StopTransaction(meter_stop=3000, timestamp=timestamp(now()), transaction_id=tx16, reason="Local")),
            v201.send(transaction_event("Ended", "side-by-side", 2, 3000, stopped_reason="Local")),
        )
    for d, session in ((old, first), (new, second)):
        done = await wait_session(api, session["_id"], "ended")
        assert money(done["payment"]["captured_amount"]) == Decimal("1.05"), done["payment"]
        assert (await d.wallet_now())["balance"] == 5000 - 105
