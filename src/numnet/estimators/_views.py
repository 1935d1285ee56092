"""Fitted coefficients as writable views into the network's flat parameter vector.

``coef_``/``intercept_`` (linear models) and ``coefs_``/``intercepts_`` (MLPs) are computed from
``network_.params`` on each access and never stored: ``coef_[:] = 0`` writes into the network,
and ``coef_ = new`` copies ``new`` into it after checking shape, dtype and finiteness, as
scikit-learn users expect (for pruning, warm starts, teaching).
"""

import numpy as np
import scipy.sparse as sp


def _write_into_view(cls, name, view, value):
    """Copy ``value`` into the parameter ``view`` of estimator class ``cls``, checked first."""
    if sp.issparse(value):
        value = value.toarray()
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} of {cls} must hold real numbers, got an array of dtype {value.dtype}."
        )
    if value.shape != view.shape:
        raise ValueError(
            f"{name} of {cls} must have shape {view.shape}, got {value.shape}. Assign an "
            "array of the fitted shape (refit to change the number of features or outputs)."
        )
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} of {cls} must be finite, got NaN or infinity.")
    view[...] = value


class _FittedViews:
    """Mixin of the estimators: the attributes in ``_VIEW_ATTRIBUTES`` are parameter views.

    Subclasses define ``_get_view(name)`` and ``_set_view(name, value)``.
    """

    # Fitted arrays that are views into network_.params, computed on access and never stored:
    # writing into them (coef_[:] = 0) or rebinding them (coef_ = ...) changes the model.
    _VIEW_ATTRIBUTES = ()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR/CSC X feeds the first Dense layer as it is
        return tags

    def __getattr__(self, name):
        # Only called when the normal lookup fails, so every other attribute costs nothing.
        if name in type(self)._VIEW_ATTRIBUTES and "network_" in self.__dict__:
            return self._get_view(name)
        # Raise the normal lookup's own error again (e.g. available_if's, with its cause).
        return object.__getattribute__(self, name)

    def __setattr__(self, name, value):
        if name in type(self)._VIEW_ATTRIBUTES and "network_" in self.__dict__:
            self.__dict__.pop(name, None)  # a stale copy from an old pickle
            self._set_view(name, value)
            return
        if name == "network_":
            stored = {view: self.__dict__.pop(view) for view in type(self)._VIEW_ATTRIBUTES
                      if view in self.__dict__}  # the network is what predictions read
            super().__setattr__(name, value)
            self._adopt_stored_views(stored)
            return
        super().__setattr__(name, value)

    def _adopt_stored_views(self, stored):
        """Subclass hook: what coefficient attributes set before network_ still tell."""

    def _write_view(self, name, view, value):
        """Copy ``value`` into the parameter view, checking shape and dtype first."""
        _write_into_view(type(self).__name__, name, view, value)
