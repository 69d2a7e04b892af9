"""Meter values beyond 10^12 Wh or W (after their unit) are a PropertyConstraintViolation that
changes nothing: the charger stays connected and online, and its next messages are answered."""

from datetime import timedelta

import pytest
from ocpp import exceptions as errors
from ocpp.v16 import call

from charger import connect, timestamp
from wallet import SessionCharger, driver, meter_values, money, now, session_of

ENERGY = [{"type": "ENERGY", "price": 0.35}]


def reading(at: str, value: str, unit: str) -> dict:
    return {"timestamp": at, "sampled_value": [{"value": value, "measurand": "Energy.Active.Import.Register", "unit": unit}]}


async def test_a_meter_value_beyond_the_bound_is_refused_and_the_charger_goes_on(joule, api):
    d = await driver(api, ENERGY, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        await charger.status(1, "Available")
        session = await d.start()
        t0 = now()
        tx = await charger.start_remote(session, meter_start=1000, at=t0)
        await charger.status(1, "Charging")
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(seconds=10)), 3000))
        before = await session_of(api, session["_id"])
        assert money(before["metrics"]["energyConsumed"]) == 2000, before

        for value, unit in [("100000000000000000000000000", "kWh"), ("1000000000.001", "kWh"), ("1000000000001", "Wh")]:
            hostile = call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[reading(timestamp(t0 + timedelta(seconds=20)), value, unit)])
            with pytest.raises(errors.PropertyConstraintViolationError):
                await charger.send(hostile)
        with pytest.raises(errors.PropertyConstraintViolationError):
            await charger.send(call.StopTransaction(meter_stop=10**13, timestamp=timestamp(t0 + timedelta(seconds=25)), transaction_id=tx))

        assert (await api.chargestation(d.chargestation["_id"]))["online"] is True
        unchanged = await session_of(api, session["_id"])
        # The cost's periods run to when Joule reads the session (the reading is stamped ahead
        # of Joule's clock), so the amount is what must not have moved.
        assert (unchanged["status"], unchanged["metrics"], unchanged["cost"]["amount"]) == ("started", before["metrics"], before["cost"]["amount"]), unchanged
        assert (await charger.send(call.Heartbeat())).current_time
        await charger.send(meter_values(1, tx, timestamp(t0 + timedelta(seconds=30)), 4000))
        after = await session_of(api, session["_id"])
        assert money(after["metrics"]["energyConsumed"]) == 3000, after
