/*
 * test_appproto.c - unit tests of the application protocol recognisers.
 *
 * Every message is built here, byte by byte, and fed to the recogniser one
 * prefix at a time, as a caller reassembling a stream would: each prefix
 * runs on an exactly-sized heap copy, so a read past len is an
 * AddressSanitizer error in the sanitizer build.  For each message the
 * tests assert the exact prefix length at which the answer becomes DONE,
 * that every shorter prefix said MORE with nothing filled in (so no wrong
 * name is ever shown early), and that every longer prefix gives the same
 * answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "appproto.h"

#define LIMIT 8192

/* ---- building ------------------------------------------------------------ */

struct buf {
    uint8_t b[8192];
    size_t n;
};

static size_t put(struct buf *f, const void *p, size_t n)
{
    size_t off = f->n;

    assert_true(f->n + n <= sizeof f->b);
    memcpy(f->b + f->n, p, n);
    f->n += n;
    return off;
}

static size_t put8(struct buf *f, unsigned v)
{
    uint8_t b = (uint8_t)v;
    return put(f, &b, 1);
}

static size_t put16(struct buf *f, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return put(f, b, 2);
}

static size_t put24(struct buf *f, unsigned v)
{
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return put(f, b, 3);
}

static size_t put32le(struct buf *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(f, b, 4);
}

static size_t puts_(struct buf *f, const char *s)
{
    return put(f, s, strlen(s));
}

static size_t fill(struct buf *f, unsigned v, size_t n)
{
    size_t off = f->n;
    for (size_t i = 0; i < n; i++)
        put8(f, v + (unsigned)i);
    return off;
}

/* Writes a big-endian 16-bit value at an offset already written. */
static void set16(struct buf *f, size_t at, size_t v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

/* ---- feeding ------------------------------------------------------------- */

/* Helpers report the line of their caller, which says which case failed. */
#define assert_int_equal_at(a, b, line)                                                            \
    _assert_int_equal(cast_to_largest_integral_type(a), cast_to_largest_integral_type(b),          \
                      __FILE__, line)

typedef enum fa_app_verdict (*inspect_fn)(const uint8_t *, size_t, size_t, struct fa_app_info *);

static enum fa_app_verdict run(inspect_fn fn, const uint8_t *s, size_t len, size_t limit,
                               struct fa_app_info *info)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    memset(info, 0xa5, sizeof *info); /* so that a field left unset shows */
    enum fa_app_verdict v = fn(copy, len, limit, info);
    free(copy);
    return v;
}

static void assert_blank(const struct fa_app_info *i)
{
    assert_int_equal(i->app, FA_APP_UNKNOWN);
    assert_string_equal(i->server_name, "");
    assert_int_equal(i->tls_version, 0);
    assert_int_equal(i->incomplete, 0);
}

static void assert_same(const struct fa_app_info *a, const struct fa_app_info *b)
{
    assert_int_equal(a->app, b->app);
    assert_string_equal(a->server_name, b->server_name);
    assert_int_equal(a->tls_version, b->tls_version);
    assert_int_equal(a->incomplete, b->incomplete);
}

/* Feeds every prefix 0..n; returns the first length that gave DONE (n + 1
 * if none did) with its answer in *out. */
static size_t feed_fn(inspect_fn fn, const uint8_t *s, size_t n, size_t limit,
                      struct fa_app_info *out)
{
    size_t done_at = n + 1;
    struct fa_app_info info;

    memset(out, 0, sizeof *out);
    for (size_t len = 0; len <= n; len++) {
        enum fa_app_verdict v = run(fn, s, len, limit, &info);
        if (done_at > n && v == FA_APP_MORE) {
            assert_blank(&info);
        } else if (done_at > n) {
            done_at = len;
            *out = info;
        } else {
            assert_int_equal(v, FA_APP_DONE);
            assert_same(&info, out);
        }
    }
    return done_at;
}

static size_t feed(const struct buf *f, struct fa_app_info *out)
{
    return feed_fn(fa_app_inspect, f->b, f->n, LIMIT, out);
}

static size_t feed_response(const struct buf *f, struct fa_app_info *out)
{
    return feed_fn(fa_app_inspect_response, f->b, f->n, LIMIT, out);
}

static size_t feed_str(const char *s, struct fa_app_info *out)
{
    return feed_fn(fa_app_inspect, (const uint8_t *)s, strlen(s), LIMIT, out);
}

static size_t feed_str_response(const char *s, struct fa_app_info *out)
{
    return feed_fn(fa_app_inspect_response, (const uint8_t *)s, strlen(s), LIMIT, out);
}

/* ---- TLS ClientHellos ---------------------------------------------------- */

static void ext_begin(struct buf *e, unsigned type, size_t *len_at)
{
    put16(e, type);
    *len_at = put16(e, 0);
}

static void ext_end(struct buf *e, size_t len_at)
{
    set16(e, len_at, e->n - len_at - 2);
}

/* server_name with one host_name of n bytes (n may differ from strlen). */
static void ext_sni_n(struct buf *e, const char *name, size_t n)
{
    size_t at;
    ext_begin(e, 0x0000, &at);
    put16(e, 3 + n);
    put8(e, 0);
    put16(e, n);
    put(e, name, n);
    ext_end(e, at);
}

static void ext_sni(struct buf *e, const char *name)
{
    ext_sni_n(e, name, strlen(name));
}

static void ext_versions(struct buf *e, const uint16_t *v, size_t n)
{
    size_t at;
    ext_begin(e, 0x002b, &at);
    put8(e, 2 * n);
    for (size_t i = 0; i < n; i++)
        put16(e, v[i]);
    ext_end(e, at);
}

static void ext_empty(struct buf *e, unsigned type)
{
    put16(e, type);
    put16(e, 0);
}

/* key_share: X25519MLKEM768 (1216 bytes) when pq, and X25519 (32). */
static void ext_key_share(struct buf *e, int pq)
{
    size_t at, list;
    ext_begin(e, 0x0033, &at);
    list = put16(e, 0);
    if (pq) {
        put16(e, 0x11ec);
        put16(e, 1216);
        fill(e, 0x40, 1216);
    }
    put16(e, 0x001d);
    put16(e, 32);
    fill(e, 0x90, 32);
    set16(e, list, e->n - list - 2);
    ext_end(e, at);
}

static void ext_alpn(struct buf *e, const char *proto)
{
    size_t at;
    ext_begin(e, 0x0010, &at);
    put16(e, 1 + strlen(proto));
    put8(e, strlen(proto));
    puts_(e, proto);
    ext_end(e, at);
}

/* A ClientHello handshake message (no record header) with the extensions
 * in exts (NULL: none at all, as SSL 3.0 sent it). */
