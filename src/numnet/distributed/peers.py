"""Epochs on the workers: synchronous steps whose sums go from worker to worker directly.

Over :mod:`numnet.distributed.channels` every step is a round trip through the client:
parameters out, sums back, the optimizer step on the client. On two busy cores the round trip
costs about 0.5 ms, several times what a small network's step computes. A *peer epoch* takes
the client out of the steps: once per epoch it sends every worker the parameters, the optimizer
and its state, and the epoch's batches; then each worker runs the steps itself::

    for each step s of the epoch:
        my sums      = partition_sums(net, loss, part_k, rows_k[s])   for each of my partitions
        send my sums to every other worker, receive theirs               (one exchange)
        L, g         = reduce_sums(all sums, in partition order) / batch weight
        L += penalty(W); g[W] += dpenalty/dW                              (unless proximal)
        clip(g); optimizer.step(params, g); W = prox(W, lr)               (as the loop does)

Every worker adds the same sums in the same order and takes the same optimizer step, so all of
them hold the same parameters, and they are those of the step-by-step path bit for bit (the
client checks that the workers agree). At the end each worker replies with its parameters, its
optimizer state and the steps' losses; the client loads them and hands the losses to the
loop's ``on_loss`` hooks (the divergence guard) and totals, as if it had taken the steps.

:class:`PeerEpochs` decides per epoch: the first step goes the usual way (through the
scheduler, where a lost scheduler is noticed), the others as a peer epoch when the run allows
it (an optimizer and a regularizer the workers can rebuild from plain data; no callback that
acts on single steps, except the divergence guard and checkpoints). On SIGINT/SIGTERM with a
checkpoint the client asks the workers to stop; each sends that request on with its next sums,
all stop after the same step, and the loop takes the rest (its checkpoint saves before the
first of them). If anything fails (a worker, a connection, a step raising), nothing of the
epoch is kept: its remaining steps go step by step, from where the epoch stood, and the run
does not try peers again.

Messages are raw arrays behind a JSON header (no pickle), on the channels' authenticated
connections; workers reach each other with the same 32-byte token.
"""

import hmac
import math
import selectors
import socket
import struct
import time
from types import SimpleNamespace

import numpy as np

from ..optimizers import OPTIMIZERS
from ..regularizers import REGULARIZERS
from ..training.gradients import Backprop
from ..training.loop import add_penalty, take_step
from .objective import batch_mean, partition_sums
from .wire import keepalive, kind_of, pack, read_sums, receive, sums_bytes, unpack, value_of

_OK, _FAILED = 0, 1
_CONNECT_SECONDS = 10.0


# --- plain-data messages -----------------------------------------------------------------------


def _state_message(optimizer):
    """An optimizer's state (``state_dict``) as a header part and arrays."""
    numbers, names, arrays = {}, [], []
    for key, value in optimizer.state_dict().items():
        if isinstance(value, np.ndarray):
            names.append(key)
            arrays.append(value)
        else:
            numbers[key] = value.item() if isinstance(value, np.generic) else value
    return {"numbers": numbers, "names": names}, arrays


def _load_state(optimizer, state, arrays, *, checked=True):
    """The optimizer state of :func:`_state_message` into ``optimizer``.

    ``checked=False`` for the state the run's own workers computed: it is set as it is, as the
    step-by-step run would hold it (an overflowed moment included).
    """
    state = {**state["numbers"], **dict(zip(state["names"], arrays, strict=True))}
    if checked:
        optimizer.load_state_dict(state)
    else:
        optimizer._set_state(state)


def _rebuild(registry, spec):
    name, config = spec
    return registry[name](**config)


# --- on a worker -------------------------------------------------------------------------------


class Peers:
    """A worker's connections to the other workers, and which partitions each one holds."""

    def __init__(self, index, sockets, partitions):
        self.index, self.sockets, self.partitions = index, sockets, partitions

    def close(self):
        for sock in self.sockets.values():
            sock.close()
        self.sockets = {}


