"""Load test of `designgan serve` on 127.0.0.1: a fixed number of requests at a fixed concurrency.

    python benchmarks/load_test.py                      # starts its own server with the built-in model
    python benchmarks/load_test.py --port 8000          # uses a server already running on 127.0.0.1:8000

The request mix: 80% POST /v1/generate (4 ideas), 10% POST /v1/variations (3
variations) and 10% GET /v1/keywords with a prefix. The run is bounded: it sends
exactly --requests requests, each with a timeout, and stops after --max-seconds
whatever is left. It prints latency percentiles per route and exits with 1 if any
request got a 5xx status or failed without one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import httpx

HOST = "127.0.0.1"  # the only host this script sends to
KEYWORD_SETS = (["cat"], ["smiling", "face"], ["red", "heart"], ["flag"], ["food"], ["hand"], ["drink"],
                ["woman", "dark skin tone"])
PREFIXES = ("ca", "sm", "he", "fl", "sk", "dr")
STARTUP_SECONDS = 120.0


@dataclass
class Result:
    route: str
    status: int | None  # None when the request failed without a response (timeout, reset)
    seconds: float


def request_for(index: int) -> tuple[str, str, dict | None]:
    """Return (route, method, JSON body) of request `index`: a fixed, repeatable mix."""
    keywords = KEYWORD_SETS[index % len(KEYWORD_SETS)]
    if index % 10 == 8:
        return "/v1/variations", "POST", {"idea": {"keywords": keywords, "seed": index}, "count": 3}
    if index % 10 == 9:
        return f"/v1/keywords?limit=8&prefix={PREFIXES[index % len(PREFIXES)]}", "GET", None
    return "/v1/generate", "POST", {"keywords": keywords, "n": 4, "seed": index}


async def worker(client: httpx.AsyncClient, queue: asyncio.Queue, results: list[Result]) -> None:
    while True:
        try:
            index = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        path, method, body = request_for(index)
        route = path.split("?")[0]
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body)
            status: int | None = response.status_code
        except httpx.HTTPError:
            status = None
        results.append(Result(route, status, time.perf_counter() - started))


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of `values` (share in 0..1)."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(results: list[Result], seconds: float) -> dict:
    by_route: dict[str, list[float]] = defaultdict(list)
    for result in results:
        by_route[result.route].append(result.seconds)
    latencies = [result.seconds for result in results]

    def stats(values: list[float]) -> dict:
        return {"requests": len(values), "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                "p95_ms": round(percentile(values, 0.95) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}

    return {
        "requests": len(results),
        "seconds": round(seconds, 2),
        "requests_per_second": round(len(results) / seconds, 1),
        "statuses": dict(Counter(str(result.status) for result in results)),
        "server_errors": sum(1 for result in results if result.status is None or result.status >= 500),
        "all": stats(latencies),
        "routes": {route: stats(values) for route, values in sorted(by_route.items())},
    }


async def run_load(base_url: str, requests: int, concurrency: int, timeout_seconds: float, max_seconds: float) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)
    results: list[Result] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds, limits=limits) as client:
        started = time.perf_counter()
        tasks = [asyncio.create_task(worker(client, queue, results)) for _ in range(concurrency)]
        done, pending = await asyncio.wait(tasks, timeout=max_seconds)
        for task in pending:
            task.cancel()  # the run is over its time budget; stop what is left
        await asyncio.gather(*pending, return_exceptions=True)
        seconds = time.perf_counter() - started
    summary = summarize(results, seconds)
    summary["unsent"] = requests - len(results)
    return summary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(port: int, model: str | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "designgan", "serve", "--host", HOST, "--port", str(port), "--quiet"]
    if model:
        command += ["--model", model]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}: {process.stderr.read()}")
        try:
            if httpx.get(f"http://{HOST}:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the server did not become ready on {HOST}:{port} within {STARTUP_SECONDS:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="Port of a running server on 127.0.0.1. Default: start one.")
    parser.add_argument("--model", default=None, help="Model folder for the server this script starts. Default: built-in.")
    parser.add_argument("--requests", type=int, default=500, help="Requests to send (default 500).")
    parser.add_argument("--concurrency", type=int, default=16, help="Requests in flight at once (default 16).")
    parser.add_argument("--timeout-seconds", type=float, default=60.0, help="Timeout of one request (default 60).")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="Stop the whole run after this long (default 600).")
    parser.add_argument("--out", default=None, help="Also write the summary as JSON to this file.")
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 256:
        parser.error("use --requests 1..100000 and --concurrency 1..256")

    port = args.port if args.port is not None else free_port()
    server = start_server(port, args.model) if args.port is None else None
    try:
        summary = asyncio.run(run_load(f"http://{HOST}:{port}", args.requests, args.concurrency,
                                       args.timeout_seconds, args.max_seconds))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    summary.update({"concurrency": args.concurrency, "cpu_count": os.cpu_count()})
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 1 if summary["server_errors"] or summary["unsent"] else 0


if __name__ == "__main__":
    sys.exit(main())
