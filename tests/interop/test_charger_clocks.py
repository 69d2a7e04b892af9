"""Charger clocks are not trusted for money (SPEC 13): a wallet session is billed from when
Joule asked for it to when Joule received its stop, whatever times the charger stamps, and the
charger's own times are still what the transactions API shows."""

import contextlib
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from ocpp.v16 import call

from charger import connect, parse_time, timestamp
from wallet import SessionCharger, driver, energy_reading, meter_values, money, now, session_of

# $360 an hour is 10 cents a second: a session of a few seconds costs a few dimes, and a
# session billed from 1970 would cost far more than the $50.00 held.
TIME = [{"type": "TIME", "price": 360}]
PER_SECOND = Decimal("0.10")
EPOCH_RESET = datetime(1970, 1, 1, 0, 0, 10, tzinfo=timezone.utc)


def seconds(a: float, b: float) -> Decimal:
    return Decimal(str(b - a))


def cost_between(shortest: Decimal, longest: Decimal) -> tuple[Decimal, Decimal]:
    """The cheapest and dearest the session can cost if it was billed for between `shortest`
    and `longest` seconds (TIME is rounded up to whole seconds, the amount to cents)."""
    low = (max(shortest, Decimal(0)) * PER_SECOND).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    high = ((longest + 1) * PER_SECOND).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return low, high


@contextlib.asynccontextmanager
async def wallet_session(joule, api):
    """A $50.00 wallet session on a TIME rate, asked for on a booted charger: the driver, the
    charger, the session, and the times just before and after Joule was asked."""
    d = await driver(api, TIME, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        asked = time.time()
        session = await d.start()
        yield d, charger, session, asked, time.time()


async def test_a_start_stamped_1970_is_billed_from_when_joule_asked_for_it(joule, api):
    async with wallet_session(joule, api) as (d, charger, session, asked, created):
        # The charger's clock was reset: its start is stamped ten seconds after the epoch.
        tx = await charger.start_remote(session, meter_start=0, at=EPOCH_RESET)
        # Then it synchronized: its readings are stamped now, one even a day ahead.
        await charger.send(meter_values(1, tx, timestamp(now()), 500))
        await charger.send(meter_values(1, tx, timestamp(now() + timedelta(days=1)), 600))
        running = await session_of(api, session["_id"])
        _, high = cost_between(Decimal(0), seconds(asked, time.time()))
        assert money(running["cost"]["amount"]) <= high, ("a reading a day ahead made the running cost jump", running["cost"])
        assert running.get("stop_requested") is None, ("nor did it make session intelligence stop the session", running)
        stop_sent = now()
        await charger.send(call.StopTransaction(meter_stop=1000, timestamp=timestamp(stop_sent), transaction_id=tx, reason="EVDisconnected"))
        stopped = time.time()

    ended = await session_of(api, session["_id"])
    low, high = cost_between(seconds(created, stop_sent.timestamp()), seconds(asked, stopped))
    cost = money(ended["cost"]["amount"])
    assert low <= cost <= high, f"billed from when Joule asked: between {low} and {high}, not {ended['cost']}"
    assert money(ended["payment"]["captured_amount"]) == cost and money(ended["payment"]["uncollected_amount"]) == 0, ended["payment"]
    assert money(ended["metrics"]["energyConsumed"]) == 1000, "every reading's energy still counts"
    wallet = await d.wallet_now()
    assert (wallet["balance"], wallet["available_balance"]) == (5000 - int(cost * 100),) * 2, wallet
    # The charger's own times are kept as it reported them.
    [transaction] = await api.transactions(d.chargestation["_id"])
    assert (parse_time(transaction["startedAt"]), parse_time(transaction["stoppedAt"])) == (EPOCH_RESET, stop_sent), transaction
    assert parse_time(ended["startedAt"]) == EPOCH_RESET, ended


async def test_a_reading_a_day_ahead_deep_in_a_session_is_answered_and_priced_with_every_reading(joule, api):
    """A live session keeps only its last readings in memory once they extend it; a reading it
    cannot simply add (stamped a day ahead, after many in order) has the node read the session
    again with all of them, and it is answered and priced like the rest."""
    async with wallet_session(joule, api) as (d, charger, session, asked, _):
        started = now()
        tx = await charger.start_remote(session, meter_start=0, at=started)
        for n in range(1, 9):
            await charger.send(meter_values(1, tx, timestamp(started + timedelta(milliseconds=n)), 100 * n))
        await charger.send(meter_values(1, tx, timestamp(now() + timedelta(days=1)), 1000))
        running = await session_of(api, session["_id"])
        _, high = cost_between(Decimal(0), seconds(asked, time.time()))
        assert money(running["cost"]["amount"]) <= high, ("billed within Joule's own times", running["cost"])
        assert money(running["metrics"]["energyConsumed"]) == 1000, running["metrics"]


async def test_a_message_of_many_readings_ending_a_day_ahead_is_answered_and_counted_whole(joule, api):
    """The same within one MeterValues: readings in order, then one a day ahead. The node reads
    the session again with the message's earlier readings, which are not stored yet."""
    async with wallet_session(joule, api) as (d, charger, session, asked, _):
        started = now()
        tx = await charger.start_remote(session, meter_start=0, at=started)
        for n in range(1, 6):
            await charger.send(meter_values(1, tx, timestamp(started + timedelta(milliseconds=n)), 100 * n))
        readings = [energy_reading(timestamp(started + timedelta(milliseconds=n)), 100 * n) for n in range(6, 12)]
        readings.append(energy_reading(timestamp(now() + timedelta(days=1)), 1500))
        await charger.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=readings))
        running = await session_of(api, session["_id"])
        _, high = cost_between(Decimal(0), seconds(asked, time.time()))
        assert money(running["cost"]["amount"]) <= high, ("billed within Joule's own times", running["cost"])
        assert money(running["metrics"]["energyConsumed"]) == 1500, running["metrics"]


async def test_a_stop_stamped_a_year_ahead_is_billed_until_joule_received_it(joule, api):
    async with wallet_session(joule, api) as (d, charger, session, asked, _):
        started = now()
        tx = await charger.start_remote(session, meter_start=0, at=started)
        await charger.send(meter_values(1, tx, timestamp(now()), 500))
        stamped = now() + timedelta(days=365)
        stop_sent = time.time()
        await charger.send(call.StopTransaction(meter_stop=1000, timestamp=timestamp(stamped), transaction_id=tx, reason="Local"))
        stopped = time.time()

    ended = await session_of(api, session["_id"])
    low, high = cost_between(seconds(started.timestamp(), stop_sent), seconds(asked, stopped))
    cost = money(ended["cost"]["amount"])
    assert low <= cost <= high, f"billed until Joule received the stop: between {low} and {high}, not {ended['cost']}"
    assert money(ended["payment"]["captured_amount"]) == cost, ended["payment"]
    assert money(ended["metrics"]["energyConsumed"]) == 1000
    [transaction] = await api.transactions(d.chargestation["_id"])
    assert parse_time(transaction["stoppedAt"]) == stamped, transaction
    assert parse_time(ended["endedAt"]) == stamped, ended
