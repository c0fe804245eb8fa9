"""The live walk pages under ``vwfund serve`` (mounted at ``/walk``): the same pages as the static site,
rendered from the store on each request, and ``totals.json``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from vwfund.app import App
from vwfund.campaigns.walk.editions import SLUG
from vwfund.campaigns.walk.pages import STYLESHEET, stylesheet
from vwfund.campaigns.walk.service import render_page
from vwfund.errors import VwfundError
from vwfund.money import SUPPORTED_LOCALES
from vwfund.web import WSGIApp

PREFIX = "/walk"
_PAGE = re.compile(r"^/(teams|walkers)/([^/]+)\.html$")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _respond(request: Request, app: App) -> Response:
    path = request.path
    if not request.environ.get("PATH_INFO"):
        return redirect(request.script_root + "/", 308)  # relative links need the trailing slash
    if path == f"/{STYLESHEET}":
        return Response(stylesheet(), mimetype="text/css")
    lang = request.args.get("lang")
    lang = lang if lang in SUPPORTED_LOCALES else None
    if path in ("/", "/index.html"):
        return Response(render_page(app, "index", locale=lang), mimetype="text/html")
    if path == "/totals.json":
        return Response(render_page(app, "totals", locale=lang), mimetype="application/json")
    match = _PAGE.match(path)
    if not match or not SLUG.match(match.group(2)):
        raise NotFound()
    kind, slug = match.groups()
    page = render_page(app, kind[:-1], slug, locale=lang)
    if page is None:
        raise NotFound()
    return Response(page, mimetype="text/html")


def make_wsgi_app(app: App) -> WSGIApp:
    """The WSGI application of the live pages."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = _respond(request, app)
        except HTTPException as exc:
            response = exc.get_response(environ)  # type: ignore[assignment]
        except VwfundError as exc:
            response = Response(f"{exc}\n", status=503, mimetype="text/plain")
        response.headers.update(HEADERS)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response(environ, start_response)  # type: ignore[no-any-return]

    return wsgi
