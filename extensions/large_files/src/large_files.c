/* Large and duplicate files: the reference vdfs WASM extension, in C.
 *
 * job scan     pages through the readable files of at least `min_size` bytes (keyset paging
 *              on path, so each step is one bounded query and a resumed job continues where
 *              its checkpoint says), asks for one `inspect` task per page (unless the argument
 *              inspect=false), and at the end counts duplicate groups among them.
 * task inspect reads the first 16 bytes of each file of a page and records a LargeFile model
 *              (its `head` is a blob field) for the entry.
 * action tag_large  proposes the `tag` setting on the largest files; the host checks the
 *              proposed changes against the grants before they are committed.
 */
#define VDFS_IMPLEMENTATION
#include "vdfs.h"

#define PAGE "256"

static int64_t setting_int(const char *key, int64_t fallback) {
    vdfs_json s;
    if (vdfs_call("settings.get", 0, &s) != 0) return fallback;
    return vdfs_as_int(vdfs_get(s, key), fallback);
}

static vdfs_json setting_raw(const char *key) {
    vdfs_json s, none = {0, 0};
    if (vdfs_call("settings.get", 0, &s) != 0) return none;
    return vdfs_get(s, key);
}

static int fail(const char *what, vdfs_json err) {
    vdfs_buf b = {0, 0, 0};
    vdfs_jstr(&b, err.p, err.len);
    vdfs_log("error", what);
    vdfs_output(&b);
    return 1;
}

VDFS_ENTRY(scan) {
    vdfs_json input = vdfs_input(in, in_len);
    vdfs_json args = vdfs_get(input, "args"), state = vdfs_get(input, "state");
    int64_t min = vdfs_as_int(vdfs_get(args, "min_size"), setting_int("min_size", 1000000));
    vdfs_json after = vdfs_get(state, "after");
    int64_t large = vdfs_as_int(vdfs_get(state, "large"), 0);
    int64_t bytes = vdfs_as_int(vdfs_get(state, "bytes"), 0);

    vdfs_buf q = {0, 0, 0};
    vdfs_str(&q, "{\"query\":\"entries where is_dir = false and size >= :min and path > :after "
                 "order by path limit " PAGE " select uuid, path, size\",\"page_size\":" PAGE
                 ",\"params\":{\"min\":");
    vdfs_int(&q, min);
    vdfs_str(&q, ",\"after\":");
    if (vdfs_is_null(after)) vdfs_str(&q, "\"\""); else vdfs_raw(&q, after.p, after.len);
    vdfs_str(&q, "}}");
    vdfs_json page;
    if (vdfs_call("query", &q, &page) != 0) return fail("query failed", page);

    vdfs_json rows = vdfs_get(page, "rows"), row = {0, 0}, last = {0, 0};
    vdfs_buf task = {0, 0, 0};
    int64_t n = 0;
    vdfs_str(&task, "{\"entries\":[");
    while (vdfs_next(rows, &row)) {
        if (n++) vdfs_str(&task, ",");
        vdfs_raw(&task, vdfs_get(row, "uuid").p, vdfs_get(row, "uuid").len);
        bytes += vdfs_as_int(vdfs_get(row, "size"), 0);
        last = vdfs_get(row, "path");
    }
    vdfs_str(&task, "]}");
    large += n;

    vdfs_buf out = {0, 0, 0};
    if (n == 0) {   /* the last step: duplicate groups among the large files */
        vdfs_buf d = {0, 0, 0};
        vdfs_str(&d, "{\"query\":\"entries where is_dir = false and size >= :min group by "
                     "content_hash select content_hash, count() as n, sum(size) as bytes\","
                     "\"page_size\":100000,\"params\":{\"min\":");
        vdfs_int(&d, min);
        vdfs_str(&d, "}}");
        vdfs_json groups;
        int64_t dup_groups = 0, wasted = 0;
        if (vdfs_call("query", &d, &groups) != 0) return fail("duplicates query failed", groups);
        vdfs_json g = {0, 0};
        vdfs_json grows = vdfs_get(groups, "rows");
        while (vdfs_next(grows, &g)) {
            int64_t copies = vdfs_as_int(vdfs_get(g, "n"), 1);
            if (copies > 1 && !vdfs_is_null(vdfs_get(g, "content_hash"))) {
                dup_groups++;
                wasted += vdfs_as_int(vdfs_get(g, "bytes"), 0) / copies * (copies - 1);
            }
        }
        vdfs_str(&out, "{\"done\":true,\"result\":{\"large_files\":");
        vdfs_int(&out, large);
        vdfs_str(&out, ",\"bytes\":");
        vdfs_int(&out, bytes);
        vdfs_str(&out, ",\"duplicate_groups\":");
        vdfs_int(&out, dup_groups);
        vdfs_str(&out, ",\"wasted_bytes\":");
        vdfs_int(&out, wasted);
        vdfs_str(&out, "}}");
        return vdfs_output(&out);
    }
    vdfs_buf progress = {0, 0, 0};
    vdfs_json ignored;
    vdfs_str(&progress, "{\"done\":");
    vdfs_int(&progress, large);
    vdfs_str(&progress, ",\"message\":\"large files found\"}");
    vdfs_call("job.progress", &progress, &ignored);

    vdfs_str(&out, "{\"state\":{\"after\":");
    vdfs_raw(&out, last.p, last.len);
    vdfs_str(&out, ",\"large\":");
    vdfs_int(&out, large);
    vdfs_str(&out, ",\"bytes\":");
    vdfs_int(&out, bytes);
    vdfs_str(&out, "}");
    vdfs_json inspect = vdfs_get(args, "inspect");    /* inspect=false: count only, no tasks */
    if (!(inspect.len == 5 && vdfs_streq(inspect.p, 5, "false"))) {
        vdfs_str(&out, ",\"tasks\":[");
        vdfs_raw(&out, task.p, task.len);
        vdfs_str(&out, "]");
    }
    vdfs_str(&out, "}");
    return vdfs_output(&out);
}

