"""Direct connections to the workers: a data-parallel step without the scheduler.

Through the scheduler, every step is a task per worker: client -> scheduler -> workers ->
client, about 20-40 ms on a loaded machine, whatever the step computes. A
:class:`WorkerChannels` opens, once per fit, one TCP connection from the client to a thread on
each worker that holds partitions (started by one task per worker, which hands it the
worker's partitions, a copy of the network and the loss)::

    once:      client --task--> worker w: start a thread listening on w's host; (host, port)
               client --connect, 32-byte token--> thread (anything else is hung up on)
    per step:  client --> each thread:  theta, the batch's row indices of each of its partitions
               thread:  (W_k L_k, W_k g_k) of each of its partitions   (partition_sums)
               client <-- each thread:  those sums, and the seconds they took
               client:  adds them in partition order                  (reduce_sums)

The workers compute exactly what the task path computes (:func:`partition_sums`, each
partition separately) and the client adds the sums in the same order, so a step gives the
same numbers bit for bit, through the channel or through the scheduler. The messages are raw
arrays with fixed headers (no pickle): a connection can only ask for sums.

Whenever the channel fails (a worker died, a connection was refused or cut, a step raised on
a worker) it is closed for good and that step and all later ones go through the scheduler
(:func:`sums_by_worker`), which recomputes lost partitions, raises a worker's error as the
task path does, or says that the scheduler is gone. Channels are not used over TLS or
transports other than TCP (the step goes through the scheduler, as before).
"""

import copy
import functools
import hmac
import secrets
import selectors
import socket
import struct
import threading
import time

import numpy as np

from . import peers as peer_epochs
from .objective import partition_sums, placement, sums_by_worker
from .wire import keepalive, pack, read_sums, receive, sums_bytes, unpack

_STEP, _STEP_WORKER, _CLOSE, _PEERS, _EPOCH, _STOP = 1, 2, 0, 3, 4, 5
_POLL_SECONDS = 0.2   # how often a client waiting for a peer epoch looks at its signals
_OK, _FAILED = 0, 1
_ALL_ROWS = -1
_ACCEPT_SECONDS = 60.0
_WAIT_SECONDS = 10.0  # how often a client waiting for a step asks whether the worker lives


class ChannelError(OSError):
    """A step failed on a worker's channel thread (its message is the worker's error)."""


def _listen_host(address):
    """The host a worker at ``address`` listens on for a channel; None if not TCP."""
    from distributed.comm.addressing import get_address_host, parse_address

    scheme, _ = parse_address(address)
    if scheme == "inproc":  # a worker thread in the client's process
        return "127.0.0.1"
    return get_address_host(address) if scheme == "tcp" else None


def _start_server(template, loss, parts, token):
    """Task, on a worker: start the channel thread for ``parts``; ``(host, port, worker)``.

    None where the worker's transport is not TCP (or no port could be opened).
    """
    from distributed import get_worker

    worker = get_worker().address
    host = _listen_host(worker)
    if host is None:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    peer_listener = socket.socket(family, socket.SOCK_STREAM)  # the other workers (peers.py)
    try:
        for sock, backlog in ((listener, 1), (peer_listener, 64)):
            sock.bind((host, 0))
            sock.listen(backlog)
        listener.settimeout(_ACCEPT_SECONDS)
    except OSError:
        listener.close()
        peer_listener.close()
        return None
    net = copy.deepcopy(template)
    threading.Thread(target=_serve, args=(listener, peer_listener, net, copy.deepcopy(loss),
                                          parts, token),
                     name="numnet-channel", daemon=True).start()
    return host, listener.getsockname()[1], worker, peer_listener.getsockname()[1]


