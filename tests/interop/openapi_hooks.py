"""Schemathesis hooks for test_openapi.py: what a JSON Schema cannot say.

The document states every rule the server checks on one field. A few rules relate two fields
(a maximum above its minimum, periods in time order) or depend on the world (where a URL
points); the document says them in words, and these hooks keep generated requests from
breaking them, so a refusal of one can only be a real mismatch."""

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

import schemathesis

# Deliveries to a closed local port fail at once; the server under test allows private
# destinations (JOULE_WEBHOOK_ALLOW_PRIVATE), as the document says an operator may. Only a URL
# the document calls valid is replaced, so invalid ones still test the refusal.
WEBHOOK_URL = "http://127.0.0.1:9/hook"
DOCUMENTED_URL = re.compile(r"^https?://[^/?#@\x00-\x20\x7f]+([/?#][^\x00-\x20\x7f]*)?$")
MAX_URL_LEN = 2048
# Decimal fields hold at most 28 digits after the point (the document says so in words).
MAX_SCALE = 28
MAX_QUOTE_SPAN = timedelta(days=31)


def numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)


def too_precise(number) -> bool:
    exponent = Decimal(json.dumps(number)).as_tuple().exponent
    return isinstance(exponent, int) and -exponent > MAX_SCALE


def instant(text):
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def in_time_order(periods) -> bool:
    """A quote's periods: each ends at or after its start, starts at or after the last end, and
    all end within 31 days of the first start."""
    first_start = last_end = None
    for period in periods if isinstance(periods, list) else []:
        if not isinstance(period, dict):
            continue
        start, end = instant(period.get("startTime")), instant(period.get("endTime"))
        if start and end and (end < start or (last_end and start < last_end)):
            return False
        first_start = first_start or start
        last_end = end or last_end
        if first_start and last_end and last_end - first_start > MAX_QUOTE_SPAN:
            return False
    return True


ORDERED = [("min_kwh", "max_kwh"), ("min_power", "max_power"), ("min_duration", "max_duration"), ("start_date", "end_date")]


def restrictions_can_hold(restrictions) -> bool:
    if not isinstance(restrictions, dict):
        return True
    for low, high in ORDERED:
        a, b = restrictions.get(low), restrictions.get(high)
        try:
            if a is not None and b is not None and a >= b:
                return False
        except TypeError:
            continue
    start, end = restrictions.get("start_time"), restrictions.get("end_time")
    return start is None or start != end


def rules_hold(body) -> bool:
    if not isinstance(body, dict):
        return True
    if any(too_precise(n) for n in numbers(body)):
        return False
    if not in_time_order(body.get("charging_activity")):
        return False
    elements = body.get("elements")
    return all(restrictions_can_hold(e.get("restrictions")) for e in elements if isinstance(e, dict)) if isinstance(elements, list) else True


@schemathesis.hook
def filter_case(context, case):
    return rules_hold(case.body)


@schemathesis.hook("map_case").apply_to(path_regex=r"^/v1\.1/webhooks")
def webhook_url(context, case):
    body = case.body
    url = body.get("url") if isinstance(body, dict) else None
    if isinstance(url, str) and len(url) <= MAX_URL_LEN and DOCUMENTED_URL.match(url):
        body["url"] = WEBHOOK_URL
    return case


# The stateful phase guesses which response fields hold a resource's id by their names, and
# takes a connector's `connector_id` (its OCPP number) for the `{id}` of /v1.1/connectors/{id}.
# The document says what an id is; a guessed value that is no id becomes one nobody has (a
# 404), so the checks judge the document rather than the guess.
ID = re.compile(r"^[0-9a-f]{24}$")
UNKNOWN_ID = "f" * 24


@schemathesis.hook("map_case")
def ids_from_links(context, case):
    phase = case.meta.phase.name if case.meta else None
    path = case.path_parameters or {}
    if phase == "stateful" and "id" in path and not ID.match(str(path["id"])):
        path["id"] = UNKNOWN_ID
    return case
