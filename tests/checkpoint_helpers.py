"""Helpers of the checkpoint and resume tests (not collected: no test_ prefix)."""

import os

import numnet as nn


class MemoryCheckpoint:
    """The checkpoint protocol the training loop uses (every, save, load), kept in memory."""

    def __init__(self, every=2):
        self.every, self.state, self.saves = every, None, 0

    def save(self, state):
        self.state, self.saves = state, self.saves + 1

    def load(self):
        return self.state

    def __str__(self):
        return "memory"


class SignalAtCall(nn.SoftmaxCrossEntropy):
    """A loss that sends a signal to this process on its n-th batch (mid-epoch)."""

    def __init__(self, n, signum):
        self.n, self.signum, self.calls = n, signum, 0

    def loss_gradient(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.n:
            os.kill(os.getpid(), self.signum)
        return super().loss_gradient(*args, **kwargs)
