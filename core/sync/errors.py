"""The errors sync raises: each names what was refused and why, and none changes the library."""
from __future__ import annotations

from core.errors import VdfsError


class SyncError(VdfsError):
    """A sync request or bundle that was refused."""


class BundleCorruptError(SyncError):
    """The bundle is not a vdfs sync bundle, is cut short, or its checksum does not match."""


class BundleVersionError(SyncError):
    """The bundle was written by a newer (or unknown) sync format."""


class ForeignLibraryError(SyncError):
    """The bundle or peer belongs to another library."""


class BundleReplayedError(SyncError):
    """Everything in the bundle was already applied (the same bundle imported again)."""


class BundleOutOfOrderError(SyncError):
    """An earlier bundle from the same device is missing: applying this one would leave a gap."""


class ForeignWriteError(SyncError):
    """A peer sent a change to rows another device owns (its entries, locations, device row)."""


class ClockSkewError(SyncError):
    """A peer's stamps are further ahead of this device's clock than the HLC may follow."""


class PairingError(SyncError):
    """A pairing code that is wrong, used or expired, or a peer that is not paired."""


class UnauthorizedError(SyncError):
    """The peer refused the request (401): not paired, revoked, or a bad signature."""


class PeerUnreachableError(SyncError):
    """The peer's URL could not be reached or did not answer like a vdfs peer."""
