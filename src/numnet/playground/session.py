"""One playground run: numnet's own training loop in a thread, paused and stepped between epochs.

A :class:`Session` holds the settings, the data and the current run. The run is one call of
:func:`numnet.train` (``max_epochs`` large, the test set as ``validation_data``, the seed as
``random_state``) in a background thread, with one extra :class:`~numnet.training.Callback`,
the controller: after each epoch it records the losses, publishes a :class:`Frame` (at most
``1 / frame_interval`` a second, and always before it waits) and blocks while the run is
paused. "Step" lets one epoch through, "play" all of them, "pause" none; "reset" cancels the
thread and builds a new network from the seed. Nothing in the loop is replaced, so the losses
are those of the same ``numnet.train`` call in a script (:mod:`numnet.playground.export`).
The controls of a session take turns (one lock per session), so concurrent requests from
several pages never leave a run half-started.

A frame is computed on a copy of the parameters (the training network is never touched
outside the loop); :meth:`Session.network` rebuilds the network at the last frame's parameters
for the trace panel and the model download, so what is downloaded is what was drawn.
"""

import base64
import secrets
import threading
import time

import numpy as np

from ..exceptions import DivergenceError
from ..functional import sigmoid
from ..layers import Activation
from ..trace import trace as trace_sample
from ..trace.render import render_trace
from ..training import Callback, train
from .config import MAX_EPOCHS, Settings
from .datasets import Dataset, make_dataset, split

GRID = 60
"""Points per side of the grid the boundary (or regression surface) is drawn from."""
NEURON_GRID = 20
"""Points per side of each neuron's heat map."""
EXTENT = (-1.0, 1.0)
"""The plane the page draws: x1 and x2 from -1 to 1."""
IDLE_PAUSE_S = 30.0
"""A running session with no page connected for this long pauses (a closed tab)."""


class _Cancelled(BaseException):
    """Raised in the training thread by the controller when the run is reset."""


class Frame:
    """What one update shows: the epoch, the state, and the pictures as plain data.

    Attributes
    ----------
    version : int
        Increases with every frame of the session.
    epoch : int
        Epochs trained; the parameters are those after this epoch.
    params : ndarray
        A copy of the network's parameters at ``epoch``.
    payload : dict
        JSON-ready: state, message, boundary, neurons, weights (see docs/playground.md).
    """

    def __init__(self, version, epoch, params, payload):
        self.version, self.epoch, self.params, self.payload = version, epoch, params, payload


def grid_points(n=GRID):
    """The (n*n, 2) points of the grid; row i has x2 = t[i], column j has x1 = t[j]."""
    t = np.linspace(*EXTENT, n)
    x1, x2 = np.meshgrid(t, t)
    return np.c_[x1.ravel(), x2.ravel()]


def _encode(values, dtype):
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


class _Controller(Callback):
    """The playground's hook in numnet's loop: record, publish, wait (see the module doc)."""

    def __init__(self, session, generation):
        self.session, self.generation = session, generation

    def on_epoch_end(self, run):
        self.session._epoch_end(run, self.generation)


