"""``vwfund serve``: one WSGI application composed of the routes plugins register, served by waitress.

Plain WSGI with Werkzeug's request/response objects: small, well kept, and enough for a webhook endpoint,
a JSON feed and static pages; no framework state to configure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from vwfund.app import App

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
RouteFactory = Callable[["App"], WSGIApp]


def _index(mounts: list[str]) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path not in ("", "/"):
            return NotFound()(environ, start_response)  # type: ignore[no-any-return]
        body = "vwfund is running. Mounted: " + ", ".join(sorted(mounts)) + "\n"
        return Response(body, mimetype="text/plain")(environ, start_response)  # type: ignore[no-any-return]

    return app


def build_wsgi_app(app: App) -> WSGIApp:
    """Ask every plugin for its routes and mount them under their prefixes."""
    mounts: dict[str, WSGIApp] = {}

    def register(prefix: str, factory: RouteFactory) -> None:
        prefix = "/" + prefix.strip("/")
        if prefix in mounts:
            raise ValueError(f"two plugins want the path {prefix}")
        mounts[prefix] = factory(app)

    app.plugins.hook.register_routes(register=register)
    return DispatcherMiddleware(_index(list(mounts)), mounts)  # type: ignore[arg-type]


def serve(app: App, host: str, port: int, threads: int = 8) -> None:
    """Serve the composed application with waitress (a production WSGI server) until stopped."""
    import waitress

    waitress.serve(build_wsgi_app(app), host=host, port=port, threads=threads, ident="vwfund")
