"""The progress of ``numnet train``: a bar on a terminal, a plain line every few epochs else."""

import math
import sys
import time


class _Progress:
    """Epoch progress for ``est._fit_callbacks``: tqdm on a terminal, plain lines otherwise.

    ``elapsed`` counts from :meth:`start` (called when training starts), so it includes the
    first epoch. Warnings printed while the bar is shown go on their own line
    (:func:`_show_warning` asks :attr:`active` to clear the bar first).
    """

    active = None

    def __init__(self, max_epochs, *, enabled, stream=None):
        self.max_epochs = max_epochs
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.tty = enabled and self.stream.isatty()
        self.every = max(1, math.ceil(max_epochs / 10))
        self.bar = None
        self.started = None
        self.last_printed = 0
        self.last = None
        self.first_epoch = None
        self.seen = {}  # epoch -> its figures, for the kept epoch's final line

    def start(self):
        """Training starts now (elapsed counts from here).

        On a terminal the bar starts here too, before epoch 1, so that its clock (its elapsed
        time and rate) includes the first epoch.
        """
        self.started = time.perf_counter()
        _Progress.active = self
        if self.tty and self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.max_epochs, unit="epoch", file=self.stream,
                            leave=False, dynamic_ncols=True)

    def __call__(self, epoch, history, holdout=None):
        if not self.enabled:
            return
        if self.started is None:
            self.start()
        if self.first_epoch is None:
            # a resumed run starts at a later epoch: the rate counts this process's epochs
            self.first_epoch = epoch - 1
        fields = self._fields(history, holdout)
        self.last = (epoch, fields)
        self.seen[epoch] = fields
        if self.tty:
            self.bar.set_postfix(fields, refresh=False)
            self.bar.update(epoch - self.bar.n)
        elif epoch % self.every == 0 or epoch == self.max_epochs:
            self._line(epoch, fields)

    @staticmethod
    def _fields(history, holdout):
        fields = {"loss": f"{history.loss[-1]:.4g}"}
        if holdout is not None:
            fields["val_loss"] = f"{holdout['val_loss']:.4g}"
            fields[f"val_{holdout['metric_name']}"] = f"{holdout['val_metric']:.4g}"
        elif history.val_loss:
            fields["val_loss"] = f"{history.val_loss[-1]:.4g}"
            fields[f"val_{history.metric_name or 'metric'}"] = f"{history.val_metric[-1]:.4g}"
        return fields

    def _line(self, epoch, fields, *, final=False, kept=None, selected=False):
        elapsed = time.perf_counter() - self.started
        eta = elapsed / max(epoch - (self.first_epoch or 0), 1) * max(self.max_epochs - epoch, 0)
        label = f"epoch {epoch}/{self.max_epochs}"
        if final and kept is not None and kept != epoch:
            # one model, one set of figures: those of the kept epoch, labelled with it
            label = f"{'selected' if selected else 'kept'} epoch {kept} of {epoch}"
            fields = self.seen.get(kept, {})
        text = "".join(f"{k} {v}  " for k, v in fields.items())
        end = "done" if final else f"eta {eta:.1f}s"
        print(f"{label}  {text}elapsed {elapsed:.1f}s  {end}", file=self.stream, flush=True)
        self.last_printed = epoch

    def clear(self):
        """Clear the bar's line, so that the next write starts a fresh line."""
        if self.bar is not None:
            self.bar.clear()

    def refresh(self):
        if self.bar is not None:
            self.bar.refresh()

    def close(self, *, done=True, kept=None, selected=False):
        """End the display; ``done=False`` (interrupted, diverged) prints no summary line.

        ``kept`` is the epoch whose parameters were kept (early stopping, the best epoch):
        when it is not the last epoch, the last line shows its figures, as ``kept epoch 30 of
        41`` (``selected epoch`` with ``selected``: the epoch count of a refit).
        """
        if _Progress.active is self:
            _Progress.active = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            if done and self.last is not None:  # the bar vanishes (leave=False): keep a line
                self._line(*self.last, final=True, kept=kept, selected=selected)
        elif done and self.enabled and self.last is not None and (
                self.last[0] != self.last_printed or (kept is not None
                                                      and kept != self.last[0])):
            self._line(*self.last, final=True, kept=kept, selected=selected)


