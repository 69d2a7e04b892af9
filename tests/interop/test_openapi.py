"""The OpenAPI document tells the truth: schemathesis generates requests from
/v1.1/openapi.json (valid ones and ones the document says are invalid) and checks every answer
against the document. Any 5xx, any valid request refused, any invalid one accepted, any
undocumented status or body fails the test (see schemathesis.toml for the checks and why)."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import fresh_database, stop
from server import Joule

HERE = Path(__file__).resolve().parent
# Requests per operation and per phase: about two minutes on a small machine.
MAX_EXAMPLES = 25
SEED = 20261206


def test_the_document_matches_the_server(tmp_path_factory, tmp_path):
    with fresh_database("sqlite", tmp_path_factory) as url:
        joule = Joule(url, {"JOULE_WEBHOOK_ALLOW_PRIVATE": "true"})
        try:
            api = joule.organization()
            env = {**os.environ, "JOULE_API_KEY": api.key, "JOULE_ADMIN_TOKEN": joule.admin_token, "NO_COLOR": "1"}
            command = [
                sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"), "run",
                f"{joule.url}/v1.1/openapi.json", "--checks", "all", "--exclude-checks", "object_level_authorization",
                "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1", "--no-color",
                "--report", "junit", "--report-dir", str(tmp_path),
            ]
            run = subprocess.run(command, cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
        finally:
            stop(joule)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