static void client_hello(struct buf *hs, unsigned version, const struct buf *exts)
{
    size_t len_at;

    put8(hs, 1);
    len_at = hs->n;
    put24(hs, 0);
    put16(hs, version);
    fill(hs, 0x11, 32); /* random */
    put8(hs, 32);
    fill(hs, 0x22, 32); /* session id */
    put16(hs, 2 * 17);
    put16(hs, 0x0a0a); /* GREASE suite */
    for (unsigned s = 0; s < 16; s++)
        put16(hs, 0x1301 + s);
    put8(hs, 1);
    put8(hs, 0);
    if (exts != NULL) {
        put16(hs, exts->n);
        put(hs, exts->b, exts->n);
    }
    size_t n = hs->n - len_at - 3;
    hs->b[len_at] = (uint8_t)(n >> 16);
    hs->b[len_at + 1] = (uint8_t)(n >> 8);
    hs->b[len_at + 2] = (uint8_t)n;
}

/* The handshake bytes cut into records at the given handshake offsets. */
static void records(struct buf *s, const struct buf *hs, const size_t *cuts, size_t ncuts)
{
    size_t from = 0;

    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : hs->n;
        put8(s, 0x16);
        put16(s, 0x0301);
        put16(s, to - from);
        put(s, hs->b + from, to - from);
        from = to;
    }
}

static void one_record(struct buf *s, const struct buf *hs)
{
    records(s, hs, NULL, 0);
}

static void test_tls12_classic(void **state)
{
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    (void)state;

    ext_sni(&e, "WWW.Example.com");
    ext_empty(&e, 0x0017); /* extended master secret */
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "www.example.com");
    assert_int_equal(info.tls_version, 0x0303);
    assert_int_equal(info.incomplete, 0);
}

static void test_tls13_grease(void **state)
{
    static const uint16_t versions[] = {0x3a3a, 0x7f1c, 0x0304, 0x0303};
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    (void)state;

    ext_empty(&e, 0x2a2a); /* a GREASE extension first, as Chrome sends */
    ext_sni(&e, "api.example.org");
    ext_versions(&e, versions, 4);
    ext_key_share(&e, 0);
    ext_empty(&e, 0xfafa);
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "api.example.org");
    assert_int_equal(info.tls_version, 0x0304);
    assert_int_equal(info.incomplete, 0);
}

/* supported_versions with only GREASE and an unknown value: client_version. */
static void test_tls_versions_fallback(void **state)
{
    static const uint16_t versions[] = {0x1a1a, 0x7f17};
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    (void)state;

    ext_versions(&e, versions, 2);
    client_hello(&hs, 0x0302, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.tls_version, 0x0302);
    assert_string_equal(info.server_name, "");
}

/* ~1.7 KB with a 1216-byte key share, in two records; a network would cut
 * it in two segments at 1448 bytes. */
static void build_pq(struct buf *s, int sni_first)
{
    static const uint16_t versions[] = {0xcaca, 0x0304, 0x0303};
    struct buf e = {0}, hs = {0};
    size_t cut = 1024;

    ext_empty(&e, 0x4a4a);
    if (sni_first)
        ext_sni(&e, "pq.example.com");
    ext_versions(&e, versions, 3);
    ext_key_share(&e, 1);
    ext_alpn(&e, "h2");
    if (!sni_first)
        ext_sni(&e, "pq.example.com");
    size_t at;
    ext_begin(&e, 0x0015, &at); /* padding */
    fill(&e, 0, 200);
    ext_end(&e, at);
    client_hello(&hs, 0x0303, &e);
    records(s, &hs, &cut, 1);
}

static void test_tls_post_quantum(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    build_pq(&s, 1);
    assert_true(s.n > 1600 && s.n < 1800);
    /* The first segment alone is a plausible prefix, nothing more. */
    assert_int_equal(run(fa_app_inspect, s.b, 1448, LIMIT, &info), FA_APP_MORE);
    assert_blank(&info);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "pq.example.com");
    assert_int_equal(info.tls_version, 0x0304);
    assert_int_equal(info.incomplete, 0);
}

/* The limit cuts the wait short: what was read whole is kept. */
static void test_tls_limit(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    build_pq(&s, 1);
    assert_int_equal(run(fa_app_inspect, s.b, 999, 1000, &info), FA_APP_MORE);
    assert_int_equal(run(fa_app_inspect, s.b, 1000, 1000, &info), FA_APP_DONE);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "pq.example.com");
    assert_int_equal(info.tls_version, 0x0304);
    assert_int_equal(info.incomplete, 1);

    memset(&s, 0, sizeof s);
    build_pq(&s, 0); /* the name comes after the key share: not read yet */
    assert_int_equal(run(fa_app_inspect, s.b, 1000, 1000, &info), FA_APP_DONE);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.tls_version, 0x0304);
    assert_int_equal(info.incomplete, 1);

    /* Before the version is read, the limit leaves nothing. */
    assert_int_equal(run(fa_app_inspect, s.b, 8, 8, &info), FA_APP_DONE);
    assert_blank(&info);
    /* A limit of 0 decides at once. */
    assert_int_equal(run(fa_app_inspect, s.b, 0, 0, &info), FA_APP_DONE);
    assert_blank(&info);
}

/* The handshake message cut into two records at every possible place, and
 * into many small records. */
static void test_tls_fragmented(void **state)
{
    struct buf e = {0}, hs = {0};
    struct fa_app_info info;
    (void)state;

    ext_sni(&e, "frag.example.net");
    client_hello(&hs, 0x0303, &e);
    for (size_t cut = 1; cut < hs.n; cut++) {
        struct buf s = {0};
        records(&s, &hs, &cut, 1);
        assert_int_equal(feed(&s, &info), s.n);
        assert_int_equal(info.app, FA_APP_TLS);
        assert_string_equal(info.server_name, "frag.example.net");
        assert_int_equal(info.tls_version, 0x0303);
    }
    size_t cuts[64], n = 0;
    for (size_t at = 3; at < hs.n && n < 64; at += 3)
        cuts[n++] = at;
    struct buf s = {0};
    records(&s, &hs, cuts, n);
    assert_int_equal(feed(&s, &info), s.n);
    assert_string_equal(info.server_name, "frag.example.net");
}

/* A record of another type, or an empty one, before the message ends. */
static void test_tls_bad_records(void **state)
{
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    size_t cut = 50;
    (void)state;

    ext_sni(&e, "x.example.com");
    client_hello(&hs, 0x0303, &e);
    records(&s, &hs, &cut, 1);
    size_t second = 5 + cut;
    s.b[second] = 0x17; /* application data in the middle of the hello */
    assert_int_equal(feed(&s, &info), second + 1);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_int_equal(info.incomplete, 1);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.tls_version, 0);

    s.b[second] = 0x16;
    set16(&s, second + 3, 0); /* an empty handshake record */
    assert_int_equal(feed(&s, &info), second + 5);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_int_equal(info.incomplete, 1);
}

