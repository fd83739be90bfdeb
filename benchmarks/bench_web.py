"""Loopback load test of the web calculator: N POST /api/train requests at concurrency C against a uvicorn server
on 127.0.0.1 (started here, stopped at the end). Reports p50/p99 latency and errors.

    .venv/bin/python benchmarks/bench_web.py [--requests 2000] [--concurrency 32]
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time

BODY = {"model": "Llama3_70B", "cluster": "Research_256", "tp_size": 8, "pp_size": 1, "dp_size": 32,
        "datacenter": "GCP_Iowa"}


def start_server():
    import uvicorn

    from mlsysim.web import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="error"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    while not srv.started:
        time.sleep(0.02)
    return srv, t, port


async def load(port: int, n: int, conc: int):
    import httpx
    lat, errors = [], 0
    todo = iter(range(n))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        async def worker():
            nonlocal errors
            for _ in todo:
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/train", json=BODY)
                    ok = r.status_code == 200
                except Exception:
                    ok = False
                lat.append(time.perf_counter() - t0)
                errors += not ok
        await asyncio.gather(*(worker() for _ in range(conc)))
    return lat, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()
    srv, t, port = start_server()
    try:
        from mlsysim.web.compute import train
        one = []
        for _ in range(50):  # one evaluation, no HTTP: the solver work behind a request
            t0 = time.perf_counter()
            train(BODY)
            one.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lat, errors = asyncio.run(load(port, a.requests, a.concurrency))
        wall = time.perf_counter() - t0
    finally:
        srv.should_exit = True
        t.join(10)
    q = statistics.quantiles(lat, n=100)
    print(f"one training evaluation (in-process): p50 {1e3 * statistics.median(one):.1f} ms")
    print(f"{a.requests} requests at concurrency {a.concurrency}: p50 {1e3 * q[49]:.1f} ms, p99 {1e3 * q[98]:.1f} ms, "
          f"{a.requests / wall:.0f} req/s, errors {errors}")


if __name__ == "__main__":
    main()
