/*
 * appproto.c - recognisers for the first bytes of each side of a TCP
 * stream: TLS, HTTP/1.x, TDS, TNS, SSH, SMTP, AMQP and DNS over TCP.
 *
 * Invariants, kept because these functions are fuzz targets:
 *   - a byte is read only after a check that its offset is below len;
 *     offsets only grow and never pass len, so the checks cannot wrap;
 *   - lengths taken from the bytes bound what may be read, never the
 *     other way round: a field that claims more than its enclosing field
 *     holds is malformed at once, before the bytes it claims arrive;
 *   - no allocation, no global state: the answer depends on the prefix
 *     (and the limit) only, and short of the limit a longer prefix never
 *     takes back a decision.
 *
 * Each recogniser (a probe) says of a prefix: NO (not this protocol), MORE
 * (a plausible prefix) or YES (decided, *out filled).  The probes are
 * written so that no two can say YES to the same bytes; the first YES
 * wins, MORE from any probe keeps the caller waiting, and NO from all of
 * them is FA_APP_UNKNOWN.  A probe that is already sure of its protocol
 * while it waits for the rest of a message sets out->app (and what it has
 * read whole) with its MORE, so that the limit can cut the wait short.
 */
#include <string.h>

#include "appproto.h"

enum probe { P_NO, P_MORE, P_YES };

typedef enum probe (*probe_fn)(const uint8_t *d, size_t len, struct fa_app_info *out);

/* ---- small helpers ------------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Matches the literal s (n bytes) against d as far as d goes: P_YES when d
 * holds all of s, P_MORE when d is a proper prefix of it, else P_NO.  With
 * nocase, letters match in either case. */
static enum probe literal(const uint8_t *d, size_t len, const char *s, size_t n, int nocase)
{
    size_t k = len < n ? len : n;

    for (size_t i = 0; i < k; i++) {
        int a = d[i], b = (unsigned char)s[i];
        if (nocase ? lower(a) != lower(b) : a != b)
            return P_NO;
    }
    return len < n ? P_MORE : P_YES;
}

/* Reads 1 to max decimal digits at *p, then the byte stop. */
static enum probe digits_then(const uint8_t *d, size_t len, size_t *p, size_t max, uint8_t stop)
{
    size_t start = *p;

    while (*p < len && d[*p] >= '0' && d[*p] <= '9') {
        if (*p - start == max)
            return P_NO;
        (*p)++;
    }
    if (*p == len)
        return P_MORE;
    if (*p == start || d[*p] != stop)
        return P_NO;
    (*p)++;
    return P_YES;
}

/* Scans bytes for which ok() holds, from *p up to a CR LF pair.  P_YES with
 * *p past the LF; P_MORE when the line end is not captured yet; P_NO on a
 * byte that may not appear in the line, or a line longer than max. */
static enum probe line_until_crlf(const uint8_t *d, size_t len, size_t *p, size_t max,
                                  int (*ok)(int c))
{
    size_t start = *p;

    while (*p < len && ok(d[*p])) {
        if (*p - start == max)
            return P_NO;
        (*p)++;
    }
    if (*p == len)
        return P_MORE;
    if (d[*p] != '\r')
        return P_NO;
    if (*p + 1 == len)
        return P_MORE;
    if (d[*p + 1] != '\n')
        return P_NO;
    *p += 2;
    return P_YES;
}

static int is_vchar(int c)
{
    return c > 0x20 && c < 0x7f;
}

/* Visible characters and blanks: the text of a reply line or header value;
 * bytes >= 0x80 are RFC 9110's obs-text. */
static int is_text(int c)
{
    return (c >= 0x20 && c != 0x7f) || c == '\t';
}

/* RFC 9110 tchar: what a header field name is made of. */
static int is_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Copies the n bytes at s into out as a lower-cased DNS name when they are
 * one: labels of 1..63 letters, digits, '-' or '_', at most 253 characters
 * once one trailing dot is dropped.  Returns 1 if so; otherwise out is "". */
static int dns_name_copy(char out[FA_SERVER_NAME_LEN], const uint8_t *s, size_t n)
{
    size_t label = 0;

    out[0] = '\0';
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (!is_name_char(s[i]) || ++label > 63) {
            return 0;
        }
    }
    if (label == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)lower(s[i]);
    out[n] = '\0';
    return 1;
}

/* ---- TLS ----------------------------------------------------------------- */

#define TLS_RECORD_HDR_LEN 5
#define TLS_CT_ALERT 0x15
#define TLS_CT_HANDSHAKE 0x16
/* 2^14: the most a plaintext record may carry (RFC 8446 5.1). */
#define TLS_MAX_FRAGMENT 16384
#define TLS_HT_CLIENT_HELLO 1
#define TLS_HT_SERVER_HELLO 2
/* version, random, session id length, one suite, one compression method */
#define TLS_CLIENT_HELLO_MIN 41
/* version, random, session id length, suite, compression method */
#define TLS_SERVER_HELLO_MIN 38
#define TLS_RANDOM_LEN 32
#define TLS_MAX_SESSION_ID 32
#define TLS_EXT_SERVER_NAME 0x0000
#define TLS_EXT_SUPPORTED_VERSIONS 0x002b
#define TLS_SNI_HOST_NAME 0

enum rd { RD_OK, RD_SHORT, RD_BAD };

#define TRY(x)                                                                                     \
    do {                                                                                           \
        enum rd rd_ = (x);                                                                         \
        if (rd_ != RD_OK)                                                                          \
            return rd_;                                                                            \
    } while (0)

/* The handshake bytes of consecutive handshake records, read as one string:
 * a sender may cut a handshake message into records however it likes, and
 * the network cuts records into segments.  hpos counts handshake bytes;
 * pos is the stream offset of the next byte, always <= len. */