static void test_tls_no_sni(void **state)
{
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    (void)state;

    ext_empty(&e, 0x0017);
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.tls_version, 0x0303);
    assert_int_equal(info.incomplete, 0);

    /* No extensions at all. */
    memset(&hs, 0, sizeof hs);
    memset(&s, 0, sizeof s);
    client_hello(&hs, 0x0300, NULL);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.tls_version, 0x0300);
    assert_string_equal(info.server_name, "");
}

static void check_bad_name_(const char *name, size_t n, int line)
{
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;

    ext_sni_n(&e, name, n);
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal_at(feed(&s, &info), s.n, line);
    assert_int_equal_at(info.app, FA_APP_TLS, line);
    _assert_string_equal(info.server_name, "", __FILE__, line);
    assert_int_equal_at(info.tls_version, 0x0303, line);
    assert_int_equal_at(info.incomplete, 0, line);
}

#define check_bad_name(name, n) check_bad_name_(name, n, __LINE__)

static void test_tls_invalid_sni(void **state)
{
    char longname[300];
    (void)state;

    check_bad_name("bad\x01name.example.com", 20);
    check_bad_name("nul\0name.example.com", 20);
    check_bad_name("exa mple.com", 12);
    check_bad_name("a..b", 4);
    check_bad_name(".", 1);
    check_bad_name("", 0);
    check_bad_name("caf\xc3\xa9.example", 13);
    memset(longname, 'a', sizeof longname);
    check_bad_name(longname, 64); /* one label of 64 */
    for (size_t i = 50; i < sizeof longname; i += 51)
        longname[i] = '.';
    check_bad_name(longname, 254); /* 254 characters */
    check_bad_name(longname, 300); /* longer than the name buffer */

    /* 253 characters and a trailing dot are fine. */
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    longname[253] = '.';
    ext_sni_n(&e, longname, 254);
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(strlen(info.server_name), 253);
    assert_memory_equal(info.server_name, longname, 253);
}

/* A host_name whose length runs past its list: malformed as soon as the
 * length is read, long before the bytes it claims. */
static void test_tls_sni_overrun(void **state)
{
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    (void)state;

    ext_sni(&e, "over.example.com");
    ext_empty(&e, 0x0017);
    /* extension type, length, list length, name type, then the name length */
    size_t name_len_at = 2 + 2 + 2 + 1;
    set16(&e, name_len_at, 200);
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    size_t ext_in_stream = s.n - e.n;
    assert_int_equal(feed(&s, &info), ext_in_stream + name_len_at + 2);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.tls_version, 0);
    assert_int_equal(info.incomplete, 1);

    /* The extension longer than the block that holds it. */
    memset(&hs, 0, sizeof hs);
    memset(&s, 0, sizeof s);
    set16(&e, name_len_at, 16);
    set16(&e, 2, 500);
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), ext_in_stream + 4);
    assert_int_equal(info.incomplete, 1);

    /* Two server_name extensions: which one would the server use? */
    memset(&e, 0, sizeof e);
    memset(&hs, 0, sizeof hs);
    memset(&s, 0, sizeof s);
    ext_sni(&e, "one.example.com");
    ext_sni(&e, "two.example.com");
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    feed(&s, &info);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.incomplete, 1);
}

/* TDS 8.0 (strict encryption) starts with a ClientHello: it is TLS. */
static void test_tls_tds8(void **state)
{
    struct buf e = {0}, hs = {0}, s = {0};
    struct fa_app_info info;
    (void)state;

    ext_sni(&e, "sql01.corp.example");
    ext_alpn(&e, "tds/8.0");
    client_hello(&hs, 0x0303, &e);
    one_record(&s, &hs);
    assert_int_equal(feed(&s, &info), s.n);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "sql01.corp.example");
}

/* Not TLS: a wrong record version, a handshake that is not a ClientHello. */
static void test_tls_negative(void **state)
{
    static const uint8_t v2[] = {0x16, 0x02, 0x00, 0x00, 0x40};
    static const uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x40, 0x02};
    static const uint8_t too_short[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x10};
    static const uint8_t huge_record[] = {0x16, 0x03, 0x01, 0x40, 0x01};
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_fn(fa_app_inspect, v2, sizeof v2, LIMIT, &info), 2);
    assert_blank(&info);
    assert_int_equal(feed_fn(fa_app_inspect, server_hello, sizeof server_hello, LIMIT, &info), 6);
    assert_blank(&info);
    assert_int_equal(feed_fn(fa_app_inspect, too_short, sizeof too_short, LIMIT, &info), 9);
    assert_blank(&info);
    assert_int_equal(feed_fn(fa_app_inspect, huge_record, sizeof huge_record, LIMIT, &info), 5);
    assert_blank(&info);
}

static void test_tls_response(void **state)
{
    static const uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00,
                                           0x00, 0x76, 0x03, 0x03, 0xaa, 0xbb};
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    static const uint8_t bad_alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x07, 0x28};
    static const uint8_t client_hello_back[] = {0x16, 0x03, 0x01, 0x00, 0x7a, 0x01};
    struct fa_app_info info;
    (void)state;

    assert_int_equal(
        feed_fn(fa_app_inspect_response, server_hello, sizeof server_hello, LIMIT, &info), 11);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.tls_version, 0);
    assert_int_equal(feed_fn(fa_app_inspect_response, alert, sizeof alert, LIMIT, &info), 6);
    assert_int_equal(info.app, FA_APP_TLS);
    assert_int_equal(feed_fn(fa_app_inspect_response, bad_alert, sizeof bad_alert, LIMIT, &info),
                     6);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(
        feed_fn(fa_app_inspect_response, client_hello_back, sizeof client_hello_back, LIMIT, &info),
        6);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
}

/* ---- HTTP ---------------------------------------------------------------- */

static void check_http_(const char *req, const char *name, int line)
{
    struct fa_app_info info;

    assert_int_equal_at(feed_str(req, &info), strlen(req), line);
    assert_int_equal_at(info.app, FA_APP_HTTP, line);
    _assert_string_equal(info.server_name, name, __FILE__, line);
    assert_int_equal(info.tls_version, 0);
    assert_int_equal(info.incomplete, 0);
}

#define check_http(req, name) check_http_(req, name, __LINE__)

