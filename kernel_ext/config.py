"""`%config Vdfs.<setting>`: the notebook-side settings of the magics."""
from __future__ import annotations

from traitlets import Bool, Int
from traitlets.config import Configurable


class Vdfs(Configurable):
    """Settings of the %vdfs magics (change with `%config Vdfs.display_limit = 100`)."""

    display_limit = Int(50, help="Rows of a result shown in the notebook (all rows stay in the result).",
                        config=True).tag(config=True)
    complete_from_library = Bool(True, help="Complete tag names, kinds and model types from the open library.",
                                 config=True).tag(config=True)


_instance: Vdfs | None = None


def settings() -> Vdfs:
    """The active settings (a default instance outside IPython)."""
    global _instance
    if _instance is None:
        _instance = Vdfs()
    return _instance


def install(shell) -> Vdfs:
    """Create the settings object under the shell's config and make `%config Vdfs` see it."""
    global _instance
    if _instance is None or _instance.parent is not shell:
        _instance = Vdfs(parent=shell)
    if _instance not in shell.configurables:
        shell.configurables.append(_instance)
    return _instance