def connect(read, listener, token):
    """Answer a ``peers`` request: connect to the workers before this one, accept the others.

    The request: this worker's index, and every worker's peer address and partitions. Returns
    :class:`Peers` (raises OSError/ValueError when a connection fails or a token is wrong).
    """
    header, _ = unpack(read)
    me, addresses = header["index"], header["addresses"]
    sockets = {}
    try:
        for other in range(me):
            sock = socket.create_connection(tuple(addresses[other]), timeout=_CONNECT_SECONDS)
            sockets[other] = sock
            sock.sendall(token + struct.pack("<q", me))
        listener.settimeout(_CONNECT_SECONDS)
        for _ in range(me + 1, len(addresses)):
            sock, _ = listener.accept()
            sock.settimeout(_CONNECT_SECONDS)
            hello = bytes(receive(sock, len(token) + 8))
            (other,) = struct.unpack("<q", hello[len(token):])
            if (not hmac.compare_digest(hello[:len(token)], token)
                    or not me < other < len(addresses) or other in sockets):
                sock.close()
                raise ValueError("a peer did not present the run's token")
            sockets[other] = sock
        for sock in sockets.values():
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            keepalive(sock)  # a peer whose machine vanished is noticed within minutes
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    return Peers(me, sockets, [list(p) for p in header["partitions"]])


def run_epoch(read, net, loss, parts, peers, stop_requested=lambda: False):
    """Answer an ``epoch`` request (see the module docstring); the reply's bytes.

    ``stop_requested()`` is asked before each step whether the client wants the epoch cut short
    (Ctrl-C with a checkpoint): each worker's answer goes with its sums, and all of them stop
    after the same step, the first at which any was asked. The reply then has fewer losses.
    On failure the peer connections are closed (the others then fail too, instead of waiting),
    and the reply says why: the client takes the epoch's steps one by one instead.
    """
    try:
        header, arrays = unpack(read)
        values, optimizer, compute = _steps(header, arrays, net, loss, parts, peers,
                                            stop_requested)
        state, state_arrays = _state_message(optimizer)
        reply = pack({"kinds": [kind_of(v) for v in values], "state": state,
                       "compute": compute},
                      [np.array(values, dtype=np.float64), net.params, *state_arrays])
        return bytes([_OK]) + reply
    except Exception as error:  # noqa: BLE001 - the client takes the steps itself
        if peers is not None:
            peers.close()
        message = f"{type(error).__name__}: {error}".encode("utf-8", "replace")
        return bytes([_FAILED]) + struct.pack("<I", len(message)) + message


def _steps(header, arrays, net, loss, parts, peers, stop_requested):
    """The epoch's steps on this worker: their losses, the optimizer, the seconds computing."""
    if peers is None or not peers.sockets and len(peers.partitions) > 1:
        raise ValueError("no connections to the other workers")
    theta, weights, *rest = arrays
    optimizer = _rebuild(OPTIMIZERS, header["optimizer"])
    n_state = len(header["state"]["names"])
    _load_state(optimizer, header["state"], rest[:n_state], checked=False)  # the client's
    regularizer = (None if header["regularizer"] is None
                   else _rebuild(REGULARIZERS, header["regularizer"]))
    # What the client's loop reads from its Run when it takes a step (add_penalty, take_step).
    own_run = SimpleNamespace(net=net, optimizer=optimizer, regularizer=regularizer,
                              proximal=header["proximal"], clip_norm=header["clip_norm"])
    mine = peers.partitions[peers.index]
    rows = _split_rows(rest[n_state:], len(mine), len(weights))
    np.copyto(net.params, theta, casting="no")
    exchange = _Exchange(peers, net.params)
    backprop = Backprop()
    outs = [np.empty_like(net.params) for _ in mine]  # this worker's sums, sent each step
    values, compute = [], 0.0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for step, weight in enumerate(weights):
                stop = bool(stop_requested())
                started = time.perf_counter()
                sums = {}
                for j, (k, part) in enumerate(zip(mine, parts, strict=True)):
                    r = rows[j][step]
                    sums[k] = None if len(r) == 0 else partition_sums(
                        net, loss, part, r, backprop=backprop, out=outs[j])
                compute += time.perf_counter() - started
                theirs, stopped = exchange(bytes([stop]) + sums_bytes(
                    [sums[k] for k in mine], net.params.dtype))
                sums.update(theirs)
                stop = stop or stopped
                started = time.perf_counter()
                value = batch_mean([sums[k] for k in sorted(sums) if sums[k] is not None],
                                   net, float(weight))
                value = add_penalty(own_run, value)
                values.append(value)
                if not math.isfinite(value):
                    break  # the client's divergence guard stops the run here
                take_step(own_run)
                compute += time.perf_counter() - started
                if stop:
                    break  # every worker saw the same flags: all stop after this step
    finally:
        exchange.close()
    return values, optimizer, compute


