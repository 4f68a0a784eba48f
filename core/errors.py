"""The exceptions core raises, so callers can tell user mistakes from bugs."""


class VdfsError(Exception):
    """Base of every error core raises on purpose."""


class NotALibraryError(VdfsError):
    """The path is not a vdfs library folder (or lacks its files)."""


class LibraryExistsError(VdfsError):
    """create() was asked to make a library where one already is."""


class SchemaTooNewError(VdfsError):
    """The library was written by a newer vdfs than this one."""


class CorruptLibraryError(VdfsError):
    """A library file exists but cannot be read as what it should be."""
