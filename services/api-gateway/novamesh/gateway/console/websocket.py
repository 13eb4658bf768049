"""RFC 6455 websocket framing over asyncio streams: the opening handshake's accept key and
frames in both directions. Both roles are here because the tests speak the client side."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from dataclasses import dataclass

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA
_CONTROL = frozenset({CLOSE, PING, PONG})
_KNOWN = frozenset({CONTINUATION, TEXT, BINARY}) | _CONTROL

# Close codes (RFC 6455 section 7.4.1).
NORMAL = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
TOO_BIG = 1009

# A console is a byte stream: frames this large mean a broken or hostile peer.
MAX_PAYLOAD = 4 * 1024 * 1024


class ProtocolError(Exception):
    def __init__(self, message: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def _mask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    # XOR as one big integer: far faster than a byte loop for console-sized chunks.
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(n, "big")


def encode(opcode: int, payload: bytes = b"", *, masked: bool = False, fin: bool = True) -> bytes:
    """One frame. Clients must mask what they send; servers must not."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + _mask(payload, key)


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()[:120]


async def read_frame(reader: asyncio.StreamReader, *, from_client: bool) -> Frame:
    """The next frame; IncompleteReadError when the peer went away mid-frame or before it."""
    b0, b1 = await reader.readexactly(2)
    if b0 & 0x70:
        raise ProtocolError("reserved bits set without a negotiated extension")
    opcode = b0 & 0x0F
    fin = bool(b0 & 0x80)
    if opcode not in _KNOWN:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    masked = bool(b1 & 0x80)
    if masked != from_client:
        raise ProtocolError("client frames must be masked and server frames must not be")
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    if opcode in _CONTROL and (n > 125 or not fin):
        raise ProtocolError("control frames are short and never fragmented")
    if n > MAX_PAYLOAD:
        raise ProtocolError(f"frame of {n} bytes is over {MAX_PAYLOAD}", TOO_BIG)
    key = await reader.readexactly(4) if masked else b""
    payload = await reader.readexactly(n)
    return Frame(opcode, _mask(payload, key) if masked else payload, fin)