struct hs_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t rec_left; /* bytes of the current record not read yet */
    size_t hpos;
};

/* Checks the record header at r->pos as far as it was captured, and enters
 * the record.  Anything but a handshake record ends the message. */
static enum rd tls_next_record(struct hs_reader *r)
{
    const uint8_t *h = r->data + r->pos;
    size_t avail = r->len - r->pos;

    if (avail >= 1 && h[0] != TLS_CT_HANDSHAKE)
        return RD_BAD;
    if (avail >= 2 && h[1] != 3)
        return RD_BAD;
    if (avail >= 3 && h[2] > 4)
        return RD_BAD;
    if (avail < TLS_RECORD_HDR_LEN)
        return RD_SHORT;
    /* RFC 8446 forbids empty handshake records; 0 would also stall. */
    size_t n = be16(h + 3);
    if (n == 0 || n > TLS_MAX_FRAGMENT)
        return RD_BAD;
    r->pos += TLS_RECORD_HDR_LEN;
    r->rec_left = n;
    return RD_OK;
}

/* Reads n handshake bytes into out (skips them when out is NULL).  end is
 * the handshake offset the enclosing field ends at: a field running past it
 * is malformed, whether or not its bytes were captured. */
static enum rd hs_take(struct hs_reader *r, size_t end, size_t n, uint8_t *out)
{
    if (n > end - r->hpos)
        return RD_BAD;
    while (n > 0) {
        if (r->rec_left == 0)
            TRY(tls_next_record(r));
        size_t k = n < r->rec_left ? n : r->rec_left;
        if (k > r->len - r->pos)
            k = r->len - r->pos;
        if (k == 0)
            return RD_SHORT;
        if (out != NULL) {
            memcpy(out, r->data + r->pos, k);
            out += k;
        }
        r->pos += k;
        r->rec_left -= k;
        r->hpos += k;
        n -= k;
    }
    return RD_OK;
}

static enum rd hs_u8(struct hs_reader *r, size_t end, size_t *v)
{
    uint8_t b;
    TRY(hs_take(r, end, 1, &b));
    *v = b;
    return RD_OK;
}

static enum rd hs_u16(struct hs_reader *r, size_t end, size_t *v)
{
    uint8_t b[2];
    TRY(hs_take(r, end, 2, b));
    *v = be16(b);
    return RD_OK;
}

/* A length-prefixed vector: its length (1 or 2 bytes), checked against
 * [min, max], then its end as a handshake offset, inside end. */
static enum rd hs_vector(struct hs_reader *r, size_t end, int wide, size_t min, size_t max,
                         size_t *vend)
{
    size_t n;

    TRY(wide ? hs_u16(r, end, &n) : hs_u8(r, end, &n));
    if (n < min || n > max || n > end - r->hpos)
        return RD_BAD;
    *vend = r->hpos + n;
    return RD_OK;
}

/* The handshake message header and the version after it: type, 24-bit
 * length (at least min), then 0x03 0x00..0x04.  *end is the message end. */
static enum rd tls_hello_header(struct hs_reader *r, int type, size_t min, size_t *end,
                                uint16_t *version)
{
    uint8_t h[6];

    TRY(hs_take(r, SIZE_MAX, 1, h));
    if (h[0] != type)
        return RD_BAD;
    TRY(hs_take(r, SIZE_MAX, 3, h + 1));
    size_t n = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n < min)
        return RD_BAD;
    *end = r->hpos + n;
    TRY(hs_take(r, *end, 2, h + 4));
    if (h[4] != 3 || h[5] > 4)
        return RD_BAD;
    *version = be16(h + 4);
    return RD_OK;
}

/* What a ClientHello says.  name and sv_best are set only once their
 * extension has been read whole. */
struct hello {
    uint16_t client_version; /* nonzero once the header was read and checked */
    uint16_t sv_best;        /* highest 0x03xx in supported_versions, 0 if none */
    uint8_t seen_sni, seen_sv, sv_done;
    char name[FA_SERVER_NAME_LEN];
};

/* server_name (RFC 6066 3): a list of (type, name); the first host_name is
 * the one.  An empty extension is tolerated and names nothing. */
static enum rd tls_ext_sni(struct hs_reader *r, size_t end, struct hello *h)
{
    uint8_t name[FA_SERVER_NAME_LEN];
    char text[FA_SERVER_NAME_LEN] = "";
    size_t list_end, type, n;
    int have = 0;

    if (h->seen_sni)
        return RD_BAD; /* two: which would the server use? */
    h->seen_sni = 1;
    if (r->hpos == end)
        return RD_OK;
    TRY(hs_vector(r, end, 1, 1, SIZE_MAX, &list_end));
    if (list_end != end)
        return RD_BAD;
    while (r->hpos < list_end) {
        TRY(hs_u8(r, list_end, &type));
        TRY(hs_u16(r, list_end, &n));
        if (n > list_end - r->hpos)
            return RD_BAD;
        if (type == TLS_SNI_HOST_NAME && !have && n < sizeof name) {
            TRY(hs_take(r, list_end, n, name));
            dns_name_copy(text, name, n);
        } else {
            TRY(hs_take(r, list_end, n, NULL));
        }
        have |= type == TLS_SNI_HOST_NAME;
    }
    memcpy(h->name, text, sizeof text);
    return RD_OK;
}

/* supported_versions (RFC 8446 4.2.1): a list of 2-byte versions.  Only
 * 0x03xx counts: GREASE values (RFC 8701: 0x0a0a, 0x1a1a ... 0xfafa) and
 * draft versions (0x7fxx) never have 0x03 as their first byte. */
