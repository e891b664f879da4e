"""`designgan serve`: flag checks, and a real server process serving requests on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from designgan.cli import app

pytest.importorskip("uvicorn", reason="the serve tests need the serve extra: pip install -e '.[serve,test]'")

STARTUP_SECONDS = 60.0  # a cold process imports torch and FastAPI before it listens


def free_port() -> int:
    # NOTE: another process could take the port between this check and the server's bind.
    # That is unlikely on a test machine, and the test would then fail at startup, not silently.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("flags, message", [
    (["--port", "0"], "--port 0 is out of range"),
    (["--inference-threads", "0"], "--inference-threads 0 is out of range"),
    (["--max-waiting", "-1"], "--max-waiting -1 is out of range"),
    (["--max-body-bytes", "10"], "--max-body-bytes 10 is out of range"),
    (["--cors-origin", "example.com"], "--cors-origin"),
])
def test_serve_invalid_flag_exit_2(flags, message):
    result = CliRunner().invoke(app, ["serve", *flags])
    assert result.exit_code == 2
    assert message in result.output


def test_serve_missing_model_exit_1(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "not found" in result.output


def test_serve_process_answers():
    port = free_port()
    # The built-in model; --no-match-by-meaning skips loading a sentence encoder where designgan[text] is installed.
    command = [sys.executable, "-m", "designgan", "serve", "--port", str(port), "--no-match-by-meaning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, "the server did not become ready"
        response = httpx.post(f"http://127.0.0.1:{port}/v1/generate", json={"keywords": ["cat"], "n": 2, "seed": 1})
        assert response.status_code == 200
        assert len(response.json()["ideas"]) == 2
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "designgan studio: http://127.0.0.1:" in output
    assert "method=POST path='/v1/generate' status=200" in output
