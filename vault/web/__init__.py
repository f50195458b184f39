"""Server-rendered web pages (Jinja2) over the same services as the API.

``install_web(app)`` mounts the static files under /static, adds the page routers and wraps the
error handlers so pages get a Dutch HTML error page while /api keeps its JSON. See docs/web.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["install_web"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def install_web(app: FastAPI) -> None:
    from vault.web.errors import install_web_errors
    from vault.web.public import router as public_router
    from vault.web.routes import ROUTERS

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(public_router)  # the public intake forms, no account (docs/intake.md)
    install_web_errors(app)
