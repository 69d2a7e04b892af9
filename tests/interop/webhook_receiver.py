"""A webhook receiver on a local port that checks every delivery it gets: the Standard Webhooks
headers with the `standardwebhooks` package from PyPI (an implementation Joule's authors did
not write), and `edrv-signature` by recomputing it."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    """One request as it arrived, with what the receiver answered."""

    id: str
    timestamp: str
    signature: str
    edrv: str
    body: bytes
    event: dict
    # The receiver's secrets, read when asked: a delivery may arrive before the endpoint's
    # creation answer has told the test its secret.
    secrets: list[str] = field(default_factory=list, repr=False)
    status: int = 0

    @property
    def verified_by(self) -> list[str]:
        """The known secrets both signatures verify with."""
        return [s for s in self.secrets if standard_valid(s, self) and edrv_valid(s, self.edrv, self.timestamp, self.body)]


def edrv_valid(secret: str, header: str, timestamp: str, body: bytes) -> bool:
    """`t=<seconds>,v1=<hex>[,v1=<hex>]`: some v1 is HMAC-SHA256 over `{t}.{body}` keyed by the
    secret's base64 key, and t is the webhook-timestamp."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = next((v for k, v in parts if k == "t"), None)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return t == timestamp and any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


def standard_valid(secret: str, d: Delivery) -> bool:
    headers = {"webhook-id": d.id, "webhook-timestamp": d.timestamp, "webhook-signature": d.signature}
    try:
        Webhook(secret).verify(d.body, headers)
        return True
    except WebhookVerificationError:
        return False


# What to answer a delivery, given how many times its webhook-id came (from 1): an HTTP
# status, or None to hold the request open until `Receiver.release()`.
Answer = Callable[[Delivery, int], int | None]


class Receiver:
    def __init__(self, answer: Answer | None = None):
        self.answer: Answer = answer or (lambda _d, _n: 204)
        self.secrets: list[str] = []
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                d = Delivery(
                    id=self.headers.get("webhook-id", ""),
                    timestamp=self.headers.get("webhook-timestamp", ""),
                    signature=self.headers.get("webhook-signature", ""),
                    edrv=self.headers.get("edrv-signature", ""),
                    body=body,
                    event=json.loads(body),
                    secrets=receiver.secrets,
                )
                with receiver.lock:
                    nth = 1 + sum(1 for seen in receiver.deliveries if seen.id == d.id)
                    status = receiver.answer(d, nth)
                    d.status = status or 0
                    receiver.deliveries.append(d)
                if status is None:
                    receiver.released.wait(60)
                    status = 200
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone (killed)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def release(self):
        """Answers every request held open, and holds none from now on."""
        self.released.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def got(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def delivered(self) -> list[Delivery]:
        """Deliveries answered with a 2xx, in the order they arrived."""
        return [d for d in self.got() if 200 <= d.status < 300]

    async def wait(self, probe: Callable[[], bool], seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while not probe():
            assert time.monotonic() < deadline, f"{what}: not within {seconds} s; got {[(d.event['type'], d.status) for d in self.got()]}"
            await asyncio.sleep(0.05)