static enum rd tls_ext_versions(struct hs_reader *r, size_t end, struct hello *h)
{
    size_t list_end, v;

    if (h->seen_sv)
        return RD_BAD;
    h->seen_sv = 1;
    TRY(hs_vector(r, end, 0, 2, 254, &list_end));
    if (list_end != end || (list_end - r->hpos) % 2 != 0)
        return RD_BAD;
    while (r->hpos < list_end) {
        TRY(hs_u16(r, list_end, &v));
        if ((v >> 8) == 3 && v > h->sv_best)
            h->sv_best = (uint16_t)v;
    }
    h->sv_done = 1;
    return RD_OK;
}

/* The extensions block, which must fill the rest of the message exactly. */
static enum rd tls_extensions(struct hs_reader *r, size_t end, struct hello *h)
{
    size_t block_end, type, ext_end;

    TRY(hs_vector(r, end, 1, 0, SIZE_MAX, &block_end));
    if (block_end != end)
        return RD_BAD;
    while (r->hpos < block_end) {
        TRY(hs_u16(r, block_end, &type));
        TRY(hs_vector(r, block_end, 1, 0, SIZE_MAX, &ext_end));
        if (type == TLS_EXT_SERVER_NAME)
            TRY(tls_ext_sni(r, ext_end, h));
        else if (type == TLS_EXT_SUPPORTED_VERSIONS)
            TRY(tls_ext_versions(r, ext_end, h));
        else
            TRY(hs_take(r, ext_end, ext_end - r->hpos, NULL));
    }
    return RD_OK;
}

/* A whole ClientHello (RFC 8446 4.1.2; older versions share the layout). */
static enum rd tls_client_hello(struct hs_reader *r, struct hello *h)
{
    size_t end, vend;
    uint16_t version;

    TRY(tls_hello_header(r, TLS_HT_CLIENT_HELLO, TLS_CLIENT_HELLO_MIN, &end, &version));
    h->client_version = version;
    TRY(hs_take(r, end, TLS_RANDOM_LEN, NULL));
    TRY(hs_vector(r, end, 0, 0, TLS_MAX_SESSION_ID, &vend));
    TRY(hs_take(r, vend, vend - r->hpos, NULL));
    TRY(hs_vector(r, end, 1, 2, SIZE_MAX, &vend));
    if ((vend - r->hpos) % 2 != 0)
        return RD_BAD; /* cipher suites are 2 bytes each */
    TRY(hs_take(r, vend, vend - r->hpos, NULL));
    TRY(hs_vector(r, end, 0, 1, SIZE_MAX, &vend));
    TRY(hs_take(r, vend, vend - r->hpos, NULL));
    if (r->hpos == end)
        return RD_OK; /* no extensions: TLS 1.0 and older may stop here */
    return tls_extensions(r, end, h);
}

static enum probe probe_tls(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    struct hs_reader r = {d, len, 0, 0, 0};
    struct hello h;

    memset(&h, 0, sizeof h);
    enum rd e = tls_client_hello(&r, &h);
    if (h.client_version == 0)
        return e == RD_SHORT ? P_MORE : P_NO;
    out->app = FA_APP_TLS;
    if (e == RD_BAD) {
        out->incomplete = 1; /* a TLS header, but nothing after it is trusted */
        return P_YES;
    }
    memcpy(out->server_name, h.name, sizeof h.name);
    if (e == RD_OK || h.sv_done)
        out->tls_version = h.sv_best != 0 ? h.sv_best : h.client_version;
    out->incomplete = e == RD_SHORT;
    return e == RD_OK ? P_YES : P_MORE;
}

/* The server's first record: a ServerHello (its header and version), or
 * an alert record of exactly one alert. */
static enum probe probe_tls_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    struct hs_reader r = {d, len, 0, 0, 0};
    size_t end;
    uint16_t version;

    if (len >= 1 && d[0] == TLS_CT_ALERT) {
        static const uint8_t head[] = {TLS_CT_ALERT, 3};
        enum probe e = literal(d, len, (const char *)head, sizeof head, 0);
        if (e != P_YES)
            return e;
        if (len >= 3 && d[2] > 4)
            return P_NO;
        if (len >= 5 && be16(d + 3) != 2)
            return P_NO;
        if (len < 6)
            return P_MORE;
        if (d[5] != 1 && d[5] != 2)
            return P_NO; /* level: warning or fatal */
        out->app = FA_APP_TLS;
        return P_YES;
    }
    switch (tls_hello_header(&r, TLS_HT_SERVER_HELLO, TLS_SERVER_HELLO_MIN, &end, &version)) {
    case RD_OK:
        out->app = FA_APP_TLS;
        return P_YES;
    case RD_SHORT:
        return P_MORE;
    default:
        return P_NO;
    }
}

/* ---- HTTP/1.x ------------------------------------------------------------ */

static const char *const http_methods[] = {"GET ",    "POST ",  "PUT ",     "HEAD ",
                                           "DELETE ", "PATCH ", "OPTIONS ", "CONNECT "};

/* The method and its space: P_YES with *p past them. */
static enum probe http_method(const uint8_t *d, size_t len, size_t *p)
{
    enum probe best = P_NO;

    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++) {
        size_t n = strlen(http_methods[i]);
        enum probe e = literal(d, len, http_methods[i], n, 0);
        if (e == P_YES) {
            *p = n;
            return P_YES;
        }
        if (e == P_MORE)
            best = P_MORE;
    }
    return best;
}

