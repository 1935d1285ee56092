"""The file layer: numnet's model file format, its limits, safe writes and checkpoints.

=================  ============================================================================
``_safetensors``   the container (safetensors) read by a bounded, validating reader; limits
``codec``          objects as JSON-able descriptions plus arrays, and the registry of kinds
``models``         :func:`save`, :func:`load`, :func:`dumps`, :func:`loads`, the file's checks
``files``          checked output paths and atomic writes
``checkpoint``     :class:`Checkpoint`: a training run's state in a file, resumed exactly
=================  ============================================================================

The file layer never imports the layers above it: the estimators and the tabular pipeline add
their kinds to :data:`numnet.io.codec.KINDS` when imported. :func:`numnet.load` imports them
all first; :func:`load` here reads the kinds registered so far.
"""

from ._safetensors import ModelFileError
from .checkpoint import Checkpoint
from .codec import register_kind
from .files import (
    NotRegularFileError,
    OutputError,
    atomic_write,
    check_folder,
    check_output,
    open_regular_file,
)
from .models import dumps, load, loads, read_metadata, save

__all__ = ["Checkpoint", "ModelFileError", "NotRegularFileError", "OutputError", "atomic_write",
           "check_folder", "check_output", "dumps", "load", "loads", "open_regular_file",
           "read_metadata", "register_kind", "save"]
