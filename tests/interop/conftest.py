"""Fixtures: Joule on each database backend, and an organization of its own for each test."""

import contextlib
import os
import subprocess
import urllib.parse
import uuid

import pytest

from dashboard import chromium
from server import Api, Joule

# The same server the Rust test suite creates its databases on, and the same choice of backends
# (`scripts/test` leaves PostgreSQL out on a machine without it, and says so).
POSTGRES_URL = os.environ.get("JOULE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BACKENDS = [name.strip() for name in os.environ.get("JOULE_TEST_BACKENDS", "sqlite,postgres").split(",")]


def psql(sql: str):
    subprocess.run(["psql", POSTGRES_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path_factory):
    """The URL of a new, empty database of `backend`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'joule.db'}"
        return
    name = f"joule_interop_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def joule(request, tmp_path_factory):
    """Joule on a fresh database of each backend, shared by the tests (each has its own organization)."""
    with fresh_database(request.param, tmp_path_factory) as url:
        joule = Joule(url)
        yield joule
        stop(joule)


@contextlib.contextmanager
def stopped_at_the_end():
    """A list to put started Joules in; each is stopped at the end."""
    started: list[Joule] = []
    try:
        yield started
    finally:
        for joule in started:
            joule.stop()


@pytest.fixture(params=BACKENDS)
def own_joule(request, tmp_path_factory):
    """Starts a Joule of this test's own, on a fresh database of each backend, with extra
    settings (`own_joule(JOULE_START_TIMEOUT="3")`): for tests that change settings or kill
    the server, which the shared one must outlive."""
    with contextlib.ExitStack() as stack, stopped_at_the_end() as started:

        def start(**env: str) -> Joule:
            url = stack.enter_context(fresh_database(request.param, tmp_path_factory))
            started.append(Joule(url, env))
            return started[-1]

        yield start


@pytest.fixture
def nodes(tmp_path_factory):
    """Starts nodes on one fresh PostgreSQL database: each `nodes(**env)` is one more."""
    if "postgres" not in BACKENDS:
        pytest.skip("several nodes need PostgreSQL")
    with fresh_database("postgres", tmp_path_factory) as url, stopped_at_the_end() as started:

        def start(**env: str) -> Joule:
            started.append(Joule(url, env))
            return started[-1]

        yield start


def stop(joule: Joule):
    # A crash would otherwise show only as refused connections in whichever tests came after.
    crashed = joule.process.poll() is not None
    joule.stop()
    assert not crashed, "joule serve exited during the tests:\n" + "".join(joule.log[-40:])


@pytest.fixture
def api(joule: Joule) -> Api:
    return joule.organization()




@pytest.fixture
async def browser():
    """A headless Chromium for the dashboard's tests (`dashboard.py`)."""
    async with chromium() as browser:
        yield browser
