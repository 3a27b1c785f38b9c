/*
 * fuzz_app.h - drives appproto.h's two entry points over one input the
 * way streams.c does, for the fuzz_tls, fuzz_http, fuzz_tds and fuzz_tns
 * targets (and DNS over TCP in fuzz_dns).
 *
 * The input stands for the first bytes one side of a TCP stream sent.  It
 * is given both as a client's (fa_app_inspect) and as a server's
 * (fa_app_inspect_response), each time as a stream would arrive: prefixes
 * of growing length (every length up to 64, then doubling, then the whole
 * input), never more than the limit, under two limits: streams.c's default
 * of 8192 and the input's own length, so that the limit is reached.  Each
 * prefix is copied to a buffer of exactly its length, so a read past it is
 * caught by AddressSanitizer.
 *
 * Checked beyond memory safety (appproto.h's promises): MORE leaves *info
 * all zero and never comes at the limit; once DONE, every longer prefix
 * short of the limit gives the same answer; server_name is "" or a valid
 * lower-case DNS name; only TLS has a version, only TLS and HTTP a name,
 * and a response sets app only.
 */
#ifndef FA_FUZZ_APP_H
#define FA_FUZZ_APP_H

#include <string.h>

#include "appproto.h"
#include "fuzz.h"

#define FUZZ_APP_LIMIT 8192 /* FA_STREAMS_DEFAULT_LIMIT */

typedef enum fa_app_verdict (*fuzz_inspect_fn)(const uint8_t *, size_t, size_t,
                                               struct fa_app_info *);

/* "" or labels of 1..63 of [a-z0-9_-], 253 characters at most, no
 * trailing dot. */
static inline int fuzz_valid_name(const char *s, size_t size)
{
    const char *end = memchr(s, '\0', size);
    if (!end)
        return 0;
    size_t n = (size_t)(end - s), label = 0;
    if (n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return n == 0 || label > 0;
}

static inline void fuzz_app_check_info(const struct fa_app_info *info, int response)
{
    FUZZ_CHECK((unsigned)info->app <= FA_APP_DNS);
    FUZZ_CHECK(info->app == FA_APP_UNKNOWN || fa_app_name(info->app)[0] != '\0');
    FUZZ_CHECK(info->incomplete <= 1);
    FUZZ_CHECK(fuzz_valid_name(info->server_name, sizeof info->server_name));
    if (info->app != FA_APP_TLS)
        FUZZ_CHECK(info->tls_version == 0);
    if (info->app != FA_APP_TLS && info->app != FA_APP_HTTP)
        FUZZ_CHECK(info->server_name[0] == '\0');
    if (response) {
        FUZZ_CHECK(info->server_name[0] == '\0' && info->tls_version == 0);
        FUZZ_CHECK(!info->incomplete);
    }
}

static inline enum fa_app_verdict fuzz_app_call(fuzz_inspect_fn fn, const uint8_t *data, size_t len,
                                                size_t limit, struct fa_app_info *info)
{
    uint8_t *exact = malloc(len);
    if (!exact)
        abort();
    memcpy(exact, data, len);
    enum fa_app_verdict v = fn(exact, len, limit, info);
    free(exact);
    return v;
}

/* 1, 2, ... 64, 128, 256, ..., top, then past top. */
static inline size_t fuzz_app_next_len(size_t len, size_t top)
{
    if (len < 64 || len == top)
        return len + 1;
    return len * 2 < top ? len * 2 : top;
}

static inline void fuzz_app_direction(fuzz_inspect_fn fn, int response, const uint8_t *data,
                                      size_t size, size_t limit)
{
    static const struct fa_app_info zero;
    struct fa_app_info info, done;
    int decided = 0;
    size_t top = size < limit ? size : limit;

    for (size_t len = 1; len <= top; len = fuzz_app_next_len(len, top)) {
        enum fa_app_verdict v = fuzz_app_call(fn, data, len, limit, &info);
        FUZZ_CHECK(v == FA_APP_MORE || v == FA_APP_DONE);
        if (v == FA_APP_MORE) {
            FUZZ_CHECK(len < limit);
            FUZZ_CHECK(!decided);
            FUZZ_CHECK(memcmp(&info, &zero, sizeof info) == 0);
            continue;
        }
        fuzz_app_check_info(&info, response);
        if (len >= limit)
            continue;
        if (decided) {
            FUZZ_CHECK(memcmp(&info, &done, sizeof info) == 0);
        } else {
            done = info;
            decided = 1;
        }
    }
}

/* The input as a client's first bytes, then as a server's. */
static inline void fuzz_app_stream(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    fuzz_app_direction(fa_app_inspect, 0, data, size, FUZZ_APP_LIMIT);
    fuzz_app_direction(fa_app_inspect, 0, data, size, size);
    fuzz_app_direction(fa_app_inspect_response, 1, data, size, FUZZ_APP_LIMIT);
    fuzz_app_direction(fa_app_inspect_response, 1, data, size, size);
}

#endif
