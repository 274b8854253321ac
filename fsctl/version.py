"""The fsctl version (one place; ``fsctl.__version__`` re-exports it)."""

__version__ = "0.1.0"
