"""The bytes on numnet's own connections to the workers: raw arrays, fixed headers, no pickle.

Shared by :mod:`numnet.distributed.channels` (client <-> worker) and
:mod:`numnet.distributed.peers` (worker <-> worker).
"""

import json
import math
import socket
import struct

import numpy as np


def receive(sock, n_bytes, alive=None):
    """Exactly ``n_bytes`` from ``sock`` (EOFError when the peer hung up first).

    On a socket with a timeout, ``alive()`` is asked at each timeout whether to keep waiting
    (a long step) or to give up with ``TimeoutError`` (its worker is gone without a word).
    """
    buffer = bytearray(n_bytes)
    view, got = memoryview(buffer), 0
    while got < n_bytes:
        try:
            n = sock.recv_into(view[got:])
        except TimeoutError:
            if alive is not None and alive():
                continue
            raise
        if n == 0:
            raise EOFError("the connection was closed")
        got += n
    return buffer


def kind_of(value):
    """One byte for the type of a loss sum, so the client gets the same type back."""
    if isinstance(value, np.generic):
        return ord(value.dtype.char)
    return 1  # a Python float


def value_of(kind, value):
    """The loss sum ``value`` (a float) back in the type :func:`kind_of` named."""
    return value if kind == 1 else np.dtype(chr(kind)).type(value)


def pack(header, arrays=()):
    """A JSON header (with each array's dtype and shape) and the arrays' bytes."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
    text = json.dumps(header, default=_plain).encode()
    return b"".join([struct.pack("<q", len(text)), text, *(a.tobytes() for a in arrays)])


_MAX_HEADER = 1 << 24  # bytes of JSON: settings, names and array shapes, never data


def _plain(value):
    """NumPy scalars in a header as Python numbers (a schedule may set an np.float32 rate)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot go in a message header")


def unpack(read):
    """The header and the arrays of :func:`pack`, read with ``read(n_bytes)``."""
    (length,) = struct.unpack("<q", read(8))
    if not 0 < length <= _MAX_HEADER:
        raise ValueError(f"a message header of {length} bytes")
    header = json.loads(bytes(read(length)))
    arrays = []
    for dtype, shape in header.pop("arrays"):
        dtype = np.dtype(dtype)
        if dtype.kind not in "fiu" or not dtype.isnative:
            raise ValueError(f"unexpected array type {dtype!r}")
        n_bytes = dtype.itemsize * math.prod(shape)
        arrays.append(np.frombuffer(read(n_bytes), dtype=dtype).reshape(shape).copy())
    return header, arrays


def keepalive(sock):
    """TCP keepalive: a peer whose machine went away is noticed within minutes."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 6)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def sums_bytes(results, dtype):
    """Loss and gradient sums for the wire: per result a type byte (0: none), value, gradient.

    ``results``: ``None`` (no rows) or ``(value, gradient)`` each, in partition order.
    """
    pieces = []
    for result in results:
        if result is None:
            pieces.append(b"\x00")
        else:
            value, grad = result
            pieces += [struct.pack("<Bd", kind_of(value), value),
                       np.ascontiguousarray(grad, dtype=dtype).tobytes()]
    return b"".join(pieces)


def read_sums(data, offset, count, params):
    """``count`` results of :func:`sums_bytes` from ``data`` at ``offset``; and the end offset.

    The gradients are views into ``data``, in ``params``' dtype and size.
    """
    results = []
    for _ in range(count):
        kind = data[offset]
        offset += 1
        if kind:
            (value,) = struct.unpack_from("<d", data, offset)
            grad = np.frombuffer(data, dtype=params.dtype, count=params.size, offset=offset + 8)
            results.append((value_of(kind, value), grad))
            offset += 8 + params.nbytes
        else:
            results.append(None)
    return results, offset
