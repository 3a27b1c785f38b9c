/*
 * test_dns.c - unit tests of the DNS response parser.
 *
 * Messages are built here byte by byte, with compression pointers placed
 * by hand, and parsed from an exactly-sized heap copy, so that a read past
 * the end is an AddressSanitizer error in the sanitizer build.  Every
 * record reported is checked field by field; a malformed message must
 * report nothing at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"

/* ---- building ------------------------------------------------------------ */

struct msg {
    uint8_t b[4096];
    size_t n;
};

static size_t put(struct msg *m, const void *p, size_t n)
{
    size_t off = m->n;

    assert_true(m->n + n <= sizeof m->b);
    memcpy(m->b + m->n, p, n);
    m->n += n;
    return off;
}

static size_t put8(struct msg *m, unsigned v)
{
    uint8_t b = (uint8_t)v;
    return put(m, &b, 1);
}

static size_t put16(struct msg *m, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return put(m, b, 2);
}

static size_t put32(struct msg *m, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return put(m, b, 4);
}

static void set16(struct msg *m, size_t at, unsigned v)
{
    m->b[at] = (uint8_t)(v >> 8);
    m->b[at + 1] = (uint8_t)v;
}

#define QR 0x8000
#define RD 0x0100
#define RA 0x0080

static void header(struct msg *m, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                   unsigned ar)
{
    put16(m, 0xbeef);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, ar);
}

/* Labels of a dotted name, without the final 0 (so that a pointer or the
 * root may follow). */
static size_t labels(struct msg *m, const char *name)
{
    size_t off = m->n;

    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        put8(m, n);
        put(m, name, n);
        name += n + (dot != NULL);
    }
    return off;
}

static size_t name(struct msg *m, const char *text)
{
    size_t off = labels(m, text);
    put8(m, 0);
    return off;
}

static size_t ptr(struct msg *m, size_t to)
{
    return put16(m, 0xc000 | (unsigned)to);
}

static void question(struct msg *m, const char *text, unsigned type)
{
    name(m, text);
    put16(m, type);
    put16(m, 1);
}

/* The fixed part of a record after its owner name; returns the offset of
 * its rdlength, for set16 once the data is written. */
static size_t rr_fixed(struct msg *m, unsigned type, unsigned class, uint32_t ttl)
{
    put16(m, type);
    put16(m, class);
    put32(m, ttl);
    return put16(m, 0);
}

static void rr_end(struct msg *m, size_t rdlen_at)
{
    set16(m, rdlen_at, (unsigned)(m->n - rdlen_at - 2));
}

static void rr_a(struct msg *m, uint32_t ttl, const uint8_t a[4])
{
    size_t at = rr_fixed(m, 1, 1, ttl);
    put(m, a, 4);
    rr_end(m, at);
}

/* An MX record owned by the question's name, exchange that name too:
 * well formed, of a type no answer is taken from. */
static void rr_mx(struct msg *m)
{
    ptr(m, 12);
    size_t at = rr_fixed(m, 15, 1, 30);
    put16(m, 10);
    ptr(m, 12);
    rr_end(m, at);
}

/* ---- parsing ------------------------------------------------------------- */

struct seen {
    struct fa_dns_record r[16];
    int n;
};

static void collect(void *ctx, const struct fa_dns_record *r)
{
    struct seen *s = ctx;

    assert_true(s->n < 16);
    assert_true(memchr(r->name, '\0', sizeof r->name) != NULL);
    assert_true(memchr(r->target, '\0', sizeof r->target) != NULL);
    s->r[s->n++] = *r;
}

static int parse(const uint8_t *b, size_t n, struct seen *s)
{
    uint8_t *copy = malloc(n ? n : 1);

    assert_non_null(copy);
    memcpy(copy, b, n);
    memset(s, 0, sizeof *s);
    int rc = fa_dns_parse(copy, n, collect, s);
    free(copy);
    if (rc >= 0)
        assert_int_equal(rc, s->n);
    else
        assert_int_equal(s->n, 0);
    return rc;
}

static void assert_addr(const struct fa_dns_record *r, const char *text)
{
    char buf[FA_ADDR_STRLEN];
    assert_string_equal(fa_addr_str(&r->addr, buf), text);
}

/* www.example.com CNAME cdn.example.net; cdn.example.net A and AAAA, the
 * owners compressed against the question and the CNAME's data. */
