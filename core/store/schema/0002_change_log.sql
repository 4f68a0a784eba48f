-- Migration 2: a change log for the query engine's DuckDB mirror (vdfs_query/mirror.py).
-- Triggers record which rows of the mirrored tables changed (table code, rowid); the engine
-- replays them into its in-memory DuckDB copy before a query, so the copy is never stale and
-- is not rebuilt for a small write. The engine prunes rows it has applied, always keeping the
-- newest, so `seq` never goes backwards. Deliberately lean (no AUTOINCREMENT, integer table
-- codes): these triggers run for every row the indexer writes.
CREATE TABLE change_log_tables (
    code INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL
);
CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY,
    tbl INTEGER NOT NULL,               -- change_log_tables.code
    rid INTEGER NOT NULL
);
INSERT INTO change_log_tables (code, name) VALUES (1, 'devices');
INSERT INTO change_log_tables (code, name) VALUES (2, 'locations');
INSERT INTO change_log_tables (code, name) VALUES (3, 'entries');
INSERT INTO change_log_tables (code, name) VALUES (4, 'content_identities');
INSERT INTO change_log_tables (code, name) VALUES (5, 'user_metadata');
INSERT INTO change_log_tables (code, name) VALUES (6, 'tags');
INSERT INTO change_log_tables (code, name) VALUES (7, 'tag_links');
INSERT INTO change_log_tables (code, name) VALUES (8, 'collections');
INSERT INTO change_log_tables (code, name) VALUES (9, 'collection_items');
INSERT INTO change_log_tables (code, name) VALUES (10, 'models');
CREATE TRIGGER change_log_devices_ins AFTER INSERT ON devices BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (1, NEW.rowid);
END;
CREATE TRIGGER change_log_devices_upd AFTER UPDATE ON devices BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (1, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 1, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_devices_del AFTER DELETE ON devices BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (1, OLD.rowid);
END;
CREATE TRIGGER change_log_locations_ins AFTER INSERT ON locations BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (2, NEW.rowid);
END;
CREATE TRIGGER change_log_locations_upd AFTER UPDATE ON locations BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (2, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 2, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_locations_del AFTER DELETE ON locations BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (2, OLD.rowid);
END;
CREATE TRIGGER change_log_entries_upd AFTER UPDATE ON entries BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (3, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 3, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_entries_del AFTER DELETE ON entries BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (3, OLD.rowid);
END;
CREATE TRIGGER change_log_content_identities_upd AFTER UPDATE ON content_identities BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (4, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 4, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_content_identities_del AFTER DELETE ON content_identities BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (4, OLD.rowid);
END;
CREATE TRIGGER change_log_user_metadata_ins AFTER INSERT ON user_metadata BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (5, NEW.rowid);
END;
CREATE TRIGGER change_log_user_metadata_upd AFTER UPDATE ON user_metadata BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (5, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 5, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_user_metadata_del AFTER DELETE ON user_metadata BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (5, OLD.rowid);
END;
CREATE TRIGGER change_log_tags_ins AFTER INSERT ON tags BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (6, NEW.rowid);
END;
CREATE TRIGGER change_log_tags_upd AFTER UPDATE ON tags BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (6, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 6, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_tags_del AFTER DELETE ON tags BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (6, OLD.rowid);
END;
CREATE TRIGGER change_log_tag_links_ins AFTER INSERT ON tag_links BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (7, NEW.rowid);
END;
CREATE TRIGGER change_log_tag_links_upd AFTER UPDATE ON tag_links BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (7, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 7, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_tag_links_del AFTER DELETE ON tag_links BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (7, OLD.rowid);
END;
CREATE TRIGGER change_log_collections_ins AFTER INSERT ON collections BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (8, NEW.rowid);
END;
CREATE TRIGGER change_log_collections_upd AFTER UPDATE ON collections BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (8, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 8, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_collections_del AFTER DELETE ON collections BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (8, OLD.rowid);
END;
CREATE TRIGGER change_log_collection_items_ins AFTER INSERT ON collection_items BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (9, NEW.rowid);
END;
CREATE TRIGGER change_log_collection_items_upd AFTER UPDATE ON collection_items BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (9, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 9, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_collection_items_del AFTER DELETE ON collection_items BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (9, OLD.rowid);
END;
CREATE TRIGGER change_log_models_ins AFTER INSERT ON models BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (10, NEW.rowid);
END;
CREATE TRIGGER change_log_models_upd AFTER UPDATE ON models BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (10, NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 10, OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_models_del AFTER DELETE ON models BEGIN
    INSERT INTO change_log (tbl, rid) VALUES (10, OLD.rowid);
END;
