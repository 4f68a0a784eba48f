"""What the library records about files: locations and entries, tags, collections, user
metadata, extension models, blobs and sidecars (docs/architecture.md §1). Built on `core.store`;
knows nothing of jobs, actions or extensions."""
