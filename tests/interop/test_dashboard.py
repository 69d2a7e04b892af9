"""The operator dashboard in a real browser (`dashboard.py`): sign in with an API key, watch a
charger come online and a session's cost rise without reloading, pause and resume it, adjust a
wallet, sign out."""

from ocpp.v16 import call
from playwright.async_api import expect

from charger import connect, timestamp
from dashboard import ENERGY, LIVE, raw, signed_in
from wallet import SessionCharger, create_user, driver, meter_values, money, session_of, wait_session


async def test_sign_in_watch_a_charger_come_online_and_sign_out(joule, api, browser):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{joule.url}/dashboard/chargestations")
    await expect(page).to_have_url(f"{joule.url}/dashboard/sign-in")
    await page.fill("#api_key", "jk_0000000000000000_" + "0" * 64)
    await page.click("button[type=submit]")
    await expect(page.locator(".notice.refused")).to_have_text("Invalid API key")
    await page.fill("#api_key", api.key)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Overview")
    cookies = {c["name"]: c for c in await context.cookies()}
    session_cookie = cookies["joule_dashboard"]
    assert session_cookie["httpOnly"] and session_cookie["secure"] and session_cookie["sameSite"] == "Strict", session_cookie
    assert api.key not in await page.content()

    cs = await api.create_chargestation()
    await page.click("nav >> text=Chargestations")
    row = page.locator("tr", has_text=cs["endpoint"])
    await expect(row).to_contain_text("offline")
    async with connect(joule, cs["endpoint"]) as charger:
        await charger.boot()
        await charger.send(call.StatusNotification(connector_id=1, error_code="NoError", status="Available", timestamp=timestamp()))
        # No reload: the row follows the chargestation's events.
        await expect(row).to_contain_text("online", timeout=LIVE)
        await expect(row).to_contain_text("1 Available", timeout=LIVE)
    await expect(row).to_contain_text("offline", timeout=LIVE)

    await page.click("text=Sign out")
    await expect(page).to_have_url(f"{joule.url}/dashboard/sign-in")
    # The old cookie opens nothing any more.
    status, location, _ = raw(joule, "GET", "/dashboard/chargestations", cookie=f"joule_dashboard={session_cookie['value']}")
    assert (status, location) == (303, "/dashboard/sign-in")
    await context.close()


async def test_watch_a_session_cost_rise_then_pause_and_resume_it_from_its_page(joule, api, browser):
    d = await driver(api, ENERGY, balance=5000)
    async with connect(joule, d.chargestation["endpoint"], SessionCharger) as charger:
        await charger.boot()
        session = await d.start()
        tx = await charger.start_remote(session, meter_start=0)
        await charger.status(1, "Charging")
        await wait_session(api, session["_id"], "started")

        page = await signed_in(browser, joule, api)
        await page.goto(f"{joule.url}/dashboard/sessions/{session['_id']}")
        await expect(page.locator("#status")).to_have_text("started")
        await expect(page.locator("#cost")).to_have_text("$0.00")
        await charger.send(meter_values(1, tx, timestamp(), 5000))
        # 5 kWh at $0.40: the page shows it without a reload.
        await expect(page.locator("#cost")).to_have_text("$2.00", timeout=LIVE)
        await expect(page.locator("#energy")).to_have_text("5.000 kWh")
        await expect(page.locator("#power")).to_contain_text(" kW")
        # Its chart is drawn from the session's curve, which the API serves.
        await expect(page.locator("figure.chart svg title")).to_have_text("Power and cost over time")
        curve = await api.ok("GET", f"/v1.1/sessions/{session['_id']}/curve")
        assert (money(curve[-1]["energy"]), money(curve[-1]["cost"])) == (money(5000), money("2.00")), curve
        assert all(a["timestamp"] <= b["timestamp"] and a["energy"] <= b["energy"] for a, b in zip(curve, curve[1:])), curve
        too_many = await api.request("GET", f"/v1.1/sessions/{session['_id']}/curve?points=501")
        assert too_many.status == 400 and "points" in too_many.message, too_many

        await page.click("button:has-text('Pause')")
        await expect(page.locator(".notice")).to_have_text("Paused: the session is paused.")
        await expect(page.locator("#status")).to_have_text("paused")
        [profile] = charger.calls_of("SetChargingProfile")
        assert profile["csChargingProfiles"]["transactionId"] == tx, profile
        assert (await session_of(api, session["_id"]))["status"] == "paused"

        await page.click("button:has-text('Resume')")
        await expect(page.locator(".notice")).to_have_text("Resumed: the session is started.")
        await expect(page.locator("#status")).to_have_text("started")
        assert len(charger.calls_of("ClearChargingProfile")) == 1
        # The notice is shown once.
        await page.reload()
        await expect(page.locator(".notice")).to_have_count(0)

        # A refusal is the API's own message: resuming a session that runs is a 409.
        refusal = await api.request("POST", f"/v1.1/sessions/{session['_id']}/resume")
        assert refusal.status == 409, refusal
        form_token = await page.locator("main").get_attribute("data-form-token")
        await page.evaluate(
            """([id, token]) => { const f = document.createElement('form'); f.method = 'post'; f.action = `/dashboard/sessions/${id}/resume`;
               const i = document.createElement('input'); i.name = 'form_token'; i.value = token; f.append(i); document.body.append(f); f.submit(); }""",
            [session["_id"], form_token],
        )
        await expect(page.locator(".notice.refused")).to_have_text(refusal.message)


async def test_adjust_a_wallet_and_see_the_ledger_entry(joule, api, browser):
    user, wallet = await create_user(api, 1000)
    page = await signed_in(browser, joule, api, width=390)
    await page.click("nav >> text=Users & wallets")
    await page.click(f"a[href='/dashboard/users/{user['_id']}']")
    await expect(page.locator("#balance")).to_have_text("$10.00")

    await page.fill("#amount", "12.50")
    await page.fill("#reason", "goodwill after a broken cable")
    await page.click("button:has-text('Adjust')")
    await expect(page.locator(".notice")).to_have_text("Adjusted by +$12.50: the balance is now $22.50.")
    await expect(page.locator("#balance")).to_have_text("$22.50")
    entry = page.locator("#ledger tbody tr").first
    await expect(entry).to_contain_text("adjustment")
    await expect(entry).to_contain_text("+$12.50")
    await expect(entry).to_contain_text("$22.50")
    ledger = await api.ok("GET", f"/v1.1/wallets/{wallet['_id']}/transactions?limit=100")
    assert (ledger[0]["amount"], ledger[0]["balance_after"]) == (1250, 2250), ledger[0]

    # What the API refuses, the page says in the API's words, and nothing changes.
    refusal = await api.request("POST", f"/v1.1/wallets/{wallet['_id']}/adjustments", {"amount": -5000, "reason": "too much"})
    assert refusal.status >= 400, refusal
    await page.fill("#amount", "-50")
    await page.fill("#reason", "too much")
    await page.click("button:has-text('Adjust')")
    await expect(page.locator(".notice.refused")).to_have_text(refusal.message)
    await page.fill("#amount", "a lot")
    await page.fill("#reason", "typo")
    await page.click("button:has-text('Adjust')")
    await expect(page.locator(".notice.refused")).to_contain_text("is not an amount of money")
    assert len(await api.ok("GET", f"/v1.1/wallets/{wallet['_id']}/transactions?limit=100")) == len(ledger)
    await expect(page.locator("#balance")).to_have_text("$22.50")
