/* vdfs.h — write a vdfs WASM extension in C (ABI 1). One header, no libc, no WASI.
 *
 * Build (Debian clang + lld):
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -I extensions/wasm_sdk \
 *         -o extension.wasm my_extension.c
 *
 * In exactly one .c file, `#define VDFS_IMPLEMENTATION` before including this header.
 * An entry point (a job step, task or action) looks like:
 *
 *   VDFS_ENTRY(scan) {               // (const char *in, uint32_t in_len) -> int status
 *       vdfs_json args = vdfs_get(vdfs_input(in, in_len), "args");
 *       ...
 *       return vdfs_output(&out);      // 0
 *   }
 *
 * Memory: a bump arena that is never freed — every call runs in a fresh instance, so the
 * host discards it all when the call ends.
 */
#ifndef VDFS_H
#define VDFS_H

#include <stddef.h>
#include <stdint.h>

#define VDFS_ABI_VERSION 1
#define VDFS_EXPORT(name) __attribute__((export_name(#name), used, visibility("default")))
#define VDFS_ENTRY(name) VDFS_EXPORT(name) int32_t name(const char *in, uint32_t in_len)

/* ---- the host (module "vdfs") ---------------------------------------------------------- */
__attribute__((import_module("vdfs"), import_name("call")))
int32_t vdfs_host_call(const char *op, uint32_t op_len, const char *req, uint32_t req_len);
__attribute__((import_module("vdfs"), import_name("response")))
int32_t vdfs_host_response(char *buf, uint32_t cap);

/* ---- memory and strings ------------------------------------------------------------------ */
void *vdfs_alloc(uint32_t n);
uint32_t vdfs_strlen(const char *s);
int vdfs_streq(const char *a, uint32_t a_len, const char *b);

/* A growable byte buffer, for building requests and output. */
typedef struct { char *p; uint32_t len, cap; } vdfs_buf;
void vdfs_raw(vdfs_buf *b, const char *s, uint32_t n);
void vdfs_str(vdfs_buf *b, const char *s);             /* append text as is */
void vdfs_jstr(vdfs_buf *b, const char *s, uint32_t n); /* append a JSON string literal */
void vdfs_int(vdfs_buf *b, int64_t v);
void vdfs_base64(vdfs_buf *b, const uint8_t *data, uint32_t n); /* {"$base64":"..."} */

/* ---- reading JSON -------------------------------------------------------------------- */
typedef struct { const char *p; uint32_t len; } vdfs_json;   /* one JSON value (len 0: none) */
vdfs_json vdfs_input(const char *in, uint32_t in_len);
vdfs_json vdfs_get(vdfs_json obj, const char *key);          /* a member of an object */
vdfs_json vdfs_at(vdfs_json arr, uint32_t index);            /* an element of an array */
int vdfs_next(vdfs_json arr, vdfs_json *cursor);             /* iterate: cursor starts {0,0} */
int64_t vdfs_as_int(vdfs_json v, int64_t fallback);
int vdfs_is_true(vdfs_json v);
int vdfs_is_null(vdfs_json v);
/* The text of a JSON string without its quotes (escapes kept as they are: fine for uuids,
 * and for passing the value on with vdfs_raw inside quotes). */
vdfs_json vdfs_str_body(vdfs_json v);

/* ---- host operations ------------------------------------------------------------------- */
/* Run `op` with the request in `req`; on success *resp is the response and 0 is returned,
 * on failure *resp is {"error":..., "message":...} and -1 is returned. */
int vdfs_call(const char *op, const vdfs_buf *req, vdfs_json *resp);
int vdfs_output(const vdfs_buf *json);
void vdfs_log(const char *level, const char *message);

#ifdef VDFS_IMPLEMENTATION

extern unsigned char __heap_base;
static uintptr_t vdfs__top = 0;

VDFS_EXPORT(vdfs_abi_version) int32_t vdfs_abi_version(void) { return VDFS_ABI_VERSION; }

VDFS_EXPORT(vdfs_alloc) void *vdfs_alloc(uint32_t n) {
    if (vdfs__top == 0) vdfs__top = (uintptr_t)&__heap_base;
    uintptr_t p = (vdfs__top + 7u) & ~(uintptr_t)7u;
    uintptr_t end = p + n;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();  /* over the limit */
    }
    vdfs__top = end;
    return (void *)p;
}

/* clang may call these for struct copies; there is no libc to provide them. */
void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst; const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}
void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

uint32_t vdfs_strlen(const char *s) { uint32_t n = 0; while (s[n]) n++; return n; }

int vdfs_streq(const char *a, uint32_t a_len, const char *b) {
    uint32_t i = 0;
    for (; i < a_len; i++) if (b[i] != a[i] || !b[i]) return 0;
    return b[i] == 0;
}

void vdfs_raw(vdfs_buf *b, const char *s, uint32_t n) {
    if (b->len + n > b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n) cap *= 2;
        char *p = vdfs_alloc(cap);
        memcpy(p, b->p, b->len);
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void vdfs_str(vdfs_buf *b, const char *s) { vdfs_raw(b, s, vdfs_strlen(s)); }

void vdfs_jstr(vdfs_buf *b, const char *s, uint32_t n) {
    static const char hex[] = "0123456789abcdef";
    vdfs_raw(b, "\"", 1);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; vdfs_raw(b, e, 2); }
        else if (c < 0x20) { char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}; vdfs_raw(b, e, 6); }
        else vdfs_raw(b, (const char *)&s[i], 1);
    }
    vdfs_raw(b, "\"", 1);
}

