"""Screenshots of the dashboard's main pages at a phone's and a desktop's width, taken in
Debian's Chromium (headless, driven by Playwright) from `joule demo --keep`: its two sessions,
its wallet and ledger, its charger. Written to docs/screenshots/, which the README shows.

Run by scripts/screenshots, which builds Joule and the test venv first."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
JOULE = os.environ.get("JOULE_BIN", str(ROOT / "target" / "debug" / "joule"))
CHROMIUM = os.environ.get("JOULE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


def main():
    demo = subprocess.Popen([JOULE, "demo", "--keep"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = key = None
    for line in demo.stdout:
        if found := re.search(r"(http://[0-9.:]+)/dashboard/ \(sign in with the organization's API key (\S+)\)", line):
            base, key = found.group(1), found.group(2)
            break
    if base is None:
        sys.exit("joule demo ended without serving the dashboard")
    try:
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for name, (width, height) in WIDTHS.items():
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.goto(f"{base}/dashboard/sign-in")
                page.fill("#api_key", key)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/dashboard/")
                page.screenshot(path=OUT / f"overview-{name}.png", full_page=True)
                for section in ["chargestations", "sessions", "users", "rates"]:
                    page.goto(f"{base}/dashboard/{section}")
                    page.screenshot(path=OUT / f"{section}-{name}.png", full_page=True)
                page.goto(f"{base}/dashboard/sessions")
                page.click("tbody tr:last-child a")
                page.locator("figure.chart svg").wait_for()
                page.screenshot(path=OUT / f"session-{name}.png", full_page=True)
                page.goto(f"{base}/dashboard/users")
                page.click("tbody tr:first-child a")
                page.screenshot(path=OUT / f"wallet-{name}.png", full_page=True)
            browser.close()
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    print(f"screenshots in {OUT.relative_to(ROOT)}/: " + " ".join(sorted(f.name for f in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
