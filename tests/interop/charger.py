"""The charger: the `ocpp` package's ChargePoint on a WebSocket to Joule, keeping every frame.

The package validates what it sends and what it receives against the official OCPP 1.6
schemas, so a CALL from Joule that breaks them is answered with a CALLERROR (and the test that
expected a CALLRESULT fails), and a bad answer from Joule raises in the test.
"""

import asyncio
import base64
import contextlib
import json
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    CancelReservationStatus,
    ChargingProfileStatus,
    ClearCacheStatus,
    ClearChargingProfileStatus,
    ConfigurationStatus,
    DataTransferStatus,
    GetCompositeScheduleStatus,
    RemoteStartStopStatus,
    ReservationStatus,
    ResetStatus,
    TriggerMessageStatus,
    UnlockStatus,
    UpdateStatus,
)

VENDOR = "Joule Interop"


class Wire:
    """The WebSocket as the charger reads and writes it, keeping each frame that passes."""

    def __init__(self, ws):
        self.ws = ws
        self.inbound: list[list] = []
        self.outbound: list[list] = []

    async def recv(self) -> str:
        raw = await self.ws.recv()
        self.inbound.append(json.loads(raw))
        return raw

    async def send(self, raw: str):
        self.outbound.append(json.loads(raw))
        await self.ws.send(raw)


class Charger(ChargePoint):
    """Answers every command a central system may send with a fixed, valid reply."""

    def __init__(self, endpoint: str, wire: Wire):
        super().__init__(endpoint, wire, response_timeout=15)
        self.wire = wire

    def calls_received(self) -> list[tuple[str, dict]]:
        """Each CALL from Joule, as (action, payload) exactly as it came over the wire."""
        return [(frame[2], frame[3]) for frame in self.wire.inbound if frame[0] == 2]

    def reply_sent(self, action: str) -> dict:
        """The CALLRESULT payload this charger sent for the last `action` CALL, as on the wire."""
        call_id = [frame[1] for frame in self.wire.inbound if frame[0] == 2 and frame[2] == action][-1]
        return next(frame[2] for frame in self.wire.outbound if frame[0] == 3 and frame[1] == call_id)

    async def send(self, request, **options):
        """Sends a CALL; a CALLERROR from Joule raises its ocpp exception."""
        return await self.call(request, suppress=False, **options)

    async def boot(self) -> call_result.BootNotification:
        return await self.send(call.BootNotification(charge_point_model="Interop-1", charge_point_vendor=VENDOR, firmware_version="1.0.0"))

    @on(Action.reset)
    def on_reset(self, **_):
        return call_result.Reset(ResetStatus.accepted)

    @on(Action.unlock_connector)
    def on_unlock_connector(self, **_):
        return call_result.UnlockConnector(UnlockStatus.unlocked)

    @on(Action.change_availability)
    def on_change_availability(self, **_):
        return call_result.ChangeAvailability(AvailabilityStatus.scheduled)

    @on(Action.get_configuration)
    def on_get_configuration(self, **_):
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            unknown_key=["NoSuchKey"],
        )

    @on(Action.change_configuration)
    def on_change_configuration(self, **_):
        return call_result.ChangeConfiguration(ConfigurationStatus.reboot_required)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_):
        return call_result.ClearCache(ClearCacheStatus.accepted)

    @on(Action.trigger_message)
    def on_trigger_message(self, **_):
        return call_result.TriggerMessage(TriggerMessageStatus.accepted)

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(self, **_):
        return call_result.RemoteStartTransaction(RemoteStartStopStatus.accepted)

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, **_):
        return call_result.RemoteStopTransaction(RemoteStartStopStatus.rejected)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, **_):
        return call_result.SetChargingProfile(ChargingProfileStatus.accepted)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, **_):
        return call_result.ClearChargingProfile(ClearChargingProfileStatus.unknown)

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, **_):
        return call_result.GetCompositeSchedule(
            status=GetCompositeScheduleStatus.accepted,
            connector_id=1,
            schedule_start="2030-01-01T00:00:00.000Z",
            charging_schedule={
                "duration": 3600,
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 16.5, "number_phases": 3}],
            },
        )

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_):
        return call_result.GetLocalListVersion(list_version=3)

    @on(Action.send_local_list)
    def on_send_local_list(self, **_):
        return call_result.SendLocalList(UpdateStatus.accepted)

    @on(Action.reserve_now)
    def on_reserve_now(self, **_):
        return call_result.ReserveNow(ReservationStatus.occupied)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, **_):
        return call_result.CancelReservation(CancelReservationStatus.accepted)

    @on(Action.update_firmware)
    def on_update_firmware(self, **_):
        return call_result.UpdateFirmware()

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, **_):
        return call_result.GetDiagnostics(file_name="diagnostics-0001.zip")

    @on(Action.data_transfer)
    def on_data_transfer(self, **_):
        return call_result.DataTransfer(DataTransferStatus.accepted, data="pong")


def basic_auth(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def _listen(charger: ChargePoint):
    # The server closing the connection ends the charger; that is not an error here.
    with contextlib.suppress(websockets.ConnectionClosed):
        await charger.start()


@contextlib.asynccontextmanager
async def connect(joule, endpoint: str, charger=Charger, headers: dict | None = None, **options):
    """A charger connected to Joule as `endpoint`, answering CALLs in the background. `options`
    go to the socket (`local_addr=("127.0.0.2", 0)` connects from another address)."""
    async with websockets.connect(f"{joule.ws_url}/ocpp/{endpoint}", subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=10, **options) as ws:
        assert ws.subprotocol == "ocpp1.6"
        cp = charger(endpoint, Wire(ws))
        task = asyncio.create_task(_listen(cp))
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def timestamp(at: datetime | None = None) -> str:
    """An OCPP timestamp, UTC with milliseconds, as chargers send them."""
    at = at or datetime.now(timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