/* METHOD SP request-target SP "HTTP/1." DIGIT CRLF; *p ends past the CRLF. */
static enum probe http_request_line(const uint8_t *d, size_t len, size_t *p)
{
    enum probe e = http_method(d, len, p);
    if (e != P_YES)
        return e;
    size_t target = *p;
    while (*p < len && is_vchar(d[*p]))
        (*p)++;
    if (*p == len)
        return P_MORE;
    if (*p == target || d[*p] != ' ')
        return P_NO;
    (*p)++;
    e = literal(d + *p, len - *p, "HTTP/1.", 7, 0);
    if (e != P_YES)
        return e;
    *p += 7;
    if (*p == len)
        return P_MORE;
    if (d[*p] != '0' && d[*p] != '1')
        return P_NO;
    (*p)++;
    e = literal(d + *p, len - *p, "\r\n", 2, 0);
    if (e == P_YES)
        *p += 2;
    return e;
}

/* The Host headers seen so far. */
struct http_host {
    unsigned count;
    char name[FA_SERVER_NAME_LEN];
};

/* A Host value: host [":" port]; an IPv6 literal is not a DNS name. */
static void http_host_value(const uint8_t *v, size_t n, struct http_host *h)
{
    h->count++;
    h->name[0] = '\0';
    while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    size_t colon = n;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == ':')
            colon = i;
    }
    for (size_t i = colon + 1; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return;
    }
    dns_name_copy(h->name, v, colon < n ? colon : n);
}

/* One header line at *p, or the blank line that ends them (*blank set).
 * P_YES with *p past its CRLF; P_NO when it is not a header line. */
static enum probe http_header_line(const uint8_t *d, size_t len, size_t *p, int *blank,
                                   struct http_host *h)
{
    size_t name = *p;

    *blank = 0;
    if (*p < len && d[*p] == '\r') {
        enum probe e = literal(d + *p, len - *p, "\r\n", 2, 0);
        *blank = e == P_YES;
        *p += 2;
        return e;
    }
    while (*p < len && is_tchar(d[*p]))
        (*p)++;
    if (*p == len)
        return P_MORE;
    if (*p == name || d[*p] != ':')
        return P_NO; /* an obs-fold continuation line lands here too */
    size_t name_len = *p - name;
    size_t value = ++*p;
    /* A header line is at most the limit long; the caller's limit bounds it. */
    enum probe e = line_until_crlf(d, len, p, SIZE_MAX, is_text);
    if (e == P_YES && name_len == 4 && literal(d + name, 4, "host", 4, 1) == P_YES)
        http_host_value(d + value, *p - 2 - value, h);
    return e;
}

static enum probe probe_http(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    struct http_host h;
    size_t p;
    int blank;

    enum probe e = http_request_line(d, len, &p);
    if (e != P_YES)
        return e;
    out->app = FA_APP_HTTP;
    memset(&h, 0, sizeof h);
    do {
        e = http_header_line(d, len, &p, &blank, &h);
    } while (e == P_YES && !blank);
    if (e == P_NO) {
        out->incomplete = 1;
        return P_YES;
    }
    if (h.count == 1) /* two Host headers: RFC 9112 says reject, so trust neither */
        memcpy(out->server_name, h.name, sizeof h.name);
    out->incomplete = e == P_MORE;
    return e;
}

/* "HTTP/1.x nnn" then a space or the end of the line. */
static enum probe probe_http_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = literal(d, len, "HTTP/1.", 7, 0);
    size_t p = 7;

    if (e != P_YES)
        return e;
    if (p < len && d[p] != '0' && d[p] != '1')
        return P_NO;
    if (p + 1 < len && d[p + 1] != ' ')
        return P_NO;
    p += 2;
    if (p < len && (d[p] < '1' || d[p] > '5'))
        return P_NO;
    for (size_t i = p + 1; i < p + 3 && i < len; i++) {
        if (d[i] < '0' || d[i] > '9')
            return P_NO;
    }
    p += 3;
    if (len <= p)
        return P_MORE;
    if (d[p] != ' ' && d[p] != '\r')
        return P_NO;
    out->app = FA_APP_HTTP;
    return P_YES;
}

/* ---- TDS (SQL Server, MS-TDS) -------------------------------------------- */

#define TDS_HDR_LEN 8
#define TDS_TYPE_RESPONSE 0x04
#define TDS_TYPE_LOGIN7 0x10
#define TDS_TYPE_PRELOGIN 0x12
#define TDS_STATUS_EOM 0x01
/* Packets before the login ack are at most the default packet size. */
#define TDS_MAX_PACKET 4096
#define TDS_LOGIN7_FIXED 94
#define TDS_PL_VERSION 0x00
#define TDS_PL_ENCRYPTION 0x01
#define TDS_PL_LAST 0x07 /* NONCEOPT */
#define TDS_PL_TERMINATOR 0xff
#define TDS_PL_TOKEN_LEN 5

/* The 8-byte header as far as captured: type, a status in [status_min,
 * EOM], a length in [min, TDS_MAX_PACKET], the SPID (0 from a client: it
 * has none yet) and window 0. */
static enum probe tds_header(const uint8_t *d, size_t len, int type, int status_min, int client,
                             size_t min, size_t *plen)
{
    if (len >= 1 && d[0] != type)
        return P_NO;
    if (len >= 2 && (d[1] < status_min || d[1] > TDS_STATUS_EOM))
        return P_NO;
    if (len >= 4) {
        *plen = be16(d + 2);
        if (*plen < min || *plen > TDS_MAX_PACKET)
            return P_NO;
    }
    if (len >= 6 && client && (d[4] | d[5]) != 0)
        return P_NO;
    if (len >= 8 && d[7] != 0)
        return P_NO;
    return len < TDS_HDR_LEN ? P_MORE : P_YES;
}

/* Checks the option entries of a PRELOGIN payload once its terminator is
 * in: each option's data inside the payload and after the list, VERSION
 * present with its 6 bytes, ENCRYPTION 1 byte. */
