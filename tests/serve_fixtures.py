"""A real uvicorn server on 127.0.0.1, started in a thread for the API and studio tests."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytest.importorskip("fastapi", reason="the serve tests need the serve extra: pip install -e '.[serve,test]'")
uvicorn = pytest.importorskip("uvicorn", reason="the serve tests need the serve extra: pip install -e '.[serve,test]'")

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

STARTUP_SECONDS = 30.0


def load_builtin_model():
    """Load the built-in model, which loads in a fraction of a second where training even a tiny one takes seconds.

    Matching by meaning is off: it would load a sentence encoder for the unknown words the tests send.
    """
    from designgan import load_model

    return load_model(similarity_threshold=None)


@contextmanager
def serving(app, wait_ready: bool = True) -> Iterator[str]:
    """Run `app` under uvicorn on a free port of 127.0.0.1 and yield its base URL.

    The socket is bound here, before the server starts, so no other process can
    take the port in between. With wait_ready, the URL is yielded once /readyz
    returns 200, after the app's warm-up.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    deadline = time.monotonic() + STARTUP_SECONDS
    url = f"http://127.0.0.1:{port}"
    while not server.started or (wait_ready and httpx.get(f"{url}/readyz").status_code != 200):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start and become ready on {url} within {STARTUP_SECONDS} s")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def decode_png(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    return image