static void test_http_host(void **state)
{
    (void)state;
    check_http("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n",
               "www.example.com");
    /* Host last: MORE at every prefix until the blank line (feed checks). */
    check_http("POST /api/v1/x HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: "
               "2\r\nUser-Agent: OutSystems\r\nHost: Services.Example.COM\r\n\r\n",
               "services.example.com");
    check_http("GET / HTTP/1.1\r\nHost: intranet.corp:8080\r\n\r\n", "intranet.corp");
    check_http("GET / HTTP/1.1\r\nhost:10.1.2.3:443\r\n\r\n", "10.1.2.3");
    check_http("GET / HTTP/1.1\r\nHOST: \t example.com. \r\n\r\n", "example.com");
    check_http("GET / HTTP/1.1\r\nhOsT: a.example\r\n\r\n", "a.example");
    check_http("CONNECT proxy.example:443 HTTP/1.1\r\nHost: proxy.example:443\r\n\r\n",
               "proxy.example");
    check_http("OPTIONS * HTTP/1.1\r\nHost: o.example\r\n\r\n", "o.example");
    check_http("HEAD /h HTTP/1.1\r\nHost: h.example\r\n\r\n", "h.example");
    check_http("PUT /p HTTP/1.1\r\nHost: p.example\r\n\r\n", "p.example");
    check_http("PATCH /p HTTP/1.1\r\nHost: p.example\r\n\r\n", "p.example");
    check_http("DELETE /d HTTP/1.1\r\nHost: d.example\r\n\r\n", "d.example");
    /* A header whose name only starts like Host is not Host. */
    check_http("GET / HTTP/1.1\r\nHost-Extra: x.example\r\n\r\n", "");
}

static void test_http_no_name(void **state)
{
    (void)state;
    check_http("GET / HTTP/1.0\r\n\r\n", "");
    check_http("GET / HTTP/1.0\r\nUser-Agent: curl\r\n\r\n", "");
    check_http("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", "");
    check_http("GET / HTTP/1.1\r\nHost: bad_host!.example\r\n\r\n", "");
    check_http("GET / HTTP/1.1\r\nHost: a.example:80x\r\n\r\n", "");
    check_http("GET / HTTP/1.1\r\nHost:\r\n\r\n", "");
    check_http("GET / HTTP/1.1\r\nHost: user@a.example\r\n\r\n", "");
    /* Two Host headers: neither is trusted. */
    check_http("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", "");
}

/* The request line arrives a piece at a time; the Host in a later segment. */
static void test_http_segments(void **state)
{
    static const char req[] = "GET /a HTTP/1.1\r\nAccept: */*\r\nHost: seg.example\r\n\r\n";
    struct fa_app_info info;
    (void)state;

    assert_int_equal(run(fa_app_inspect, (const uint8_t *)req, 2, LIMIT, &info), FA_APP_MORE);
    assert_int_equal(run(fa_app_inspect, (const uint8_t *)req, 9, LIMIT, &info), FA_APP_MORE);
    /* Through the Host line but not the blank line: still waiting. */
    size_t host_end = strstr(req, "seg.example\r\n") - req + 13;
    assert_int_equal(run(fa_app_inspect, (const uint8_t *)req, host_end, LIMIT, &info),
                     FA_APP_MORE);
    assert_blank(&info);
    assert_int_equal(run(fa_app_inspect, (const uint8_t *)req, host_end + 1, LIMIT, &info),
                     FA_APP_MORE);
    assert_int_equal(run(fa_app_inspect, (const uint8_t *)req, host_end + 2, LIMIT, &info),
                     FA_APP_DONE);
    assert_string_equal(info.server_name, "seg.example");
}

static void check_not_http_(const char *s, size_t done_at, int line)
{
    struct fa_app_info info;
    assert_int_equal_at(feed_str(s, &info), done_at, line);
    assert_blank(&info);
}

#define check_not_http(s, done_at) check_not_http_(s, done_at, __LINE__)

static void test_http_garbage(void **state)
{
    (void)state;
    check_not_http("GETX / HTTP/1.1\r\n", 4);
    check_not_http("GET  / HTTP/1.1\r\n", 5);
    check_not_http("get / HTTP/1.1\r\n", 1);
    check_not_http("GET / HTTP/2.0\r\n", 12);
    check_not_http("GET / HTTP/1.2\r\n", 14);
    check_not_http("GET / HTTP/1.1\n", 15);
    check_not_http("GET /\x01 HTTP/1.1\r\n", 6);
    check_not_http("TRACE / HTTP/1.1\r\n", 1);
    check_not_http("\xff\xfe\x00\x01", 1);
}

/* After a good request line, a line that is not a header: HTTP, but the
 * headers are not trusted for a name. */
static void test_http_malformed_headers(void **state)
{
    struct fa_app_info info;
    static const char no_colon[] = "GET / HTTP/1.1\r\nHost www.example.com\r\n\r\n";
    static const char fold[] = "GET / HTTP/1.1\r\nHost: a.example\r\n b\r\n\r\n";
    static const char bare_lf[] = "GET / HTTP/1.1\r\nHost: a.example\n\r\n";
    (void)state;

    assert_int_equal(feed_str(no_colon, &info), 16 + 5);
    assert_int_equal(info.app, FA_APP_HTTP);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.incomplete, 1);
    assert_int_equal(feed_str(fold, &info), 16 + 17 + 1);
    assert_int_equal(info.app, FA_APP_HTTP);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.incomplete, 1);
    assert_int_equal(feed_str(bare_lf, &info), 16 + 15 + 1);
    assert_int_equal(info.incomplete, 1);
}

/* Headers longer than the limit: HTTP, with the Host read before it. */
static void test_http_limit(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    puts_(&s, "GET / HTTP/1.1\r\nHost: big.example\r\nCookie: ");
    while (s.n < 5000)
        puts_(&s, "abcdefghij");
    assert_int_equal(feed_fn(fa_app_inspect, s.b, s.n, 4096, &info), 4096);
    assert_int_equal(info.app, FA_APP_HTTP);
    assert_string_equal(info.server_name, "big.example");
    assert_int_equal(info.incomplete, 1);
}

static void test_http_response(void **state)
{
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_str_response("HTTP/1.1 200 OK\r\n", &info), 13);
    assert_int_equal(info.app, FA_APP_HTTP);
    assert_string_equal(info.server_name, "");
    assert_int_equal(feed_str_response("HTTP/1.0 404\r\n", &info), 13);
    assert_int_equal(info.app, FA_APP_HTTP);
    assert_int_equal(feed_str_response("HTTP/1.1 20x OK\r\n", &info), 12);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_str_response("HTTP/1.1 600 X\r\n", &info), 10);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_str_response("HTTP/2 200\r\n", &info), 6);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    /* A request is not a response, nor the other way round.  (Any two bytes
     * could be the length of a DNS response: its flags byte decides.) */
    assert_int_equal(feed_str_response("GET / HTTP/1.1\r\n\r\n", &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_str("HTTP/1.1 200 OK\r\n", &info), 2);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
}