static enum probe tds_prelogin_offsets(const uint8_t *p, size_t count, size_t size)
{
    size_t list_len = count * TDS_PL_TOKEN_LEN + 1;
    int version = 0;

    for (size_t i = 0; i < count; i++) {
        const uint8_t *t = p + i * TDS_PL_TOKEN_LEN;
        size_t off = be16(t + 1), n = be16(t + 3);
        if (off < list_len || off > size || n > size - off)
            return P_NO;
        if ((t[0] == TDS_PL_VERSION && n != 6) || (t[0] == TDS_PL_ENCRYPTION && n != 1))
            return P_NO;
        version |= t[0] == TDS_PL_VERSION;
    }
    return version ? P_YES : P_NO;
}

/* Walks the option list of a PRELOGIN payload p: avail bytes captured,
 * size bytes according to the header.  Decided at the terminator, without
 * waiting for the option data. */
static enum probe tds_prelogin(const uint8_t *p, size_t avail, size_t size)
{
    unsigned seen = 0;
    size_t i = 0;

    for (;;) {
        if (i >= size)
            return P_NO;
        if (i >= avail)
            return P_MORE;
        if (p[i] == TDS_PL_TERMINATOR)
            break;
        if (p[i] > TDS_PL_LAST || (seen & 1u << p[i]) != 0)
            return P_NO;
        seen |= 1u << p[i];
        if (size - i < TDS_PL_TOKEN_LEN + 1)
            return P_NO;
        if (avail - i < TDS_PL_TOKEN_LEN)
            return P_MORE;
        i += TDS_PL_TOKEN_LEN;
    }
    return tds_prelogin_offsets(p, i / TDS_PL_TOKEN_LEN, size);
}

static enum probe tds_prelogin_packet(const uint8_t *d, size_t len, int type, int client)
{
    size_t plen = 0;
    enum probe e =
        tds_header(d, len, type, TDS_STATUS_EOM, client, TDS_HDR_LEN + TDS_PL_TOKEN_LEN + 1, &plen);

    if (e != P_YES)
        return e;
    return tds_prelogin(d + TDS_HDR_LEN, len - TDS_HDR_LEN, plen - TDS_HDR_LEN);
}

/* The TDSVersion values a LOGIN7 may carry (MS-TDS 2.2.6.4). */
static int tds_known_version(uint32_t v)
{
    static const uint32_t known[] = {0x70000000, 0x71000000, 0x71000001, 0x72090002,
                                     0x730a0003, 0x730b0003, 0x74000004};

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (v == known[i])
            return 1;
    }
    return 0;
}

/* LOGIN7 as the first message (a client that skips PRELOGIN): its length
 * field agrees with the packet, its TDS version is a known one. */
static enum probe tds_login7(const uint8_t *d, size_t len)
{
    size_t plen = 0;
    enum probe e = tds_header(d, len, TDS_TYPE_LOGIN7, 0, 1, TDS_HDR_LEN + TDS_LOGIN7_FIXED, &plen);

    if (e != P_YES)
        return e;
    if (len < TDS_HDR_LEN + 8)
        return P_MORE;
    uint32_t total = le32(d + TDS_HDR_LEN);
    size_t payload = plen - TDS_HDR_LEN;
    /* One packet holds it all (EOM) or the message goes on in the next. */
    if (d[1] == TDS_STATUS_EOM ? total != payload : total <= payload)
        return P_NO;
    return tds_known_version(le32(d + TDS_HDR_LEN + 4)) ? P_YES : P_NO;
}

static enum probe probe_tds(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = P_MORE;

    if (len >= 1 && d[0] == TDS_TYPE_PRELOGIN)
        e = tds_prelogin_packet(d, len, TDS_TYPE_PRELOGIN, 1);
    else if (len >= 1 && d[0] == TDS_TYPE_LOGIN7)
        e = tds_login7(d, len);
    else if (len >= 1)
        e = P_NO;
    if (e == P_YES)
        out->app = FA_APP_TDS;
    return e;
}

static enum probe probe_tds_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = tds_prelogin_packet(d, len, TDS_TYPE_RESPONSE, 0);

    if (e == P_YES)
        out->app = FA_APP_TDS;
    return e;
}

/* ---- TNS (Oracle Net) ---------------------------------------------------- */

#define TNS_HDR_LEN 8
#define TNS_CONNECT 1
#define TNS_ACCEPT 2
#define TNS_REFUSE 4
#define TNS_REDIRECT 5
#define TNS_DATA 6
#define TNS_RESEND 11
#define TNS_CONNECT_FIXED 34 /* header and fields up to the connect flags */
#define TNS_ACCEPT_FIXED 24
#define TNS_DATA_FLAGS_LEN 2
/* Before the ACCEPT settles the SDU, packets are small: connect data over
 * 230 bytes goes in a DATA packet of its own, and the answers are short. */
#define TNS_MAX_EARLY_PACKET 2048
/* Net protocol versions: 300 (compat floor) up to 319 in current releases. */
#define TNS_VERSION_MIN 300
#define TNS_VERSION_MAX 399

/* The 8-byte header as far as captured: a 16-bit length of at least min,
 * a packet checksum of 0 (or 4, which 10g clients send), the type, and a
 * header checksum of 0. */
static enum probe tns_header(const uint8_t *d, size_t len, int type, size_t min)
{
    if (len >= 1 && d[0] > TNS_MAX_EARLY_PACKET >> 8)
        return P_NO;
    if (len >= 2 && (be16(d) < min || be16(d) > TNS_MAX_EARLY_PACKET))
        return P_NO;
    if (len >= 4 && be16(d + 2) != 0 && be16(d + 2) != 4)
        return P_NO;
    if (len >= 5 && d[4] != type)
        return P_NO;
    if (len >= 8 && be16(d + 6) != 0)
        return P_NO;
    return len < TNS_HDR_LEN ? P_MORE : P_YES;
}

