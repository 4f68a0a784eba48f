-- Migration 2: a change log for the query engine's DuckDB mirror (vdfs_query/mirror.py).
-- Triggers record which rows of the mirrored tables changed (by rowid); the engine replays
-- them into its DuckDB copy before a query, so the copy is never stale and never rebuilt
-- from scratch for a small write. The engine prunes rows it has applied.
CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL,
    rid INTEGER NOT NULL
);
CREATE TRIGGER change_log_devices_ins AFTER INSERT ON devices BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('devices', NEW.rowid);
END;
CREATE TRIGGER change_log_devices_upd AFTER UPDATE ON devices BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('devices', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'devices', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_devices_del AFTER DELETE ON devices BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('devices', OLD.rowid);
END;
CREATE TRIGGER change_log_locations_ins AFTER INSERT ON locations BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('locations', NEW.rowid);
END;
CREATE TRIGGER change_log_locations_upd AFTER UPDATE ON locations BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('locations', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'locations', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_locations_del AFTER DELETE ON locations BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('locations', OLD.rowid);
END;
CREATE TRIGGER change_log_entries_ins AFTER INSERT ON entries BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('entries', NEW.rowid);
END;
CREATE TRIGGER change_log_entries_upd AFTER UPDATE ON entries BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('entries', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'entries', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_entries_del AFTER DELETE ON entries BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('entries', OLD.rowid);
END;
CREATE TRIGGER change_log_content_identities_ins AFTER INSERT ON content_identities BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('content_identities', NEW.rowid);
END;
CREATE TRIGGER change_log_content_identities_upd AFTER UPDATE ON content_identities BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('content_identities', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'content_identities', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_content_identities_del AFTER DELETE ON content_identities BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('content_identities', OLD.rowid);
END;
CREATE TRIGGER change_log_user_metadata_ins AFTER INSERT ON user_metadata BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('user_metadata', NEW.rowid);
END;
CREATE TRIGGER change_log_user_metadata_upd AFTER UPDATE ON user_metadata BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('user_metadata', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'user_metadata', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_user_metadata_del AFTER DELETE ON user_metadata BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('user_metadata', OLD.rowid);
END;
CREATE TRIGGER change_log_tags_ins AFTER INSERT ON tags BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('tags', NEW.rowid);
END;
CREATE TRIGGER change_log_tags_upd AFTER UPDATE ON tags BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('tags', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'tags', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_tags_del AFTER DELETE ON tags BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('tags', OLD.rowid);
END;
CREATE TRIGGER change_log_tag_links_ins AFTER INSERT ON tag_links BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('tag_links', NEW.rowid);
END;
CREATE TRIGGER change_log_tag_links_upd AFTER UPDATE ON tag_links BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('tag_links', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'tag_links', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_tag_links_del AFTER DELETE ON tag_links BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('tag_links', OLD.rowid);
END;
CREATE TRIGGER change_log_collections_ins AFTER INSERT ON collections BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('collections', NEW.rowid);
END;
CREATE TRIGGER change_log_collections_upd AFTER UPDATE ON collections BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('collections', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'collections', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_collections_del AFTER DELETE ON collections BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('collections', OLD.rowid);
END;
CREATE TRIGGER change_log_collection_items_ins AFTER INSERT ON collection_items BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('collection_items', NEW.rowid);
END;
CREATE TRIGGER change_log_collection_items_upd AFTER UPDATE ON collection_items BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('collection_items', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'collection_items', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_collection_items_del AFTER DELETE ON collection_items BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('collection_items', OLD.rowid);
END;
CREATE TRIGGER change_log_models_ins AFTER INSERT ON models BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('models', NEW.rowid);
END;
CREATE TRIGGER change_log_models_upd AFTER UPDATE ON models BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('models', NEW.rowid);
    INSERT INTO change_log (tbl, rid) SELECT 'models', OLD.rowid WHERE OLD.rowid <> NEW.rowid;
END;
CREATE TRIGGER change_log_models_del AFTER DELETE ON models BEGIN
    INSERT INTO change_log (tbl, rid) VALUES ('models', OLD.rowid);
END;
