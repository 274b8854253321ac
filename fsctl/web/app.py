"""The UI's ASGI app: every page at its path as HTML and under ``/api`` as JSON, the one
stylesheet, and the one error boundary (:func:`_answer`):

* an unknown page, kind, object or version: 404 (an HTML page; ``{"detail"}`` under /api);
* a parameter that does not parse: 400;
* the registry (or another store) cannot be read: 503, saying what and where;
* anything else is a bug: 500, saying so, with no traceback.

Templates are ``templates/ui/*.html`` (jinja2, autoescape on for every template). Pages are
built on the event loop's thread, one at a time: the stores they read (SQLite, DuckDB) are
then only ever used from one thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fsctl.errors import FsctlError, UsageError
from fsctl.web import pages
from fsctl.web.pages import BadRequest, NotFound, Page, ReadModel
from fsctl.web.security import SecurityMiddleware

if TYPE_CHECKING:
    import jinja2
    from starlette.requests import Request
    from starlette.responses import Response

NAV = (("entities", "Entities"), ("sources", "Sources"), ("sql-sources", "SQL sources"), ("views", "Feature views"),
       ("services", "Feature services"), ("models", "Models"), ("history", "History"))


def require_ui_packages() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"fsctl ui needs the {exc.name or 'fastapi'} package, which is not installed",
            hint="install fsctl with the serve extra: pip install 'fsctl[serve]'",
        ) from None


def templates_environment() -> jinja2.Environment:
    import jinja2

    from fsctl.template_paths import templates_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "ui")),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from fsctl.definitions.values import format_duration

    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.filters["duration"] = lambda seconds: format_duration(int(seconds))
    env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return env


def _at(request: Request) -> int | None:
    text = request.query_params.get("at")
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"?at= must be a registry version number, not {text!r}") from None


def _log_bug(exc: Exception, debug: bool) -> None:
    """A bug goes to the server's stderr: one line, or the traceback with ``--debug``; never
    to the browser."""
    import sys
    import traceback

    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    else:
        print(f"fsctl: internal error: {type(exc).__name__}: {exc} (re-run with --debug for the traceback)",
              file=sys.stderr, flush=True)


def create_app(model: ReadModel, hosts: frozenset[str] | set[str], *, debug: bool = False) -> Any:
    """The UI app over ``model``, answering requests whose Host is in ``hosts``; ``debug``
    logs the traceback of a bug on stderr (the page never shows it)."""
    require_ui_packages()
    from fastapi import FastAPI
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

    from fsctl.template_paths import templates_dir
    from fsctl.version import __version__

    env = templates_environment()
    css_path: Path = templates_dir() / "ui" / "ui.css"

    def link(at: int | None) -> Callable[..., str]:
        def build(path: str, **params: Any) -> str:
            query = {k: v for k, v in params.items() if v is not None}
            if at is not None:
                query.setdefault("at", at)
            return path + (f"?{urlencode(query)}" if query else "")

        return build

    def html(page: Page, status: int = 200, q: str = "", here: str = "/") -> Response:
        template = env.get_template(page.template)
        text = template.render(
            page=page, data=page.data, at=page.at, title=page.title, nav=NAV, url=link(page.at),
            project=model.project.name, version=__version__, q=q, extra=page.extra, here=here,
        )
        return HTMLResponse(text, status_code=status)

    def error(request: Request, api: bool, status: int, heading: str, message: str) -> Response:
        if api:
            return JSONResponse({"detail": message}, status_code=status)
        page = Page("error.html", heading, {"status": status, "heading": heading, "message": message})
        try:
            return html(page, status)
        except Exception:  # noqa: BLE001 - the error page itself failed: plain text, still no traceback
            return PlainTextResponse(f"{status} {heading}: {message}", status_code=status)

    def _answer(request: Request, build: Callable[[Request], Page], api: bool) -> Response:
        """The one error boundary of the UI."""
        try:
            page = build(request)
            if api:
                return JSONResponse(json.loads(json.dumps(page.data, default=str)))
            q = request.query_params.get("q", "") if page.template == "search.html" else ""
            return html(page, q=q, here=request.url.path)
        except NotFound as exc:
            return error(request, api, 404, "Not found", str(exc))
        except BadRequest as exc:
            return error(request, api, 400, "Bad request", str(exc))
        except UsageError as exc:  # a name or version the services do not know
            return error(request, api, 404, "Not found", exc.message)
        except FsctlError as exc:  # the registry, the state or a store cannot be read
            hint = f" ({exc.hint})" if exc.hint else ""
            return error(request, api, 503, "The registry cannot be read", f"{exc.message}{hint}")
        except Exception as exc:  # noqa: BLE001 - the boundary: anything else is a bug
            _log_bug(exc, debug)
            return error(
                request, api, 500, "Internal error",
                f"{type(exc).__name__}: this is a bug in fsctl; please report it (the server's log "
                "has the details when run with --debug).",
            )

    app = FastAPI(title="fsctl ui", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)

    def add(path: str, build: Callable[[Request], Page]) -> None:
        async def page_route(request: Request) -> Response:
            return _answer(request, build, api=False)

        async def api_route(request: Request) -> Response:
            return _answer(request, build, api=True)

        app.add_route(path, page_route, methods=["GET"])
        app.add_route("/api" + (path if path != "/" else ""), api_route, methods=["GET"])
        if path == "/":
            app.add_route("/api/", api_route, methods=["GET"])

    async def stylesheet(request: Request) -> Response:
        return Response(css_path.read_bytes(), media_type="text/css",
                        headers={"cache-control": "max-age=300"})

    app.add_route("/static/ui.css", stylesheet, methods=["GET"])

    def p(request: Request, key: str) -> str:
        return str(request.path_params[key])

    add("/", lambda r: pages.overview(model, _at(r)))
    add("/search", lambda r: pages.search(model, r.query_params.get("q", ""), _at(r)))
    add("/history", lambda r: pages.history(model, _at(r)))
    add("/history/diff", lambda r: pages.history_diff(model, r.query_params.get("a"), r.query_params.get("b")))
    add("/lineage/{word}/{name}", lambda r: pages.lineage_page(model, p(r, "word"), p(r, "name"), _at(r)))
    add("/views/{name}/stats", lambda r: pages.view_stats_page(
        model, p(r, "name"), _at(r), r.query_params.get("start"), r.query_params.get("end")))
    add("/{word}", lambda r: pages.object_list(model, p(r, "word"), _at(r)))
    add("/{word}/{name}", lambda r: pages.detail(model, p(r, "word"), p(r, "name"), _at(r)))
    add("/{word}/{name}/history", lambda r: pages.object_history(model, p(r, "word"), p(r, "name"), _at(r)))

    async def not_found(request: Request, exc: Exception) -> Response:
        api = request.url.path.startswith("/api/") or request.url.path == "/api"
        return error(request, api, 404, "Not found", f"no such page: {request.url.path}")

    async def bug(request: Request, exc: Exception) -> Response:
        _log_bug(exc, debug)
        return error(request, False, 500, "Internal error", "this is a bug in fsctl; please report it.")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(Exception, bug)
    return SecurityMiddleware(app, hosts)