static int tns_version_ok(size_t v)
{
    return v >= TNS_VERSION_MIN && v <= TNS_VERSION_MAX;
}

/* The connect descriptor at d[at], n bytes long: "(DESCRIPTION=" or
 * "(CONNECT_DATA=", in any case, with blanks allowed around the keyword. */
static enum probe tns_descriptor(const uint8_t *d, size_t len, size_t at, size_t n)
{
    static const char *const keys[] = {"DESCRIPTION", "CONNECT_DATA"};
    if (len <= at)
        return P_MORE;
    size_t end = n < len - at ? at + n : len;
    size_t p = at;

    if (d[p] != '(')
        return P_NO;
    for (p++; p < end && d[p] == ' '; p++)
        ;
    enum probe best = P_NO;
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(keys[i]);
        enum probe e = literal(d + p, end - p, keys[i], k, 1);
        if (e == P_MORE)
            best = P_MORE;
        if (e != P_YES)
            continue;
        for (p += k; p < end && d[p] == ' '; p++)
            ;
        if (p == end)
            return end - at < n ? P_MORE : P_NO;
        return d[p] == '=' ? P_YES : P_NO;
    }
    if (best == P_MORE && end - at == n)
        return P_NO; /* the descriptor ended inside the keyword */
    return best;
}

/* Connect data too long for the CONNECT packet follows it in a DATA packet
 * (length 16-bit, or 32-bit as 12c writes it), after 2 bytes of flags. */
static enum probe tns_connect_data_packet(const uint8_t *d, size_t len, size_t at, size_t cd_len)
{
    const uint8_t *h = d + at;
    size_t avail = len - at, want = TNS_HDR_LEN + TNS_DATA_FLAGS_LEN + cd_len;

    if (avail < TNS_HDR_LEN)
        return P_MORE;
    int short_len = be16(h) == want && be16(h + 2) == 0;
    if ((!short_len && be32(h) != want) || h[4] != TNS_DATA || be16(h + 6) != 0)
        return P_NO;
    return tns_descriptor(d, len, at + TNS_HDR_LEN + TNS_DATA_FLAGS_LEN, cd_len);
}

static enum probe probe_tns(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = tns_header(d, len, TNS_CONNECT, TNS_CONNECT_FIXED);

    if (e != P_YES)
        return e;
    if (len < 28)
        return P_MORE;
    size_t plen = be16(d), version = be16(d + 8), compat = be16(d + 10);
    size_t cd_len = be16(d + 24), cd_off = be16(d + 26);
    if (!tns_version_ok(version) || compat < TNS_VERSION_MIN || compat > version)
        return P_NO;
    if (cd_len < 13 || cd_off < TNS_CONNECT_FIXED)
        return P_NO;
    if (cd_off + cd_len <= plen)
        e = tns_descriptor(d, len, cd_off, cd_len);
    else if (cd_off >= plen)
        e = len <= plen ? P_MORE : tns_connect_data_packet(d, len, plen, cd_len);
    else
        e = P_NO;
    if (e == P_YES)
        out->app = FA_APP_TNS;
    return e;
}

/* ACCEPT: a known version, the accept data inside the packet. */
static enum probe tns_accept(const uint8_t *d, size_t len)
{
    enum probe e = tns_header(d, len, TNS_ACCEPT, TNS_ACCEPT_FIXED);

    if (e != P_YES)
        return e;
    if (len >= 10 && !tns_version_ok(be16(d + 8)))
        return P_NO;
    if (len < 22)
        return P_MORE;
    size_t n = be16(d + 18), off = be16(d + 20);
    return n == 0 || (off >= TNS_ACCEPT_FIXED && off + n <= be16(d)) ? P_YES : P_NO;
}

/* REFUSE: two reason bytes, then the refuse data filling the packet, which
 * is a parenthesised descriptor. */
static enum probe tns_refuse(const uint8_t *d, size_t len)
{
    enum probe e = tns_header(d, len, TNS_REFUSE, TNS_HDR_LEN + 4);

    if (e != P_YES)
        return e;
    if (len < 12)
        return P_MORE;
    size_t n = be16(d + 10);
    if (n + 12 != be16(d))
        return P_NO;
    if (n == 0)
        return P_YES;
    return len < 13 ? P_MORE : d[12] == '(' ? P_YES : P_NO;
}

/* REDIRECT: the new address, a parenthesised descriptor, in the packet. */
static enum probe tns_redirect(const uint8_t *d, size_t len)
{
    enum probe e = tns_header(d, len, TNS_REDIRECT, TNS_HDR_LEN + 3);

    if (e != P_YES)
        return e;
    if (len < 10)
        return P_MORE;
    size_t n = be16(d + 8);
    if (n == 0 || n + 10 > be16(d))
        return P_NO;
    return len < 11 ? P_MORE : d[10] == '(' ? P_YES : P_NO;
}

/* RESEND: a bare header, asking the client to send its CONNECT again. */
static enum probe tns_resend(const uint8_t *d, size_t len)
{
    if (len >= 2 && be16(d) != TNS_HDR_LEN)
        return P_NO;
    return tns_header(d, len, TNS_RESEND, TNS_HDR_LEN);
}

