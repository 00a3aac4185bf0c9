"""A TCP proxy on loopback that lets requests through but breaks the answers of
its first connections: the server did the work, the client sees a reset.

That is what a client meets when a server drops a connection under load, and
it is the one failure a retry cannot tell from "nothing happened".
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ResetProxy:
    def __init__(self, upstream: tuple[str, int], broken_answers: int) -> None:
        self._upstream = upstream
        self._left = broken_answers
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.broken = 0

    def serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _relay(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self._upstream)
        with self._lock:
            break_it = self._left > 0
            self._left -= int(break_it)
        if break_it:
            self._break_answer(client, upstream)
            return
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        _pump(upstream, client)

    def _break_answer(self, client: socket.socket, upstream: socket.socket) -> None:
        """Pass the request on; reset the client as soon as the answer starts.
        One thread does both, so nothing else holds the client socket open."""
        while True:
            ready, _, _ = select.select([client, upstream], [], [])
            if upstream in ready:
                self.broken += 1
                _reset(client)
                upstream.close()
                return
            data = client.recv(65536)
            if not data:
                client.close()
                upstream.close()
                return
            upstream.sendall(data)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            end.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, as a server dropping the connection does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@contextmanager
def reset_proxy(upstream: tuple[str, int], broken_answers: int) -> Iterator[ResetProxy]:
    proxy = ResetProxy(upstream, broken_answers)
    threading.Thread(target=proxy.serve, daemon=True).start()
    try:
        yield proxy
    finally:
        proxy.close()
