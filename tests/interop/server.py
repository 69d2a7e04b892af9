"""A real `joule serve` process, and a small client for its REST API."""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

REPO = Path(__file__).resolve().parents[2]
JOULE_BIN = os.environ.get("JOULE_BIN", str(REPO / "target" / "debug" / "joule"))
LISTENING = "listening on http://"
STARTUP_SECONDS = 60
# REST calls block a thread each while Joule waits for a charger, and the `ocpp` package
# validates messages on the loop's default executor: blocking calls there would starve the
# very charger they wait for.
REST_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="rest")


def listening_address(line: str) -> str | None:
    """The address in the JSON log line `listening on http://ADDR`, if this is that line."""
    try:
        record = json.loads(line)
    except ValueError:
        return None  # the banner of a first start is plain text
    message = record.get("fields", {}).get("message", "") if isinstance(record, dict) else ""
    return message.split(LISTENING, 1)[1].split()[0] if LISTENING in message else None


class Joule:
    """A running `joule serve` on a free port, with a random platform-admin token.

    `env` adds settings (`JOULE_START_TIMEOUT`, ...) to this server's environment only."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None):
        self.admin_token = secrets.token_urlsafe(24)
        self.database_url = database_url
        self.env = dict(env or {})
        self.log: list[str] = []
        self.address: str | None = None
        self._start("127.0.0.1:0")
        self.url = f"http://{self.address}"
        self.ws_url = f"ws://{self.address}"

    def _start(self, listen: str):
        # Only what the test sets: a developer's JOULE_* or DATABASE_URL must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOULE_") and k != "DATABASE_URL"}
        # The tests' webhook receivers listen on 127.0.0.1: allowed unless a test says otherwise.
        env.update(JOULE_ADMIN_TOKEN=self.admin_token, NO_COLOR="1", JOULE_WEBHOOK_ALLOW_PRIVATE="true")
        env.update(self.env)
        command = [JOULE_BIN, "serve", "--listen", listen, "--database-url", self.database_url, "--log-format", "json"]
        self.address = None
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        # The reader keeps draining the pipe after start-up, so a full pipe never blocks the server's logging.
        threading.Thread(target=self._read, args=(self.process, ready), daemon=True).start()
        if not ready.wait(STARTUP_SECONDS) or self.address is None:
            self.stop()
            raise RuntimeError("joule serve did not start:\n" + "".join(self.log[-40:]))

    def _read(self, process: subprocess.Popen, ready: threading.Event):
        for line in process.stdout:
            self.log.append(line)
            if not ready.is_set() and (address := listening_address(line)):
                self.address = address
                ready.set()
        ready.set()  # exited: nobody should wait any longer

    def kill(self):
        """SIGKILL: the process dies at once, as in a crash, with no chance to clean up."""
        self.process.kill()
        self.process.wait()

    def restart(self):
        """`joule serve` again on the same database, the same address and admin token."""
        assert self.process.poll() is not None, "restart() follows kill() or stop()"
        address = self.address
        self._start(address)
        assert self.address == address, (self.address, address)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def organization(self) -> "Api":
        """A new organization, seen through its API key: each test gets its own data."""
        admin = Api(self.url, self.admin_token)
        created = admin.request_sync("POST", "/v1.1/organizations", {"name": f"Interop {uuid.uuid4().hex[:8]}"})
        assert created.status == 200, created
        return Api(self.url, created.result["api_key"])


@dataclass
class Response:
    status: int
    ok: bool
    message: str
    result: Any


class Api:
    """The REST API as one API key sees it. Every answer is the envelope {ok, message, result}."""

    def __init__(self, base_url: str, key: str):
        self.base_url = base_url
        self.key = key

    def request_sync(self, method: str, path: str, body: Any = None) -> Response:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        envelope = json.loads(raw)
        assert set(envelope) == {"ok", "message", "result"}, envelope
        assert envelope["ok"] == (status < 400), (status, envelope)
        return Response(status, envelope["ok"], envelope["message"], envelope["result"])

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        # Off the event loop: the charger that answers a command runs on this loop.
        return await asyncio.get_running_loop().run_in_executor(REST_THREADS, self.request_sync, method, path, body)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.request(method, path, body)
        assert response.status == 200, response
        return response.result

    async def create_chargestation(self, endpoint: str | None = None, **fields) -> dict:
        return await self.ok("POST", "/v1.1/chargestations", {"endpoint": endpoint or new_endpoint(), **fields})

    async def chargestation(self, cs_id: str) -> dict:
        return await self.ok("GET", f"/v1.1/chargestations/{cs_id}")

    async def create_connector(self, cs_id: str, number: int) -> dict:
        return await self.ok("POST", "/v1.1/connectors", {"chargestation": cs_id, "connector_id": number})

    async def create_token(self, physical_id: str, **fields) -> dict:
        return await self.ok("POST", "/v1.1/tokens", {"physicalId": physical_id, **fields})

    async def transactions(self, cs_id: str) -> list[dict]:
        return await self.ok("GET", f"/v1.1/chargestations/{cs_id}/transactions?limit=100")

    async def events(self) -> list[dict]:
        return await self.ok("GET", "/v1.1/events?limit=100")

    async def command(self, cs_id: str, action: str, payload: dict) -> Response:
        return await self.request("POST", f"/v1.1/chargestations/{cs_id}/commands/{action}", payload)


async def eventually(probe: Callable[[], Awaitable[Any]], seconds: float = 10) -> Any:
    """Polls `probe` until it answers something truthy: for changes Joule makes after no answer
    a charger could wait for (a closed connection)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not (value := await probe()):
        assert loop.time() < deadline, f"still false after {seconds} s"
        await asyncio.sleep(0.05)
    return value


def new_endpoint() -> str:
    # Endpoints are unique across organizations, and the server outlives each test.
    return f"CP-{uuid.uuid4().hex[:12]}"
