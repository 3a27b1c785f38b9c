/*
 * test_names.c - unit tests of the table of DNS answers.
 *
 * The rule a flow is named by (the name most recently seen for its
 * responder at or before the flow began), the two bounds and what each
 * drops, and responses read through fa_names_dns(): CNAME chains followed
 * back to the question in whatever order the answer lists them.  DNS
 * messages are built byte by byte, as in test_dns.c, and parsed from an
 * exactly-sized heap copy so that a read past the end shows under
 * AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hash.h"
#include "names.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define S 1000000000LL

static struct fa_addr addr(const char *text)
{
    struct fa_addr a;

    assert_int_not_equal(fa_addr_parse(text, &a), 0);
    return a;
}

static const char *name_for(const struct fa_names *n, const char *text, int64_t before_ns)
{
    struct fa_addr a = addr(text);

    return fa_names_for(n, &a, before_ns);
}

static void observe(struct fa_names *n, const char *name, const char *text, int64_t ts)
{
    struct fa_addr a = addr(text);

    assert_int_equal(fa_names_observe(n, name, &a, ts), 0);
}

static void assert_name(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

/* The entries as "name address first last" lines, oldest observed first. */
struct dump {
    char text[8192];
    size_t n;
    int stop_after, calls;
};

static int dump_entry(void *ctx, const char *name, const struct fa_addr *a, int64_t first,
                      int64_t last)
{
    struct dump *d = ctx;
    char host[FA_ADDR_STRLEN];

    d->n += (size_t)snprintf(d->text + d->n, sizeof d->text - d->n, "%s %s %lld %lld\n", name,
                             fa_addr_str(a, host), (long long)(first / S), (long long)(last / S));
    assert_true(d->n < sizeof d->text);
    return ++d->calls == d->stop_after ? 7 : 0;
}

static const char *dump(const struct fa_names *n)
{
    static struct dump d;

    memset(&d, 0, sizeof d);
    assert_int_equal(fa_names_each(n, dump_entry, &d), 0);
    return d.text;
}

/* ---- the table ------------------------------------------------------------ */

static void test_before_the_flow(void **state)
{
    struct fa_names *n = fa_names_new(0);

    (void)state;
    assert_non_null(n);
    assert_name(name_for(n, "192.0.2.30", 100 * S), NULL);
    observe(n, "sqlprod.example.com", "192.0.2.30", 10 * S);
    /* A flow that began before the answer was not named by it. */
    assert_name(name_for(n, "192.0.2.30", 10 * S - 1), NULL);
    assert_name(name_for(n, "192.0.2.30", 10 * S), "sqlprod.example.com");
    assert_name(name_for(n, "192.0.2.30", 99 * S), "sqlprod.example.com");
    assert_name(name_for(n, "192.0.2.31", 99 * S), NULL);
    /* The same address in another family is another address. */
    assert_name(name_for(n, "::ffff:192.0.2.30", 99 * S), "sqlprod.example.com");
    assert_name(name_for(n, "2001:db8::30", 99 * S), NULL);
    observe(n, "sqlprod.example.com", "2001:db8::30", 11 * S);
    assert_name(name_for(n, "2001:db8::30", 11 * S), "sqlprod.example.com");
    assert_int_equal(fa_names_stats(n).entries, 2);
    assert_int_equal(fa_names_stats(n).dropped, 0);
    fa_names_free(n);
}

