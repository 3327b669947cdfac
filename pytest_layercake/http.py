"""HTTP at the byte level, for requests that a client library would refuse to send; always to 127.0.0.1."""

import socket
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    head: str
    body: bytes


def request(method: str, target: bytes, headers: bytes = b"", body: bytes = b"") -> bytes:
    """Return a raw HTTP/1.1 request that closes the connection after the answer."""
    start = method.encode() + b" " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    return start + headers + b"\r\n" + body


def raw_http(port: int, data: bytes, timeout: float = 5) -> Response | None:
    """Send raw bytes to 127.0.0.1:port and read until the server closes; None if it closed without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # The server may answer and close before reading everything, as it should for a huge body.
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    if not received:
        return None
    head, _, body = received.partition(b"\r\n\r\n")
    return Response(int(head.split()[1]), head.decode("latin-1"), body)


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
