"""``vwfund serve``: one WSGI application composed of the routes plugins register, served by waitress.

Plain WSGI with Werkzeug's request/response objects: small, well kept, and enough for a webhook endpoint,
a JSON feed and static pages; no framework state to configure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Request, Response

from vwfund.errors import VwfundError

if TYPE_CHECKING:
    from vwfund.app import App

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
RouteFactory = Callable[["App"], WSGIApp]
log = logging.getLogger(__name__)


def _index(mounts: list[str], skipped: dict[str, str]) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path not in ("", "/"):
            return NotFound()(environ, start_response)  # type: ignore[no-any-return]
        lines = ["vwfund is running. Mounted: " + (", ".join(sorted(mounts)) or "nothing")]
        lines += [f"Not mounted: {prefix} ({why})" for prefix, why in sorted(skipped.items())]
        return Response("\n".join(lines) + "\n", mimetype="text/plain")(environ, start_response)  # type: ignore[no-any-return]

    return app


def build_wsgi_app(app: App) -> WSGIApp:
    """The composed application of every plugin's routes (see :func:`compose_routes`)."""
    return compose_routes(app)[0]


def compose_routes(app: App) -> tuple[WSGIApp, dict[str, str]]:
    """Ask every plugin for its routes and mount them under their prefixes.

    A route whose plugin is not configured for it (e.g. no webhook secret) is skipped and reported, so the
    other plugins' routes are still served. Returns the application and the skipped prefixes with reasons.
    """
    mounts: dict[str, WSGIApp] = {}
    skipped: dict[str, str] = {}

    def register(prefix: str, factory: RouteFactory) -> None:
        prefix = "/" + prefix.strip("/")
        if prefix in mounts:
            raise ValueError(f"two plugins want the path {prefix}")
        try:
            mounts[prefix] = factory(app)
        except VwfundError as exc:
            skipped[prefix] = str(exc)
            log.warning("not serving %s: %s", prefix, exc)

    app.plugins.hook.register_routes(register=register)
    return DispatcherMiddleware(_index(list(mounts), skipped), mounts), skipped  # type: ignore[arg-type]


def serve(app: App, host: str, port: int, threads: int = 8) -> dict[str, str]:
    """Serve the composed application with waitress (a production WSGI server) until stopped."""
    import waitress

    wsgi, skipped = compose_routes(app)
    waitress.serve(wsgi, host=host, port=port, threads=threads, ident="vwfund")
    return skipped
