"""vdfs core: the library and everything that writes or runs (docs/architecture.md §1)."""
from .errors import (CorruptLibraryError, LibraryExistsError, NotALibraryError,
                     SchemaTooNewError, VdfsError)
from .library import Library
from .version import __version__


__all__ = ["Library", "VdfsError", "NotALibraryError", "LibraryExistsError",
           "SchemaTooNewError", "CorruptLibraryError", "__version__"]
