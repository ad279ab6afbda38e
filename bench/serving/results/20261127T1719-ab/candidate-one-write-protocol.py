"""uvicorn's httptools protocol with each response's head and body handed to the socket in one write.

uvicorn writes the head of a response when the app sends `http.response.start` and the body when it
sends `http.response.body`: two `write` calls, so two TCP segments (the socket has TCP_NODELAY), and
a client that reads the head, wakes again and reads the body. Here the first write of a loop pass is
held until the next one, which goes out with it; a write that nothing follows (a HEAD answer, a
`100 Continue`) goes out at the end of the loop pass, and before the connection closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteHttpToolsProtocol"]


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` over a transport that joins a response's head and body (`http=` of uvicorn.Config)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_JoiningTransport(transport, self.loop))  # type: ignore[arg-type]


class _JoiningTransport:
    """The connection's transport, holding one write until the next one (or the end of the loop pass)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
            return
        held, self._held = self._held, None
        self._transport.write(held + data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
