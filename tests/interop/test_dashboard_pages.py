"""The dashboard's other pages and its limits, in a real browser (`dashboard.py`): a command to a
charger, the quote calculator, a failing webhook endpoint and a redelivery; and nothing for a
request without the cookie, with another organization's ids, or without a form's token."""

from playwright.async_api import expect

from charger import connect
from dashboard import ENERGY, LIVE, raw, signed_in
from wallet import create_user, driver, money


async def test_without_the_cookie_or_with_another_organizations_ids_nothing_is_shown_or_done(joule, api, browser):
    stranger = joule.organization()
    d = await driver(stranger, ENERGY, balance=5000)
    user, wallet = await create_user(stranger, 3000)
    for path in ["/dashboard/", f"/dashboard/users/{user['_id']}", f"/dashboard/chargestations/{d.chargestation['_id']}", "/dashboard/live"]:
        status, location, body = raw(joule, "GET", path)
        assert (status, location) == (303, "/dashboard/sign-in"), (path, status, location)
        assert "Grace" not in body
    status, _, _ = raw(joule, "POST", f"/dashboard/wallets/{wallet['_id']}/adjustments", body=b"amount=10&reason=x&form_token=x&user=" + user["_id"].encode())
    assert status == 401

    page = await signed_in(browser, joule, api)
    for path in [f"/dashboard/users/{user['_id']}", f"/dashboard/chargestations/{d.chargestation['_id']}", f"/dashboard/rates/{d.rate['_id']}"]:
        response = await page.goto(f"{joule.url}{path}")
        assert response.status == 404, (path, response.status)
        await expect(page.locator(".notice.refused")).to_contain_text("not found")
        assert d.chargestation["endpoint"] not in await page.content()
    # A form aimed at the stranger's wallet, with this sign-in's token: the API finds no such
    # wallet, and the wallet keeps its balance.
    form_token = await page.locator("main").get_attribute("data-form-token")
    await page.evaluate(
        """([wallet, user, token]) => { const f = document.createElement('form'); f.method = 'post'; f.action = `/dashboard/wallets/${wallet}/adjustments`;
           for (const [n, v] of [['form_token', token], ['user', user], ['amount', '-30'], ['reason', 'theft']]) {
             const i = document.createElement('input'); i.name = n; i.value = v; f.append(i); }
           document.body.append(f); f.submit(); }""",
        [wallet["_id"], user["_id"], form_token],
    )
    await expect(page.locator(".notice.refused[role=status]")).to_have_text("Wallet not found")
    assert (await stranger.ok("GET", f"/v1.1/wallets/{wallet['_id']}"))["balance"] == 3000
    # Without its form token, a form is refused before anything is done.
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in await page.context.cookies())
    status, _, body = raw(joule, "POST", f"/dashboard/sessions/{d.connector['_id']}/pause", cookie=cookie, body=b"form_token=forged")
    assert status == 403 and "expired" in body, (status, body)


async def test_a_command_a_quote_and_a_redelivery_from_the_pages(joule, api, browser):
    d = await driver(api, ENERGY, balance=1000)
    cs_id = d.chargestation["_id"]
    page = await signed_in(browser, joule, api)
    reset = page.locator("form.command", has_text="Reset").locator("button")
    async with connect(joule, d.chargestation["endpoint"]) as charger:
        await charger.boot()
        await page.goto(f"{joule.url}/dashboard/chargestations/{cs_id}")
        await page.select_option("#reset-kind", "Hard")
        await reset.click()
        await expect(page.locator(".notice")).to_have_text("Reset: the charger answered Accepted")
        assert [p for action, p in charger.calls_received() if action == "Reset"] == [{"type": "Hard"}]
    await expect(page.locator("#station")).to_contain_text("offline", timeout=LIVE)
    offline = await api.command(cs_id, "Reset", {"type": "Soft"})
    assert offline.status == 409, offline
    await reset.click()
    await expect(page.locator(".notice.refused")).to_have_text(offline.message)

    # The quote calculator asks the API's quote: 10 kWh at $0.40.
    await page.goto(f"{joule.url}/dashboard/rates/{d.rate['_id']}")
    await page.fill("#kwh", "10")
    await page.fill("#minutes", "60")
    await page.fill("#start", "2026-12-01T10:00")
    await page.click("form.quote button")
    activity = [{"startTime": "2026-12-01T10:00:00.000Z", "endTime": "2026-12-01T11:00:00.000Z", "status": "Charging", "energy": 10000}]
    quoted = await api.ok("POST", f"/v1.1/rates/{d.rate['_id']}/quote", {"charging_activity": activity, "timezone": "UTC"})
    assert money(quoted["amount"]) == money("4.00"), quoted
    await expect(page.locator("#quote")).to_have_text("This activity would cost $4.00.")

    # An endpoint nobody listens at: its delivery fails, the overview says so, and the event
    # can be sent again from the events page.
    endpoint = await api.ok("POST", "/v1.1/webhooks", {"url": "http://127.0.0.1:9/hooks", "events": ["wallet.*"]})
    await api.ok("POST", f"/v1.1/wallets/{d.wallet['_id']}/adjustments", {"amount": 100, "reason": "a failing delivery"})
    await page.goto(f"{joule.url}/dashboard/webhooks/{endpoint['_id']}")
    await expect(page.locator("#deliveries tbody tr").first).to_contain_text("wallet.updated", timeout=LIVE)
    await page.goto(f"{joule.url}/dashboard/")
    await expect(page.locator("#problems")).to_contain_text("http://127.0.0.1:9/hooks", timeout=LIVE)
    await page.click("nav >> text=Events")
    await page.fill("#type", "wallet.updated")
    await page.click("form.filters button")
    await expect(page).to_have_url(f"{joule.url}/dashboard/events?type=wallet.updated")
    [newest, *_] = await api.ok("GET", "/v1.1/events?type=wallet.updated")
    first_row = page.locator("#events tbody tr").first
    await expect(first_row).to_contain_text("wallet.updated")
    await first_row.locator("button").click()
    await expect(page.locator(".notice")).to_have_text(f"Event {newest['_id']}: 1 delivery queued.")
