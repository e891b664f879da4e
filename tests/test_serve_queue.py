"""The inference queue over a real server: a full queue returns 503 with Retry-After, then recovers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from serve_fixtures import serving  # noqa: I001  (skips this module without the serve extra)
from designgan.export import read_model_files
from designgan.pipeline import DesignModel, builtin_model_path
from designgan.serve import ServeConfig, create_app

WAIT_SECONDS = 20.0


class GatedModel(DesignModel):
    """A model whose generation waits until the test opens the gate, so requests pile up on demand."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()

    def generate_ideas(self, *args, **kwargs):
        if not self.gate.wait(WAIT_SECONDS):
            raise TimeoutError("the test did not open the gate")
        return super().generate_ideas(*args, **kwargs)


def wait_for_queue(client: httpx.Client, running: int, waiting: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        queue = client.get("/readyz").json()["queue"]
        if queue["running"] == running and queue["waiting"] == waiting:
            return
        time.sleep(0.02)
    raise AssertionError(f"the queue never reached running={running}, waiting={waiting}")


@pytest.fixture
def gated():
    return GatedModel(read_model_files(builtin_model_path()), similarity_threshold=None)


def test_queue_full_503_then_recovers(gated):
    config = ServeConfig(inference_threads=1, max_waiting=1, warm_up=False)
    body = {"keywords": ["cat"], "n": 1, "seed": 0}
    with serving(create_app(gated, config)) as url, httpx.Client(base_url=url, timeout=30) as client, \
            ThreadPoolExecutor(max_workers=2) as pool:
        running = pool.submit(client.post, "/v1/generate", json=body)
        wait_for_queue(client, running=1, waiting=0)
        waiting = pool.submit(client.post, "/v1/generate", json=body)
        wait_for_queue(client, running=1, waiting=1)

        rejected = client.post("/v1/generate", json=body)
        assert rejected.status_code == 503
        assert int(rejected.headers["Retry-After"]) >= 1
        assert "busy" in rejected.json()["detail"]
        assert client.get("/healthz").status_code == 200  # the event loop still serves requests

        gated.gate.set()
        assert running.result().status_code == 200
        assert waiting.result().status_code == 200
        assert client.post("/v1/generate", json=body).status_code == 200
        assert client.get("/readyz").json()["queue"] == {"running": 0, "waiting": 0, "max_waiting": 1}


def test_readyz_503_during_warm_up(gated):
    with serving(create_app(gated, ServeConfig(warm_up=True)), wait_ready=False) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        starting = client.get("/readyz")
        assert starting.status_code == 503
        assert starting.json()["status"] == "starting"
        assert client.get("/healthz").status_code == 200
        gated.gate.set()
        deadline = time.monotonic() + WAIT_SECONDS
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/readyz").json()["status"] == "ready"


def test_disconnected_client_keeps_slot_until_job_ends(gated):
    config = ServeConfig(inference_threads=1, max_waiting=0, warm_up=False)
    body = {"keywords": ["cat"], "n": 1, "seed": 0}
    with serving(create_app(gated, config)) as url, httpx.Client(base_url=url, timeout=30) as client:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{url}/v1/generate", json=body, timeout=0.5)  # gives up while the job runs
        # The job still occupies the only thread, so a new request is rejected rather than queued.
        assert client.post("/v1/generate", json=body).status_code == 503
        gated.gate.set()
        wait_for_queue(client, running=0, waiting=0)
        assert client.post("/v1/generate", json=body).status_code == 200
