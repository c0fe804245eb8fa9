"""The live walk pages under ``vwfund serve`` (mounted at ``/walk``): the same pages as the static site,
rendered from the store, and ``totals.json``.

Team and walker pages read only their own part of the store on each request. The index and totals.json read
the whole edition, so each is kept for ``[walk] live_cache_seconds`` (default 30; 0 turns this off)."""

from __future__ import annotations

import re
import threading
import time
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


class PageCache:
    """Pages kept for a few seconds, shared by the server's threads."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._pages: dict[tuple[str, str | None], tuple[float, str | None]] = {}

    def get(self, key: tuple[str, str | None], make: Callable[[], str | None]) -> str | None:
        """The kept page, or a fresh one from ``make`` (kept when caching is on)."""
        if self.seconds <= 0:
            return make()
        now = time.monotonic()
        with self._lock:
            kept = self._pages.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        page = make()
        with self._lock:
            self._pages[key] = (now + self.seconds, page)
        return page


def _respond(request: Request, app: App, cache: PageCache) -> Response:
    path = request.path
    if not request.environ.get("PATH_INFO"):
        return redirect(request.script_root + "/", 308)  # relative links need the trailing slash
    if path == f"/{STYLESHEET}":
        return Response(stylesheet(), mimetype="text/css")
    lang = request.args.get("lang")
    lang = lang if lang in SUPPORTED_LOCALES else None
    if path in ("/", "/index.html"):
        return Response(cache.get(("index", lang), lambda: render_page(app, "index", locale=lang)),
                        mimetype="text/html")
    if path == "/totals.json":
        return Response(cache.get(("totals", lang), lambda: render_page(app, "totals", locale=lang)),
                        mimetype="application/json")
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
    cache = PageCache(app.config.get_int("walk", "live_cache_seconds", 30))

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = _respond(request, app, cache)
        except HTTPException as exc:
            response = exc.get_response(environ)  # type: ignore[assignment]
        except VwfundError as exc:
            response = Response(f"{exc}\n", status=503, mimetype="text/plain")
        response.headers.update(HEADERS)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response(environ, start_response)  # type: ignore[no-any-return]

    return wsgi