def _split_rows(arrays, n_parts, n_steps):
    """Per partition of this worker, the rows of each step (lengths, then the rows)."""
    rows = []
    for k in range(n_parts):
        lengths, flat = arrays[2 * k], arrays[2 * k + 1]
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        if lengths.shape != (n_steps,) or bounds[-1] != flat.size:
            raise ValueError("the epoch's rows do not fit its steps")
        rows.append([flat[bounds[s]:bounds[s + 1]] for s in range(n_steps)])
    return rows


class _Exchange:
    """Each step: send this worker's message to every peer while reading each peer's.

    Non-blocking, so that two workers sending large messages to each other at once never wait
    on each other's full buffers. A message is its length (8 bytes) and the partitions' sums;
    each is read into a buffer kept for the epoch, never past its end (a peer may already be
    sending its next step).
    """

    def __init__(self, peers, params):
        self.peers, self.params = peers, params
        self.selector = selectors.DefaultSelector()
        self.buffers = {sock: bytearray(9 + len(peers.partitions[other]) * (9 + params.nbytes))
                        for other, sock in peers.sockets.items()}
        for sock in peers.sockets.values():
            sock.setblocking(False)

    def __call__(self, message):
        """Send ``message`` (a stop flag, then the sums); the peers' sums and their flags."""
        framed = memoryview(struct.pack("<q", len(message)) + message)
        outgoing = {sock: framed for sock in self.peers.sockets.values()}
        got = dict.fromkeys(self.buffers, 0)
        size = dict.fromkeys(self.buffers, 8)  # the length first, then the whole message

        def events(sock):
            if got[sock] == 8 == size[sock]:
                size[sock] += struct.unpack_from("<q", self.buffers[sock])[0]
                if size[sock] > len(self.buffers[sock]):
                    raise ValueError("a peer's message is longer than its sums")
            return ((selectors.EVENT_READ if got[sock] < size[sock] else 0)
                    | (selectors.EVENT_WRITE if sock in outgoing else 0))

        waiting = {sock: events(sock) for sock in self.buffers}
        for sock, mask in waiting.items():
            if mask:
                self.selector.register(sock, mask)
        try:
            while any(waiting.values()):
                for key, ready in self.selector.select():
                    sock = key.fileobj
                    if ready & selectors.EVENT_WRITE:
                        sent = sock.send(outgoing[sock])
                        outgoing[sock] = outgoing[sock][sent:]
                        if not len(outgoing[sock]):
                            del outgoing[sock]
                    if ready & selectors.EVENT_READ:
                        view = memoryview(self.buffers[sock])[got[sock]:size[sock]]
                        n = sock.recv_into(view)
                        if n == 0:
                            raise EOFError("a peer hung up")
                        got[sock] += n
                    mask = events(sock)
                    if mask != waiting[sock]:
                        if mask:
                            self.selector.modify(sock, mask)
                        else:
                            self.selector.unregister(sock)
                        waiting[sock] = mask
        finally:
            for sock, mask in waiting.items():
                if mask:
                    self.selector.unregister(sock)
        self.sizes = size
        return self._sums()

    def _sums(self):
        """The peers' sums by partition, and whether any peer was asked to stop."""
        sums, stop = {}, False
        for other, sock in self.peers.sockets.items():
            data, size = self.buffers[sock], self.sizes[sock]
            stop = stop or bool(data[8])
            theirs = self.peers.partitions[other]
            results, end = read_sums(data, 9, len(theirs), self.params)
            if end != size:
                raise ValueError("a peer's sums do not fill its message")
            sums.update(zip(theirs, results, strict=True))
        return sums, stop

    def close(self):
        self.selector.close()
        for sock in self.peers.sockets.values():
            try:
                sock.setblocking(True)
            except OSError:
                pass


# --- on the client -----------------------------------------------------------------------------


def _overrides(callback, hook):
    from ..training.callbacks import Callback

    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


