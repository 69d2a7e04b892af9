"""StartTransaction, MeterValues and StopTransaction, as a charger retries and reports them."""

from ocpp.v16 import call

from charger import connect, parse_time

STARTED_AT = "2026-03-01T10:00:00.000Z"
STOPPED_AT = "2026-03-01T11:30:00.250Z"


def energy(at: str, value: str, unit: str) -> dict:
    return {"timestamp": at, "sampled_value": [{"value": value, "measurand": "Energy.Active.Import.Register", "unit": unit, "context": "Sample.Periodic"}]}


async def test_a_transaction_from_start_to_stop(joule, api):
    await api.create_token("DRIVER-1")
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        start = call.StartTransaction(connector_id=1, id_tag="DRIVER-1", meter_start=1200, timestamp=STARTED_AT)
        started = await charger.send(start)
        assert started.transaction_id > 0
        assert started.id_tag_info["status"] == "Accepted"
        # A charger that missed the answer sends the same start again: the same transaction.
        retried = await charger.send(start)
        assert retried.transaction_id == started.transaction_id
        other = await charger.send(call.StartTransaction(connector_id=2, id_tag="DRIVER-1", meter_start=0, timestamp="2026-03-01T10:05:00.000Z"))
        assert other.transaction_id not in (0, started.transaction_id)

        tx = started.transaction_id
        await charger.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[energy("2026-03-01T10:30:00.000Z", "2.5", "kWh")]))
        await charger.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[energy("2026-03-01T11:00:00.000Z", "4100", "Wh")]))
        stop = call.StopTransaction(
            meter_stop=6400,
            timestamp=STOPPED_AT,
            transaction_id=tx,
            reason="EVDisconnected",
            id_tag="DRIVER-1",
            transaction_data=[energy(STARTED_AT, "1200", "Wh"), energy(STOPPED_AT, "6.4", "kWh")],
        )
        await charger.send(stop)
        # A repeated stop, and one for a transaction Joule never heard of, are answered all the same.
        await charger.send(stop)
        await charger.send(call.StopTransaction(meter_stop=10, timestamp=STOPPED_AT, transaction_id=tx + 1000))
        transactions = await api.transactions(cs["_id"])

    assert len(transactions) == 2
    stopped = next(t for t in transactions if t["transactionId"] == tx)
    assert (stopped["connector_id"], stopped["idTag"], stopped["meterStart"], stopped["meterStop"], stopped["stopReason"]) == (1, "DRIVER-1", 1200, 6400, "EVDisconnected")
    assert parse_time(stopped["startedAt"]) == parse_time(STARTED_AT)
    assert parse_time(stopped["stoppedAt"]) == parse_time(STOPPED_AT)
    running = next(t for t in transactions if t["transactionId"] == other.transaction_id)
    assert running["stoppedAt"] is None and running["meterStop"] is None