static void build_chain(struct msg *m)
{
    static const uint8_t a[4] = {192, 0, 2, 10};
    static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

    header(m, QR | RD | RA, 1, 3, 0, 0);
    question(m, "www.example.com", 1);
    ptr(m, 12);
    size_t at = rr_fixed(m, 5, 1, 300);
    size_t target = labels(m, "cdn.example.net");
    put8(m, 0);
    rr_end(m, at);
    ptr(m, target);
    rr_a(m, 60, a);
    ptr(m, target);
    at = rr_fixed(m, 28, 1, 60);
    put(m, aaaa, 16);
    rr_end(m, at);
}

static void test_cname_chain(void **state)
{
    struct msg m = {0};
    struct seen s;
    (void)state;

    build_chain(&m);
    assert_int_equal(parse(m.b, m.n, &s), 3);
    assert_string_equal(s.r[0].name, "www.example.com");
    assert_int_equal(s.r[0].type, FA_DNS_TYPE_CNAME);
    assert_int_equal(s.r[0].ttl, 300);
    assert_string_equal(s.r[0].target, "cdn.example.net");
    assert_addr(&s.r[0], "::");
    assert_string_equal(s.r[1].name, "cdn.example.net");
    assert_int_equal(s.r[1].type, FA_DNS_TYPE_A);
    assert_int_equal(s.r[1].ttl, 60);
    assert_addr(&s.r[1], "192.0.2.10");
    assert_string_equal(s.r[1].target, "");
    assert_string_equal(s.r[2].name, "cdn.example.net");
    assert_int_equal(s.r[2].type, FA_DNS_TYPE_AAAA);
    assert_addr(&s.r[2], "2001:db8::10");
    assert_string_equal(s.r[2].target, "");

    /* fn may be NULL: the count alone. */
    assert_int_equal(fa_dns_parse(m.b, m.n, NULL, NULL), 3);
}

/* Labels followed by a pointer, a pointer to a pointer, mixed case, and
 * records that are not reported (other types, other classes). */
static void test_compression(void **state)
{
    static const uint8_t a1[4] = {10, 0, 0, 1}, a2[4] = {10, 0, 0, 2}, a3[4] = {10, 0, 0, 3};
    struct msg m = {0};
    struct seen s;
    (void)state;

    header(&m, QR | RD | RA, 1, 6, 0, 0);
    question(&m, "Mail.EXAMPLE.com", 1);
    /* "a" + pointer to "EXAMPLE.com" inside the question */
    labels(&m, "a");
    ptr(&m, 12 + 5);
    rr_a(&m, 10, a1);
    /* pointer to a pointer: the owner of the previous record */
    size_t prev_owner = 12 + 18 + 4;
    ptr(&m, prev_owner);
    rr_a(&m, 20, a2);
    /* an MX record: checked, not reported */
    rr_mx(&m);
    /* a CHAOS-class A record: not reported */
    ptr(&m, 12);
    rr_a(&m, 40, a3);
    m.b[m.n - 4 - 2 - 4 - 2 + 1] = 3; /* the class of that record */
    /* a TTL with the top bit set counts as 0 */
    ptr(&m, 12);
    rr_a(&m, 0x80000001u, a3);
    /* the root as owner */
    put8(&m, 0);
    rr_a(&m, 50, a3);

    assert_int_equal(parse(m.b, m.n, &s), 4);
    assert_string_equal(s.r[0].name, "a.example.com");
    assert_addr(&s.r[0], "10.0.0.1");
    assert_string_equal(s.r[1].name, "a.example.com");
    assert_int_equal(s.r[1].ttl, 20);
    assert_addr(&s.r[1], "10.0.0.2");
    assert_string_equal(s.r[2].name, "mail.example.com");
    assert_int_equal(s.r[2].ttl, 0);
    assert_addr(&s.r[2], "10.0.0.3");
    assert_string_equal(s.r[3].name, "");
    assert_int_equal(s.r[3].ttl, 50);
}

static void check_malformed(const struct msg *m)
{
    struct seen s;
    assert_int_equal(parse(m->b, m->n, &s), -1);
}

/* A good answer first, then the given owner name bytes for a second one. */
static void build_with_owner(struct msg *m, const uint8_t *owner, size_t n)
{
    static const uint8_t a[4] = {192, 0, 2, 1};

    header(m, QR | RA, 1, 2, 0, 0);
    question(m, "loop.example", 1);
    ptr(m, 12);
    rr_a(m, 60, a);
    put(m, owner, n);
    rr_a(m, 60, a);
}