/* ---- TDS ----------------------------------------------------------------- */

/* The PRELOGIN of MS-TDS 4.1: VERSION, ENCRYPTION, INSTOPT, THREADID, MARS. */
static const uint8_t tds_prelogin[] = {
    0x12, 0x01, 0x00, 0x2f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x06, 0x01, 0x00, 0x20,
    0x00, 0x01, 0x02, 0x00, 0x21, 0x00, 0x01, 0x03, 0x00, 0x22, 0x00, 0x04, 0x04, 0x00, 0x26, 0x00,
    0x01, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xb8, 0x0d, 0x00, 0x00, 0x01};

/* Decided at the terminator: header 8 + 5 options of 5 bytes + 1. */
#define TDS_PRELOGIN_DONE 34

static size_t feed_bytes(const uint8_t *b, size_t n, struct fa_app_info *info)
{
    return feed_fn(fa_app_inspect, b, n, LIMIT, info);
}

static void test_tds_prelogin(void **state)
{
    struct fa_app_info info;
    (void)state;

    assert_int_equal(sizeof tds_prelogin, 0x2f);
    assert_int_equal(feed_bytes(tds_prelogin, sizeof tds_prelogin, &info), TDS_PRELOGIN_DONE);
    assert_int_equal(info.app, FA_APP_TDS);
    assert_string_equal(info.server_name, "");
    assert_int_equal(info.tls_version, 0);
}

/* One byte changed, and where the answer becomes UNKNOWN. */
static void check_tds_mutant_(size_t at, uint8_t v, size_t done_at, int line)
{
    uint8_t b[sizeof tds_prelogin];
    struct fa_app_info info;

    memcpy(b, tds_prelogin, sizeof b);
    b[at] = v;
    assert_int_equal_at(feed_bytes(b, sizeof b, &info), done_at, line);
    assert_blank(&info);
}

#define check_tds_mutant(at, v, done_at) check_tds_mutant_(at, v, done_at, __LINE__)

static void test_tds_near_misses(void **state)
{
    (void)state;
    check_tds_mutant(1, 0x00, 2);   /* not the last packet of its message */
    check_tds_mutant(1, 0x04, 2);   /* status bits of a later packet */
    check_tds_mutant(2, 0x10, 4);   /* length 0x102f: more than a packet may be */
    check_tds_mutant(3, 0x0a, 4);   /* length 10: no room for an option list */
    check_tds_mutant(3, 0x20, 29);  /* length 32: the fifth option does not fit */
    check_tds_mutant(3, 0x28, 34);  /* length 40: MARS's data is past the end */
    check_tds_mutant(5, 0x01, 6);   /* a SPID from a client */
    check_tds_mutant(7, 0x01, 8);   /* window */
    check_tds_mutant(8, 0x09, 9);   /* an unknown option */
    check_tds_mutant(13, 0x00, 14); /* VERSION twice */
    check_tds_mutant(12, 0x05, 34); /* VERSION of 5 bytes */
    check_tds_mutant(10, 0x05, 34); /* VERSION's data inside the option list */
    check_tds_mutant(8, 0x03, 24);  /* THREADID twice: seen at the second */
}

/* A LOGIN7 sent first (no PRELOGIN), TDS 7.4. */
static void build_login7(struct buf *s, uint32_t tds_version)
{
    put8(s, 0x10);
    put8(s, 0x01);
    size_t len_at = put16(s, 0);
    put16(s, 0);
    put8(s, 1);
    put8(s, 0);
    size_t body = s->n;
    size_t total_at = put32le(s, 0);
    put32le(s, tds_version);
    put32le(s, 4096);
    fill(s, 0, 120);
    set16(s, len_at, s->n);
    uint32_t total = (uint32_t)(s->n - body);
    s->b[total_at] = (uint8_t)total; /* little-endian, and under 64 KiB */
    s->b[total_at + 1] = (uint8_t)(total >> 8);
}

static void test_tds_login7(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    build_login7(&s, 0x74000004);
    assert_int_equal(feed(&s, &info), 16);
    assert_int_equal(info.app, FA_APP_TDS);

    memset(&s, 0, sizeof s);
    build_login7(&s, 0x12345678);
    assert_int_equal(feed(&s, &info), 16);
    assert_blank(&info);

    memset(&s, 0, sizeof s);
    build_login7(&s, 0x72090002);
    s.b[8] ^= 1; /* the length inside disagrees with the packet */
    assert_int_equal(feed(&s, &info), 16);
    assert_blank(&info);
}

