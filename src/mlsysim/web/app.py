"""FastAPI app: the JSON API (/api/..., documented at /docs) and the one static page. No file is read or written
outside the package's own static files (served from a fixed list of names)."""
from __future__ import annotations

from importlib import resources
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from ..errors import ConfigError

MAX_BODY = 64 * 1024  # bytes: a form plus a pasted config.json
STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript"),
          "/style.css": ("style.css", "text/css")}


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
    best_layout: bool = False
    tokens: Optional[Any] = None
    datacenter: Optional[str] = None
    grid: Optional[str] = None
    samples: int = 200


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
                  description="Training time, MFU, energy, carbon and cost of a run, on mlsysim's solvers.")
    app.add_middleware(_BodyLimit)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError):
        return _error(400, "bad_input", str(exc))

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
    from ..infrastructure.registry import Infrastructure
    from ..models.registry import Models
    from ..physics.training import RECOMPUTE
    from ..systems.registry import Systems
    return {"models": Models.all_names(), "clusters": Systems.Clusters.names(), "nodes": Systems.Nodes.names(),
            "fabrics": Systems.Fabrics.names(), "datacenters": Infrastructure.Datacenters.names(),
            "grids": Infrastructure.Grids.names(), "precisions": list(PRECISIONS), "recompute": list(RECOMPUTE)}