static void test_pointer_loops(void **state)
{
    struct msg m = {0};
    (void)state;

    /* A pointer to itself. */
    header(&m, QR, 1, 1, 0, 0);
    question(&m, "self.example", 1);
    ptr(&m, m.n);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    check_malformed(&m);

    /* Two pointers pointing at each other. */
    memset(&m, 0, sizeof m);
    header(&m, QR, 1, 1, 0, 0);
    question(&m, "pair.example", 1);
    size_t p1 = m.n;
    ptr(&m, p1 + 2); /* forward, to the next pointer */
    ptr(&m, p1);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    check_malformed(&m);

    /* A label, then a pointer back to that label: a loop through a label. */
    memset(&m, 0, sizeof m);
    uint8_t owner[] = {1, 'x', 0xc0, 0};
    header(&m, QR, 1, 1, 0, 0);
    question(&m, "lbl.example", 1);
    owner[3] = (uint8_t)m.n;
    put(&m, owner, sizeof owner);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    check_malformed(&m);
}

static void test_bad_pointers(void **state)
{
    struct msg m = {0};
    (void)state;

    /* Forward: the first answer's owner points at the second's. */
    header(&m, QR, 1, 2, 0, 0);
    question(&m, "fwd.example", 1);
    size_t first = m.n;
    ptr(&m, 0);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    size_t second = name(&m, "later.example");
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    set16(&m, first, 0xc000 | (unsigned)second);
    check_malformed(&m);

    /* Into the header. */
    memset(&m, 0, sizeof m);
    build_with_owner(&m, (const uint8_t *)"\xc0\x04", 2);
    check_malformed(&m);

    /* Past the end of the message. */
    memset(&m, 0, sizeof m);
    build_with_owner(&m, (const uint8_t *)"\xc3\xff", 2);
    check_malformed(&m);

    /* An extended label type (0x40). */
    memset(&m, 0, sizeof m);
    build_with_owner(&m, (const uint8_t *)"\x41x\0", 3);
    check_malformed(&m);

    /* A label that runs past the message. */
    memset(&m, 0, sizeof m);
    header(&m, QR, 1, 0, 0, 0);
    put(&m,
        "\x3f"
        "abc",
        4);
    check_malformed(&m);
}

/* A name of more than 255 bytes, built from pointers to labels of 63. */
static void test_long_name(void **state)
{
    char label[64];
    struct msg m = {0};
    struct seen s;
    (void)state;

    memset(label, 'q', 63);
    label[63] = '\0';
    header(&m, QR, 0, 1, 0, 0);
    /* 4 labels of 63 (256 bytes with the root) directly: too long. */
    for (int i = 0; i < 4; i++)
        labels(&m, label);
    put8(&m, 0);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    check_malformed(&m);

    /* 3 labels of 63 and one of 61: 255 bytes, the most there may be. */
    memset(&m, 0, sizeof m);
    header(&m, QR, 0, 1, 0, 0);
    for (int i = 0; i < 3; i++)
        labels(&m, label);
    label[61] = '\0';
    labels(&m, label);
    put8(&m, 0);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    assert_int_equal(parse(m.b, m.n, &s), 1);
    assert_int_equal(strlen(s.r[0].name), 253);
}

/* Cut after every byte: never a crash, always -1 until the last byte. */
static void test_truncation(void **state)
{
    struct msg m = {0};
    struct seen s;
    (void)state;

    build_chain(&m);
    for (size_t n = 0; n < m.n; n++)
        assert_int_equal(parse(m.b, n, &s), -1);
    assert_int_equal(parse(m.b, m.n, &s), 3);
}

/* Malformed after the answers: nothing is reported. */
static void test_malformed_later(void **state)
{
    struct msg m = {0};
    struct seen s;
    (void)state;

    build_chain(&m);
    set16(&m, 10, 1); /* an additional record that is not there */
    assert_int_equal(parse(m.b, m.n, &s), -1);

    memset(&m, 0, sizeof m);
    build_chain(&m);
    set16(&m, 8, 1);
    name(&m, "ns.example");
    put16(&m, 2);
    put16(&m, 1);
    put32(&m, 60);
    put16(&m, 50); /* rdlength past the end */
    put(&m, "\2ns\0", 4);
    assert_int_equal(parse(m.b, m.n, &s), -1);

    /* Bytes after the last counted record are ignored. */
    memset(&m, 0, sizeof m);
    build_chain(&m);
    put(&m, "\0\0\0", 3);
    assert_int_equal(parse(m.b, m.n, &s), 3);
}