static void test_tds_response(void **state)
{
    static const uint8_t resp[] = {0x04, 0x01, 0x00, 0x26, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                   0x15, 0x00, 0x06, 0x01, 0x00, 0x1b, 0x00, 0x01, 0x02, 0x00,
                                   0x1c, 0x00, 0x01, 0x04, 0x00, 0x1d, 0x00, 0x01, 0xff, 0x10,
                                   0x00, 0x11, 0x5c, 0x00, 0x00, 0x00, 0x00, 0x00};
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_fn(fa_app_inspect_response, resp, sizeof resp, LIMIT, &info), 29);
    assert_int_equal(info.app, FA_APP_TDS);
    /* The client's PRELOGIN is not a response. */
    assert_int_equal(
        feed_fn(fa_app_inspect_response, tds_prelogin, sizeof tds_prelogin, LIMIT, &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
}

/* ---- TNS ----------------------------------------------------------------- */

static const char tns_descriptor[] =
    "(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=ORCL)(CID=(PROGRAM=w3wp)(HOST=FE1)(USER=svc)))"
    "(ADDRESS=(PROTOCOL=TCP)(HOST=10.0.0.5)(PORT=1521)))";

/* A CONNECT with its data inline (long = 0) or in a DATA packet after it. */
static void build_tns_connect(struct buf *s, const char *data, int follows)
{
    size_t n = strlen(data);
    size_t len_at = put16(s, 0);
    put16(s, 0);   /* packet checksum */
    put8(s, 1);    /* CONNECT */
    put8(s, 0);    /* flags */
    put16(s, 0);   /* header checksum */
    put16(s, 318); /* version */
    put16(s, 300); /* compatible version */
    put16(s, 0x0c41);
    put16(s, 0x2000); /* SDU */
    put16(s, 0xffff); /* TDU */
    put16(s, 0x4f98);
    put16(s, 0);
    put16(s, 0x0100); /* value of one */
    put16(s, n);
    put16(s, 58); /* connect data offset */
    put(s, "\0\0\x08\0", 4);
    put8(s, 0x41);
    put8(s, 0x41);
    fill(s, 0, 24); /* trace fields, to offset 58 */
    if (!follows) {
        puts_(s, data);
        set16(s, len_at, s->n);
        return;
    }
    set16(s, len_at, s->n);
    put16(s, 10 + n);
    put16(s, 0);
    put8(s, 6); /* DATA */
    put8(s, 0);
    put16(s, 0);
    put16(s, 0); /* data flags */
    puts_(s, data);
}

static void test_tns_connect(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    char longdata[400];
    (void)state;

    build_tns_connect(&s, tns_descriptor, 0);
    assert_int_equal(feed(&s, &info), 58 + strlen("(DESCRIPTION="));
    assert_int_equal(info.app, FA_APP_TNS);
    assert_string_equal(info.server_name, "");

    snprintf(longdata, sizeof longdata, "%s%0*d", tns_descriptor, 200, 0);
    memset(&s, 0, sizeof s);
    build_tns_connect(&s, longdata, 1);
    assert_int_equal(feed(&s, &info), 58 + 10 + strlen("(DESCRIPTION="));
    assert_int_equal(info.app, FA_APP_TNS);

    memset(&s, 0, sizeof s);
    build_tns_connect(&s, "( connect_data = (SID=X))", 0);
    assert_int_equal(feed(&s, &info), 58 + strlen("( connect_data ="));
    assert_int_equal(info.app, FA_APP_TNS);
}

static void check_tns_mutant_(size_t at, unsigned v, size_t done_at, int line)
{
    struct buf s = {0};
    struct fa_app_info info;

    build_tns_connect(&s, tns_descriptor, 0);
    s.b[at] = (uint8_t)v;
    assert_int_equal_at(feed(&s, &info), done_at, line);
    assert_blank(&info);
}

#define check_tns_mutant(at, v, done_at) check_tns_mutant_(at, v, done_at, __LINE__)

static void test_tns_near_misses(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    /* Up to its header checksum a CONNECT could be a DNS query (length, ID,
     * flags 0x0100), so a fault before byte 8 is decided at byte 8. */
    check_tns_mutant(2, 0x12, 8); /* packet checksum */
    check_tns_mutant(4, 0x06, 5); /* DATA, not CONNECT */
    /* A header checksum of 1 reads as QDCOUNT 1: the version (ANCOUNT) decides. */
    check_tns_mutant(7, 0x01, 10);
    check_tns_mutant(8, 0x00, 28);  /* version 62 */
    check_tns_mutant(11, 0xff, 28); /* compatible version above the version */
    check_tns_mutant(27, 0x50, 28); /* data offset inside the data's span */
    check_tns_mutant(58, '[', 59);
    check_tns_mutant(60, 'X', 61); /* "(DX" */

    build_tns_connect(&s, "(ADDRESS=(PROTOCOL=TCP))", 0);
    assert_int_equal(feed(&s, &info), 60);
    assert_blank(&info);

    /* Connect data said to follow, but the next packet is not DATA. */
    memset(&s, 0, sizeof s);
    build_tns_connect(&s, tns_descriptor, 1);
    s.b[58 + 4] = 0x01;
    assert_int_equal(feed(&s, &info), 58 + 8);
    assert_blank(&info);
}

static size_t feed_resp_bytes(const uint8_t *b, size_t n, struct fa_app_info *info)
{
    return feed_fn(fa_app_inspect_response, b, n, LIMIT, info);
}

static void test_tns_response(void **state)
{
    static const uint8_t accept[] = {0x00, 0x20, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                                     0x01, 0x3e, 0x00, 0x01, 0x20, 0x00, 0xff, 0xff,
                                     0x01, 0x00, 0x00, 0x00, 0x00, 0x20, 0x41, 0x01,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t resend[] = {0x00, 0x08, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00};
    static const uint8_t resend_long[] = {0x00, 0x09, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t data[] = {0x00, 0x20, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00};
    static const char refuse_text[] = "(DESCRIPTION=(TMP=)(VSNNUM=0)(ERR=12514))";
    static const char redirect_text[] = "(ADDRESS=(PROTOCOL=TCP)(HOST=10.0.0.6)(PORT=1521))";
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_resp_bytes(accept, sizeof accept, &info), 22);
    assert_int_equal(info.app, FA_APP_TNS);
    assert_int_equal(feed_resp_bytes(resend, sizeof resend, &info), 8);
    assert_int_equal(info.app, FA_APP_TNS);
    assert_int_equal(feed_resp_bytes(resend_long, sizeof resend_long, &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_resp_bytes(data, sizeof data, &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);

    put16(&s, 12 + strlen(refuse_text));
    put(&s, "\0\0\x04\0\0\0\x01\0", 8);
    put16(&s, strlen(refuse_text));
    puts_(&s, refuse_text);
    assert_int_equal(feed_response(&s, &info), 13);
    assert_int_equal(info.app, FA_APP_TNS);
    s.b[11]++; /* the refuse data no longer fills the packet */
    assert_int_equal(feed_response(&s, &info), 12);
    assert_int_equal(info.app, FA_APP_UNKNOWN);

    memset(&s, 0, sizeof s);
    put16(&s, 10 + strlen(redirect_text));
    put(&s, "\0\0\x05\0\0\0", 6);
    put16(&s, strlen(redirect_text));
    puts_(&s, redirect_text);
    assert_int_equal(feed_response(&s, &info), 11);
    assert_int_equal(info.app, FA_APP_TNS);
    /* The originator does not send these. */
    assert_int_equal(feed(&s, &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
}

/* ---- SSH, SMTP, AMQP ----------------------------------------------------- */

static void test_ssh(void **state)
{
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_str("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", &info), 8);
    assert_int_equal(info.app, FA_APP_SSH);
    assert_int_equal(feed_str_response("SSH-2.0-OpenSSH_8.9\r\n", &info), 8);
    assert_int_equal(info.app, FA_APP_SSH);
    assert_int_equal(feed_str_response("SSH-1.99-Cisco-1.25\r\n", &info), 9);
    assert_int_equal(info.app, FA_APP_SSH);
    assert_int_equal(feed_str("SSH-2x", &info), 6);
    assert_blank(&info);
    assert_int_equal(feed_str("SSH-22.0-", &info), 6);
    assert_blank(&info);
    assert_int_equal(feed_str("SSH-2.123-", &info), 9);
    assert_blank(&info);
    assert_int_equal(feed_str("SSH-.0-", &info), 5);
    assert_blank(&info);
    assert_int_equal(feed_str("ssh-2.0-", &info), 1);
    assert_blank(&info);
}

static void test_smtp(void **state)
{
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_str("EHLO fe1.example.com\r\n", &info), 22);
    assert_int_equal(info.app, FA_APP_SMTP);
    assert_string_equal(info.server_name, "");
    assert_int_equal(feed_str("helo [10.0.0.1]\r\n", &info), 17);
    assert_int_equal(info.app, FA_APP_SMTP);
    assert_int_equal(feed_str("EHLO \r\n", &info), 6);
    assert_blank(&info);
    assert_int_equal(feed_str("EHLO a b\r\n", &info), 7);
    assert_blank(&info);
    assert_int_equal(feed_str("EHLO a\n", &info), 7);
    assert_blank(&info);
    assert_int_equal(feed_str("HELP\r\n", &info), 4);
    assert_blank(&info);

    assert_int_equal(feed_str_response("220 mail.example.com ESMTP Postfix\r\n", &info), 36);
    assert_int_equal(info.app, FA_APP_SMTP);
    assert_int_equal(
        feed_str_response("220-mx.example.com ESMTP ready\r\n220 more text\r\n", &info), 32);
    assert_int_equal(info.app, FA_APP_SMTP);
    assert_int_equal(feed_str_response("220 mail.example.com Microsoft smtp service\r\n", &info),
                     45);
    assert_int_equal(info.app, FA_APP_SMTP);
    /* FTP greets with 220 too. */
    assert_int_equal(feed_str_response("220 Microsoft FTP Service\r\n", &info), 27);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_str_response("220 (vsFTPd 3.0.3)\r\n", &info), 20);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_str_response("2200 ESMTP\r\n", &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_str_response("554 ESMTP no\r\n", &info), 5);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    /* The originator does not greet. */
    assert_int_equal(feed_str("220 mail.example.com ESMTP\r\n", &info), 1);
    assert_blank(&info);
}

static void test_amqp(void **state)
{
    static const uint8_t v091[] = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};
    static const uint8_t v10[] = {'A', 'M', 'Q', 'P', 3, 1, 0, 0};
    static const uint8_t wrong[] = {'A', 'M', 'Q', 'P', 0, 0, 9, 2};
    static const uint8_t amqx[] = {'A', 'M', 'Q', 'X'};
    static const uint8_t start[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf4, 0x00,
                                    0x0a, 0x00, 0x0a, 0x00, 0x09, 0x00, 0x00};
    static const uint8_t not_start[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf4,
                                        0x00, 0x0a, 0x00, 0x0b, 0x00, 0x09};
    struct fa_app_info info;
    (void)state;

    assert_int_equal(feed_bytes(v091, sizeof v091, &info), 8);
    assert_int_equal(info.app, FA_APP_AMQP);
    assert_int_equal(feed_bytes(v10, sizeof v10, &info), 8);
    assert_int_equal(info.app, FA_APP_AMQP);
    assert_int_equal(feed_bytes(wrong, sizeof wrong, &info), 8);
    assert_blank(&info);
    assert_int_equal(feed_bytes(amqx, sizeof amqx, &info), 4);
    assert_blank(&info);

    assert_int_equal(feed_resp_bytes(start, sizeof start, &info), 13);
    assert_int_equal(info.app, FA_APP_AMQP);
    assert_int_equal(feed_resp_bytes(not_start, sizeof not_start, &info), 11);
    assert_int_equal(info.app, FA_APP_UNKNOWN);
    assert_int_equal(feed_resp_bytes(v091, sizeof v091, &info), 8);
    assert_int_equal(info.app, FA_APP_AMQP);
}

/* ---- DNS over TCP -------------------------------------------------------- */

static void build_dns_tcp(struct buf *s, unsigned flags, unsigned qd, unsigned an)
{
    size_t len_at = put16(s, 0);
    put16(s, 0x1234);
    put16(s, flags);
    put16(s, qd);
    put16(s, an);
    put16(s, 0);
    put16(s, 1);
    put(s,
        "\x03www\x07"
        "example\x03"
        "com\x00",
        17);
    put16(s, 1);
    put16(s, 1);
    /* an EDNS OPT record */
    put8(s, 0);
    put16(s, 41);
    put16(s, 4096);
    put(s, "\0\0\0\0\0\0", 6);
    set16(s, len_at, s->n - 2);
}

static void test_dns_tcp(void **state)
{
    struct buf s = {0};
    struct fa_app_info info;
    (void)state;

    build_dns_tcp(&s, 0x0100, 1, 0);
    assert_int_equal(feed(&s, &info), 2 + 12 + 17 + 4);
    assert_int_equal(info.app, FA_APP_DNS);
    assert_string_equal(info.server_name, "");

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x8180, 1, 0); /* a response from the originator */
    assert_int_equal(feed(&s, &info), 5);
    assert_blank(&info);
    assert_int_equal(feed_response(&s, &info), 2 + 12 + 17 + 4);
    assert_int_equal(info.app, FA_APP_DNS);

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x0100, 0, 0);
    assert_int_equal(feed(&s, &info), 8);
    assert_blank(&info);

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x0100, 1, 1); /* a query with an answer */
    assert_int_equal(feed(&s, &info), 10);
    assert_blank(&info);

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x2800, 1, 0); /* UPDATE */
    assert_int_equal(feed(&s, &info), 5);
    assert_blank(&info);

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x0100, 1, 0);
    set16(&s, 0, 20); /* the question runs past the message */
    assert_int_equal(feed(&s, &info), 22);
    assert_blank(&info);

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x0100, 1, 0);
    s.b[14] = 0xc0; /* a pointer where nothing precedes */
    assert_int_equal(feed(&s, &info), 15);
    assert_blank(&info);

    memset(&s, 0, sizeof s);
    build_dns_tcp(&s, 0x0100, 1, 0);
    s.b[16] = 0x01; /* a byte that is not printable in the name */
    assert_int_equal(feed(&s, &info), 17);
    assert_blank(&info);
}

