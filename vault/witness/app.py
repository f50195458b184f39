"""The witness's HTTP service (C2SP tlog-witness): ``POST /add-checkpoint`` and the monitoring read.

A small Starlette app; ``vault witness serve`` runs it with uvicorn. The request body is read with a
cap before any parsing, so a large body is refused (413) without being held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from vault.witness.keys import load_or_create_key
from vault.witness.service import MAX_BODY, Answer, KnownLog, Witness
from vault.witness.state import WitnessState

__all__ = ["create_witness_app"]


def _response(answer: Answer) -> Response:
    return PlainTextResponse(
        answer.body,
        status_code=answer.status,
        headers={"Content-Type": answer.content_type, "Cache-Control": "no-store"},
    )


async def _read_capped(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _closing(witness: Witness) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            witness.state.close()

    return lifespan


def create_witness_app(directory: Path, logs: list[KnownLog], *, name: str | None = None) -> Starlette:
    """The witness app over its own directory (key and state), cosigning the given logs only."""
    witness = Witness(load_or_create_key(directory, name), WitnessState(directory), logs)

    async def add_checkpoint(request: Request) -> Response:
        body = await _read_capped(request)
        if body is None:
            return _response(Answer(413, "request too large\n"))
        return _response(witness.add_checkpoint(body))

    async def latest(request: Request) -> Response:
        return _response(witness.latest(request.path_params["origin_hash"]))

    async def healthz(request: Request) -> Response:
        return _response(Answer(200, witness.key.verifier_key + "\n"))

    app = Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/{origin_hash:str}/checkpoint", latest, methods=["GET"]),
        ],
        lifespan=_closing(witness),
    )
    app.state.witness = witness
    return app
