"""Authorize and StartTransaction answer each idTag with its token's status."""

from ocpp.v16 import call

from charger import connect, timestamp


async def create_tokens(api):
    await api.create_token("TAG-ACCEPTED")
    await api.create_token("TAG-BLOCKED", status="Blocked")
    # Expired by its date, whatever its stored status.
    await api.create_token("TAG-EXPIRED", expiresAt="2020-01-01T00:00:00.000Z")
    await api.create_token("TAG-FUTURE", expiresAt="2099-01-01T00:00:00.000Z")


EXPECTED = {"TAG-ACCEPTED": "Accepted", "TAG-BLOCKED": "Blocked", "TAG-EXPIRED": "Expired", "TAG-FUTURE": "Accepted", "TAG-UNKNOWN": "Invalid"}


async def test_authorize_answers_the_tokens_status(joule, api):
    await create_tokens(api)
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        answers = {tag: (await charger.send(call.Authorize(id_tag=tag))).id_tag_info["status"] for tag in EXPECTED}
    assert answers == EXPECTED


async def test_start_transaction_answers_the_tokens_status(joule, api):
    await create_tokens(api)
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        answers = {}
        for tag in EXPECTED:
            started = await charger.send(call.StartTransaction(connector_id=1, id_tag=tag, meter_start=0, timestamp=timestamp()))
            assert started.transaction_id > 0
            answers[tag] = started.id_tag_info["status"]
    assert answers == EXPECTED