def _serve(listener, peer_listener, net, loss, parts, token):
    """The channel thread: one connection, one request at a time, until it closes.

    Requests: a step's sums (:func:`_step`), connecting to the other workers and running an
    epoch with them (:mod:`numnet.distributed.peers`).
    """
    try:
        conn, _ = listener.accept()
    except OSError:
        peer_listener.close()
        return  # nobody came (the client gave up): the partitions are released
    finally:
        listener.close()
    peers = None
    with conn:
        try:
            conn.settimeout(_ACCEPT_SECONDS)  # the token comes at once, or never
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            keepalive(conn)
            if not hmac.compare_digest(bytes(receive(conn, len(token))), token):
                return
            conn.settimeout(None)
            read = lambda n: receive(conn, n)  # noqa: E731
            ops = (_STEP, _STEP_WORKER, _PEERS, _EPOCH, _STOP)
            while (op := receive(conn, 1)[0]) in ops:
                if op == _PEERS:
                    peers = _connect_peers(read, peer_listener, token, peers)
                    conn.sendall(bytes([_OK if peers is not None else _FAILED]))
                elif op == _EPOCH:
                    poll = _StopPoll(conn)
                    try:
                        reply = peer_epochs.run_epoch(read, net, loss, parts, peers, poll)
                    finally:
                        poll.close()
                    conn.sendall(reply)
                elif op == _STOP:
                    continue  # it came after the epoch had ended
                else:
                    conn.sendall(_step(conn, net, loss, parts, op == _STEP_WORKER))
        except (OSError, EOFError):
            return
        finally:
            peer_listener.close()
            if peers is not None:
                peers.close()


class _StopPoll:
    """``poll()``: whether the client asked a running peer epoch to stop (or hung up), at once.

    A selector (epoll where there is one: no limit on the descriptor's number, as ``select``
    has), registered once for the connection.
    """

    def __init__(self, conn):
        self.conn, self.selector = conn, selectors.DefaultSelector()
        self.selector.register(conn, selectors.EVENT_READ)

    def __call__(self):
        return bool(self.selector.select(0)) and self.conn.recv(1) in (bytes([_STOP]), b"")

    def close(self):
        self.selector.close()


def _connect_peers(read, peer_listener, token, peers):
    """:func:`numnet.distributed.peers.connect`, or None when it fails."""
    if peers is not None:
        peers.close()
    try:
        return peer_epochs.connect(read, peer_listener, token)
    except (OSError, EOFError, ValueError):
        return None


def _worker_sums(net, loss, parts, rows):
    """One ``(W L, W g)`` for the batch rows of all ``parts``, in one pass (None: no rows)."""
    pieces = [(part, r) for part, r in zip(parts, rows, strict=True) if len(r)]
    if not pieces:
        return None
    X = np.concatenate([part[0].take(r, axis=0) for part, r in pieces])
    Y = np.concatenate([part[1].take(r, axis=0) for part, r in pieces])
    w = None if pieces[0][0][2] is None else np.concatenate([part[2][r] for part, r in pieces])
    return partition_sums(net, loss, (X, Y, w), np.arange(X.shape[0]))


def _step(conn, net, loss, parts, per_worker=False):
    """Read one request, compute the partitions' sums (or the worker's): the reply's bytes."""
    params = net.params
    theta = np.frombuffer(receive(conn, params.nbytes), dtype=params.dtype)
    rows = []
    for _ in parts:
        (n_rows,) = struct.unpack("<q", receive(conn, 8))
        rows.append(None if n_rows == _ALL_ROWS else
                    np.frombuffer(receive(conn, 8 * n_rows), dtype=np.int64))
    try:
        started = time.perf_counter()
        np.copyto(params, theta, casting="unsafe")
        if per_worker:
            sums = [_worker_sums(net, loss, parts, rows)]
        else:
            sums = [None if r is not None and len(r) == 0 else partition_sums(net, loss, part, r)
                    for part, r in zip(parts, rows, strict=True)]
        reply = [struct.pack("<Bd", _OK, time.perf_counter() - started),
                 sums_bytes(sums, params.dtype)]
    except Exception as error:  # noqa: BLE001 - the step is taken again through the scheduler
        message = f"{type(error).__name__}: {error}".encode("utf-8", "replace")
        reply = [struct.pack("<BdI", _FAILED, 0.0, len(message)), message]
    return b"".join(reply)


class _Stop:
    """What a client waiting for a peer epoch does at each pause: pass a stop on, check workers.

    ``waiting(worker)`` (``receive``'s ``alive``) sends every worker the stop request once
    ``interrupted()`` is true, and every 10 s asks the scheduler whether all the epoch's
    workers live: one waiting for a peer that is gone would wait as long as that peer.
    """

    def __init__(self, connections, interrupted, alive):
        self.connections, self.interrupted, self.alive = connections, interrupted, alive
        self.sent, self.checked = False, time.monotonic()

    def waiting(self, worker):
        if not self.sent and self.interrupted():
            self.sent = True
            for sock, _, _ in self.connections:
                sock.sendall(bytes([_STOP]))
        if time.monotonic() - self.checked < _WAIT_SECONDS:
            return True
        self.checked = time.monotonic()
        return all(self.alive(other) for _, _, other in self.connections)


