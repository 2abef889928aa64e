"""Write each HTTP answer in one send.

uvicorn writes the status line and headers, then the body, as two `transport.write` calls.
With the SDK's Go HTTP client a split answer can stall ~45 ms per request (Nagle's
algorithm meets delayed ACK). asyncio already sets TCP_NODELAY, and this makes the rule hold
regardless: writes made in one event-loop step are joined and sent together.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class CoalescingTransport:
    """Wraps a transport: `write` buffers; the buffer goes out at the end of the loop step."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []
        self.sends = 0  # underlying writes, for tests

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._buffer:
            self._loop.call_soon(self.flush)
        self._buffer.append(bytes(data))

    def flush(self) -> None:
        if self._buffer and not self._transport.is_closing():
            self.sends += 1
            self._transport.write(b"".join(self._buffer))
        self._buffer.clear()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._buffer.clear()  # a dropped connection sends nothing
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneSendH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, asyncio.get_running_loop()))
