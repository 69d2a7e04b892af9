"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright over the
DevTools protocol, signed in as an organization; and plain requests without a browser."""

import contextlib
import os
import urllib.error
import urllib.request

from playwright.async_api import async_playwright, expect

from server import Api

CHROMIUM = os.environ.get("JOULE_CHROMIUM", "/usr/bin/chromium")
# As the machine's browser runs headless here: no network of its own, nothing to sync.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ENERGY = [{"type": "ENERGY", "price": 0.40}]
# How long the page may take to show what happened (the live stream reads events each second).
LIVE = 15_000


@contextlib.asynccontextmanager
async def chromium():
    """Debian's Chromium, headless, for the test's pages."""
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