static enum probe probe_tns_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = P_MORE;

    if (len >= 5) {
        switch (d[4]) {
        case TNS_ACCEPT:
            e = tns_accept(d, len);
            break;
        case TNS_REFUSE:
            e = tns_refuse(d, len);
            break;
        case TNS_REDIRECT:
            e = tns_redirect(d, len);
            break;
        case TNS_RESEND:
            e = tns_resend(d, len);
            break;
        default:
            return P_NO;
        }
    } else {
        e = tns_header(d, len, TNS_ACCEPT, TNS_HDR_LEN); /* the type is not in yet */
    }
    if (e == P_YES)
        out->app = FA_APP_TNS;
    return e;
}

/* ---- SSH, SMTP, AMQP ----------------------------------------------------- */

/* "SSH-" protoversion "-" (RFC 4253 4.2), e.g. "SSH-2.0-", "SSH-1.99-". */
static enum probe probe_ssh(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = literal(d, len, "SSH-", 4, 0);
    size_t p = 4;

    if (e == P_YES)
        e = digits_then(d, len, &p, 1, '.');
    if (e == P_YES)
        e = digits_then(d, len, &p, 2, '-');
    if (e == P_YES)
        out->app = FA_APP_SSH;
    return e;
}

/* "EHLO " or "HELO " (any case), one domain or address literal, CRLF. */
static enum probe probe_smtp(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = literal(d, len, "EHLO ", 5, 1);
    size_t p = 5;

    if (e == P_NO)
        e = literal(d, len, "HELO ", 5, 1);
    if (e != P_YES)
        return e;
    if (p < len && !is_vchar(d[p]))
        return P_NO;
    /* RFC 5321 4.5.3.1.4: a command line is at most 512 bytes. */
    e = line_until_crlf(d, len, &p, 512, is_vchar);
    if (e == P_YES)
        out->app = FA_APP_SMTP;
    return e;
}

/* Whether "SMTP" occurs in the n bytes at s, in any case. */
static int mentions_smtp(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (literal(s + i, 4, "SMTP", 4, 1) == P_YES)
            return 1;
    }
    return 0;
}

/* The greeting "220 " or "220-": an FTP server greets with 220 too, so the
 * first line must name SMTP (as "ESMTP" does in nearly every greeting). */
static enum probe probe_smtp_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = literal(d, len, "220", 3, 0);
    size_t p = 4;

    if (e != P_YES)
        return e;
    if (len == 3)
        return P_MORE;
    if (d[3] != ' ' && d[3] != '-')
        return P_NO;
    e = line_until_crlf(d, len, &p, 512, is_text);
    if (e != P_YES)
        return e;
    if (!mentions_smtp(d + 4, p - 6))
        return P_NO;
    out->app = FA_APP_SMTP;
    return P_YES;
}

/* The protocol header: "AMQP" 0 0 9 1 (0-9-1, as RabbitMQ clients send it)
 * or "AMQP" 0|2|3 1 0 0 (1.0: plain, TLS, SASL). */
static enum probe amqp_header(const uint8_t *d, size_t len)
{
    static const char *const headers[] = {"AMQP\0\0\x09\x01", "AMQP\0\x01\0\0", "AMQP\x02\x01\0\0",
                                          "AMQP\x03\x01\0\0"};
    enum probe best = P_NO;

    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        enum probe e = literal(d, len, headers[i], 8, 0);
        if (e == P_YES)
            return P_YES;
        if (e == P_MORE)
            best = P_MORE;
    }
    return best;
}

static enum probe probe_amqp(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    enum probe e = amqp_header(d, len);

    if (e == P_YES)
        out->app = FA_APP_AMQP;
    return e;
}

/* The server's answer to 0-9-1: a method frame on channel 0 carrying
 * Connection.Start (class 10, method 10) for version 0-9; or, when it
 * wants another version, its own protocol header. */
static enum probe probe_amqp_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    static const uint8_t start[] = {0x00, 0x0a, 0x00, 0x0a, 0x00, 0x09};
    enum probe e = amqp_header(d, len);

    if (e == P_NO) {
        e = literal(d, len, "\x01\0\0", 3, 0);
        if (e == P_YES && len >= 7 && (be32(d + 3) < 18 || be32(d + 3) > 131072))
            e = P_NO;
        if (e == P_YES && len < 7)
            e = P_MORE;
        if (e == P_YES)
            e = literal(d + 7, len - 7, (const char *)start, sizeof start, 0);
    }
    if (e == P_YES)
        out->app = FA_APP_AMQP;
    return e;
}

/* ---- DNS over TCP -------------------------------------------------------- */

#define DNS_TCP_HDR_LEN 14 /* 2-byte length and the 12-byte DNS header */
#define DNS_MIN_MSG 17     /* a header and a question for the root */
/* A query is one question, EDNS (padded to 128-byte blocks) and perhaps a
 * TSIG: far below this.  Responses may be any size. */
#define DNS_MAX_QUERY 2048

/* The first question's name at *p, inside end: labels of printable bytes,
 * no compression (nothing precedes it to point at), 255 bytes at most. */
static enum probe dns_qname(const uint8_t *d, size_t len, size_t *p, size_t end)
{
    size_t wire = 0;

    for (;;) {
        if (*p >= end)
            return P_NO;
        if (*p >= len)
            return P_MORE;
        size_t n = d[(*p)++];
        if (n == 0)
            return P_YES;
        if (n > 63 || (wire += n + 1) > 254)
            return P_NO;
        for (size_t i = 0; i < n; i++, (*p)++) {
            if (*p >= end)
                return P_NO;
            if (*p >= len)
                return P_MORE;
            if (!is_vchar(d[*p]))
                return P_NO;
        }
    }
}

/* The question after the header: name, a nonzero type, class IN, CH, HS or
 * ANY. */
