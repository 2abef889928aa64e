"""Each HTTP answer leaves the sandbox in one send (see one_send.py for why)."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import basic_api
from wbadmin.sandbox.one_send import CoalescingTransport


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def test_writes_in_one_loop_step_go_out_together() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert inner.writes == []
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


async def test_close_flushes_and_abort_drops() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"bye")
    transport.close()
    assert inner.writes == [b"bye"] and inner.closed
    other = RecordingTransport()
    other.abort = lambda: setattr(other, "closed", True)
    dropping = CoalescingTransport(other, asyncio.get_running_loop())
    dropping.write(b"never")
    dropping.abort()
    await asyncio.sleep(0)
    assert other.writes == []


def test_the_server_answers_through_the_coalescing_transport(sandbox) -> None:
    query = {"query": "{ serverInfo { features { name } } }"}
    with httpx.Client(base_url=sandbox.base_url) as client:
        for _ in range(3):  # keep-alive: several answers on one connection
            answer = client.post("/graphql", json=query, headers=basic_api("alice"))
            assert answer.status_code == 200
            assert answer.json()["data"]["serverInfo"]["features"]


def test_the_first_read_holds_the_whole_answer(sandbox) -> None:
    """Headers and body arrive in one segment: the first recv() has them all."""
    import json
    import socket

    body = json.dumps({"query": "{ serverInfo { features { name } } }"}).encode()
    auth = basic_api("alice")["Authorization"]
    request = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{sandbox.port}\r\n"
               f"Authorization: {auth}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(request)
            first = sock.recv(1 << 16)
            head, _, rest = first.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            assert len(rest) == length
