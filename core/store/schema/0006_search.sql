-- Migration: search (docs/query-language.md "Search"). Two FTS5 indexes, kept in step by
-- triggers, and built here for libraries that already hold entries.
--
-- Triggers rather than the write paths: entries and metadata are written by the indexer (in a
-- worker process too), the metadata API, extraction jobs, actions, undo, sync and raw SQL in
-- tests; a trigger runs inside whichever transaction writes the row, so the index can never
-- lag a committed write, whoever made it. Plain FTS5 DDL rather than sqlite-utils' enable_fts:
-- enable_fts cannot declare the trigram tokenizer's external-content table with UPDATE OF
-- triggers (so a stat-only update of an entry does not rewrite its index rows), nor the
-- second index, whose document is assembled from four tables; numbered migrations are also
-- how every other table of the library is made.

-- 1. Names and paths, by trigrams: any substring of 3+ characters, Unicode case-folded.
--    External content: the text stays in `entries`; the index holds only trigrams.
CREATE VIRTUAL TABLE entries_fts USING fts5(
    name, path, content='entries', content_rowid='id', tokenize='trigram');

CREATE TRIGGER entries_fts_ins AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts (rowid, name, path) VALUES (NEW.id, NEW.name, NEW.path);
END;
CREATE TRIGGER entries_fts_del AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, name, path)
        VALUES ('delete', OLD.id, OLD.name, OLD.path);
END;
CREATE TRIGGER entries_fts_upd AFTER UPDATE OF name, path ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, name, path)
        VALUES ('delete', OLD.id, OLD.name, OLD.path);
    INSERT INTO entries_fts (rowid, name, path) VALUES (NEW.id, NEW.name, NEW.path);
END;

INSERT INTO entries_fts (entries_fts) VALUES ('rebuild');

-- 2. What the library holds about content, by words (diacritics folded): one document per
--    user_metadata row (an entry's or a content's), rowid = user_metadata.id.
--    extracted: every text value of custom_data (OCR text, EXIF fields, extension data);
--    models: the fields that models opted in to search (search_model_fields).
CREATE TABLE search_model_fields (
    extension_id TEXT NOT NULL,
    model_type TEXT NOT NULL,
    field TEXT NOT NULL,                -- a top-level key of models.data
    PRIMARY KEY (extension_id, model_type, field)
);

CREATE VIRTUAL TABLE meta_fts USING fts5(
    notes, tags, extracted, models, tokenize='unicode61 remove_diacritics 2');

CREATE VIEW search_meta_doc AS
SELECT um.id AS id,
       coalesce(um.notes, '') AS notes,
       coalesce((SELECT group_concat(t.name, ' ') FROM tag_links tl JOIN tags t ON t.id = tl.tag_id
                 WHERE tl.metadata_id = um.id), '') AS tags,
       coalesce(CASE WHEN json_valid(um.custom_data) THEN
                (SELECT group_concat(j.value, ' ') FROM json_tree(um.custom_data) j
                 WHERE j.type = 'text') END, '') AS extracted,
       coalesce((SELECT group_concat(json_extract(m.data, '$."' || f.field || '"'), ' ')
                 FROM models m JOIN search_model_fields f
                   ON f.extension_id = m.extension_id AND f.model_type = m.model_type
                 WHERE m.metadata_id = um.id AND json_valid(m.data)), '') AS models
FROM user_metadata um;

-- Writing an id to this view re-reads that document: the one place a document is (re)built,
-- which every trigger below calls.
CREATE VIEW meta_fts_refresh (id) AS SELECT NULL;
CREATE TRIGGER meta_fts_refresh_doc INSTEAD OF INSERT ON meta_fts_refresh BEGIN
    DELETE FROM meta_fts WHERE rowid = NEW.id;
    INSERT INTO meta_fts (rowid, notes, tags, extracted, models)
        SELECT id, notes, tags, extracted, models FROM search_meta_doc WHERE id = NEW.id;
END;

CREATE TRIGGER meta_fts_um_ins AFTER INSERT ON user_metadata BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (NEW.id);
END;
CREATE TRIGGER meta_fts_um_upd AFTER UPDATE OF notes, custom_data ON user_metadata BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (NEW.id);
END;
CREATE TRIGGER meta_fts_um_del AFTER DELETE ON user_metadata BEGIN
    DELETE FROM meta_fts WHERE rowid = OLD.id;
END;
CREATE TRIGGER meta_fts_tl_ins AFTER INSERT ON tag_links BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (NEW.metadata_id);
END;
CREATE TRIGGER meta_fts_tl_del AFTER DELETE ON tag_links BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (OLD.metadata_id);
END;
CREATE TRIGGER meta_fts_tags_upd AFTER UPDATE OF name ON tags BEGIN
    INSERT INTO meta_fts_refresh (id) SELECT metadata_id FROM tag_links WHERE tag_id = NEW.id;
END;
CREATE TRIGGER meta_fts_models_ins AFTER INSERT ON models BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (NEW.metadata_id);
END;
CREATE TRIGGER meta_fts_models_upd AFTER UPDATE OF data, metadata_id ON models BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (OLD.metadata_id);
    INSERT INTO meta_fts_refresh (id) SELECT NEW.metadata_id WHERE NEW.metadata_id <> OLD.metadata_id;
END;
CREATE TRIGGER meta_fts_models_del AFTER DELETE ON models BEGIN
    INSERT INTO meta_fts_refresh (id) VALUES (OLD.metadata_id);
END;
CREATE TRIGGER meta_fts_fields_ins AFTER INSERT ON search_model_fields BEGIN
    INSERT INTO meta_fts_refresh (id) SELECT DISTINCT metadata_id FROM models
        WHERE extension_id = NEW.extension_id AND model_type = NEW.model_type;
END;

INSERT INTO meta_fts (rowid, notes, tags, extracted, models)
    SELECT id, notes, tags, extracted, models FROM search_meta_doc;
