"""Charger messages Joule must answer without storing anything, or refuse with the right CALLERROR."""

from dataclasses import dataclass

import pytest
from ocpp import exceptions as errors
from ocpp.v16 import call

from charger import connect


async def test_data_transfer_for_an_unknown_vendor_is_answered_unknown_vendor_id(joule, api):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        answer = await charger.send(call.DataTransfer(vendor_id="com.example.unknown", message_id="Hello", data='{"a": 1}'))
        assert answer.status == "UnknownVendorId"


async def test_firmware_and_diagnostics_notifications_are_answered(joule, api):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        # The package checks each (empty) answer against the schema.
        await charger.send(call.FirmwareStatusNotification(status="Downloading"))
        await charger.send(call.FirmwareStatusNotification(status="Installed"))
        await charger.send(call.DiagnosticsStatusNotification(status="Uploaded"))
        frames = charger.wire.inbound
        assert [frame[2] for frame in frames if frame[0] == 3][-3:] == [{}, {}, {}]


@dataclass
class Dance:
    """An action OCPP 1.6 does not have."""

    steps: int


# Sent with the package's own validation off: these break the schema on purpose.
INVALID = [
    (call.StatusNotification(connector_id="one", error_code="NoError", status="Available"), errors.TypeConstraintViolationError),
    (call.StatusNotification(connector_id=1, error_code="NoError", status="Dancing"), errors.PropertyConstraintViolationError),
    (call.BootNotification(charge_point_model="M", charge_point_vendor="V" * 21), errors.PropertyConstraintViolationError),
    (call.BootNotification(charge_point_model="M", charge_point_vendor=None), errors.OccurenceConstraintViolationError),
    (Dance(steps=3), errors.NotImplementedError),
    (call.Reset(type="Hard"), errors.NotSupportedError),  # sent by a central system, not to one
]


@pytest.mark.parametrize(("request_", "error"), INVALID, ids=lambda v: v.__name__ if isinstance(v, type) else type(v).__name__)
async def test_an_invalid_message_gets_a_callerror_and_the_connection_stays_up(joule, api, request_, error):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        with pytest.raises(error):
            await charger.send(request_, skip_schema_validation=True)
        assert (await charger.send(call.Heartbeat())).current_time
