"""vdfs core: the library and everything that writes or runs (docs/architecture.md §1)."""
from .errors import (CorruptLibraryError, LibraryExistsError, NotALibraryError,
                     SchemaTooNewError, VdfsError)
from .library import Library

__version__ = "2.0.0"  # the core version extensions check with min_core_version

__all__ = ["Library", "VdfsError", "NotALibraryError", "LibraryExistsError",
           "SchemaTooNewError", "CorruptLibraryError", "__version__"]
