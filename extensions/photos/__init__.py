"""Photos: the reference extension (SPEC's example made real). See README.md."""
from .extension import Photos, PhotosConfig, PhotosMind
from .models import EXT_ID, Album, Person, PhotoAnalysis, Place

__all__ = ["Photos", "PhotosConfig", "PhotosMind", "EXT_ID", "Album", "Person", "PhotoAnalysis",
           "Place"]