VDFS_ENTRY(inspect) {
    vdfs_json entries = vdfs_get(vdfs_input(in, in_len), "entries"), e = {0, 0};
    int64_t recorded = 0;
    while (vdfs_next(entries, &e)) {
        vdfs_buf r = {0, 0, 0};
        vdfs_json head, size_resp, ignored;
        vdfs_str(&r, "{\"entry\":");
        vdfs_raw(&r, e.p, e.len);
        vdfs_str(&r, ",\"offset\":0,\"length\":16}");
        if (vdfs_call("entry.read", &r, &head) != 0) continue;   /* gone since the query */
        vdfs_buf s = {0, 0, 0};
        vdfs_str(&s, "{\"query\":\"entries where uuid = :u select size, name\",\"params\":{\"u\":");
        vdfs_raw(&s, e.p, e.len);
        vdfs_str(&s, "}}");
        if (vdfs_call("query", &s, &size_resp) != 0) continue;
        vdfs_json row = vdfs_at(vdfs_get(size_resp, "rows"), 0);
        vdfs_buf data = {0, 0, 0};
        vdfs_str(&data, "\"data\":{\"size\":");
        vdfs_int(&data, vdfs_as_int(vdfs_get(row, "size"), 0));
        vdfs_str(&data, ",\"name\":");
        vdfs_raw(&data, vdfs_get(row, "name").p, vdfs_get(row, "name").len);
        vdfs_str(&data, ",\"head\":");
        vdfs_base64(&data, (const uint8_t *)head.p, head.len);
        vdfs_str(&data, "}");
        vdfs_buf m = {0, 0, 0};
        vdfs_str(&m, "{\"type\":\"LargeFile\",\"entry\":");
        vdfs_raw(&m, e.p, e.len);
        vdfs_str(&m, ",");
        vdfs_raw(&m, data.p, data.len);
        vdfs_str(&m, "}");
        if (vdfs_call("models.create", &m, &ignored) != 0 &&
            vdfs_call("models.update", &m, &ignored) != 0)   /* a resumed task: already there */
            return fail("could not record a LargeFile", ignored);
        recorded++;
    }
    vdfs_buf out = {0, 0, 0};
    vdfs_int(&out, recorded);
    return vdfs_output(&out);
}

VDFS_ENTRY(tag_large) {
    vdfs_json args = vdfs_get(vdfs_input(in, in_len), "args");
    int64_t min = vdfs_as_int(vdfs_get(args, "min_size"), setting_int("min_size", 1000000));
    vdfs_json tag = vdfs_get(args, "tag");
    if (vdfs_is_null(tag)) tag = setting_raw("tag");
    vdfs_buf q = {0, 0, 0};
    vdfs_str(&q, "{\"query\":\"entries where is_dir = false and size >= :min order by size desc "
                 "limit 500 select uuid\",\"page_size\":500,\"params\":{\"min\":");
    vdfs_int(&q, min);
    vdfs_str(&q, "}}");
    vdfs_json page;
    if (vdfs_call("query", &q, &page) != 0) return fail("query failed", page);
    vdfs_buf out = {0, 0, 0};
    vdfs_json row = {0, 0};
    int64_t n = 0;
    vdfs_str(&out, "{\"changes\":[");
    vdfs_json rows = vdfs_get(page, "rows");
    while (vdfs_next(rows, &row)) {
        if (n++) vdfs_str(&out, ",");
        vdfs_str(&out, "{\"op\":\"add_tag\",\"entry\":");
        vdfs_raw(&out, vdfs_get(row, "uuid").p, vdfs_get(row, "uuid").len);
        vdfs_str(&out, ",\"tag\":");
        vdfs_raw(&out, tag.p, tag.len);
        vdfs_str(&out, "}");
    }
    vdfs_str(&out, "],\"title\":\"Tag ");
    vdfs_int(&out, n);
    vdfs_str(&out, " large files\"}");
    return vdfs_output(&out);
}
