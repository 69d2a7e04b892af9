"""Session intelligence in real time: Joule stops a wallet session itself before its cost passes
what the wallet authorized, on energy, time and parking rates, for chargers that report their
meter every 10 s or every 60 s; and a charger that ignores the stop costs the operator, not the
driver.

Each scenario's price and power put the authorization 120 s of charging (or parking) away.
Joule projects the cost over the next meter report and the charger's stop latency, 60 s + 30 s
until it has learned them: a charger reporting every 60 s is stopped after about 30 s, one
reporting every 10 s, once Joule has learned that, only when the cap is about 40 s away
(after about 80 s). The scenarios of a backend run side by side."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ocpp.v16 import call

from charger import connect, timestamp
from server import REST_THREADS
from wallet import (
    SessionCharger,
    all_events,
    driver,
    meter_values,
    metric,
    money,
    ms_between,
    now,
    round_money,
    session_of,
    story,
    to_cents,
    wait_session,
)

BALANCE = 100  # cents: the whole authorization
MINIMUM = 100
CAP_SECONDS = 120
STOP_LATENCY = 2  # seconds the charger goes on charging after it takes a stop
METER_START = 10_000


@dataclass
class Plan:
    """A scenario: the rate's one component, at a price per unit; the charger's power (0: the
    car is plugged in but takes nothing) and its meter interval."""

    component: str
    price: Decimal
    power_w: int
    interval_s: int
    points: list[tuple[datetime, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.component} every {self.interval_s} s"

    def register(self, at: datetime) -> int:
        start, start_wh = self.points[0]
        return start_wh + int(self.power_w * ms_between(start, at) / 3_600_000)

    def read(self, at: datetime) -> int:
        self.points.append((at, self.register(at)))
        return self.points[-1][1]

    def cost(self) -> Decimal:
        """What the points sent cost, priced here: periods between two meter points; energy
        flowing is charging, none is parking; each component's default step_size (1 Wh, 1 s)."""
        energy, charging_ms, parking_ms = 0, 0, 0
        for (a, wa), (b, wb) in zip(self.points, self.points[1:]):
            energy += wb - wa
            if wb > wa:
                charging_ms += ms_between(a, b)
            else:
                parking_ms += ms_between(a, b)
        # A time component's step_size defaults to 1 s: its total is billed in whole seconds, rounded up.
        hours = {"TIME": Decimal(-(-charging_ms // 1000)) / 3600, "PARKING_TIME": Decimal(-(-parking_ms // 1000)) / 3600}
        quantity = Decimal(energy) / 1000 if self.component == "ENERGY" else hours[self.component]
        return round_money(quantity * self.price)


def plans() -> list[Plan]:
    # $1.00 of authorization is 120 s of: 22 kW at $1.36/kWh; charging at $30/h; parking at $30/h.
    # (22 kW is also the power Joule assumes until a charger's readings tell it.)
    per_hour = Decimal(BALANCE) / 100 * 3600 / CAP_SECONDS
    return [
        plan
        for interval in (10, 60)
        for plan in (
            Plan("ENERGY", round_money(per_hour / 22), 22_000, interval),
            Plan("TIME", per_hour, 22_000, interval),
            Plan("PARKING_TIME", per_hour, 0, interval),
        )
    ]


@dataclass
class Outcome:
    plan: Plan
    session: dict
    events: list[str]
    wallet: dict
    stop_call: dict | None
    tx: int
    stop_after_s: float | None


async def run(joule, plan: Plan, ignore_stop_for_s: float | None = None) -> Outcome:
    """One wallet session on its own organization and charger, charging as `plan` says until
    Joule asks the charger to stop (then `STOP_LATENCY` more seconds), or, with
    `ignore_stop_for_s`, that long after the start whatever Joule asks."""
    api = await asyncio.get_running_loop().run_in_executor(REST_THREADS, joule.organization)
    d = await driver(api, [{"type": plan.component, "price": float(plan.price)}], balance=BALANCE, minimum_balance=MINIMUM)
    loop = asyncio.get_running_loop()
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session = await d.start()
        t0 = now()
        plan.points.append((t0, METER_START))
        tx = await charger.start_remote(session, meter_start=METER_START, at=t0)
        await charger.status(1, "Charging" if plan.power_w else "SuspendedEV")
        started = loop.time()
        deadline = started + (ignore_stop_for_s or CAP_SECONDS + 30)
        next_report = started + plan.interval_s
        stop_after = None
        while True:
            stopped = charger.calls_of("RemoteStopTransaction")
            if stopped and stop_after is None:
                stop_after = loop.time() - started
            if (stopped and ignore_stop_for_s is None) or loop.time() >= deadline:
                break
            if loop.time() >= next_report:
                at = now()
                await charger.send(meter_values(1, tx, timestamp(at), plan.read(at)))
                next_report += plan.interval_s
            await asyncio.sleep(0.05)
        if stop_after is not None and ignore_stop_for_s is None:
            await asyncio.sleep(STOP_LATENCY)  # the charger winds down
        at = now()
        await charger.send(call.StopTransaction(meter_stop=plan.read(at), timestamp=timestamp(at), transaction_id=tx, reason="Remote" if stop_after is not None else "Local"))
        await charger.status(1, "Finishing")
        stop_call = (charger.calls_of("RemoteStopTransaction") or [None])[0]
    ended = await wait_session(api, session["_id"], "ended")
    return Outcome(plan, ended, story(await all_events(api), session["_id"], d.wallet["_id"]), await d.wallet_now(), stop_call, tx, stop_after)


async def test_joule_stops_wallet_sessions_before_their_cost_passes_the_authorization(joule):
    scenarios = plans()
    outcomes = await asyncio.gather(*(run(joule, plan) for plan in scenarios), return_exceptions=True)
    failures = []
    for plan, outcome in zip(scenarios, outcomes):
        if isinstance(outcome, BaseException):
            failures.append(f"{plan.name}: {outcome!r}")
            continue
        try:
            check_stopped_in_time(outcome)
        except AssertionError as e:
            failures.append(f"{plan.name}: {e}")
    assert not failures, "\n".join(failures)


def check_stopped_in_time(o: Outcome):
    payment = o.session["payment"]
    authorized, captured, uncollected = (money(payment[k]) for k in ("authorized_amount", "captured_amount", "uncollected_amount"))
    cost = o.plan.cost()
    summary = f"cost {cost}, authorized {authorized}, captured {captured}, uncollected {uncollected}, RemoteStop after {o.stop_after_s} s, events {o.events}"
    assert o.stop_call == {"transactionId": o.tx}, f"no RemoteStopTransaction from Joule within {CAP_SECONDS + 30} s; {summary}"
    assert o.stop_after_s < CAP_SECONDS, summary
    assert "session.stop_requested" in o.events, summary
    assert o.events.index("session.stop_requested") < o.events.index("session.ended"), summary
    assert o.session["stop_requested"]["reason"] == "authorized_amount", o.session["stop_requested"]
    assert authorized == money("1.00"), summary
    assert (money(o.session["cost"]["amount"]), captured, uncollected) == (cost, cost, 0), summary
    assert captured <= authorized, summary
    assert o.wallet["balance"] == o.wallet["available_balance"] == BALANCE - to_cents(captured), o.wallet


async def test_a_charger_that_ignores_the_stop_costs_the_operator_not_the_driver(joule):
    # 50 kW at $8.00/kWh: $1.00 in 9 s. The charger takes the stop Joule sends at once and
    # charges on for 15 s all the same.
    plan = Plan("ENERGY", Decimal("8.00"), 50_000, 5)
    loss_before = await metric(joule, "joule_operator_loss_minor_units_total")
    o = await run(joule, plan, ignore_stop_for_s=15)
    payment = o.session["payment"]
    authorized, captured, uncollected = (money(payment[k]) for k in ("authorized_amount", "captured_amount", "uncollected_amount"))
    cost = plan.cost()
    assert o.stop_call == {"transactionId": o.tx}, o.events
    assert "session.stop_requested" in o.events
    assert cost > authorized, cost
    assert (payment["status"], money(o.session["cost"]["amount"])) == ("succeeded", cost)
    assert (captured, uncollected) == (authorized, cost - authorized), payment
    assert o.wallet["balance"] == o.wallet["available_balance"] == 0, o.wallet
    loss = await metric(joule, "joule_operator_loss_minor_units_total") - loss_before
    assert loss == to_cents(cost - authorized), (loss, cost, authorized)
