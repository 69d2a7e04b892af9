"""An OCPP 2.0.1 charger: the `ocpp` package's v201 ChargePoint on a WebSocket to Joule with
subprotocol `ocpp2.0.1`, keeping every frame. The package validates what it sends and receives
against the official OCPP 2.0.1 schemas."""

import asyncio
import contextlib

import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from charger import Wire, _listen


class Charger201(ChargePoint):
    def __init__(self, endpoint: str, wire: Wire):
        super().__init__(endpoint, wire, response_timeout=15)
        self.wire = wire

    @on("Reset")
    def on_reset(self, **_):
        return call_result.Reset(status="Accepted")

    @on("RequestStartTransaction")
    def on_request_start_transaction(self, **_):
        return call_result.RequestStartTransaction(status="Accepted")

    @on("SetChargingProfile")
    def on_set_charging_profile(self, **_):
        return call_result.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **_):
        return call_result.ClearChargingProfile(status="Accepted")

    @on("CostUpdated")
    def on_cost_updated(self, **_):
        return call_result.CostUpdated()

    @on("RequestStopTransaction")
    def on_request_stop_transaction(self, transaction_id, **_):
        return call_result.RequestStopTransaction(status="Accepted")

    def calls_of(self, action: str) -> list[dict]:
        """The payloads of every `action` CALL Joule sent this charger, oldest first."""
        return [frame[3] for frame in self.wire.inbound if frame[0] == 2 and frame[2] == action]

    @on("GetVariables")
    def on_get_variables(self, get_variable_data, **_):
        return call_result.GetVariables(
            get_variable_result=[
                {"attribute_status": "Accepted", "attribute_value": "300", "component": d["component"], "variable": d["variable"]} for d in get_variable_data
            ]
        )

    async def send(self, request, **options):
        """Sends a CALL; a CALLERROR from Joule raises its ocpp exception."""
        return await self.call(request, suppress=False, **options)

    async def boot(self, reason: str = "PowerUp"):
        return await self.send(call.BootNotification(charging_station={"model": "Interop-2", "vendor_name": "Joule Interop"}, reason=reason))

    async def raw(self, frame: str) -> list:
        """Sends a text as it is and answers the next frame Joule sends back (parsed)."""
        seen = len(self.wire.inbound)
        await self.wire.send(frame)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while len(self.wire.inbound) == seen:
            assert loop.time() < deadline, f"no answer to {frame}"
            await asyncio.sleep(0.02)
        return self.wire.inbound[seen]


@contextlib.asynccontextmanager
async def connect201(joule, endpoint: str, charger=Charger201, subprotocols=("ocpp2.0.1",), headers: dict | None = None):
    """A 2.0.1 charger connected to Joule as `endpoint`, answering CALLs in the background."""
    async with websockets.connect(f"{joule.ws_url}/ocpp/{endpoint}", subprotocols=list(subprotocols), additional_headers=headers, open_timeout=10) as ws:
        assert ws.subprotocol == "ocpp2.0.1", ws.subprotocol
        cp = charger(endpoint, Wire(ws))
        task = asyncio.create_task(_listen(cp))
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