/* Two names for one address: the one seen last before the flow began. */
static void test_most_recent_before(void **state)
{
    struct fa_names *n = fa_names_new(0);

    (void)state;
    observe(n, "a.example.com", "192.0.2.1", 10 * S);
    observe(n, "b.example.com", "192.0.2.1", 20 * S);
    assert_name(name_for(n, "192.0.2.1", 15 * S), "a.example.com");
    assert_name(name_for(n, "192.0.2.1", 25 * S), "b.example.com");
    /* a again at 30: before 30 b is still the latest answer known (a was
     * seen some time in [10, 30], which is no later than b's 20 as far as
     * the table can tell), from 30 on a is. */
    observe(n, "a.example.com", "192.0.2.1", 30 * S);
    assert_name(name_for(n, "192.0.2.1", 25 * S), "b.example.com");
    assert_name(name_for(n, "192.0.2.1", 30 * S), "a.example.com");
    assert_name(name_for(n, "192.0.2.1", 15 * S), "a.example.com");
    assert_name(name_for(n, "192.0.2.1", 5 * S), NULL);

    /* Seen at the same time: the one observed last. */
    observe(n, "x.example.com", "192.0.2.2", 10 * S);
    observe(n, "y.example.com", "192.0.2.2", 10 * S);
    assert_name(name_for(n, "192.0.2.2", 10 * S), "y.example.com");
    observe(n, "x.example.com", "192.0.2.2", 10 * S);
    assert_name(name_for(n, "192.0.2.2", 10 * S), "x.example.com");
    fa_names_free(n);
}

/* Files read together may go back in time: first and last are the
 * earliest and latest answers, whatever their order; each entry appears
 * once; the walk is in observation order and stops when asked. */
static void test_first_last_and_each(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct dump d = {.stop_after = 2};

    (void)state;
    observe(n, "a.example.com", "192.0.2.1", 50 * S);
    observe(n, "b.example.com", "192.0.2.2", 40 * S);
    observe(n, "a.example.com", "192.0.2.1", 20 * S);
    observe(n, "a.example.com", "192.0.2.1", 70 * S);
    observe(n, "a.example.com", "192.0.2.9", 60 * S);
    observe(n, "", "192.0.2.3", 60 * S); /* the root: nothing to name */
    assert_string_equal(dump(n), "b.example.com 192.0.2.2 40 40\n"
                                 "a.example.com 192.0.2.1 20 70\n"
                                 "a.example.com 192.0.2.9 60 60\n");
    assert_int_equal(fa_names_each(n, dump_entry, &d), 7);
    assert_int_equal(d.calls, 2);
    assert_int_equal(fa_names_stats(n).entries, 3);
    fa_names_free(n);
}

/* Full, the entry observed least recently goes, whatever its times. */
static void test_bound(void **state)
{
    struct fa_names *n = fa_names_new(3);

    (void)state;
    observe(n, "a.test", "192.0.2.1", 1 * S);
    observe(n, "b.test", "192.0.2.2", 2 * S);
    observe(n, "c.test", "192.0.2.3", 3 * S);
    observe(n, "a.test", "192.0.2.1", 4 * S); /* a is now the most recent */
    observe(n, "d.test", "192.0.2.1", 5 * S); /* b goes */
    assert_int_equal(fa_names_stats(n).entries, 3);
    assert_int_equal(fa_names_stats(n).dropped, 1);
    assert_name(name_for(n, "192.0.2.2", 10 * S), NULL);
    assert_name(name_for(n, "192.0.2.1", 4 * S), "a.test");
    assert_name(name_for(n, "192.0.2.1", 10 * S), "d.test");
    observe(n, "e.test", "192.0.2.4", 1 * S); /* c goes, though e is older */
    assert_string_equal(dump(n), "a.test 192.0.2.1 1 4\n"
                                 "d.test 192.0.2.1 5 5\n"
                                 "e.test 192.0.2.4 1 1\n");
    /* Dropping the last name of an address drops the address. */
    observe(n, "f.test", "192.0.2.5", 1 * S);
    observe(n, "g.test", "192.0.2.5", 1 * S);
    assert_string_equal(dump(n), "e.test 192.0.2.4 1 1\n"
                                 "f.test 192.0.2.5 1 1\n"
                                 "g.test 192.0.2.5 1 1\n");
    assert_name(name_for(n, "192.0.2.1", 10 * S), NULL);
    assert_int_equal(fa_names_stats(n).dropped, 4);

    fa_names_free(n);
    n = fa_names_new(1);
    observe(n, "a.test", "192.0.2.1", 1 * S);
    observe(n, "b.test", "192.0.2.1", 2 * S);
    assert_string_equal(dump(n), "b.test 192.0.2.1 2 2\n");
    fa_names_free(n);
}