class PeerEpochs:
    """The client's side: each epoch's steps after the first, as a peer epoch when possible.

    ``steps(run, batches, skip)`` is :func:`numnet.training.run_loop`'s ``steps`` hook: it
    yields the batches the loop takes itself (those before ``skip``, the first one, and all of
    them when a peer epoch is not possible or fails) and takes the others.

    Parameters
    ----------
    channels : WorkerChannels
    callbacks : CallbackList
        The run's callbacks: the losses of a peer epoch go to their ``on_loss`` hooks.

    Attributes
    ----------
    epochs : int
        Peer epochs taken.
    """

    def __init__(self, channels, callbacks):
        from ..training.callbacks import CheckpointCallback, DivergenceGuard

        self.channels, self.callbacks = channels, callbacks
        self.epochs, self.connected = 0, None
        self.checkpoints = [c for c in callbacks.callbacks if isinstance(c, CheckpointCallback)]
        # Only the divergence guard (on the losses, afterwards) and checkpoints (which save at
        # epoch ends) may act on single steps; any other per-step hook needs the steps here.
        self.possible = channels.direct and not channels.worker_sums and not any(
            (_overrides(c, "on_batch_begin") or _overrides(c, "on_loss"))
            and type(c) not in (DivergenceGuard, CheckpointCallback)
            for c in callbacks.callbacks)

    def __call__(self, run, batches, skip):
        for index, rows in batches:
            if index <= skip:  # the first step of the epoch (or of a resume) goes the usual way
                yield index, rows
                continue
            rest = [(index, rows), *batches]
            # The loop takes what the workers did not: all of it when a peer epoch was not
            # possible, the steps after an interruption (where a checkpoint then saves).
            yield from rest[self._take(run, rest):]
            return

    def _usable(self, run):
        optimizer, regularizer = run.optimizer, run.regularizer
        if not (self.possible and self.channels.direct
                and OPTIMIZERS.get(type(optimizer).__name__) is type(optimizer)
                and (regularizer is None or
                     REGULARIZERS.get(type(regularizer).__name__) is type(regularizer))):
            return False
        if self.connected is None:
            self.connected = self.channels.connect_peers()
        return self.connected

    def _take(self, run, steps):
        """Run ``steps`` on the workers; how many of them it took (0: it could not, or failed).

        After Ctrl-C with a checkpoint the workers stop early; the loop takes the rest, and
        its checkpoint saves before the first of them.
        """
        if not self._usable(run) or self._interrupted():
            return 0  # (a signal: the loop's checkpoint saves before the next step)
        started = time.perf_counter()
        kept, weights, n_rows, ends = [], [], [], []
        for position, (_, rows) in enumerate(steps):
            X_b, _, w_b = run.data.batch(rows)
            if w_b is not None and not w_b.sum() > 0:
                continue  # the loop skips a batch of zero-weight samples
            ends.append(position + 1)
            kept.append(rows)
            weights.append(float(X_b.shape[0] if w_b is None else np.sum(w_b)))
            n_rows.append(X_b.shape[0])
        net, optimizer, regularizer = run.net, run.optimizer, run.regularizer
        state, state_arrays = _state_message(optimizer)
        header = {"optimizer": [type(optimizer).__name__, optimizer.get_config()],
                  "state": state, "clip_norm": run.clip_norm, "proximal": bool(run.proximal),
                  "regularizer": None if regularizer is None else [
                      type(regularizer).__name__, regularizer.get_config()]}
        messages = []
        for _, indices, _ in self.channels.connections:
            arrays = [net.params, np.array(weights, dtype=np.float64), *state_arrays]
            for k in indices:
                pieces = [np.asarray(rows[k], dtype=np.int64) for rows in kept]
                arrays += [np.array([len(p) for p in pieces], dtype=np.int64),
                           np.concatenate(pieces) if pieces else np.zeros(0, np.int64)]
            messages.append(pack(header, arrays))
        replies = self.channels.peer_epoch(messages, self._interrupted)
        if replies is None or any(r[1][1].tobytes() != replies[0][1][1].tobytes() or
                                  r[0]["kinds"] != replies[0][0]["kinds"] for r in replies):
            self.connected = False  # never again in this run; these steps go one by one
            return 0
        (reply, (values, theta, *arrays)), compute = replies[0], sum(
            r[0]["compute"] for r in replies)
        self.epochs += 1
        self.channels.record(len(values), time.perf_counter() - started, compute)
        for kind, value, weight, n in zip(reply["kinds"], values, weights, n_rows,
                                          strict=False):
            value = value_of(kind, float(value))
            # the divergence guard raises on a bad loss (and restores the epoch's start)
            self.callbacks.on_loss(run, value)
            run.epoch_total += value * weight
            run.n_seen += n
        np.copyto(net.params, theta)
        _load_state(optimizer, reply["state"], arrays, checked=False)
        return ends[len(values) - 1] if len(values) else 0

    def _interrupted(self):
        """Whether a checkpointed run got SIGINT/SIGTERM (its guard holds the signal)."""
        return any(getattr(getattr(c, "guard", None), "signal", None) is not None
                   for c in self.checkpoints)
