"""StatusNotification: connectors mirror what the charger reports, in the charger's time order."""

from datetime import datetime, timedelta, timezone

from ocpp.v16 import call

from charger import connect, timestamp


def status(connector_id: int, state: str, at: datetime, error_code: str = "NoError"):
    return call.StatusNotification(connector_id=connector_id, error_code=error_code, status=state, timestamp=timestamp(at))


async def test_status_notifications_update_connectors_and_create_unknown_ones(joule, api):
    cs = await api.create_chargestation()
    await api.create_connector(cs["_id"], 1)
    now = datetime.now(timezone.utc)
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        await charger.send(status(1, "Charging", now))
        await charger.send(status(2, "Faulted", now, error_code="GroundFailure"))
        # Connector 0 is the chargestation itself, never a connector.
        await charger.send(status(0, "Unavailable", now))
        # Sent late (queued while offline): older than what is stored, so it changes nothing.
        await charger.send(status(1, "Available", now - timedelta(minutes=5)))
        stored = await api.chargestation(cs["_id"])

    assert {c["connector_id"]: c["status"] for c in stored["connectors"]} == {1: "Charging", 2: "Faulted"}
    assert stored["status"] == "Unavailable"
    events = await api.events()
    assert "chargestation.online" in [e["type"] for e in events]
    reported = {(e["data"].get("connector_id"), e["data"].get("status")) for e in events if e["type"] == "connector.updated"}
    assert reported == {(1, "Charging"), (2, "Faulted")}
