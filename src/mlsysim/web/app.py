"""FastAPI app: the JSON API (/api/..., documented at /docs) and the one static page. No file is read or written
outside the package's own static files (served from a fixed list of names)."""
from __future__ import annotations

from importlib import resources
from typing import Any, List, Optional, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from ..errors import ConfigError, InfeasibleError

MAX_BODY = 64 * 1024  # bytes: a form plus a pasted config.json
STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript"),
          "/serve.js": ("serve.js", "text/javascript"), "/style.css": ("style.css", "text/css")}


class TrainRequest(BaseModel):
    """Inputs of a training run; each value is checked by the scenario loader (its message comes back on 400)."""

    model: Optional[str] = None
    hf_config: Optional[dict] = None
    seq_len: Optional[Any] = None
    cluster: Optional[str] = None
    node: Optional[str] = None
    nodes: Optional[Any] = None
    fabric: Optional[str] = None
    tp_size: Optional[Any] = None
    pp_size: Optional[Any] = None
    dp_size: Optional[Any] = None
    zero_stage: Optional[Any] = None
    microbatch_size: Optional[Any] = None
    precision: Optional[str] = None
    recompute: Optional[str] = None
    stack: Optional[str] = None
    best_layout: bool = False
    tokens: Optional[Any] = None
    datacenter: Optional[str] = None
    grid: Optional[str] = None
    samples: int = 200


Num = Union[int, float, str, None]  # a string reaches the solver, whose message says what to write


class ServeRequest(BaseModel):
    """Inputs of a serving deployment; defaults in web/serve.py. SLOs in ms at `percentile`; the QPS is split
    equally over `datacenters` (at most 4); `plan` adds a ranking of plans from a bounded search. Traffic beyond
    Poisson: `arrival_cv` (inter-arrival CV), `output_cv`, `load_profile` (shares of the peak QPS, a list or
    comma-separated text). Speculative decoding: `draft_model` (a language model) or `mtp_depth`, with
    `draft_acceptance_rate` and optionally `draft_tokens` (as ServingLoadModel takes them)."""

    model: Optional[str] = None
    hardware: Optional[str] = None
    precision: Optional[str] = None
    tp_size: Num = None
    pp_size: Num = None
    qps: Num = None
    input_len: Num = None
    output_len: Num = None
    ttft_slo_ms: Num = None
    tpot_slo_ms: Num = None
    percentile: Union[float, str, None] = None
    datacenters: Optional[List[str]] = None
    rent_usd_per_gpu_hour: Num = None
    arrival_cv: Num = None
    output_cv: Num = None
    load_profile: Union[List[float], str, None] = None
    draft_model: Optional[str] = None
    mtp_depth: Num = None
    draft_acceptance_rate: Num = None
    draft_tokens: Num = None
    plan: bool = True
    plan_hardware: Optional[List[str]] = None
    plan_precisions: Optional[List[str]] = None
    plan_tp_sizes: Optional[List[int]] = None
    objective: Optional[str] = None
    budget_usd: Num = None


class _BodyLimit:
    """ASGI middleware: refuse bodies over MAX_BODY bytes with 413 (by Content-Length, and while streaming)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _too_large(send)
        seen = 0

        async def limited():
            nonlocal seen
            msg = await receive()
            seen += len(msg.get("body", b""))
            if seen > MAX_BODY:
                raise _TooLarge()
            return msg
        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send):
    body = b'{"error": {"kind": "too_large", "message": "request body over 64 KiB"}}'
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _error(status: int, kind: str, message: str) -> JSONResponse:
    from ..cli._common import one_line
    return JSONResponse({"error": {"kind": kind, "message": one_line(message)}}, status_code=status)


def create_app() -> FastAPI:
    from .. import __version__
    app = FastAPI(title="mlsysim web calculator", version=__version__,
                  description="Training runs (time, MFU, energy, carbon, cost) and serving deployments (replicas, "
                              "GPUs, $/M tokens, Wh and gCO2e per request), on mlsysim's solvers.")
    app.add_middleware(_BodyLimit)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError):
        return _error(400, "bad_input", str(exc))

    @app.exception_handler(InfeasibleError)
    async def _infeasible(request: Request, exc: InfeasibleError):  # "find the best layout" found none
        return _error(422, "infeasible", str(exc))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):  # JSON the page can show, never a traceback
        return _error(500, "internal", f"internal error ({type(exc).__name__}): please report this input")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):  # the input itself is not echoed
        parts = [f"{'.'.join(str(x) for x in e.get('loc', ()) if x != 'body')}: {e.get('msg', '')}"
                 for e in exc.errors()]
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.post("/api/train", summary="Evaluate a training run")
    def train(req: TrainRequest):
        """Headline numbers with formulas, step-time breakdown, memory, 90 % range, the run in the lowest-carbon
        and cheapest regions, everyday equivalents, a citation, and the scenario YAML."""
        from .compute import train as run
        return run(req.model_dump(exclude_none=True))

    @app.post("/api/serve", summary="Evaluate a serving deployment")
    def serve(req: ServeRequest):
        """Replicas and GPUs for the traffic within the TTFT/TPOT targets, tokens/s per GPU, $/M tokens, Wh and
        gCO2e per request in each region, the binding constraint, and a short ranking of plans."""
        from .serve import serve as run
        return run(req.model_dump(exclude_unset=True))  # an explicit null SLO means "no target"

    @app.post("/api/serve-plan", summary="Rank serving plans (bounded search)")
    def serve_plan(req: ServeRequest):
        """The cheapest (objective=cost), fewest-GPU or lowest-carbon fleets meeting the targets; `error` holds the
        closest TTFT/TPOT reached when none does."""
        from .serve import plan as run
        return run(req.model_dump(exclude_unset=True))  # an explicit null SLO means "no target"

    @app.get("/api/options", summary="Registry names for the form's choices")
    def options():
        return _options()

    @app.get("/api/health")
    def health():
        return {"ok": True, "version": __version__}

    for path, (name, media) in STATIC.items():
        app.add_api_route(path, _static(name, media), methods=["GET"], include_in_schema=False)
    return app


def _static(name: str, media: str):
    data = resources.files(__package__).joinpath("static", name).read_bytes()

    def get():
        return Response(data, media_type=media)
    return get


def _options() -> dict:
    from ..hardware.accelerator import PRECISIONS
    from ..hardware.registry import Hardware
    from ..physics.precision import SHORTHAND
    from ..physics.serving_load import Z
    from ..solvers.serving_plan import OBJECTIVES
    from ..infrastructure.registry import Infrastructure
    from ..models.registry import Models
    from ..physics.training import RECOMPUTE
    from ..stacks import Stacks
    from ..systems.registry import Systems
    return {"stacks": Stacks.Training.names(), "models": Models.all_names(),
            "language_models": Models.Language.names(), "clusters": Systems.Clusters.names(), "nodes": Systems.Nodes.names(),
            "fabrics": Systems.Fabrics.names(), "datacenters": Infrastructure.Datacenters.names(),
            "grids": Infrastructure.Grids.names(), "precisions": list(PRECISIONS), "recompute": list(RECOMPUTE),
            "hardware": Hardware.Cloud.names() + Hardware.Edge.names(), "serving_precisions": list(SHORTHAND),
            "percentiles": sorted(Z), "objectives": list(OBJECTIVES)}
