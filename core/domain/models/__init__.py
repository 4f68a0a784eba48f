"""Extension models (docs/architecture.md §6): declaration, lazy blob fields, storage.

    @model(version="1.0.0", scope="standalone")
    @dataclass
    class Person:
        name: str
        embedding: np.ndarray = blob_data(compression="zstd", lazy=True)

Store and query them through `lib.vdfs()` (core/host.py).
"""
from .instances import (ModelState, instances_from_rows, is_loaded, load_blobs, model_uuid,
                        spec_of, state_of)
from .declare import model
from .spec import (BlobData, ModelDefinitionError, ModelSpec, ModelVersionError, blob_data,
                   find_model, migrates, registered_model_types)
from .store import ModelDataError, ModelExistsError, ModelScopeError

__all__ = ["model", "blob_data", "migrates", "ModelSpec", "BlobData", "instances_from_rows",
           "load_blobs",
           "model_uuid", "is_loaded", "spec_of", "state_of", "ModelState", "find_model",
           "registered_model_types",
           "ModelDefinitionError", "ModelVersionError", "ModelExistsError", "ModelScopeError",
           "ModelDataError"]
