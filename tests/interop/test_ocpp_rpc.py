"""A second independent charger: the npm package ocpp-rpc in strict mode (it checks every message
against the OCPP 1.6 schemas too) boots and runs a transaction (tests/interop-node/charger.mjs)."""

import os
import pathlib
import subprocess

NODE_DIR = pathlib.Path(__file__).resolve().parent.parent / "interop-node"


def test_ocpp_rpc_strict_boots_and_runs_a_transaction(api):
    env = dict(os.environ, JOULE_URL=api.base_url, JOULE_API_KEY=api.key)
    run = subprocess.run(["node", "charger.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passed" in run.stdout
