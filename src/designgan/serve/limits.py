"""Request limits: a cap on body size, and bounded inference off the event loop.

Generator forward passes block for tens of milliseconds per image, so they run on
a small thread pool. PyTorch releases the GIL inside its kernels, so the event
loop keeps serving health checks and rejections meanwhile. The number of jobs
admitted to the pool is capped: beyond the running ones and `max_waiting` queued
ones, a request is rejected at once with 503 and Retry-After instead of queueing
without bound.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Weight of the newest job in the running mean of job duration behind Retry-After:
# about the last ten jobs count.
DURATION_SMOOTHING = 0.1


class QueueFullError(Exception):
    """Every inference thread is busy and the waiting queue is full."""

    def __init__(self, retry_after_seconds: int):
        super().__init__(f"the server is busy; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class QueueSnapshot:
    running: int
    waiting: int
    max_waiting: int


class InferenceQueue:
    """Run blocking jobs on `threads` worker threads with at most `max_waiting` jobs waiting."""

    def __init__(self, threads: int, max_waiting: int):
        self.threads = threads
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="designgan-inference")
        # Admitted and running counts change on the event loop (admission) and on worker
        # threads (job start and end), so a lock guards them.
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._mean_seconds = 1.0  # running mean of job duration; a guess until the first job ends

    def snapshot(self) -> QueueSnapshot:
        with self._lock:
            return QueueSnapshot(self._running, self._admitted - self._running, self.max_waiting)

    def retry_after_seconds(self) -> int:
        """Estimate the seconds until a slot frees: the queued work divided among the threads, at least 1."""
        with self._lock:
            queued_jobs = self._admitted
            mean_seconds = self._mean_seconds
        return max(1, math.ceil(queued_jobs * mean_seconds / self.threads))

    async def run(self, job: Callable[[], T]) -> T:
        """Run `job` on a worker thread and return its result, or raise QueueFullError at once."""
        with self._lock:
            full = self._admitted >= self.threads + self.max_waiting
            if not full:
                self._admitted += 1
        if full:
            raise QueueFullError(self.retry_after_seconds())

        # The slot is released when the job ends on its thread, not when this coroutine
        # ends: a client that disconnects cancels the await, but a job that already
        # started keeps its thread busy until it returns.
        future: Future[T] = self._executor.submit(self._timed, job)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _timed(self, job: Callable[[], T]) -> T:
        with self._lock:
            self._running += 1
        started = time.perf_counter()
        try:
            return job()
        finally:
            seconds = time.perf_counter() - started
            with self._lock:
                self._running -= 1
                self._mean_seconds += DURATION_SMOOTHING * (seconds - self._mean_seconds)

    def _release(self, _future: Future) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        """Cancel the waiting jobs and let the running ones finish in the background."""
        snapshot = self.snapshot()
        if snapshot.running or snapshot.waiting:
            logger.info("Shutting down with %d inference job(s) running and %d waiting; the waiting ones are cancelled",
                        snapshot.running, snapshot.waiting)
        self._executor.shutdown(wait=False, cancel_futures=True)


class BodySizeLimitMiddleware:
    """Reject a request body over `max_bytes` with 413, before any route reads or parses it.

    A declared Content-Length over the limit is rejected without reading the body.
    Otherwise the body is read up to the limit (chunked uploads have no
    Content-Length) and handed to the app in one piece.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send, int(declared))
            return

        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body, so no response is sent
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, receive, send, size)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)

        body = b"".join(chunks)
        body_sent = False

        async def replay() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body, only http.disconnect can follow

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        response = JSONResponse(
            {"detail": f"request body of {size} bytes or more is over the limit of {self.max_bytes} bytes"},
            status_code=413,
        )
        await response(scope, receive, send)
