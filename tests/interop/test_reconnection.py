"""A charger that reconnects while its old connection still looks alive."""

import asyncio

from ocpp.v16 import call

from charger import connect


async def test_a_new_connection_replaces_the_old_one(joule, api):
    cs = await api.create_chargestation()
    async with connect(joule, cs["endpoint"]) as first:
        await first.boot()
        async with connect(joule, cs["endpoint"]) as second:
            # Joule closes the old connection itself.
            await asyncio.wait_for(first.wire.ws.wait_closed(), 10)
            assert (await second.send(call.Heartbeat())).current_time
            assert (await api.chargestation(cs["_id"]))["online"] is True
            # Commands now go to the new connection.
            answer = await api.command(cs["_id"], "ClearCache", {})
            assert answer.result == {"status": "Accepted"}
            assert (first.calls_received(), second.calls_received()) == ([], [("ClearCache", {})])


async def test_the_replaced_connection_is_closed_with_a_normal_close_frame(joule, api):
    cs = await api.create_chargestation()
    # The old connection's task may take either of two paths at random: enough replacements
    # that a wrong path is all but certain to show.
    codes = []
    for _ in range(20):
        async with connect(joule, cs["endpoint"]) as first:
            async with connect(joule, cs["endpoint"]):
                await asyncio.wait_for(first.wire.ws.wait_closed(), 10)
                codes.append(first.wire.ws.close_code)
    assert codes == [1000] * 20
