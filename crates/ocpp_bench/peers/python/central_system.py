"""A minimal OCPP 1.6J central system on the Python `ocpp` package: the benchmark's peer that
stores. The package checks every message against the official OCPP 1.6 schemas; each message a
charger sends is stored in SQLite as a row of its own and committed before it is answered (WAL,
synchronous=FULL: Joule's own durability, an answered message survives a power loss).

Usage: central_system.py --port 8091 --database peer.db
"""

import argparse
import asyncio
import json
import sqlite3
from datetime import datetime, timezone

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

HEARTBEAT_INTERVAL = 300


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    """One SQLite connection, written in turn by every charger (asyncio runs one at a time)."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, charger TEXT NOT NULL, action TEXT NOT NULL, payload TEXT NOT NULL, received_at TEXT NOT NULL)")

    def record(self, charger: str, action: str, payload: dict) -> int:
        """Stores one message and commits; answers its row id."""
        with self.db:
            self.db.execute("BEGIN")
            row = self.db.execute("INSERT INTO messages (charger, action, payload, received_at) VALUES (?, ?, ?, ?)", (charger, action, json.dumps(payload), now()))
        return row.lastrowid


class CentralSystem(ChargePoint):
    def __init__(self, identity: str, connection, store: Store):
        super().__init__(identity, connection)
        self.store = store

    @on(Action.boot_notification)
    def on_boot_notification(self, **payload):
        self.store.record(self.id, "BootNotification", payload)
        return call_result.BootNotification(current_time=now(), interval=HEARTBEAT_INTERVAL, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **payload):
        self.store.record(self.id, "Heartbeat", payload)
        return call_result.Heartbeat(current_time=now())

    @on(Action.status_notification)
    def on_status_notification(self, **payload):
        self.store.record(self.id, "StatusNotification", payload)
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **payload):
        self.store.record(self.id, "Authorize", payload)
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.start_transaction)
    def on_start_transaction(self, **payload):
        # The transaction's id is the row that stored its start.
        transaction_id = self.store.record(self.id, "StartTransaction", payload)
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.meter_values)
    def on_meter_values(self, **payload):
        self.store.record(self.id, "MeterValues", payload)
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop_transaction(self, **payload):
        self.store.record(self.id, "StopTransaction", payload)
        return call_result.StopTransaction()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--database", default="peer.db")
    args = parser.parse_args()
    store = Store(args.database)

    async def charger(connection):
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            await CentralSystem(identity, connection, store).start()
        except ConnectionClosed:
            pass

    async with serve(charger, args.host, args.port, subprotocols=["ocpp1.6"], max_queue=None):
        print(f"listening on {args.host}:{args.port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
