"""Who may touch what: permission grants and their glob scopes, the checks every door runs
before an entry's bytes, a model or a sidecar is read (guard), and the sealed contexts handed
to extension code (docs/permissions.md). Checks live here, below every door that needs them,
so the CLI, the notebook, Python and WASM extensions all pass through the same code."""
