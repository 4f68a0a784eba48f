"""Plumbing under the library: SQLite connections and migrations, transactions, the clock and
the change log, the event bus, where files live, this device's identity, storage faults and the
whole-file check (docs/architecture.md §1). Knows no domain concept."""
