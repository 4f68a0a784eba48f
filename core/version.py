"""The core version extensions check with `min_core_version` (a module of its own so that
checking it does not import the whole library)."""
__version__ = "2.0.0"