/* One address named many times (a wildcard domain, or a CDN): it keeps
 * its FA_NAMES_PER_ADDR names observed last. */
static void test_bound_per_address(void **state)
{
    struct fa_names *n = fa_names_new(0);
    char name[64];

    (void)state;
    for (int i = 0; i < FA_NAMES_PER_ADDR + 10; i++) {
        snprintf(name, sizeof name, "n%d.example.com", i);
        observe(n, name, "192.0.2.7", (int64_t)(i + 1) * S);
    }
    observe(n, "other.example.com", "192.0.2.8", 1 * S);
    assert_int_equal(fa_names_stats(n).entries, FA_NAMES_PER_ADDR + 1);
    assert_int_equal(fa_names_stats(n).dropped, 10);
    assert_name(name_for(n, "192.0.2.7", 10 * S), NULL); /* n0..n9 went */
    assert_name(name_for(n, "192.0.2.7", 11 * S), "n10.example.com");
    snprintf(name, sizeof name, "n%d.example.com", FA_NAMES_PER_ADDR + 9);
    assert_name(name_for(n, "192.0.2.7", 1000 * S), name);
    assert_name(name_for(n, "192.0.2.8", 1000 * S), "other.example.com");
    fa_names_free(n);
}

/* Many entries: the tables grow, every pair is found again. */
static void test_many(void **state)
{
    struct fa_names *n = fa_names_new(0);
    char name[64], host[64];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "h%d.example.com", i);
        snprintf(host, sizeof host, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        observe(n, name, host, (int64_t)i * S);
        /* and one name for two addresses */
        snprintf(host, sizeof host, "2001:db8::%x", i);
        observe(n, "shared.example.com", host, (int64_t)i * S);
    }
    assert_int_equal(fa_names_stats(n).entries, 40000);
    for (int i = 0; i < 20000; i += 7) {
        snprintf(name, sizeof name, "h%d.example.com", i);
        snprintf(host, sizeof host, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_name(name_for(n, host, (int64_t)i * S), name);
        snprintf(host, sizeof host, "2001:db8::%x", i);
        assert_name(name_for(n, host, (int64_t)i * S), "shared.example.com");
    }
    fa_names_free(n);
}

/* A name longer than a DNS name can be is cut, not refused. */
static void test_long_name(void **state)
{
    struct fa_names *n = fa_names_new(0);
    char name[400];

    (void)state;
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    observe(n, name, "192.0.2.1", S);
    name[255] = '\0';
    assert_name(name_for(n, "192.0.2.1", S), name);
    observe(n, name, "192.0.2.1", 2 * S); /* the same entry */
    assert_int_equal(fa_names_stats(n).entries, 1);
    fa_names_free(n);
}

/* An address with its FA_NAMES_PER_ADDR names, each seen again: found on
 * the address's list, widened, nothing added or dropped. */
static void test_seen_again_when_full(void **state)
{
    struct fa_names *n = fa_names_new(0);
    char name[64];

    (void)state;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < FA_NAMES_PER_ADDR; i++) {
            snprintf(name, sizeof name, "n%d.example.com", i);
            observe(n, name, "192.0.2.7", (int64_t)(round * 100 + i + 1) * S);
        }
    assert_int_equal(fa_names_stats(n).entries, FA_NAMES_PER_ADDR);
    assert_int_equal(fa_names_stats(n).dropped, 0);
    assert_name(name_for(n, "192.0.2.7", 50 * S), "n49.example.com");
    assert_name(name_for(n, "192.0.2.7", 150 * S), "n49.example.com");
    fa_names_free(n);
}