/* ---- general ------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fa_app_name(FA_APP_UNKNOWN), "");
    assert_string_equal(fa_app_name(FA_APP_TLS), "tls");
    assert_string_equal(fa_app_name(FA_APP_HTTP), "http");
    assert_string_equal(fa_app_name(FA_APP_TDS), "tds");
    assert_string_equal(fa_app_name(FA_APP_TNS), "tns");
    assert_string_equal(fa_app_name(FA_APP_SSH), "ssh");
    assert_string_equal(fa_app_name(FA_APP_SMTP), "smtp");
    assert_string_equal(fa_app_name(FA_APP_AMQP), "amqp");
    assert_string_equal(fa_app_name(FA_APP_DNS), "dns");
    assert_string_equal(fa_app_name((enum fa_app)99), "");
}

/* Nothing yet: MORE, unless the limit is already reached.  Bytes that
 * start no protocol: DONE at once. */
static void test_empty_and_unknown(void **state)
{
    struct fa_app_info info;
    (void)state;

    assert_int_equal(run(fa_app_inspect, (const uint8_t *)"", 0, LIMIT, &info), FA_APP_MORE);
    assert_blank(&info);
    assert_int_equal(run(fa_app_inspect_response, (const uint8_t *)"", 0, LIMIT, &info),
                     FA_APP_MORE);
    assert_int_equal(run(fa_app_inspect, (const uint8_t *)"", 0, 0, &info), FA_APP_DONE);
    assert_blank(&info);
    assert_int_equal(feed_str("\x7f"
                              "ELF",
                              &info),
                     1);
    assert_blank(&info);
    assert_int_equal(feed_str_response("\x7f"
                                       "ELF\x02\x01",
                                       &info),
                     5);
    assert_blank(&info);
}

