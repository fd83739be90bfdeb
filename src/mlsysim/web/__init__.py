"""The web calculator: `mlsysim app` serves training and serving forms and a JSON API (FastAPI) on the same solvers.

fastapi is imported only by `create_app` / `serve`, so `import mlsysim` stays light.
"""
from __future__ import annotations


def create_app():
    """The FastAPI application (needs the `web` extra: pip install 'mlsysim[web]')."""
    from .app import create_app as _create
    return _create()


def serve(host: str = "127.0.0.1", port: int = 8000):
    """Run the app with uvicorn until interrupted."""
    import uvicorn
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