class Session:
    """Settings, data and one training run, shared by every page connected to it.

    Parameters
    ----------
    settings : Settings, default=None
    frame_interval : float, default=0.05
        Least time between two frames while training runs (20 frames a second at most).
    epochs_per_second : float, default=30
        How fast the run goes, so that it can be watched; 0 means as fast as it can. The
        speed changes when epochs happen, never what they compute.
    """

    def __init__(self, settings=None, *, frame_interval=0.05, epochs_per_second=30):
        self.id = secrets.token_urlsafe(9)
        self.frame_interval = frame_interval
        self.epochs_per_second = epochs_per_second
        self._cond = threading.Condition()
        # the controls (configure, reset, play, step, pause, close) take turns: a reset that
        # cancels and joins the thread never interleaves with a play starting one
        self._control = threading.RLock()
        self.generation = 0  # the run; a training thread of an older one stops at its epoch end
        # a logical clock: every frame and status message takes the next value under the lock,
        # so a page keeps the state of the latest one (an HTTP reply can arrive after a newer
        # frame on the socket)
        self._clock = 0
        self.clients = 0
        self.last_seen = time.monotonic()
        self.upload = None  # (X, y, task, classes, filename) of an uploaded CSV
        self._thread = None
        self._grid, self._small = grid_points(GRID), grid_points(NEURON_GRID)
        self.configure(settings or Settings())

    # ------------------------------------------------------------------------------ set-up

    def configure(self, settings, upload=None):
        """New settings (and, with ``upload``, new CSV data): a new run from epoch 0."""
        if settings.dataset == "csv" and upload is None and self.upload is None:
            from .config import SettingsError

            raise SettingsError("dataset 'csv' needs an uploaded file first; upload a CSV "
                                "with three columns: x1, x2, label.")
        with self._control:
            self._stop_thread()
            with self._cond:
                if upload is not None:
                    self.upload = upload
                self.settings = settings
                self.data = self._make_data()
                self.classes = (self.upload[3] if settings.dataset == "csv" else None)
                self.setup_version = getattr(self, "setup_version", 0) + 1
            self.reset()

    def _make_data(self):
        s = self.settings
        if s.dataset == "csv":
            X, y, task = self.upload[:3]
            return split(X, y, s.train_fraction, s.seed, task=task)
        return make_dataset(s.dataset, n_samples=s.n_samples, noise=s.noise,
                            train_fraction=s.train_fraction, random_state=s.seed)

    def reset(self):
        """Cancel the run and start a new one at epoch 0 (the same seed, the same numbers)."""
        with self._control:
            self._stop_thread()
            with self._cond:
                s = self.settings
                self.net = s.network()
                self._view = self.net.copy()
                self.loss = s.loss(self.data.task)
                self.optimizer = s.make_optimizer()
                self.train_loss, self.test_loss = [], []
                self.state, self.message, self.budget = "paused", None, 0
                self._last_publish = self._last_epoch = 0.0
                self._publish(0, self.net.params.copy())

    def _stop_thread(self, timeout=None):
        """End the current run: a new generation, and its thread (if any) joined.

        Called with the control lock held; the thread takes only the condition's lock, and
        once the generation has moved on nothing can make it wait again.
        """
        with self._cond:
            thread, self._thread = self._thread, None
            self.generation += 1
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=timeout)

    def close(self):
        """Stop the training thread (server shutdown)."""
        with self._control:
            self._stop_thread(timeout=5)

    # ---------------------------------------------------------------------------- controls

    def play(self):
        """Train until paused (a diverged run starts again from epoch 0 first)."""
        self._go(None)

    def step(self):
        """Train one epoch, then pause."""
        self._go(1)

    def pause(self):
        """Pause after the current epoch."""
        with self._control, self._cond:
            if self.state == "running":
                self.budget, self.state = 0, "paused"
                self._cond.notify_all()

    def _go(self, budget):
        with self._control:
            if self.state == "diverged":
                self.reset()
            with self._cond:
                if self.state == "finished":
                    return
                self.budget, self.state, self.message = budget, "running", None
                if self._thread is None:
                    run = (self.generation, self.settings, self.data, self.net, self.loss,
                           self.optimizer)
                    self._thread = threading.Thread(target=self._train, args=run,
                                                    name=f"numnet-playground-{self.id}",
                                                    daemon=True)
                    self._thread.start()
                self._cond.notify_all()

    def set_speed(self, epochs_per_second):
        """Epochs a second (0: as fast as possible); see the class docstring."""
        if isinstance(epochs_per_second, int) and not 0 <= epochs_per_second <= 10_000:
            value = -1.0  # an integer above ~1e308 has no float (OverflowError)
        else:
            value = float(epochs_per_second)
        if not 0 <= value <= 10_000:  # False for NaN too
            raise ValueError(f"epochs_per_second must be a number from 0 to 10000, got "
                             f"{epochs_per_second!r:.40}.")
        with self._cond:
            self.epochs_per_second = value
            self._cond.notify_all()

    def connect(self):
        """A page connected (counts the clients; a closed tab pauses the run after a while)."""
        with self._cond:
            self.clients += 1
            self.last_seen = time.monotonic()

    def disconnect(self):
        """A page went away."""
        with self._cond:
            self.clients -= 1
            self.last_seen = time.monotonic()

    # ------------------------------------------------------------------ the training thread

    def _train(self, generation, s, data, net, loss, optimizer):
        try:
            train(net, loss, optimizer, data.X_train, data.y_train,
                  regularizer=s.regularizer(), batch_size=s.batch_size, max_epochs=MAX_EPOCHS,
                  validation_data=(data.X_test, data.y_test), random_state=s.seed,
                  callbacks=[_Controller(self, generation)])
        except _Cancelled:
            return
        except DivergenceError as error:
            with self._cond:
                if self.generation != generation:
                    return
                # the guard restored the parameters from the start of the failing epoch
                done = max(error.epoch - 1, 0)
                del self.train_loss[done:], self.test_loss[done:]
                self.state, self.message = "diverged", str(error)
                self._publish(done, net.params.copy())
        except Exception as error:  # shown in the page; the server keeps running
            with self._cond:
                if self.generation == generation:
                    self.state = "error"
                    self.message = f"{type(error).__name__}: {error}"
                    self._publish(len(self.train_loss), self.frame.params)
        else:
            with self._cond:
                if self.generation == generation:
                    self.state = "finished"
                    self._publish(len(self.train_loss), net.params.copy())
        finally:
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _epoch_end(self, run, generation):
        with self._cond:
            if generation != self.generation:
                raise _Cancelled
            self.train_loss.append(float(run.history.loss[-1]))
            self.test_loss.append(float(run.history.val_loss[-1]))
            if self.budget:  # None (play) runs on; 0 (paused during this epoch) stays 0
                self.budget -= 1
            idle = time.monotonic() - self.last_seen
            if self.clients <= 0 and idle > IDLE_PAUSE_S:
                self.budget = 0
            if self.budget == 0:
                self.state = "paused"
            now = time.monotonic()
            if self.budget == 0 or now - self._last_publish >= self.frame_interval:
                self._publish(run.epoch, run.net.params.copy())
                self._last_publish = now
            while self.budget == 0 and generation == self.generation:
                self._cond.wait(timeout=1.0)
            if self.epochs_per_second:
                due = self._last_epoch + 1.0 / self.epochs_per_second
                while generation == self.generation and time.monotonic() < due:
                    self._cond.wait(timeout=due - time.monotonic())
            self._last_epoch = time.monotonic()
            if generation != self.generation:
                raise _Cancelled

    # ------------------------------------------------------------------------------ frames

    def _publish(self, epoch, params):
        """Compute and store the frame of ``params`` (called with the lock held)."""
        if not np.all(np.isfinite(params)):
            return  # the divergence guard restores finite ones and publishes those
        view = self._view
        view.params[:] = params
        with np.errstate(over="ignore", invalid="ignore"):
            # parameters restored after a divergence can be finite and still huge
            output, _ = self._forward(self._grid)
            _, hidden = self._forward(self._small)
        boundary = sigmoid(output) if self.data.task == "classification" else output
        boundary = np.clip(np.nan_to_num(boundary), -1e30, 1e30)
        neurons = []
        for index, values in hidden:
            layer = []
            for column in np.clip(np.nan_to_num(values), -1e30, 1e30).T:
                lo, hi = float(column.min()), float(column.max())
                scaled = np.zeros_like(column) if hi <= lo else (column - lo) / (hi - lo)
                layer.append({"lo": lo, "hi": hi,
                              "values": _encode(np.rint(scaled * 255), np.uint8)})
            neurons.append({"layer": index, "neurons": layer})
        dense = [layer for layer in view.layers if "W" in getattr(layer, "params", {})]
        payload = {
            "type": "frame", "epoch": int(epoch), "state": self.state, "message": self.message,
            "generation": self.generation, "seq": self._tick(),
            "train_loss_last": self.train_loss[-1] if self.train_loss else None,
            "test_loss_last": self.test_loss[-1] if self.test_loss else None,
            "boundary": {"n": GRID, "extent": list(EXTENT),
                         "values": _encode(boundary.reshape(-1), np.float32)},
            "neuron_grid": NEURON_GRID, "neurons": neurons,
            "weights": [layer.params["W"].tolist() for layer in dense],
            "biases": [layer.params["b"].tolist() for layer in dense],
        }
        version = self.frame.version + 1 if hasattr(self, "frame") else 1
        self.frame = Frame(version, epoch, params, payload)
        view.clear_cache()
        self._cond.notify_all()  # whoever waits for a frame (the tests)

    def _forward(self, X):
        """The raw output and each activation layer's output (index, values) at X."""
        hidden, A = [], X
        for index, layer in enumerate(self._view.layers):
            A = layer.forward(A)
            if isinstance(layer, Activation):
                hidden.append((index, np.array(A, copy=True)))
        return np.array(A[:, 0], copy=True), hidden

    def _tick(self):
        """The next value of the session's message clock (called with the lock held)."""
        self._clock += 1
        return self._clock

    def status(self):
        """The state as plain data: what a page needs after a reload."""
        with self._cond:
            return {"id": self.id, "state": self.state, "message": self.message,
                    "seq": self._tick(), "epoch": self.frame.epoch,
                    "settings": self.settings.to_dict(),
                    "epochs_per_second": self.epochs_per_second,
                    "upload": None if self.upload is None else self.upload[4]}

    def setup(self):
        """The data and settings as a JSON message (sent when a page connects or they change)."""
        with self._cond:
            d: Dataset = self.data
            return {"type": "setup", "version": self.setup_version,
                    "settings": self.settings.to_dict(), "task": d.task,
                    "classes": self.classes, "architecture": self.settings.architecture,
                    "train": {"x": d.X_train.round(5).tolist(), "y": d.y_train[:, 0].tolist()},
                    "test": {"x": d.X_test.round(5).tolist(), "y": d.y_test[:, 0].tolist()}}

    def losses(self, start):
        """The train and test losses from epoch ``start + 1`` on, and the generation."""
        with self._cond:
            return self.generation, self.train_loss[start:], self.test_loss[start:]

    # ------------------------------------------------------------- trace, model and code

    def network(self):
        """A new network holding the parameters of the last frame, and that frame's epoch."""
        with self._cond:
            frame, settings = self.frame, self.settings
        net = settings.network()
        net.params[:] = frame.params
        return net, frame.epoch

    def trace(self, subset, index, lang="en"):
        """:func:`numnet.trace` of one training or test point at the last frame.

        Returns
        -------
        dict
            ``x``, ``y``, ``prediction``, ``loss``, ``text`` (the rendered tables in ``lang``)
            and ``layers`` (every number, :meth:`numnet.trace.record.LayerTrace.to_dict`).
        """
        with self._cond:
            data, loss = self.data, self.loss
        X, y = (data.X_train, data.y_train) if subset == "train" else (data.X_test, data.y_test)
        if subset not in ("train", "test") or not 0 <= index < X.shape[0]:
            raise IndexError(f"point {subset}[{index}] does not exist: there are "
                             f"{data.X_train.shape[0]} training and {data.X_test.shape[0]} "
                             "test points.")
        net, epoch = self.network()
        t = trace_sample(net, X[index], y[index], loss=loss)
        raw = float(t.raw[0, 0])
        return {"subset": subset, "index": index, "epoch": epoch, "x": X[index].tolist(),
                "y": float(y[index, 0]), "raw": raw,
                "prediction": float(sigmoid(np.array(raw))) if data.task == "classification"
                else raw, "loss": float(t.loss), "text": render_trace(t, lang=lang),
                "layers": [record.to_dict() for record in t.layers]}
