"""Joule's JSON log (`--log-format json`, one object per line) names the charger on every line
about its connection: its endpoint, chargestation, organization and the node it is connected
to, and for a message the message id and action."""

import json
import urllib.request

from ocpp.v16 import call

from charger import connect
from server import eventually


async def test_a_charger_message_is_logged_with_the_charger_and_the_message_id(joule, api):
    organization = (await api.ok("GET", "/v1.1/organization"))["_id"]
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        await charger.send(call.FirmwareStatusNotification(status="Installing"))
        sent = charger.wire.outbound[-1]
        assert sent[2] == "FirmwareStatusNotification"

    def logged():
        for line in list(joule.log):
            record = json.loads(line) if line.startswith("{") else {}
            spans = record.get("spans", [])
            if record.get("fields", {}).get("message") == "firmware status" and any(s.get("endpoint") == cs["endpoint"] for s in spans):
                return record
        return None

    async def found():
        return logged()

    record = await eventually(found)
    assert record["fields"]["status"] == "Installing"
    charger_span, call_span = record["spans"]
    assert (charger_span["name"], charger_span["endpoint"], charger_span["cs"], charger_span["org"]) == ("charger", cs["endpoint"], cs["_id"], organization)
    with urllib.request.urlopen(f"{joule.url}/readyz", timeout=10) as ready:
        assert charger_span["node"] == ready.headers["Joule-Node"], (charger_span, dict(ready.headers))
    assert (call_span["name"], call_span["id"], call_span["action"]) == ("call", sent[1], "FirmwareStatusNotification")
    # Plain text for machines: no terminal colour codes anywhere in the log.
    assert not any("\x1b[" in line for line in joule.log)