class WorkerChannels:
    """Partitions' loss and gradient sums, over direct connections (or through the scheduler).

    ``sums(theta, rows)`` is :func:`sums_by_worker` (same arguments, same results, in
    partition order), taken over the channels while they work. ``through_scheduler=True``
    on a call sends that step through the scheduler anyway (training does it for the first
    step of every epoch, so that a scheduler that went away is noticed there).

    Parameters
    ----------
    client : distributed.Client
    parts : list of distributed.Future
        The partitions (:attr:`DistributedData.parts`).
    template : distributed.Future
        The network, scattered to the workers (:func:`scatter_network`).
    loss : Loss
    direct : bool, default=True
        False: every step through the scheduler (the task path).
    worker_sums : bool, default=False
        For mini-batch steps over the channels: each worker makes one pass over its share of
        the batch (its partitions' rows together) and sends one sum, instead of one pass and
        one sum per partition. Fewer, larger passes and less traffic, but the sum then
        depends on which partitions share a worker, to rounding (a separate option: see
        docs/distributed.md). Full-batch evaluations and steps through the scheduler stay per
        partition.

    Attributes
    ----------
    steps, seconds, compute_seconds
        Steps taken over the channels, their wall time on the client (send to all received)
        and the sum of the workers' compute time in them.
    """

    def __init__(self, client, parts, template, loss, *, direct=True, worker_sums=False):
        self.client, self.parts, self.template, self.loss = client, parts, template, loss
        self.worker_sums = bool(worker_sums)
        self.connections = []  # (socket, partition indices, worker address) per worker
        self.peer_addresses = []  # (host, port) where each worker's peers connect
        self.steps, self.seconds, self.compute_seconds = 0, 0.0, 0.0
        if direct:
            try:
                self._open()
            except (OSError, EOFError, TimeoutError):
                self.close()
            except Exception as error:  # noqa: BLE001 - e.g. a worker gone while opening
                if type(error).__module__.split(".")[0] != "distributed":
                    raise
                self.close()

    @property
    def direct(self):
        """Whether steps go over the channels."""
        return bool(self.connections)

    def _open(self):
        client, parts = self.client, self.parts
        if not str(client.scheduler.address).startswith(("tcp://", "inproc://")):
            return  # TLS (or another transport): the channels would be plain TCP
        holders = client.who_has(parts)
        groups = {}
        for index, part in enumerate(parts):
            where = holders.get(part.key) or ("",)
            groups.setdefault(sorted(where)[0], []).append(index)
        token = secrets.token_bytes(32)
        futures = [client.submit(_start_server, self.template, self.loss,
                                 [parts[i] for i in indices], token, pure=False,
                                 **placement(worker))
                   for worker, indices in groups.items()]
        addresses = client.gather(futures)
        if any(address is None for address in addresses):
            return
        for (host, port, worker, peer_port), indices in zip(addresses, groups.values(),
                                                            strict=True):
            sock = socket.create_connection((host, port), timeout=10)
            self.connections.append((sock, indices, worker))
            self.peer_addresses.append((host, peer_port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            keepalive(sock)
            sock.sendall(token)
            sock.settimeout(_WAIT_SECONDS)

    def sums(self, theta, rows=None, *, through_scheduler=False):
        """``(W_k L_k, W_k g_k)`` per partition for ``rows`` (None: all), in partition order.

        Partitions whose rows are empty are left out, as :func:`sums_by_worker` does.
        """
        if self.connections and not through_scheduler:
            try:
                return self._direct(theta, rows)
            except (OSError, EOFError):
                self.close()  # from now on through the scheduler, which knows what happened
        return sums_by_worker(self.client, self.parts, self.template, self.loss, theta, rows)

    def _direct(self, theta, rows):
        started = time.perf_counter()
        theta = np.ascontiguousarray(theta)
        payload = theta.tobytes()
        per_worker = self.worker_sums and rows is not None
        for sock, indices, _ in self.connections:
            message = [bytes([_STEP_WORKER if per_worker else _STEP]), payload]
            for i in indices:
                r = None if rows is None else rows[i]
                if r is None:
                    message.append(struct.pack("<q", _ALL_ROWS))
                else:
                    r = np.ascontiguousarray(r, dtype=np.int64)
                    message += [struct.pack("<q", r.size), r.tobytes()]
            sock.sendall(b"".join(message))
        results, compute = {}, 0.0
        for sock, indices, worker in self.connections:
            read = functools.partial(self._read, sock, worker)
            status, seconds = struct.unpack("<Bd", read(9))
            if status != _OK:
                (length,) = struct.unpack("<I", read(4))
                raise ChannelError(bytes(read(length)).decode("utf-8", "replace"))
            compute += seconds
            # The rest of the reply in one read: its size follows from the rows sent.
            present = [rows is None or len(rows[i]) > 0 for i in indices]
            keys = indices
            if per_worker:  # one sum, in the place of the worker's first partition
                present, keys = [any(present)], indices[:1]
            reply = read(sum(9 + theta.nbytes if p else 1 for p in present))
            try:
                sums, end = read_sums(reply, 0, len(keys), theta)
            except (IndexError, ValueError, struct.error):
                sums, end = [], -1
            # an absent sum is one 0 byte, a present one its type, value and gradient
            if end != len(reply) or [s is not None for s in sums] != present:
                raise ChannelError("the reply does not fit the request")
            results.update((i, s) for i, s in zip(keys, sums, strict=True) if s is not None)
        self.steps += 1
        self.seconds += time.perf_counter() - started
        self.compute_seconds += compute
        return [results[i] for i in sorted(results)]

    def connect_peers(self):
        """Connect the workers to each other (:mod:`~numnet.distributed.peers`); success."""
        partitions = [indices for _, indices, _ in self.connections]
        try:
            for index, (sock, _, _) in enumerate(self.connections):
                sock.sendall(bytes([_PEERS]) + pack(
                    {"index": index, "addresses": self.peer_addresses,
                     "partitions": partitions}))
            replies = [self._read(sock, worker, 1)[0] for sock, _, worker in self.connections]
        except (OSError, EOFError):
            self.close()
            return False
        return all(reply == _OK for reply in replies)

    def peer_epoch(self, messages, interrupted=lambda: False):
        """Send each worker its ``epoch`` request; their ``(header, arrays)``, None on failure.

        While waiting, ``interrupted()`` is asked every 0.2 s; once it is true the workers are
        asked to stop after their current step. A failure (a worker's error or a lost
        connection) leaves the channels as they were for single steps, or closed when a
        connection broke.
        """
        stop = _Stop(self.connections, interrupted, self._alive)
        try:
            for (sock, _, _), message in zip(self.connections, messages, strict=True):
                sock.sendall(bytes([_EPOCH]) + message)
                sock.settimeout(_POLL_SECONDS)
            replies = []
            for sock, _, worker in self.connections:  # read all, so that none stays unread
                def read(n_bytes, sock=sock, worker=worker):
                    return receive(sock, n_bytes, lambda: stop.waiting(worker))

                if read(1)[0] != _OK:
                    (length,) = struct.unpack("<I", read(4))
                    read(length)
                    replies.append(None)
                else:
                    replies.append(unpack(read))
            for sock, _, _ in self.connections:
                sock.settimeout(_WAIT_SECONDS)
        except (OSError, EOFError, ValueError):
            self.close()
            return None
        return None if any(r is None for r in replies) else replies

    def record(self, steps, seconds, compute_seconds):
        """Count steps taken elsewhere (a peer epoch) in :attr:`steps` and the timings."""
        self.steps += steps
        self.seconds += seconds
        self.compute_seconds += compute_seconds

    def _read(self, sock, worker, n_bytes):
        return receive(sock, n_bytes, lambda: self._alive(worker))

    def _alive(self, worker):
        """Whether the scheduler still lists ``worker`` (asked while a step takes long)."""
        try:
            try:
                info = self.client.scheduler_info(n_workers=-1)  # all, not the first five
            except TypeError:  # a distributed without the argument lists them all
                info = self.client.scheduler_info()
            return worker in info["workers"]
        except Exception:  # noqa: BLE001 - no answer: the scheduler path will say what is wrong
            return False

    def close(self):
        """Hang up (the workers' threads end and let go of the partitions)."""
        connections, self.connections = self.connections, []
        for sock, _, _ in connections:
            try:
                sock.sendall(bytes([_CLOSE]))
            except OSError:
                pass
            sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
