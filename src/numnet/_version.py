"""The version of numnet (read by the build backend and written into model files)."""

__version__ = "0.1.0"
