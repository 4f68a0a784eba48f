"""The exceptions core raises, so callers can tell user mistakes from bugs.

`VdfsError` itself lives in vdfs_query.errors (the lowest layer) so that the query language and
core share one root: `except VdfsError` catches every error vdfs raises on purpose.
"""
from vdfs_query.errors import QueryError, VdfsError, VdfsSyntaxError

__all__ = ["VdfsError", "QueryError", "VdfsSyntaxError", "NotFoundError", "NotALibraryError",
           "LibraryExistsError", "SchemaTooNewError", "CorruptLibraryError", "ArgumentError"]


class NotALibraryError(VdfsError):
    """The path is not a vdfs library folder (or lacks its files)."""


class LibraryExistsError(VdfsError):
    """create() was asked to make a library where one already is."""


class SchemaTooNewError(VdfsError):
    """The library was written by a newer vdfs than this one."""


class CorruptLibraryError(VdfsError):
    """A library file exists but cannot be read as what it should be."""


class ArgumentError(VdfsError, ValueError):
    """A value passed to the host API that is not of the shape it must have (a uuid that is not
    one, an unknown scope or item kind): the caller's mistake, so a VdfsError, and a ValueError
    for callers that already catch that."""


class NotFoundError(VdfsError, LookupError):
    """The entry, content identity, model, tag or collection named does not exist."""
