"""No request waits forever: a server that accepts connections and never answers fails a
command within the configured deadline ([network] in config.toml), exit 7, naming the URL."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import key_of
from wbadmin.core.settings import NetworkSettings, load_settings


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback server that accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_server_that_never_answers_fails_in_the_deadline(home, cli, monkeypatch,
                                                           black_hole: str) -> None:
    home.write_config("[network]\nread_timeout_s = 0.4\ngive_up_after_s = 1.0\n"
                      "backoff_base_s = 0.05\n")
    monkeypatch.setenv("WANDB_BASE_URL", black_hole)
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    started = time.monotonic()
    r = cli("sync")
    took = time.monotonic() - started
    assert r.code == 7, r.err
    assert black_hole in r.err and "no answer from" in r.err and len(r.err_lines) == 1
    # Tries of 0.4 s start while under the 1 s deadline: two or three, never the five that
    # max_retries allows. (The bound on `took` is far above that: it checks that it stops.)
    tries = re.search(r"\((\d+) tries\)", r.err)
    assert tries and int(tries.group(1)) in (2, 3)
    assert took < 20


def test_network_settings_are_read_and_checked(home) -> None:
    path = home.write_config("[network]\nconnect_timeout_s = 3\nmax_retries = 1\n")
    net = load_settings(path).network
    assert net == NetworkSettings(connect_timeout_s=3.0, max_retries=1)
    assert net.client_options()["connect_timeout"] == 3.0
    assert net.client_options()["give_up_after"] == 60.0
    bad = home.write_config("[network]\nread_timeout_s = 0\n")
    with pytest.raises(Exception, match="read_timeout_s must be greater than 0"):
        load_settings(bad)


def test_the_defaults_fail_a_dead_server_in_about_a_minute() -> None:
    net = NetworkSettings()
    assert net.connect_timeout_s <= 10 and net.read_timeout_s <= 30
    assert net.give_up_after_s <= 60
