"""The operator dashboard in a real browser: Debian's Chromium, headless, driven by Playwright
over the DevTools protocol. Sign in with an API key, watch a charger come online and a
session's cost rise without reloading, pause and resume it, adjust a wallet, sign out; and
nothing for a request without the cookie or with another organization's ids."""

import asyncio
import os
import urllib.error
import urllib.request

import pytest
from ocpp.v16 import call
from playwright.async_api import async_playwright, expect

from charger import Charger, connect, timestamp
from server import Api
from wallet import SessionCharger, create_user, driver, meter_values, money, session_of, wait_session

CHROMIUM = os.environ.get("JOULE_CHROMIUM", "/usr/bin/chromium")
# As the machine's browser runs headless here: no network of its own, nothing to sync.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ENERGY = [{"type": "ENERGY", "price": 0.40}]
# How long the page may take to show what happened (the live stream reads events each second).
LIVE = 15_000


@pytest.fixture
async def browser():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: scripts/test installs Debian's chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


async def signed_in(browser, joule, api: Api, width: int = 1280):
    """A new browser page, signed in to the dashboard with `api`'s key."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(f"{joule.url}/dashboard/sign-in")
    await page.fill("#api_key", api.key)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Overview")
    return page


def raw(joule, method: str, path: str, cookie: str | None = None, body: bytes | None = None):
    """A request with no browser: its status, Location and body."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(joule.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as r:
            return r.status, r.headers.get("Location"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location"), e.read().decode()


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
