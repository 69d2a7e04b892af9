"""Fixtures: Joule on each database backend, and an organization of its own for each test."""

import os
import subprocess
import urllib.parse
import uuid

import pytest

from server import Api, Joule

# The same server the Rust test suite creates its databases on.
POSTGRES_URL = os.environ.get("JOULE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def psql(sql: str):
    subprocess.run(["psql", POSTGRES_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def joule(request, tmp_path_factory):
    """Joule on a fresh database of each backend, shared by the tests (each has its own organization)."""
    if request.param == "sqlite":
        joule = Joule(f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'joule.db'}")
        yield joule
        stop(joule)
        return
    name = f"joule_interop_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    try:
        joule = Joule(urllib.parse.urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl())
        yield joule
        stop(joule)
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop(joule: Joule):
    # A crash would otherwise show only as refused connections in whichever tests came after.
    crashed = joule.process.poll() is not None
    joule.stop()
    assert not crashed, "joule serve exited during the tests:\n" + "".join(joule.log[-40:])


@pytest.fixture
def api(joule: Joule) -> Api:
    return joule.organization()