/* The name hash is SipHash-2-4: the reference vectors (key 00..0f, input
 * 00..len-1) where words are little-endian. */
static void test_name_hash(void **state)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    uint8_t in[16];

    (void)state;
    for (int i = 0; i < 16; i++)
        in[i] = (uint8_t)i;
    assert_true(fa_hash_bytes(key, in, 0) == 0x726fdb47dd0e0e31ULL);
    assert_true(fa_hash_bytes(key, in, 8) == 0x93f5f5799a932462ULL);
    assert_true(fa_hash_bytes(key, in, 15) == 0xa129ca6149be45e5ULL);
#else
    (void)state;
    skip();
#endif
}

#ifndef UNDER_ASAN
/* The address space in use, from /proc. */
static size_t address_space(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* In a child: every allocation then fails.  Returns what went wrong, or 0. */
static int nomem_child(void)
{
    struct fa_names *n = fa_names_new(0);
    struct fa_addr a, b;
    struct rlimit rl;
    void **held = NULL, **p;
    size_t used = address_space();

    if (!n || !used || !fa_addr_parse("192.0.2.1", &a) || !fa_addr_parse("192.0.2.2", &b))
        return 1;
    if (fa_names_observe(n, "known.example", &a, S) != 0)
        return 2;
    if (getrlimit(RLIMIT_AS, &rl) != 0)
        return 3;
    rl.rlim_cur = used + ((size_t)16 << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        return 3;
    /* Everything malloc can still give, large blocks first, then every
     * small size, so that no cached chunk is left for the table. */
    for (size_t size = (size_t)1 << 20; size >= 2048; size /= 2)
        while ((p = malloc(size))) {
            *p = held;
            held = p;
        }
    for (size_t size = 2048; size >= sizeof *p; size -= sizeof *p)
        while ((p = malloc(size))) {
            *p = held;
            held = p;
        }
    /* A new address (entry and host), then a new name for a known one. */
    if (fa_names_observe(n, "new.example", &b, 2 * S) != -1)
        return 4;
    if (fa_names_observe(n, "other.example", &a, 2 * S) != -1)
        return 5;
    if (fa_names_stats(n).nomem != 2 || fa_names_stats(n).entries != 1)
        return 6;
    /* A pair already held needs no memory. */
    if (fa_names_observe(n, "known.example", &a, 3 * S) != 0)
        return 7;
    return 0;
}
#endif

/* Out of memory, an answer is not recorded, and is counted. */
static void test_nomem(void **state)
{
    (void)state;
#ifdef UNDER_ASAN
    skip(); /* the sanitizer's allocator reports running out itself */
#else
    struct fa_names *n = fa_names_new(0);
    int status;
    pid_t pid;

    assert_int_equal(fa_names_stats(n).nomem, 0);
    fa_names_free(n);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(nomem_child());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

/* ---- DNS responses -------------------------------------------------------- */

struct msg {
    uint8_t b[2048];
    size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof m->b);
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put16(struct msg *m, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(m, b, 2);
}

static void put_name(struct msg *m, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        uint8_t len = (uint8_t)n;
        put(m, &len, 1);
        put(m, name, n);
        name += n + (dot != NULL);
    }
    put(m, "", 1);
}

#define QR_RD_RA 0x8180

static void header(struct msg *m, unsigned flags, unsigned an)
{
    put16(m, 0x1234);
    put16(m, flags);
    put16(m, 1);
    put16(m, an);
    put16(m, 0);
    put16(m, 0);
}

static void question(struct msg *m, const char *name, unsigned type)
{
    put_name(m, name);
    put16(m, type);
    put16(m, 1);
}

static void rr(struct msg *m, const char *owner, unsigned type, const void *data, size_t len)
{
    put_name(m, owner);
    put16(m, type);
    put16(m, 1);
    put16(m, 0);
    put16(m, 300);
    put16(m, (unsigned)len);
    put(m, data, len);
}

static void rr_cname(struct msg *m, const char *owner, const char *target)
{
    struct msg t = {0};

    put_name(&t, target);
    rr(m, owner, 5, t.b, t.n);
}

static void rr_addr(struct msg *m, const char *owner, const char *text)
{
    struct fa_addr a = addr(text);

    if (fa_addr_is_v4(&a))
        rr(m, owner, 1, a.b + 12, 4);
    else
        rr(m, owner, 28, a.b, 16);
}

static int feed(struct fa_names *n, const struct msg *m, int64_t ts)
{
    uint8_t *copy = malloc(m->n);
    int rc;

    assert_non_null(copy);
    memcpy(copy, m->b, m->n);
    rc = fa_names_dns(n, copy, m->n, ts);
    free(copy);
    return rc;
}

static void test_dns_answer(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct msg m = {0};

    (void)state;
    header(&m, QR_RD_RA, 2);
    question(&m, "sqlprod.example.com", 1);
    rr_addr(&m, "sqlprod.example.com", "192.0.2.30");
    rr_addr(&m, "sqlprod.example.com", "192.0.2.31");
    assert_int_equal(feed(n, &m, 5 * S), 2);
    assert_string_equal(dump(n), "sqlprod.example.com 192.0.2.30 5 5\n"
                                 "sqlprod.example.com 192.0.2.31 5 5\n");

    memset(&m, 0, sizeof m);
    header(&m, QR_RD_RA, 1);
    question(&m, "sqlprod.example.com", 28);
    rr_addr(&m, "sqlprod.example.com", "2001:db8:0:3::30");
    assert_int_equal(feed(n, &m, 6 * S), 1);
    assert_name(name_for(n, "2001:db8:0:3::30", 6 * S), "sqlprod.example.com");
    fa_names_free(n);
}

/* The client asked for architecture.outsystems.com, an alias of a CDN
 * name that is an alias in turn: the flow is named by the question. */
static void test_dns_cname_chain(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct msg m = {0};

    (void)state;
    header(&m, QR_RD_RA, 4);
    question(&m, "architecture.outsystems.com", 1);
    rr_cname(&m, "architecture.outsystems.com", "d1.cloudfront.net");
    rr_cname(&m, "d1.cloudfront.net", "edge.cloudfront.net");
    rr_addr(&m, "edge.cloudfront.net", "198.51.100.1");
    rr_addr(&m, "edge.cloudfront.net", "198.51.100.2");
    assert_int_equal(feed(n, &m, 5 * S), 4);
    assert_string_equal(dump(n), "edge.cloudfront.net 198.51.100.1 5 5\n"
                                 "architecture.outsystems.com 198.51.100.1 5 5\n"
                                 "edge.cloudfront.net 198.51.100.2 5 5\n"
                                 "architecture.outsystems.com 198.51.100.2 5 5\n");
    assert_name(name_for(n, "198.51.100.1", 5 * S), "architecture.outsystems.com");
    assert_name(name_for(n, "198.51.100.2", 9 * S), "architecture.outsystems.com");
    fa_names_free(n);

    /* The same chain listed backwards. */
    n = fa_names_new(0);
    memset(&m, 0, sizeof m);
    header(&m, QR_RD_RA, 3);
    question(&m, "architecture.outsystems.com", 1);
    rr_addr(&m, "edge.cloudfront.net", "198.51.100.1");
    rr_cname(&m, "d1.cloudfront.net", "edge.cloudfront.net");
    rr_cname(&m, "architecture.outsystems.com", "d1.cloudfront.net");
    assert_int_equal(feed(n, &m, 5 * S), 3);
    assert_string_equal(dump(n), "edge.cloudfront.net 198.51.100.1 5 5\n"
                                 "architecture.outsystems.com 198.51.100.1 5 5\n");
    fa_names_free(n);

    /* A CNAME with nothing following it names nothing; a CNAME loop ends. */
    n = fa_names_new(0);
    memset(&m, 0, sizeof m);
    header(&m, QR_RD_RA, 3);
    question(&m, "a.test", 1);
    rr_cname(&m, "a.test", "b.test");
    rr_cname(&m, "b.test", "a.test");
    rr_addr(&m, "a.test", "192.0.2.1");
    assert_int_equal(feed(n, &m, 5 * S), 3);
    assert_int_equal(fa_names_stats(n).entries, 2);
    assert_name(name_for(n, "192.0.2.1", 5 * S), "b.test");
    fa_names_free(n);
}

/* More CNAMEs than are followed: the address is still recorded under its
 * owner, and the question under as much of the chain as was kept. */
static void test_dns_long_chain(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct msg m = {0};
    char owner[32], target[32];
    int links = FA_NAMES_MAX_CNAMES + 4;

    (void)state;
    header(&m, QR_RD_RA, (unsigned)links + 1);
    question(&m, "c0.test", 1);
    for (int i = 0; i < links; i++) {
        snprintf(owner, sizeof owner, "c%d.test", i);
        snprintf(target, sizeof target, "c%d.test", i + 1);
        rr_cname(&m, owner, target);
    }
    rr_addr(&m, target, "192.0.2.1");
    assert_int_equal(feed(n, &m, 5 * S), links + 1);
    assert_int_equal(fa_names_stats(n).entries, 1);
    assert_name(name_for(n, "192.0.2.1", 5 * S), target);

    /* The same chain short enough is followed to its start. */
    memset(&m, 0, sizeof m);
    links = FA_NAMES_MAX_CNAMES;
    header(&m, QR_RD_RA, (unsigned)links + 1);
    question(&m, "c0.test", 1);
    for (int i = 0; i < links; i++) {
        snprintf(owner, sizeof owner, "c%d.test", i);
        snprintf(target, sizeof target, "c%d.test", i + 1);
        rr_cname(&m, owner, target);
    }
    rr_addr(&m, target, "192.0.2.2");
    assert_int_equal(feed(n, &m, 5 * S), links + 1);
    assert_name(name_for(n, "192.0.2.2", 5 * S), "c0.test");
    fa_names_free(n);
}

/* A chain of FA_NAMES_MAX_CNAMES CNAMEs listed out of order, after the
 * addresses, beside another chain: every address is named by its own
 * chain's question, whichever link of the chain owns it. */
static void test_dns_chain_out_of_order(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct msg m = {0};
    char owner[32], target[32];
    int links = FA_NAMES_MAX_CNAMES - 1; /* and x.test's one */

    (void)state;
    header(&m, QR_RD_RA, (unsigned)links + 5);
    question(&m, "c0.test", 1);
    snprintf(owner, sizeof owner, "c%d.test", links);
    rr_addr(&m, owner, "192.0.2.1");      /* the end of the chain */
    rr_addr(&m, "c16.test", "192.0.2.2"); /* its middle */
    rr_addr(&m, "c0.test", "192.0.2.3");  /* the question itself */
    rr_addr(&m, "y.test", "192.0.2.4");   /* another chain's end */
    /* 7 is prime to 32: each link once, far from its neighbours. */
    for (int k = 0; k < 32; k++) {
        int i = (k * 7) % 32;
        if (i >= links) {
            rr_cname(&m, "x.test", "y.test");
            continue;
        }
        snprintf(owner, sizeof owner, "c%d.test", i);
        snprintf(target, sizeof target, "c%d.test", i + 1);
        rr_cname(&m, owner, target);
    }
    assert_int_equal(feed(n, &m, 5 * S), links + 5);
    snprintf(owner, sizeof owner, "c%d.test", links);
    char want[256];
    snprintf(want, sizeof want,
             "%s 192.0.2.1 5 5\n"
             "c0.test 192.0.2.1 5 5\n"
             "c16.test 192.0.2.2 5 5\n"
             "c0.test 192.0.2.2 5 5\n"
             "c0.test 192.0.2.3 5 5\n"
             "y.test 192.0.2.4 5 5\n"
             "x.test 192.0.2.4 5 5\n",
             owner);
    assert_string_equal(dump(n), want);
    assert_name(name_for(n, "192.0.2.1", 5 * S), "c0.test");
    assert_name(name_for(n, "192.0.2.2", 5 * S), "c0.test");
    assert_name(name_for(n, "192.0.2.4", 5 * S), "x.test");
    fa_names_free(n);
}

/* A message malformed after good answers is rejected whole: not even the
 * answers before the fault are recorded. */
static void test_dns_rejected_whole(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct msg m = {0};

    (void)state;
    /* A bad authority record after a good chain. */
    put16(&m, 0x1234);
    put16(&m, QR_RD_RA);
    put16(&m, 1);
    put16(&m, 2);
    put16(&m, 1);
    put16(&m, 0);
    question(&m, "www.example.com", 1);
    rr_cname(&m, "www.example.com", "cdn.example.net");
    rr_addr(&m, "cdn.example.net", "192.0.2.30");
    put_name(&m, "example.com");
    put16(&m, 2);
    put16(&m, 1);
    put16(&m, 0);
    put16(&m, 300);
    put16(&m, 40); /* rdlength past the end */
    put_name(&m, "ns.example.com");
    assert_int_equal(feed(n, &m, S), -1);

    /* A good address, then a CNAME with a byte after its name. */
    memset(&m, 0, sizeof m);
    header(&m, QR_RD_RA, 2);
    question(&m, "www.example.com", 1);
    rr_addr(&m, "www.example.com", "192.0.2.31");
    rr(&m, "www.example.com", 5, "\3cdn\7example\3net\0\0", 18);
    assert_int_equal(feed(n, &m, S), -1);

    assert_int_equal(fa_names_stats(n).entries, 0);
    assert_name(name_for(n, "192.0.2.30", 2 * S), NULL);
    assert_name(name_for(n, "192.0.2.31", 2 * S), NULL);
    fa_names_free(n);
}

/* A query, an error and a malformed message record nothing; the result is
 * fa_dns_parse()'s. */
static void test_dns_not_answers(void **state)
{
    struct fa_names *n = fa_names_new(0);
    struct msg m = {0};

    (void)state;
    header(&m, 0x0100, 0);
    question(&m, "sqlprod.example.com", 1);
    assert_int_equal(feed(n, &m, S), 0);

    memset(&m, 0, sizeof m);
    header(&m, QR_RD_RA | 3, 1); /* NXDOMAIN, with an answer nonetheless */
    question(&m, "sqlprod.example.com", 1);
    rr_addr(&m, "sqlprod.example.com", "192.0.2.30");
    assert_int_equal(feed(n, &m, S), 0);

    memset(&m, 0, sizeof m);
    header(&m, QR_RD_RA, 2);
    question(&m, "sqlprod.example.com", 1);
    rr_addr(&m, "sqlprod.example.com", "192.0.2.30");
    rr_addr(&m, "sqlprod.example.com", "192.0.2.31");
    m.n -= 2; /* the second answer cut short */
    assert_int_equal(feed(n, &m, S), -1);
    assert_int_equal(fa_names_stats(n).entries, 0);
    fa_names_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_before_the_flow),
        cmocka_unit_test(test_most_recent_before),
        cmocka_unit_test(test_first_last_and_each),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_bound_per_address),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_dns_answer),
        cmocka_unit_test(test_dns_cname_chain),
        cmocka_unit_test(test_dns_long_chain),
        cmocka_unit_test(test_dns_not_answers),
        cmocka_unit_test(test_seen_again_when_full),
        cmocka_unit_test(test_name_hash),
        cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_dns_chain_out_of_order),
        cmocka_unit_test(test_dns_rejected_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