/* Answers whose data does not have their type's form. */
static void test_bad_rdata(void **state)
{
    struct msg m = {0};
    (void)state;

    header(&m, QR, 1, 1, 0, 0);
    question(&m, "a.example", 1);
    ptr(&m, 12);
    size_t at = rr_fixed(&m, 1, 1, 60);
    put(&m, "\1\2\3\4\5", 5);
    rr_end(&m, at);
    check_malformed(&m);

    memset(&m, 0, sizeof m);
    header(&m, QR, 1, 1, 0, 0);
    question(&m, "a.example", 28);
    ptr(&m, 12);
    at = rr_fixed(&m, 28, 1, 60);
    put(&m, "\1\2\3\4", 4);
    rr_end(&m, at);
    check_malformed(&m);

    /* A CNAME with a byte after its name. */
    memset(&m, 0, sizeof m);
    header(&m, QR, 1, 1, 0, 0);
    question(&m, "a.example", 1);
    ptr(&m, 12);
    at = rr_fixed(&m, 5, 1, 60);
    name(&m, "b.example");
    put8(&m, 0);
    rr_end(&m, at);
    check_malformed(&m);

    /* A CNAME whose name runs out of its data. */
    memset(&m, 0, sizeof m);
    header(&m, QR, 1, 1, 0, 0);
    question(&m, "a.example", 1);
    ptr(&m, 12);
    at = rr_fixed(&m, 5, 1, 60);
    name(&m, "b.example");
    rr_end(&m, at);
    m.b[at + 1] -= 1;
    put8(&m, 0); /* the message goes on, the data does not */
    check_malformed(&m);
}

static void test_query_and_errors(void **state)
{
    struct msg m = {0};
    struct seen s;
    (void)state;

    /* A query. */
    header(&m, RD, 1, 0, 0, 0);
    question(&m, "www.example.com", 1);
    assert_int_equal(parse(m.b, m.n, &s), 0);

    /* NXDOMAIN, even with an answer in it. */
    memset(&m, 0, sizeof m);
    build_chain(&m);
    m.b[3] |= 3;
    assert_int_equal(parse(m.b, m.n, &s), 0);
    m.b[3] = (uint8_t)(m.b[3] & 0xf0) | 2; /* SERVFAIL */
    assert_int_equal(parse(m.b, m.n, &s), 0);

    /* The answer section of another opcode (UPDATE) means something else. */
    memset(&m, 0, sizeof m);
    build_chain(&m);
    m.b[2] |= 5 << 3;
    assert_int_equal(parse(m.b, m.n, &s), 0);

    /* A response with no answers. */
    memset(&m, 0, sizeof m);
    header(&m, QR | RA, 1, 0, 0, 0);
    question(&m, "www.example.com", 1);
    assert_int_equal(parse(m.b, m.n, &s), 0);

    assert_int_equal(fa_dns_parse(NULL, 0, collect, &s), -1);
}

/* Names with bytes text cannot show: those records are skipped. */
static void test_bad_bytes(void **state)
{
    static const uint8_t a[4] = {198, 51, 100, 7};
    struct msg m = {0};
    struct seen s;
    (void)state;

    header(&m, QR | RA, 1, 5, 0, 0);
    question(&m, "ok.example", 1);
    put(&m, "\4ba\1d\0", 6); /* a control byte */
    rr_a(&m, 1, a);
    put(&m, "\3a.b\0", 5); /* a dot inside a label */
    rr_a(&m, 1, a);
    put(&m, "\3a b\0", 5); /* a space */
    rr_a(&m, 1, a);
    ptr(&m, 12); /* a CNAME to a name with a byte >= 0x80 */
    size_t at = rr_fixed(&m, 5, 1, 60);
    put(&m, "\4caf\xe9\0", 6);
    rr_end(&m, at);
    ptr(&m, 12);
    rr_a(&m, 7, a);

    assert_int_equal(parse(m.b, m.n, &s), 1);
    assert_string_equal(s.r[0].name, "ok.example");
    assert_int_equal(s.r[0].ttl, 7);
    assert_addr(&s.r[0], "198.51.100.7");
}

/* fa_dns_parse() in halves: one check, then walks by type that report,
 * between them, what fa_dns_parse() reports. */
