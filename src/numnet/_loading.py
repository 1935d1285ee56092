"""``numnet.load``: the file layer's loader with every kind of numnet object registered.

The file layer (:mod:`numnet.io`) never imports the layers above it; the estimators and the
tabular pipeline register their kinds with it when they are imported. This top-level loader
imports them first, so that any numnet model file loads.
"""

from . import io


def load(path):
    """Load an object saved by :func:`numnet.save`; no code from the file is ever executed.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Sequential, numnet estimator or numnet.tabular.TabularPipeline

    Raises
    ------
    ModelFileError
        When the file is truncated, altered, not a numnet model file (a folder, a FIFO or a
        device included: only regular files are opened), or written by a newer file format.
        OSError (FileNotFoundError, PermissionError) when it cannot be read at all.
    """
    # Imported here, not at the top: scikit-learn and pandas take about a second to import,
    # and `import numnet` stays light.
    from . import estimators  # noqa: F401  (registers "estimator")
    from .tabular import estimators as tabular_estimators  # noqa: F401  ("tabular_estimator")
    from .tabular import pipeline  # noqa: F401  ("pipeline")

    return io.load(path)
