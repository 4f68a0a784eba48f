"""The library as the language sees it: logical sources, their fields, and the SQL behind them.

vdfs_query never imports core; this catalog is its whole knowledge of core's schema
(core/store/schema/0001_initial.sql, jobs_0001.sql). Every SQL snippet here names columns as
`alias.column` with the aliases of `ALIASES`, so a test can check each against a fresh library.
Field types drive value coercion and output conversion:
  int, float, text, size (bytes), bool (0/1), uuid (16-byte BLOB), time_ns (integer ns since the
  epoch), time_iso (ISO-8601 UTC text), json (a model's inline field, read from models.data),
  paths (the sorted paths of a content's copies: a list, shown and selected, never compared).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

# Kinds the indexer assigns (core/content/kinds.py KINDS); a test keeps the two in step.
KINDS = ("directory", "symlink", "image", "video", "audio", "document", "archive", "code",
         "text", "database", "font", "executable", "other")

ALIASES = {"e": "entries", "c": "content_identities", "l": "locations", "d": "devices",
           "m": "models", "t": "tags", "tl": "tag_links", "um": "user_metadata",
           "col": "collections", "ci": "collection_items", "j": "jobs"}


@dataclass(frozen=True)
class FieldDef:
    name: str
    sql: str
    type: str
    joins: tuple[str, ...] = ()
    indexed: bool = False      # an equality on it is an index lookup in SQLite
    duck: str = ""             # the DuckDB SQL where it differs from `sql` (SQLite)


@dataclass(frozen=True)
class SourceDef:
    name: str
    table: str
    alias: str
    fields: dict[str, FieldDef]
    defaults: tuple[str, ...]
    joins: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    db: str = "library"         # 'library' or 'jobs'
    predicates: frozenset[str] = frozenset()
    key: str = "id"             # stable default order
    base: str = ""              # a view of this source: shares its predicates' SQL
    where: str = ""             # the view's fixed condition

    def lookup(self, name: str) -> FieldDef | None:
        """A field by name or synonym; catalog names are case-insensitive."""
        for candidate in (name, name.lower()):
            candidate = self.synonyms.get(candidate, candidate)
            if candidate in self.fields:
                return self.fields[candidate]
        return None


def _fields(alias: str, spec: str, joins: tuple[str, ...] = (), indexed: str = "") -> dict[str, FieldDef]:
    """'name:type name:type=sql_expr …' → FieldDefs; the sql defaults to alias.name."""
    out = {}
    idx = set(indexed.split())
    for item in spec.split():
        name, _, rest = item.partition(":")
        typ, _, sql = rest.partition("=")
        out[name] = FieldDef(name, sql or f"{alias}.{name}", typ, joins, name in idx)
    return out


ENTRIES = SourceDef(
    name="entries", table="entries", alias="e",
    fields={
        **_fields("e", "id:int uuid:uuid name:text path:text ext:text kind:text is_dir:bool "
                       "hidden:bool size:size child_count:int inode:int modified:time_ns=e.mtime_ns "
                       "changed:time_ns=e.ctime_ns indexed_at:time_iso parent_id:int "
                       "content_id:int location_id:int",
                  indexed="id uuid path parent_id content_id"),
        **_fields("c", "content_uuid:uuid=c.uuid content_hash:text=c.content_hash "
                       "mime_type:text=c.mime_type", ("c",), indexed="content_uuid content_hash"),
        **_fields("l", "location:text=l.name location_path:text=l.path location_uuid:uuid=l.uuid",
                  ("l",)),
        **_fields("d", "device:text=d.name device_uuid:uuid=d.uuid", ("l", "d")),
        # the first search's hits (sqlgen joins them as s0): FTS5's bm25, lower is better
        **_fields("s0", "rank:float=s0.rank snippet:text=s0.snippet"),
    },
    defaults=("uuid", "path", "name", "ext", "kind", "size", "modified", "is_dir",
              "content_uuid"),
    joins={"c": "LEFT JOIN content_identities c ON c.id = e.content_id",
           "l": "JOIN locations l ON l.id = e.location_id",
           "d": "JOIN devices d ON d.id = l.device_id"},
    synonyms={"mtime": "modified", "ctime": "changed", "extension": "ext", "filename": "name",
              "content": "content_uuid", "dir": "is_dir"},
    predicates=frozenset({"in", "kind", "tagged", "has", "device", "duplicates", "matches"}),
)

# `entries` keeps files and folders (a tree, `in` listings and paths need both); `files` and
# `folders` are the same rows split by is_dir, so sizes, orderings and group-bys over files never
# count a folder (whose size is the total of everything below it).
FILES = replace(ENTRIES, name="files", base="entries", where="e.is_dir = 0")
FOLDERS = replace(ENTRIES, name="folders", base="entries", where="e.is_dir = 1")
# `search "…"`: entries matching a search, best first, with the matched part (docs "Search")
SEARCH = replace(ENTRIES, name="search", base="entries",
                 defaults=("rank", "snippet", "path", "kind", "size", "modified", "uuid"))
SEARCH_FIELDS = frozenset({"rank", "snippet"})

CONTENT = SourceDef(
    name="content", table="content_identities", alias="c",
    fields=_fields("c", "id:int uuid:uuid content_hash:text integrity_hash:text size:size "
                        "kind:text mime_type:text entry_count:int first_seen_at:time_iso "
                        "last_verified_at:time_iso", indexed="id uuid content_hash")
    | {"wasted": FieldDef("wasted", "(CASE WHEN c.entry_count > 1 "
                                    "THEN c.size * (c.entry_count - 1) ELSE 0 END)", "size"),
       # full BLAKE3 of every copy computed (core verification) and equal: sampled identity
       # alone is not proof that two files are the same
       "verified": FieldDef("verified", "(CASE WHEN c.integrity_hash IS NOT NULL AND NOT EXISTS "
                                        "(SELECT 1 FROM entries e WHERE e.content_id = c.id AND "
                                        "(e.full_hash IS NULL OR e.full_hash <> c.integrity_hash))"
                                        " THEN 1 ELSE 0 END)", "bool"),
       # SQLite 3.40 has no ORDER BY inside an aggregate: sort in a subquery, then collect
       "paths": FieldDef("paths", "(SELECT json_group_array(path) FROM (SELECT e.path AS path "
                                  "FROM entries e WHERE e.content_id = c.id ORDER BY e.path))",
                         "paths", duck="(SELECT list(e.path ORDER BY e.path) FROM entries e "
                                       "WHERE e.content_id = c.id)")},
    defaults=("uuid", "content_hash", "kind", "mime_type", "size", "entry_count"),
    synonyms={"hash": "content_hash", "copies": "entry_count"},
    predicates=frozenset({"kind", "tagged", "has", "duplicates"}),
)

MODELS = SourceDef(
    name="models", table="models", alias="m",
    fields=_fields("m", "id:int uuid:uuid extension_id:text model_type:text data:text "
                        "content_uuid:uuid=m.content_identity_uuid entry_uuid:uuid standalone:bool "
                        "metadata_id:int created_at:time_iso updated_at:time_iso "
                        "schema_version:text device_uuid:uuid",
                   indexed="id uuid content_uuid entry_uuid"),
    defaults=("uuid", "extension_id", "model_type", "content_uuid", "entry_uuid", "standalone",
              "data", "created_at", "updated_at"),
    synonyms={"type": "model_type", "extension": "extension_id"},
    predicates=frozenset({"tagged"}),
)

TAGS = SourceDef(
    name="tags", table="tags", alias="t",
    fields=_fields("t", "id:int uuid:uuid name:text namespace:text color:text parent_id:int "
                        "created_at:time_iso", indexed="id uuid name")
    | {"uses": FieldDef("uses", "(SELECT count(*) FROM tag_links tl WHERE tl.tag_id = t.id)", "int")},
    defaults=("name", "namespace", "color", "uses", "uuid"),
)

COLLECTIONS = SourceDef(
    name="collections", table="collections", alias="col",
    fields=_fields("col", "id:int uuid:uuid name:text description:text created_at:time_iso "
                          "updated_at:time_iso", indexed="id uuid name")
    | {"items": FieldDef("items", "(SELECT count(*) FROM collection_items ci "
                                  "WHERE ci.collection_id = col.id)", "int")},
    defaults=("name", "description", "items", "created_at", "uuid"),
)

JOBS = SourceDef(
    name="jobs", table="jobs", alias="j", db="jobs",
    fields=_fields("j", "id:text name:text extension_id:text status:text trigger:text "
                        "args:text phase:text progress_done:int progress_total:int message:text "
                        "result:text error:text attempts:int created_at:time_iso "
                        "started_at:time_iso updated_at:time_iso finished_at:time_iso",
                   indexed="id status extension_id"),
    defaults=("id", "name", "status", "phase", "progress_done", "progress_total", "message",
              "created_at", "finished_at"),
    key="created_at",
)

LOCATIONS = SourceDef(
    name="locations", table="locations", alias="l",
    fields={**_fields("l", "id:int uuid:uuid name:text path:text created_at:time_iso "
                           "last_indexed_at:time_iso device_id:int", indexed="id uuid"),
            **_fields("d", "device:text=d.name device_uuid:uuid=d.uuid", ("d",))},
    defaults=("name", "path", "device", "last_indexed_at", "uuid"),
    joins={"d": "JOIN devices d ON d.id = l.device_id"},
    predicates=frozenset({"device"}),
)

DEVICES = SourceDef(
    name="devices", table="devices", alias="d",
    fields=_fields("d", "id:int uuid:uuid name:text hostname:text os:text created_at:time_iso "
                        "last_seen_at:time_iso capabilities:text", indexed="id uuid"),
    defaults=("name", "hostname", "os", "last_seen_at", "uuid"),
)

SOURCES: dict[str, SourceDef] = {s.name: s for s in (ENTRIES, FILES, FOLDERS, CONTENT, MODELS, TAGS,
                                                     COLLECTIONS, JOBS, LOCATIONS, DEVICES, SEARCH)}

# Columns of `models` that are fields of every model; any other name is an inline JSON field.
MODEL_BUILTINS = frozenset(MODELS.fields)

# SQL of the relation predicates, shared by both dialects. `{x}` are placeholders the compiler
# fills with `?` (bound values) — never with user text.
PREDICATE_SQL = {
    # tags applied to the entry itself or to its content (every copy)
    ("tagged", "entries"): (
        "(e.uuid IN (SELECT um.entry_uuid FROM tags t JOIN tag_links tl ON tl.tag_id = t.id "
        "JOIN user_metadata um ON um.id = tl.metadata_id WHERE {tag} AND um.entry_uuid IS NOT NULL)"
        " OR e.content_id IN (SELECT c.id FROM tags t JOIN tag_links tl ON tl.tag_id = t.id "
        "JOIN user_metadata um ON um.id = tl.metadata_id "
        "JOIN content_identities c ON c.uuid = um.content_identity_uuid WHERE {tag}))"),
    ("tagged", "content"): (
        "c.uuid IN (SELECT um.content_identity_uuid FROM tags t JOIN tag_links tl ON tl.tag_id = t.id "
        "JOIN user_metadata um ON um.id = tl.metadata_id WHERE {tag} "
        "AND um.content_identity_uuid IS NOT NULL)"),
    ("tagged", "models"): (
        "m.metadata_id IN (SELECT tl.metadata_id FROM tags t JOIN tag_links tl ON tl.tag_id = t.id "
        "WHERE {tag})"),
    # a model scoped to the entry's content, or to the entry itself
    ("has", "entries"): (
        "(e.content_id IN (SELECT c.id FROM models m JOIN content_identities c "
        "ON c.uuid = m.content_identity_uuid WHERE {model})"
        " OR e.uuid IN (SELECT m.entry_uuid FROM models m WHERE {model} AND m.entry_uuid IS NOT NULL))"),
    ("has", "content"): (
        "c.uuid IN (SELECT m.content_identity_uuid FROM models m WHERE {model} "
        "AND m.content_identity_uuid IS NOT NULL)"),
    ("device", "entries"): (
        "e.location_id IN (SELECT l.id FROM locations l JOIN devices d ON d.id = l.device_id "
        "WHERE {device})"),
    ("device", "locations"): "l.device_id IN (SELECT d.id FROM devices d WHERE {device})",
    ("duplicates", "entries"): (
        "e.content_id IN (SELECT c.id FROM content_identities c WHERE c.entry_count > 1)"),
    ("duplicates", "content"): "c.entry_count > 1",
}


def all_sql_snippets() -> list[str]:
    """Every SQL text of the catalog (for the schema test)."""
    out = list(PREDICATE_SQL.values())
    for s in SOURCES.values():
        out += [f.sql for f in s.fields.values()] + [f.duck for f in s.fields.values() if f.duck]
        out += list(s.joins.values())
        out.append(f"{s.alias}.{s.key}")
        out += [s.where] if s.where else []
    out += ["m.model_type", "m.extension_id", "m.data", "t.name", "d.uuid", "d.name",
            "d.hostname", "e.path", "e.kind", "c.kind"]
    return out