static void test_check_and_report(void **state)
{
    struct msg m = {0};
    struct fa_dns_msg dm;
    struct seen s;
    (void)state;

    build_chain(&m);
    assert_int_equal(fa_dns_check(m.b, m.n, &dm), 1);
    assert_int_equal(dm.an, 3);
    assert_true(dm.types == FA_DNS_MASK_ALL);
    memset(&s, 0, sizeof s);
    assert_int_equal(fa_dns_report(&dm, FA_DNS_MASK(FA_DNS_TYPE_CNAME), collect, &s), 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.r[0].name, "www.example.com");
    assert_string_equal(s.r[0].target, "cdn.example.net");
    assert_int_equal(fa_dns_report(&dm, FA_DNS_MASK_ADDR, collect, &s), 2);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.r[1].type, FA_DNS_TYPE_A);
    assert_addr(&s.r[1], "192.0.2.10");
    assert_string_equal(s.r[1].target, "");
    assert_int_equal(s.r[2].type, FA_DNS_TYPE_AAAA);
    assert_addr(&s.r[2], "2001:db8::10");
    /* A walk may be repeated; a type not reported reports nothing. */
    assert_int_equal(fa_dns_report(&dm, FA_DNS_MASK_ALL, NULL, NULL), 3);
    assert_int_equal(fa_dns_report(&dm, FA_DNS_MASK(FA_DNS_TYPE_A), NULL, NULL), 1);
    assert_int_equal(fa_dns_report(&dm, FA_DNS_MASK(15), NULL, NULL), 0);

    /* Only the types present: an MX and a CHAOS A are not. */
    memset(&m, 0, sizeof m);
    header(&m, QR | RA, 1, 3, 0, 0);
    question(&m, "a.example", 1);
    rr_mx(&m);
    ptr(&m, 12);
    size_t at = rr_fixed(&m, 1, 3, 30);
    put(&m, "\1\2\3\4", 4);
    rr_end(&m, at);
    ptr(&m, 12);
    rr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
    assert_int_equal(fa_dns_check(m.b, m.n, &dm), 1);
    assert_true(dm.types == FA_DNS_MASK(FA_DNS_TYPE_A));
    assert_int_equal(fa_dns_report(&dm, FA_DNS_MASK_ALL, NULL, NULL), 1);

    /* The check gives what fa_dns_parse() gives for a query and for a
     * malformed message. */
    memset(&m, 0, sizeof m);
    build_chain(&m);
    m.b[2] &= 0x7f;
    assert_int_equal(fa_dns_check(m.b, m.n, &dm), 0);
    m.b[2] |= 0x80;
    assert_int_equal(fa_dns_check(m.b, m.n - 1, &dm), -1);
    assert_int_equal(fa_dns_check(NULL, 0, &dm), -1);
}

/* ---- robustness ---------------------------------------------------------- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* What fa_dns_check() and two walks by type report, as fa_dns_parse()
 * counts it. */
static int split(const uint8_t *b, size_t n)
{
    struct fa_dns_msg dm;
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, b, n);
    rc = fa_dns_check(copy, n, &dm);
    if (rc > 0)
        rc = fa_dns_report(&dm, FA_DNS_MASK(FA_DNS_TYPE_CNAME), NULL, NULL) +
             fa_dns_report(&dm, FA_DNS_MASK_ADDR, NULL, NULL);
    free(copy);
    return rc;
}

static void test_random(void **state)
{
    struct msg seed = {0};
    uint8_t b[600];
    struct seen s;
    (void)state;

    build_chain(&seed);
    for (int iter = 0; iter < 100000; iter++) {
        size_t n;
        if (iter % 2) {
            n = rng() % sizeof b;
            for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)rng();
            if (n > 3) {
                b[2] |= 0x80; /* a response, so that it is read */
                b[2] &= 0x87;
                b[3] &= 0xf0;
            }
            if (n > 12) {
                b[4] = 0;
                b[5] = (uint8_t)(rng() % 3);
                b[6] = 0;
                b[7] = (uint8_t)(rng() % 8);
            }
        } else {
            n = seed.n;
            memcpy(b, seed.b, n);
            for (int k = 1 + (int)(rng() % 4); k > 0; k--) {
                size_t at = rng() % n;
                b[at] = rng() % 2 ? (uint8_t)rng() : (rng() % 2 ? 0xc0 : 0x00);
            }
            n = rng() % 4 ? n : rng() % (n + 1);
        }
        int rc = parse(b, n, &s);
        assert_true(rc >= -1 && rc <= 16);
        assert_int_equal(split(b, n), rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cname_chain),      cmocka_unit_test(test_compression),
        cmocka_unit_test(test_pointer_loops),    cmocka_unit_test(test_bad_pointers),
        cmocka_unit_test(test_long_name),        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_malformed_later),  cmocka_unit_test(test_bad_rdata),
        cmocka_unit_test(test_query_and_errors), cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_check_and_report), cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
