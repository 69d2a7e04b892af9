"""BootNotification, registration, and what Joule records of a charger's connection."""

import pytest
from ocpp.exceptions import SecurityError
from ocpp.v16 import call

from charger import VENDOR, connect, parse_time
from server import eventually


async def test_an_accepted_charger_boots_and_its_boot_info_is_stored(joule, api):
    cs = await api.create_chargestation(registration="Accepted")
    # The URL Joule hands out for the charger is the one it is reached at.
    assert cs["connection_url"] == f"{joule.ws_url}/ocpp/{cs['endpoint']}"
    async with connect(joule, cs["endpoint"]) as charger:
        boot = await charger.boot()
        assert (boot.status, boot.interval) == ("Accepted", 300)
        assert parse_time(boot.current_time)
        # Joule answers after storing, so what it answered is readable now.
        stored = await api.chargestation(cs["_id"])
        assert stored["bootInfo"]["chargePointVendor"] == VENDOR
        assert stored["bootInfo"]["firmwareVersion"] == "1.0.0"
        assert stored["online"] is True
        assert stored["lastConnectAt"] is not None
        assert stored["lastMessageAt"] is not None
        heartbeat = await charger.send(call.Heartbeat())
        assert parse_time(heartbeat.current_time)


@pytest.mark.parametrize("registration", ["Pending", "Rejected"])
async def test_a_charger_not_accepted_may_send_nothing_but_boot(joule, api, registration):
    cs = await api.create_chargestation(registration=registration)
    async with connect(joule, cs["endpoint"]) as charger:
        boot = await charger.boot()
        assert boot.status == registration
        with pytest.raises(SecurityError):
            await charger.send(call.Heartbeat())
        with pytest.raises(SecurityError):
            await charger.send(call.Authorize(id_tag="ANY-TAG"))


async def test_a_pending_charger_is_accepted_at_its_next_boot_once_registered(joule, api):
    cs = await api.create_chargestation(registration="Pending")
    async with connect(joule, cs["endpoint"]) as charger:
        assert (await charger.boot()).status == "Pending"
        await api.ok("PATCH", f"/v1.1/chargestations/{cs['_id']}", {"registration": "Accepted"})
        # Pending means: boot again later. The new answer holds for the same connection.
        assert (await charger.boot()).status == "Accepted"
        assert parse_time((await charger.send(call.Heartbeat())).current_time)


async def test_a_closed_connection_marks_the_chargestation_offline_and_a_new_one_online(joule, api):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        connected = await api.chargestation(cs["_id"])
        assert connected["online"] is True

    async def offline():
        stored = await api.chargestation(cs["_id"])
        return None if stored["online"] else stored

    stored = await eventually(offline)
    assert parse_time(stored["lastDisconnectAt"]) >= parse_time(connected["lastConnectAt"])

    async with connect(joule, cs["endpoint"]) as charger:
        await charger.send(call.Heartbeat())
        again = await api.chargestation(cs["_id"])
        assert again["online"] is True
        assert parse_time(again["lastConnectAt"]) >= parse_time(stored["lastDisconnectAt"])
    types = [event["type"] for event in await api.events()]
    assert types.count("chargestation.online") == 2
    assert "chargestation.offline" in types