/* ---- robustness ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_invariants(enum fa_app_verdict v, const struct fa_app_info *i)
{
    assert_true(v == FA_APP_MORE || v == FA_APP_DONE);
    if (v == FA_APP_MORE)
        assert_blank(i);
    assert_true((unsigned)i->app <= FA_APP_DNS);
    assert_true(i->incomplete <= 1);
    size_t n = strnlen(i->server_name, sizeof i->server_name);
    assert_true(n < sizeof i->server_name);
    for (size_t k = 0; k < n; k++) {
        char c = i->server_name[k];
        assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.');
    }
    if (n > 0)
        assert_true(i->app == FA_APP_TLS || i->app == FA_APP_HTTP);
    if (i->tls_version != 0)
        assert_int_equal(i->app, FA_APP_TLS);
}

static void inspect_both(const uint8_t *b, size_t n, size_t limit)
{
    struct fa_app_info info;

    check_invariants(run(fa_app_inspect, b, n, limit, &info), &info);
    check_invariants(run(fa_app_inspect_response, b, n, limit, &info), &info);
}

/* Random bytes, mostly behind a first byte that some probe accepts. */
static void test_random_bytes(void **state)
{
    static const uint8_t starts[] = {0x16, 0x15, 0x12, 0x10, 0x04, 0x00, 0x01, 'G',
                                     'P',  'H',  'S',  'E',  'A',  '2',  0x7f};
    uint8_t b[700];
    (void)state;

    for (int iter = 0; iter < 100000; iter++) {
        size_t n = rng() % sizeof b;
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)rng();
        if (n > 0 && rng() % 4 != 0)
            b[0] = starts[rng() % sizeof starts];
        if (n > 2 && b[0] == 0x16) {
            b[1] = 3;
            b[2] = (uint8_t)(rng() % 5);
        }
        inspect_both(b, n, 1 + rng() % 1024);
    }
}

/* Valid messages with a few bytes changed, cut at random lengths. */
static void test_mutations(void **state)
{
    struct buf seeds[8];
    size_t nseeds = 0;
    (void)state;

    memset(seeds, 0, sizeof seeds);
    build_pq(&seeds[nseeds++], 1);
    {
        struct buf e = {0}, hs = {0};
        size_t cuts[] = {3, 60, 61};
        ext_sni(&e, "m.example.com");
        client_hello(&hs, 0x0303, &e);
        records(&seeds[nseeds++], &hs, cuts, 3);
    }
    puts_(&seeds[nseeds++], "GET / HTTP/1.1\r\nHost: m.example\r\nX: y\r\n\r\n");
    put(&seeds[nseeds++], tds_prelogin, sizeof tds_prelogin);
    build_tns_connect(&seeds[nseeds++], tns_descriptor, 0);
    build_tns_connect(&seeds[nseeds++], tns_descriptor, 1);
    build_login7(&seeds[nseeds++], 0x74000004);
    build_dns_tcp(&seeds[nseeds++], 0x0100, 1, 0);

    for (int iter = 0; iter < 100000; iter++) {
        const struct buf *seed = &seeds[rng() % nseeds];
        uint8_t b[sizeof seed->b];
        size_t n = seed->n;
        memcpy(b, seed->b, n);
        for (int k = 1 + (int)(rng() % 4); k > 0; k--) {
            size_t at = rng() % n;
            /* Lengths are where parsers go wrong: hit them with extremes. */
            b[at] = rng() % 2 ? (uint8_t)rng() : (rng() % 2 ? 0xff : 0x00);
        }
        n = rng() % 3 ? n : rng() % (n + 1);
        inspect_both(b, n, rng() % 2 || n == 0 ? LIMIT : 1 + rng() % n);
        if (iter % 200 == 0) {
            /* Every prefix of some: a decision, once made, is never taken
             * back by more bytes (feed_fn asserts it). */
            struct fa_app_info info;
            n = n < 400 ? n : 400;
            feed_fn(fa_app_inspect, b, n, LIMIT, &info);
            feed_fn(fa_app_inspect_response, b, n, LIMIT, &info);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_classic),
        cmocka_unit_test(test_tls13_grease),
        cmocka_unit_test(test_tls_versions_fallback),
        cmocka_unit_test(test_tls_post_quantum),
        cmocka_unit_test(test_tls_limit),
        cmocka_unit_test(test_tls_fragmented),
        cmocka_unit_test(test_tls_bad_records),
        cmocka_unit_test(test_tls_no_sni),
        cmocka_unit_test(test_tls_invalid_sni),
        cmocka_unit_test(test_tls_sni_overrun),
        cmocka_unit_test(test_tls_tds8),
        cmocka_unit_test(test_tls_negative),
        cmocka_unit_test(test_tls_response),
        cmocka_unit_test(test_http_host),
        cmocka_unit_test(test_http_no_name),
        cmocka_unit_test(test_http_segments),
        cmocka_unit_test(test_http_garbage),
        cmocka_unit_test(test_http_malformed_headers),
        cmocka_unit_test(test_http_limit),
        cmocka_unit_test(test_http_response),
        cmocka_unit_test(test_tds_prelogin),
        cmocka_unit_test(test_tds_near_misses),
        cmocka_unit_test(test_tds_login7),
        cmocka_unit_test(test_tds_response),
        cmocka_unit_test(test_tns_connect),
        cmocka_unit_test(test_tns_near_misses),
        cmocka_unit_test(test_tns_response),
        cmocka_unit_test(test_ssh),
        cmocka_unit_test(test_smtp),
        cmocka_unit_test(test_amqp),
        cmocka_unit_test(test_dns_tcp),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_empty_and_unknown),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
