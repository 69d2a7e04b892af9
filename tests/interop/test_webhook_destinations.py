"""Webhook destinations (SPEC section 13): a `joule serve` that does not allow private
addresses refuses webhook URLs that are or resolve to one, when they are created or changed,
and sends nothing to them at delivery either, recording the refusal as a failed attempt."""

import pytest

from server import Api, eventually
from webhook_receiver import Receiver

PRIVATE_URLS = [
    "http://127.0.0.1:5432/",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "http://localhost:9000/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://2130706433/hook",
]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def assert_refused(response, url: str):
    assert response.status == 400, (url, response)
    assert response.message.startswith("Invalid `url`: must not point at a private network"), (url, response.message)


async def test_private_destinations_are_refused_at_creation_and_patch(own_joule):
    api = own_joule(JOULE_WEBHOOK_ALLOW_PRIVATE="false").organization()
    # Not resolvable here: accepted, and checked again at every delivery.
    public = await api.ok("POST", "/v1.1/webhooks", {"url": "https://hooks.example.com/joule", "events": ["*"]})
    for url in PRIVATE_URLS:
        assert_refused(await api.request("POST", "/v1.1/webhooks", {"url": url, "events": ["*"]}), url)
        assert_refused(await api.request("PATCH", f"/v1.1/webhooks/{public['_id']}", {"url": url}), url)
    named = await api.request("POST", "/v1.1/webhooks", {"url": "http://localhost:9000/hook", "events": ["*"]})
    assert "`localhost` resolves to" in named.message and "a loopback address" in named.message, named.message
    endpoints = await api.ok("GET", "/v1.1/webhooks")
    assert [(e["_id"], e["url"]) for e in endpoints] == [(public["_id"], "https://hooks.example.com/joule")]


async def attempts(api: Api, webhook_id: str) -> list[dict]:
    return await api.ok("GET", f"/v1.1/webhooks/{webhook_id}/deliveries")


async def test_a_node_that_disallows_private_addresses_refuses_each_delivery(own_joule, receiver):
    joule = own_joule(JOULE_WEBHOOK_RETRY_SCALE="0.001")
    api = joule.organization()
    by_address = await api.ok("POST", "/v1.1/webhooks", {"url": receiver.url, "events": ["user.created"]})
    by_name = await api.ok("POST", "/v1.1/webhooks", {"url": receiver.url.replace("127.0.0.1", "localhost"), "events": ["user.created"]})
    joule.stop()
    joule.env["JOULE_WEBHOOK_ALLOW_PRIVATE"] = "false"
    joule.restart()
    await api.ok("POST", "/v1.1/users", {"firstname": "Ada"})
    for endpoint, why in [(by_address, "127.0.0.1 is a loopback address"), (by_name, "`localhost` resolves to 127.0.0.1, a loopback address")]:
        # With the schedule shrunk, the refusals go on as retries.
        refused = await eventually(lambda: retried(api, endpoint["_id"]), 20)
        for a in refused:
            assert (a["status"], a["response_status"], a["response_excerpt"]) == ("failed", None, None), a
            assert a["error"].startswith("refused before sending: ") and why in a["error"], a
    assert receiver.got() == []


async def retried(api: Api, webhook_id: str) -> list[dict] | None:
    got = await attempts(api, webhook_id)
    return got if len(got) >= 2 else None
