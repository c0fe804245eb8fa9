"""The life cycle the local fakes share: a server on a free loopback port, served by a background thread."""

from __future__ import annotations

import threading
from typing import Any, Self


class LoopbackService:
    """Base of a fake: ``with Fake() as fake:`` (or ``start()``/``stop()``); subclasses build the server."""

    _server: Any = None
    _thread: threading.Thread | None = None

    def _make_server(self) -> Any:
        """A server object with ``serve_forever``, ``shutdown``, ``server_close`` and ``server_address``."""
        raise NotImplementedError

    def start(self) -> Self:
        """Listen on 127.0.0.1 on a free port, in a background thread."""
        if self._server is None:
            self._server = self._make_server()
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the fake listens on."""
        assert self._server is not None, "start the fake first"
        return int(self._server.server_address[1])
