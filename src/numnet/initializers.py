"""Weight initialisers: each fills an array in place from a NumPy random generator.

For a weight matrix W of shape (n_in, n_out)::

    glorot_uniform   W ~ U(-a, a),  a = sqrt(6 / (n_in + n_out))     (Glorot & Bengio, 2010)
    glorot_normal    W ~ N(0, s^2), s = sqrt(2 / (n_in + n_out))
    he_uniform       W ~ U(-a, a),  a = sqrt(6 / n_in)               (He et al., 2015)
    he_normal        W ~ N(0, s^2), s = sqrt(2 / n_in)
    zeros            W = 0

Glorot keeps the activation variance constant for symmetric activations (tanh, sigmoid,
identity); He doubles it to make up for ReLU zeroing half of its inputs.
Draws are made in float64 and then cast, so a float32 and a float64 network built with the same
``random_state`` start from the same weights (up to rounding).
"""

import numpy as np


def glorot_uniform(array, rng):
    """Fill ``array`` (shape (n_in, n_out)) from U(-a, a), a = sqrt(6 / (n_in + n_out))."""
    n_in, n_out = array.shape
    limit = np.sqrt(6.0 / (n_in + n_out))
    array[...] = rng.uniform(-limit, limit, size=array.shape)


def glorot_normal(array, rng):
    """Fill ``array`` (shape (n_in, n_out)) from N(0, 2 / (n_in + n_out))."""
    n_in, n_out = array.shape
    array[...] = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=array.shape)


def he_uniform(array, rng):
    """Fill ``array`` (shape (n_in, n_out)) from U(-a, a), a = sqrt(6 / n_in)."""
    n_in = array.shape[0]
    limit = np.sqrt(6.0 / n_in)
    array[...] = rng.uniform(-limit, limit, size=array.shape)


def he_normal(array, rng):
    """Fill ``array`` (shape (n_in, n_out)) from N(0, 2 / n_in)."""
    n_in = array.shape[0]
    array[...] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=array.shape)


def zeros(array, rng=None):
    """Fill ``array`` with zeros."""
    array[...] = 0


INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
}
