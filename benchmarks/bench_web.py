"""Loopback load test of the web calculator: N POST /api/train requests, then N POST /api/serve requests (one fleet,
no plan ranking), at concurrency C against a uvicorn server on 127.0.0.1 (started here, stopped at the end).
Reports p50/p99 latency and errors, and the in-process time of one evaluation of each (and of a serving request
with its bounded plan search).

    .venv/bin/python benchmarks/bench_web.py [--requests 2000] [--serve-requests 2000] [--concurrency 32]
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
SERVE = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "qps": 10, "input_len": 1000,
         "output_len": 200, "ttft_slo_ms": 1000, "tpot_slo_ms": 50, "datacenters": ["GCP_Iowa"], "plan": False}


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


async def load(port: int, n: int, conc: int, path="/api/train", body=BODY):
    import httpx
    lat, errors = [], 0
    todo = iter(range(n))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        async def worker():
            nonlocal errors
            for _ in todo:
                t0 = time.perf_counter()
                try:
                    r = await client.post(path, json=body)
                    ok = r.status_code == 200
                except Exception:
                    ok = False
                lat.append(time.perf_counter() - t0)
                errors += not ok
        await asyncio.gather(*(worker() for _ in range(conc)))
    return lat, errors


def _p50_ms(fn, arg, n):
    """(wall, CPU) p50 in ms: on a shared machine the CPU time is what the call costs, the wall time what it waits."""
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(arg)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)


def _report(what, n, conc, lat, errors, wall):
    q = statistics.quantiles(lat, n=100)
    print(f"{what}: {n} requests at concurrency {conc}: p50 {1e3 * q[49]:.1f} ms, p99 {1e3 * q[98]:.1f} ms, "
          f"{n / wall:.0f} req/s, errors {errors}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--serve-requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()
    srv, t, port = start_server()
    runs = []
    try:
        from mlsysim.web.compute import train
        from mlsysim.web.serve import serve
        train(BODY), serve(SERVE)  # warm the registries and imports
        # one evaluation, no HTTP: the solver work behind a request
        one = {"training": _p50_ms(train, BODY, 50), "serving (one fleet)": _p50_ms(serve, SERVE, 50),
               "serving with the plan ranking": _p50_ms(serve, dict(SERVE, plan=True), 5)}
        for path, body, n in (("/api/train", BODY, a.requests), ("/api/serve", SERVE, a.serve_requests)):
            if n > 0:
                t0 = time.perf_counter()
                lat, errors = asyncio.run(load(port, n, a.concurrency, path, body))
                runs.append((path, n, lat, errors, time.perf_counter() - t0))
    finally:
        srv.should_exit = True
        t.join(10)
    for what, (ms, cpu) in one.items():
        print(f"one {what} evaluation (in-process): p50 {ms:.1f} ms wall, {cpu:.1f} ms CPU")
    for path, n, lat, errors, wall in runs:
        _report(path, n, a.concurrency, lat, errors, wall)


if __name__ == "__main__":
    main()