static enum probe dns_question(const uint8_t *d, size_t len)
{
    size_t end = 2 + (size_t)be16(d), p = DNS_TCP_HDR_LEN;
    enum probe e = dns_qname(d, len, &p, end);

    if (e != P_YES)
        return e;
    if (end - p < 4)
        return P_NO;
    if (len - p < 4)
        return P_MORE;
    size_t type = be16(d + p), class = be16(d + p + 2);
    if (type == 0 || (class != 1 && class != 3 && class != 4 && class != 255))
        return P_NO;
    return P_YES;
}

/* A query: QR 0, opcode QUERY, not truncated, RA/Z/RCODE 0, one question,
 * no answers, at most one authority record (IXFR's SOA) and two additional
 * (EDNS, TSIG). */
static enum probe probe_dns(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    if (len >= 1 && d[0] > DNS_MAX_QUERY >> 8)
        return P_NO;
    if (len >= 2 && (be16(d) < DNS_MIN_MSG || be16(d) > DNS_MAX_QUERY))
        return P_NO;
    if ((len >= 5 && (d[4] & 0xfe) != 0) || (len >= 6 && (d[5] & 0xcf) != 0))
        return P_NO;
    if ((len >= 8 && be16(d + 6) != 1) || (len >= 10 && be16(d + 8) != 0))
        return P_NO;
    if ((len >= 12 && be16(d + 10) > 1) || (len >= 14 && be16(d + 12) > 2))
        return P_NO;
    if (len < DNS_TCP_HDR_LEN)
        return P_MORE;
    enum probe e = dns_question(d, len);
    if (e == P_YES)
        out->app = FA_APP_DNS;
    return e;
}

/* A response: QR 1, opcode QUERY, Z 0, the one question echoed. */
static enum probe probe_dns_response(const uint8_t *d, size_t len, struct fa_app_info *out)
{
    if (len >= 2 && be16(d) < DNS_MIN_MSG)
        return P_NO;
    if ((len >= 5 && (d[4] & 0xf8) != 0x80) || (len >= 6 && (d[5] & 0x40) != 0))
        return P_NO;
    if (len >= 8 && be16(d + 6) != 1)
        return P_NO;
    if (len < DNS_TCP_HDR_LEN)
        return P_MORE;
    enum probe e = dns_question(d, len);
    if (e == P_YES)
        out->app = FA_APP_DNS;
    return e;
}

/* ---- the two entry points ------------------------------------------------ */

/* What a probe starts from: nothing known.  Only the first byte of
 * server_name is cleared, as a probe writes the name whole or not at all:
 * clearing all of it for each of eight probes, on every look at a
 * stream's first bytes, was about half the work of looking. */
static void clear_info(struct fa_app_info *i)
{
    i->app = FA_APP_UNKNOWN;
    i->server_name[0] = '\0';
    i->tls_version = 0;
    i->incomplete = 0;
}

/* A probe's verdict into *to, the name up to its end only: the result,
 * cleared whole first, keeps zeros past the name, so that equal verdicts
 * are equal structs. */
static void copy_info(struct fa_app_info *to, const struct fa_app_info *from)
{
    size_t n = strnlen(from->server_name, sizeof from->server_name - 1);
    to->app = from->app;
    memcpy(to->server_name, from->server_name, n);
    to->server_name[n] = '\0';
    to->tls_version = from->tls_version;
    to->incomplete = from->incomplete;
}

static enum fa_app_verdict run_probes(const probe_fn *probes, size_t nprobes, const uint8_t *data,
                                      size_t len, size_t limit, struct fa_app_info *info)
{
    struct fa_app_info scratch, waiting;
    int more = 0;

    memset(info, 0, sizeof *info);
    clear_info(&waiting);
    for (size_t i = 0; i < nprobes; i++) {
        clear_info(&scratch);
        enum probe e = probes[i](data, len, &scratch);
        if (e == P_YES) {
            copy_info(info, &scratch);
            return FA_APP_DONE;
        }
        if (e == P_MORE && waiting.app == FA_APP_UNKNOWN)
            copy_info(&waiting, &scratch);
        more |= e == P_MORE;
    }
    if (more && len < limit)
        return FA_APP_MORE;
    if (more)
        copy_info(info, &waiting);
    return FA_APP_DONE;
}

enum fa_app_verdict fa_app_inspect(const uint8_t *data, size_t len, size_t limit,
                                   struct fa_app_info *info)
{
    static const probe_fn probes[] = {probe_tls, probe_http, probe_tds,  probe_tns,
                                      probe_ssh, probe_smtp, probe_amqp, probe_dns};

    return run_probes(probes, sizeof probes / sizeof probes[0], data, len, limit, info);
}

enum fa_app_verdict fa_app_inspect_response(const uint8_t *data, size_t len, size_t limit,
                                            struct fa_app_info *info)
{
    static const probe_fn probes[] = {probe_tls_response,  probe_http_response, probe_tds_response,
                                      probe_tns_response,  probe_ssh,           probe_smtp_response,
                                      probe_amqp_response, probe_dns_response};

    return run_probes(probes, sizeof probes / sizeof probes[0], data, len, limit, info);
}

static const char *const app_names[] = {"",    "tls",  "http", "tds", "tns",
                                        "ssh", "smtp", "amqp", "dns"};
_Static_assert(sizeof app_names / sizeof app_names[0] == FA_APP_COUNT, "a name for every app");

const char *fa_app_name(enum fa_app a)
{
    return (unsigned)a < FA_APP_COUNT ? app_names[a] : "";
}

int fa_app_parse(const char *name)
{
    if (!name)
        return -1;
    for (int a = FA_APP_UNKNOWN; a < FA_APP_COUNT; a++)
        if (strcmp(name, app_names[a]) == 0)
            return a;
    return -1;
}
