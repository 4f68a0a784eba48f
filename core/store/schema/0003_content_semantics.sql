-- Migration 3: what a content identity says is a function of its bytes, and sampled identity is
-- not taken as proof of equality.
--
-- content_identities.kind_rule: the version of the bytes-only kind rule (core/kinds.py
-- CONTENT_RULE) that computed kind and mime_type. Rows written before it (0) took their kind
-- from whichever path was indexed first; the next index of a location holding a copy
-- recomputes them from the bytes.
ALTER TABLE content_identities ADD COLUMN kind_rule INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_content_kind_rule ON content_identities(kind_rule);

-- entries.full_hash: full BLAKE3 of this copy, computed on request (core/verify.py) and
-- cleared by the indexer whenever the file's bytes may have changed. A content is `verified`
-- when its integrity_hash is set and every copy's full_hash equals it.
ALTER TABLE entries ADD COLUMN full_hash TEXT;
