"""The WebSocket handshake: subprotocol, known endpoint, Basic credentials."""

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from charger import basic_auth, connect
from server import new_endpoint

PASSWORD = "correct-horse-battery"


async def refused(joule, endpoint: str, **options) -> int:
    """The HTTP status Joule refused the handshake with."""
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(joule, endpoint, **options):
            pass
    return refusal.value.response.status_code


async def test_basic_security_needs_the_chargestations_own_credentials(joule, api):
    cs = await api.create_chargestation(security={"type": "basic", "password": PASSWORD})
    other = await api.create_chargestation(security={"type": "basic", "password": "another-password"})
    endpoint = cs["endpoint"]

    assert await refused(joule, endpoint) == 401
    assert await refused(joule, endpoint, headers=basic_auth(endpoint, "wrong-password")) == 401
    assert await refused(joule, endpoint, headers=basic_auth(endpoint, PASSWORD[:-1])) == 401
    # Another chargestation's login, with either password, is no login for this one.
    assert await refused(joule, endpoint, headers=basic_auth(other["endpoint"], "another-password")) == 401
    assert await refused(joule, endpoint, headers=basic_auth(other["endpoint"], PASSWORD)) == 401
    assert (await api.chargestation(cs["_id"]))["online"] is False

    async with connect(joule, endpoint, headers=basic_auth(endpoint, PASSWORD)) as charger:
        assert (await charger.boot()).status == "Accepted"
        assert (await api.chargestation(cs["_id"]))["online"] is True


async def test_an_unknown_endpoint_is_not_found(joule, api):
    assert await refused(joule, new_endpoint()) == 404


@pytest.mark.parametrize("subprotocols", [None, ["ocpp2.0.1"]], ids=["none", "ocpp2.0.1"])
async def test_the_ocpp16_subprotocol_is_required(joule, api, subprotocols):
    cs = await api.create_chargestation()
    with pytest.raises(InvalidStatus) as refusal:
        async with websockets.connect(f"{joule.ws_url}/ocpp/{cs['endpoint']}", subprotocols=subprotocols, open_timeout=10):
            pass
    assert 400 <= refusal.value.response.status_code < 500
