"""The panel's web application (Starlette): pages, actions, server-sent events, reports.

Why Starlette: a small, well-kept ASGI toolkit with routing, static files from a package,
streaming responses (server-sent events need nothing more) and a test client; Jinja2 is
already the reports' template engine. Served by uvicorn (pure-Python wheels with ``h11``,
Linux and Windows). Server-sent events rather than WebSockets: the state flows one way (server
to tabs), actions are plain POSTs, and ``EventSource`` reconnects by itself after a reload or a
dropped connection.

Every POST answers with the new state's regions (the acting tab shows them at once) or with a
one-line error (HTTP 400/409); every other tab gets the same state from its event stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bench.panel import i18n
from bench.panel.controller import PanelController
from bench.panel.state import PanelConflict
from bench.panel.view import PageView

log = logging.getLogger(__name__)

#: a burst of runner events becomes at most this many updates per second per tab
MAX_UPDATES_PER_S = 10.0
KEEPALIVE_S = 15.0
LANG_COOKIE = "isobench_lang"


class BadRequest(Exception):
    """An action with missing or malformed fields (HTTP 400); one line."""


def _lang(request: Request) -> str:
    return i18n.choose(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language", ""),
    )


def create_app(controller: PanelController, view: PageView) -> Starlette:
    state = controller.state
    view.open_lots = controller.open_lots

    def payload(lang: str) -> dict[str, Any]:
        snapshot = state.snapshot()
        return {
            "version": snapshot["version"],
            "phase": snapshot["phase"],
            "regions": view.regions(snapshot, lang),
        }

    async def page(request: Request) -> Response:
        lang = _lang(request)
        response = HTMLResponse(view.page(state.snapshot(), lang))
        if request.query_params.get("lang") in i18n.LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict")
        return response

    async def api_state(request: Request) -> Response:
        return JSONResponse(state.snapshot())

    async def events(request: Request) -> Response:
        lang = _lang(request)

        async def stream() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            changed = asyncio.Event()
            unsubscribe = state.subscribe(lambda: loop.call_soon_threadsafe(changed.set))
            try:
                sent = -1
                while not controller.closing:
                    changed.clear()
                    message = payload(lang)
                    if message["version"] != sent:
                        sent = message["version"]
                        yield f"data: {json.dumps(message)}\n\n"
                        await asyncio.sleep(1.0 / MAX_UPDATES_PER_S)
                        if changed.is_set():
                            continue
                    try:
                        await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                unsubscribe()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def action(handler: Any) -> Any:
        """POST with a JSON body: run the handler, answer with the new regions or the error."""

        async def endpoint(request: Request) -> Response:
            lang = _lang(request)
            refused = _cross_site(request)
            if refused:
                return JSONResponse({"error": refused}, status_code=403)
            try:
                data = await request.json() if await request.body() else {}
                if not isinstance(data, dict):
                    raise BadRequest("the body must be a JSON object")
                await asyncio.to_thread(handler, data)
            except PanelConflict as exc:
                return JSONResponse({"error": str(exc), **payload(lang)}, status_code=409)
            except (BadRequest, ValueError) as exc:
                return JSONResponse({"error": str(exc), **payload(lang)}, status_code=400)
            except Exception as exc:  # a bug: one line to the tab, the details in the log
                from bench.errors import one_line

                log.exception("panel action %s failed", request.url.path)
                text = f"internal error: {one_line(exc)}"
                state.refuse(text)
                return JSONResponse({"error": text, **payload(lang)}, status_code=500)
            return JSONResponse(payload(lang))

        return endpoint

    def operator(data: dict[str, Any]) -> None:
        lot = data.get("lot")
        controller.set_operator(_text(data, "name"), None if lot is None else str(lot))

    def open_lot(data: dict[str, Any]) -> None:
        try:
            lot_size = int(str(data.get("lot_size", "")).strip())
            aql = float(str(data.get("aql", "")).replace(",", ".").strip())
        except ValueError:
            raise BadRequest("lot: give the lot size as a whole number and the AQL in %") from None
        if not math.isfinite(aql):
            raise BadRequest("lot: the AQL must be a number in %, e.g. 1.0")
        try:
            controller.open_lot(
                lot_size,
                aql,
                _text(data, "supplier"),
                str(data.get("level") or "II"),
                str(data.get("lot_id") or "").strip(),
            )
        except PanelConflict:
            raise
        except Exception as exc:
            from bench.errors import one_line

            text = f"lot not opened: {one_line(exc)}"
            state.refuse(text)
            raise PanelConflict(text) from None

    def choose_lot(data: dict[str, Any]) -> None:
        controller.choose_lot(str(data.get("lot_id") or ""))

    def scan(data: dict[str, Any]) -> None:
        controller.scan(_text(data, "serial"))

    def start(data: dict[str, Any]) -> None:
        try:
            controller.start(str(data.get("serial") or ""))
        except PanelConflict as exc:
            state.refuse(str(exc))
            raise

    def abort(data: dict[str, Any]) -> None:
        reason = str(data.get("reason") or "aborted by the operator at the panel")
        if not controller.abort(reason):
            raise PanelConflict("abort: no run is active")

    async def report(request: Request) -> Response:
        path = controller.report_file(request.path_params["run_id"], request.path_params["kind"])
        if path is None or not path.is_file():
            return JSONResponse({"error": "no such report"}, status_code=404)
        return FileResponse(path)

    routes = [
        Route("/", page),
        Route("/api/state", api_state),
        Route("/api/events", events),
        Route("/api/operator", action(operator), methods=["POST"]),
        Route("/api/lot", action(choose_lot), methods=["POST"]),
        Route("/api/lots", action(open_lot), methods=["POST"]),
        Route("/api/setup", action(lambda data: state.edit_setup()), methods=["POST"]),
        Route("/api/scan", action(scan), methods=["POST"]),
        Route("/api/start", action(start), methods=["POST"]),
        Route("/api/cancel", action(lambda data: controller.cancel()), methods=["POST"]),
        Route("/api/abort", action(abort), methods=["POST"]),
        Route("/runs/{run_id}/{kind}", report),
        Mount("/static", StaticFiles(packages=[("bench.panel", "static")]), name="static"),
    ]
    return Starlette(routes=routes)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key}: missing; fill it in")
    return value


def _cross_site(request: Request) -> str:
    """Refuse actions from another site's page (a browser sends its Origin): the panel drives
    a bench, so only its own pages may press its buttons."""
    origin = request.headers.get("origin")
    if origin is None:
        return ""
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1] != host:
        return f"action refused: it came from {origin}, not from this station's page"
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return "action refused: send JSON"
    return ""
