"""Bounded load on a running app: N concurrent clients asking /api/ask for a fixed time, on 127.0.0.1 only.

    python -m benchmarks.load --url http://127.0.0.1:7860 [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlparse

import httpx

QUESTIONS = [
    "How much was China–Latin America trade worth in 2024?",
    "¿Cuándo se celebró el foro?",
    "2024年中拉贸易额是多少？",
    "Who gave the opening remarks at the forum?",
    "¿Qué puerto es el eje del plan logístico?",
    "中国对拉美的累计投资有多少？",
    "What is the recipe for a traditional paella?",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    requests_per_s: float = 0.0


async def _client(http: httpx.AsyncClient, worker: int, deadline: float, latencies: list[float], result: LoadResult):
    i = worker
    while time.monotonic() < deadline:
        question = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        started = time.monotonic()
        try:
            response = await http.post("/api/ask", json={"question": question},
                                       headers={"X-Session-Id": f"load-{worker}"})
            status = str(response.status_code)
            ok = response.status_code == 200 and "answer" in response.json()
        except httpx.HTTPError as exc:
            status, ok = type(exc).__name__, False
        latencies.append(time.monotonic() - started)
        result.requests += 1
        result.errors += not ok
        result.statuses[status] = result.statuses.get(status, 0) + 1


async def run_load(url: str, clients: int = 20, seconds: float = 60.0) -> LoadResult:
    if urlparse(url).hostname not in LOOPBACK:
        raise ValueError("the load test only targets this machine's loopback address")
    result, latencies = LoadResult(clients, seconds), []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, trust_env=False) as http:
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(*(_client(http, w, deadline, latencies, result) for w in range(clients)))
        elapsed = time.monotonic() - started
    if latencies:
        ordered = sorted(latencies)
        result.p50_ms = round(1000 * statistics.median(ordered), 1)
        result.p95_ms = round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)
        result.max_ms = round(1000 * ordered[-1], 1)
        result.requests_per_s = round(result.requests / elapsed, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(json.dumps(asdict(asyncio.run(run_load(args.url, args.clients, args.seconds))), indent=1))


if __name__ == "__main__":
    main()
