"""The live feed for the website's widget, mounted by ``vwfund serve`` under ``/crowdfunding``:

* ``GET /crowdfunding/<CODE>.json``: the campaign's status (:meth:`CampaignStatus.to_json`);
* ``GET /crowdfunding/<CODE>.svg``: its thermometer.

Both are computed from the store on every request (a gift saved by a webhook shows at once), carry no
personal data, and may be read from any origin (``Access-Control-Allow-Origin: *``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from vwfund.campaigns.crowdfunding.status import read_status
from vwfund.campaigns.crowdfunding.thermometer import render_thermometer
from vwfund.errors import InputError

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.web import WSGIApp

PREFIX = "/crowdfunding"
_PATH = re.compile(r"^/(?P<code>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})\.(?P<ext>json|svg)$")
_HEADERS = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json",
                    headers=_HEADERS)


def make_feed_app(app: App) -> WSGIApp:
    """The WSGI application serving the feed (paths relative to the ``/crowdfunding`` prefix)."""
    locale = app.config.locale
    _ = app.store  # open the store once, before requests arrive on several threads

    def feed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        match = _PATH.match(request.path)
        if match is None:
            response = _json({"error": "not found: use /crowdfunding/<CODE>.json or .svg"}, 404)
        elif request.method not in ("GET", "HEAD"):
            response = _json({"error": "method not allowed"}, 405)
            response.headers["Allow"] = "GET, HEAD"
        else:
            try:
                status = read_status(app, match["code"])
            except InputError:
                response = _json({"error": "no such crowdfunding campaign"}, 404)
            else:
                if match["ext"] == "json":
                    response = _json(status.to_json())
                else:
                    response = Response(render_thermometer(status, locale), mimetype="image/svg+xml",
                                        headers=_HEADERS)
        return response(environ, start_response)  # type: ignore[no-any-return]

    return feed