void vdfs_int(vdfs_buf *b, int64_t v) {
    char tmp[24]; int n = 0;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) tmp[n++] = '-';
    while (n) vdfs_raw(b, &tmp[--n], 1);
}

void vdfs_base64(vdfs_buf *b, const uint8_t *d, uint32_t n) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    vdfs_str(b, "{\"$base64\":\"");
    for (uint32_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        vdfs_raw(b, q, 4);
    }
    vdfs_str(b, "\"}");
}

/* -- JSON scanning: enough to walk the host's responses -- */
static const char *vdfs__ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static const char *vdfs__skip(const char *p, const char *end) {   /* past one value */
    p = vdfs__ws(p, end);
    if (p >= end) return end;
    if (*p == '"') {
        for (p++; p < end && *p != '"'; p++) if (*p == '\\') p++;
        return p < end ? p + 1 : end;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') { p = vdfs__skip(p, end) - 1; continue; }
            if (*p == '{' || *p == '[') depth++;
            else if (*p == '}' || *p == ']') { if (--depth == 0) return p + 1; }
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
    return p;
}

vdfs_json vdfs_input(const char *in, uint32_t in_len) { vdfs_json v = {in, in_len}; return v; }

vdfs_json vdfs_get(vdfs_json obj, const char *key) {
    vdfs_json none = {0, 0};
    const char *p = vdfs__ws(obj.p, obj.p + obj.len), *end = obj.p + obj.len;
    if (p >= end || *p != '{') return none;
    p++;
    while (p < end) {
        p = vdfs__ws(p, end);
        if (p >= end || *p == '}') return none;
        const char *k = p + 1, *kend = vdfs__skip(p, end) - 1;
        p = vdfs__ws(kend + 1, end);
        if (p < end && *p == ':') p++;
        p = vdfs__ws(p, end);
        const char *vend = vdfs__skip(p, end);
        if (vdfs_streq(k, (uint32_t)(kend - k), key)) { vdfs_json v = {p, (uint32_t)(vend - p)}; return v; }
        p = vdfs__ws(vend, end);
        if (p < end && *p == ',') p++;
    }
    return none;
}

int vdfs_next(vdfs_json arr, vdfs_json *cur) {
    const char *end = arr.p + arr.len, *p;
    if (cur->p == 0) {
        p = vdfs__ws(arr.p, end);
        if (p >= end || *p != '[') return 0;
        p++;
    } else {
        p = vdfs__ws(cur->p + cur->len, end);
        if (p < end && *p == ',') p++;
    }
    p = vdfs__ws(p, end);
    if (p >= end || *p == ']') return 0;
    const char *vend = vdfs__skip(p, end);
    cur->p = p; cur->len = (uint32_t)(vend - p);
    return 1;
}

vdfs_json vdfs_at(vdfs_json arr, uint32_t index) {
    vdfs_json cur = {0, 0};
    for (uint32_t i = 0; vdfs_next(arr, &cur); i++) if (i == index) return cur;
    vdfs_json none = {0, 0};
    return none;
}

int64_t vdfs_as_int(vdfs_json v, int64_t fallback) {
    const char *p = v.p, *end = v.p + v.len;
    int neg = 0; int64_t n = 0;
    if (!v.len) return fallback;
    if (*p == '-') { neg = 1; p++; }
    if (p >= end || *p < '0' || *p > '9') return fallback;
    while (p < end && *p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
    return neg ? -n : n;
}

int vdfs_is_true(vdfs_json v) { return v.len == 4 && vdfs_streq(v.p, 4, "true"); }
int vdfs_is_null(vdfs_json v) { return v.len == 0 || (v.len == 4 && vdfs_streq(v.p, 4, "null")); }

vdfs_json vdfs_str_body(vdfs_json v) {
    vdfs_json none = {0, 0};
    if (v.len < 2 || v.p[0] != '"') return none;
    vdfs_json s = {v.p + 1, v.len - 2};
    return s;
}

/* -- host calls -- */
int vdfs_call(const char *op, const vdfs_buf *req, vdfs_json *resp) {
    int32_t n = vdfs_host_call(op, vdfs_strlen(op), req ? req->p : 0, req ? req->len : 0);
    uint32_t size = (uint32_t)(n < 0 ? -n : n);
    char *buf = vdfs_alloc(size + 1);
    vdfs_host_response(buf, size);
    buf[size] = 0;
    resp->p = buf; resp->len = size;
    return n < 0 ? -1 : 0;
}

int vdfs_output(const vdfs_buf *json) {
    vdfs_json ignored;
    vdfs_call("output", json, &ignored);
    return 0;
}

void vdfs_log(const char *level, const char *message) {
    vdfs_buf b = {0, 0, 0};
    vdfs_json ignored;
    vdfs_str(&b, "{\"level\":\"");
    vdfs_str(&b, level);
    vdfs_str(&b, "\",\"message\":");
    vdfs_jstr(&b, message, vdfs_strlen(message));
    vdfs_str(&b, "}");
    vdfs_call("log", &b, &ignored);
}

#endif /* VDFS_IMPLEMENTATION */
#endif /* VDFS_H */
