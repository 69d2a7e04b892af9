"""localstripe, the stateful Stripe fake from PyPI, on a free loopback port, and a small
client for its test-only `/_config` API.

Run as a script, it serves localstripe's own aiohttp application on 127.0.0.1 (localstripe's
`start()` would listen on every interface, on a fixed port) and prints `port N` once it
listens. Its state is kept in memory only: localstripe would otherwise save it to
/tmp/localstripe.pickle after every request, shared with any other run on the machine.
"""

import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

STARTUP_SECONDS = 30


class LocalStripe:
    """A localstripe process for a test session."""

    def __init__(self):
        command = [sys.executable, str(Path(__file__).resolve()), "serve"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log: list[str] = []
        ready = threading.Event()
        self.port: int | None = None
        threading.Thread(target=self._read, args=(ready,), daemon=True).start()
        if not ready.wait(STARTUP_SECONDS) or self.port is None:
            self.stop()
            raise RuntimeError("localstripe did not start:\n" + "".join(self.log[-40:]))
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self, ready: threading.Event):
        for line in self.process.stdout:
            self.log.append(line)
            if self.port is None and line.startswith("port "):
                self.port = int(line.split()[1])
                ready.set()
        ready.set()

    def register_webhook(self, name: str, url: str, secret: str):
        """Makes localstripe sign its events with `secret` and POST them to `url` (under
        `name`, replacing what was registered under it)."""
        data = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{self.url}/_config/webhooks/{name}", data=data, method="POST"), timeout=10) as r:
            assert r.status == 200, r.status

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve():
    import logging

    from aiohttp import web
    from localstripe import resources, server

    # Its access log and its webhook deliveries ("webhook ... successfully delivered").
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    resources.store.dump_to_disk = lambda: None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    web.run_app(server.app, sock=sock, print=None)


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    serve()
