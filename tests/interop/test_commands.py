"""Operators' commands: REST in, OCPP CALL to the charger, the charger's reply back verbatim."""

import asyncio

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call
from ocpp.v16.enums import Action

from charger import Charger, connect
from server import eventually

FUTURE = "2030-01-01T00:00:00.000Z"

# Per action: the payload the operator posts, and what the test charger answers (camelCase, as
# on the wire). The charger validates the CALL Joule sends against the official schema.
COMMANDS = {
    "Reset": ({"type": "Soft"}, {"status": "Accepted"}),
    "UnlockConnector": ({"connectorId": 1}, {"status": "Unlocked"}),
    "ChangeAvailability": ({"connectorId": 0, "type": "Inoperative"}, {"status": "Scheduled"}),
    "GetConfiguration": (
        {"key": ["HeartbeatInterval", "NoSuchKey"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}], "unknownKey": ["NoSuchKey"]},
    ),
    "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "60"}, {"status": "RebootRequired"}),
    "ClearCache": ({}, {"status": "Accepted"}),
    "TriggerMessage": ({"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"}),
    "RemoteStartTransaction": ({"connectorId": 1, "idTag": "REMOTE-1"}, {"status": "Accepted"}),
    "RemoteStopTransaction": ({"transactionId": 42}, {"status": "Rejected"}),
    "SetChargingProfile": (
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 7,
                "transactionId": 42,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}]},
            },
        },
        {"status": "Accepted"},
    ),
    "ClearChargingProfile": ({"id": 7}, {"status": "Unknown"}),
    "GetCompositeSchedule": (
        {"connectorId": 1, "duration": 3600, "chargingRateUnit": "A"},
        {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": FUTURE,
            "chargingSchedule": {"duration": 3600, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.5, "numberPhases": 3}]},
        },
    ),
    "GetLocalListVersion": ({}, {"listVersion": 3}),
    "SendLocalList": (
        {"listVersion": 4, "updateType": "Full", "localAuthorizationList": [{"idTag": "TAG-1", "idTagInfo": {"status": "Accepted", "expiryDate": FUTURE}}]},
        {"status": "Accepted"},
    ),
    "ReserveNow": ({"connectorId": 1, "expiryDate": FUTURE, "idTag": "TAG-1", "reservationId": 9}, {"status": "Occupied"}),
    "CancelReservation": ({"reservationId": 9}, {"status": "Accepted"}),
    "UpdateFirmware": ({"location": "https://firmware.example.com/v2.bin", "retrieveDate": FUTURE, "retries": 2, "retryInterval": 60}, {}),
    "GetDiagnostics": ({"location": "ftp://diagnostics.example.com/upload/", "retries": 1}, {"fileName": "diagnostics-0001.zip"}),
    "DataTransfer": ({"vendorId": "com.example", "messageId": "Ping", "data": "ping"}, {"status": "Accepted", "data": "pong"}),
}


@pytest.mark.parametrize("action", COMMANDS)
async def test_a_command_reaches_the_charger_and_its_reply_comes_back(joule, api, action):
    payload, reply = COMMANDS[action]
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        response = await api.command(cs["_id"], action, payload)
        assert response.status == 200, response
        assert charger.calls_received() == [(action, payload)]
        assert charger.reply_sent(action) == reply
        assert response.result == reply


async def test_concurrent_commands_each_get_their_own_reply(joule, api):
    cs = await api.create_chargestation()
    actions = ["Reset", "ClearCache", "GetLocalListVersion", "GetDiagnostics", "DataTransfer", "GetConfiguration"]
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        responses = await asyncio.gather(*(api.command(cs["_id"], action, COMMANDS[action][0]) for action in actions))
        assert [r.result for r in responses] == [COMMANDS[action][1] for action in actions], [(r.status, r.message) for r in responses]
        assert sorted(action for action, _ in charger.calls_received()) == sorted(actions)


async def test_invalid_commands_are_refused_before_the_charger_sees_them(joule, api):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        invalid = await api.command(cs["_id"], "Reset", {"type": "Sometimes"})
        assert invalid.status == 400 and "type" in invalid.message, invalid
        for action in ["Dance", "reset", "BootNotification", "Heartbeat"]:
            unknown = await api.command(cs["_id"], action, {})
            assert unknown.status == 400, (action, unknown)
        # Calls go out one at a time and in order: a refused one that had been sent would come first.
        assert (await api.command(cs["_id"], "ClearCache", {})).status == 200
        assert charger.calls_received() == [("ClearCache", {})]


async def test_a_command_to_a_charger_that_is_not_connected_is_a_conflict(joule, api):
    cs = await api.create_chargestation()
    never = await api.command(cs["_id"], "Reset", {"type": "Hard"})
    assert never.status == 409, never

    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()

    async def offline():
        return not (await api.chargestation(cs["_id"]))["online"]

    await eventually(offline)
    gone = await api.command(cs["_id"], "Reset", {"type": "Hard"})
    assert gone.status == 409, gone


async def test_a_command_to_an_unknown_or_foreign_chargestation_is_not_found(joule, api):
    other = joule.organization()
    foreign = await other.create_chargestation()
    for cs_id in ["0" * 24, foreign["_id"]]:
        response = await api.command(cs_id, "Reset", {"type": "Hard"})
        assert response.status == 404, response


class BrokenCharger(Charger):
    @on(Action.reset)
    def on_reset(self, **_):
        raise RuntimeError("the relay is stuck")


async def test_a_callerror_from_the_charger_is_a_bad_gateway_naming_its_code(joule, api):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"], charger=BrokenCharger) as charger:
        await charger.boot()
        failed = await api.command(cs["_id"], "Reset", {"type": "Soft"})
        assert failed.status == 502, failed
        assert "InternalError" in failed.message
        # The charger is still there for the next command.
        assert (await api.command(cs["_id"], "ClearCache", {})).result == {"status": "Accepted"}


async def test_a_charger_without_a_handler_answers_not_implemented(joule, api):
    cs = await api.create_chargestation()
    # The package's bare ChargePoint handles no command at all.
    async with connect(joule, cs["endpoint"], charger=ChargePoint) as charger:
        await charger.call(call.BootNotification(charge_point_model="Bare", charge_point_vendor="Bare"), suppress=False)
        failed = await api.command(cs["_id"], "GetLocalListVersion", {})
        assert failed.status == 502, failed
        assert "NotImplemented" in failed.message
