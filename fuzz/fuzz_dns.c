/*
 * fuzz_dns.c - fuzzes the DNS message parser (dns.h) and what capture.c
 * does with its answers: the names table (names.h) and DNS over TCP.
 *
 * Input: one DNS message, as a UDP payload from port 53 carries it.  It
 * goes to fa_dns_parse, with and without a callback; to fa_names_dns on a
 * table of at most 4 entries, twice at two times, so that entries are
 * widened and dropped, and the table is then looked up by every address
 * reported; and, with its 2-byte length in front, to appproto.h's client
 * and server entry points as a DNS-over-TCP stream (fuzz_app.h).
 * fuzz/dict/dns.dict holds header flags, record types and pointers.
 *
 * Checked beyond memory safety (dns.h's promises): a malformed message
 * reports nothing, otherwise the count returned is the records reported;
 * a record is A, AAAA or CNAME with names in lower-case printable ASCII,
 * an A record's address is IPv4-mapped, a CNAME has a target and no
 * address, a TTL never has its top bit set; fa_dns_check and walks by
 * type with fa_dns_report report, between them, what fa_dns_parse does;
 * fa_names_dns returns what fa_dns_parse does and the table keeps its
 * bound.
 */
#include <string.h>

#include "dns.h"
#include "fuzz_app.h"
#include "names.h"

#define MAX_ENTRIES 4
#define MAX_ADDRS 64

struct seen {
    int count;
    int naddrs;
    struct fa_addr addrs[MAX_ADDRS];
};

static void check_name(const char *s)
{
    const char *end = memchr(s, '\0', FA_DNS_NAME_LEN);
    FUZZ_CHECK(end != NULL);
    for (; s < end; s++)
        FUZZ_CHECK(*s >= 0x21 && *s <= 0x7e && !(*s >= 'A' && *s <= 'Z'));
}

static void on_record(void *ctx, const struct fa_dns_record *r)
{
    static const struct fa_addr zero;
    struct seen *seen = ctx;

    seen->count++;
    check_name(r->name);
    check_name(r->target);
    FUZZ_CHECK(r->ttl <= 0x7fffffffu);
    switch (r->type) {
    case FA_DNS_TYPE_A:
        FUZZ_CHECK(fa_addr_is_v4(&r->addr));
        /* fall through */
    case FA_DNS_TYPE_AAAA:
        FUZZ_CHECK(r->target[0] == '\0');
        if (seen->naddrs < MAX_ADDRS)
            seen->addrs[seen->naddrs++] = r->addr;
        break;
    case FA_DNS_TYPE_CNAME:
        FUZZ_CHECK(memcmp(&r->addr, &zero, sizeof zero) == 0);
        break;
    default:
        FUZZ_CHECK(!"a record of a type dns.h does not report");
    }
}

static int count_entry(void *ctx, const char *name, const struct fa_addr *addr, int64_t first_ns,
                       int64_t last_ns)
{
    (void)addr;
    FUZZ_CHECK(name != NULL && first_ns <= last_ns);
    ++*(size_t *)ctx;
    return 0;
}

/* The check, then the CNAMEs and the addresses in walks of their own, as
 * names.c reads them: the same records, in the same order within each. */
static void split_walks(const uint8_t *data, size_t size, const struct seen *seen, int rc)
{
    struct fa_dns_msg m;
    struct seen cnames = {0}, addrs = {0};
    int checked = fa_dns_check(data, size, &m);

    if (checked <= 0) {
        FUZZ_CHECK(checked == rc);
        return;
    }
    FUZZ_CHECK((m.types & ~(uint32_t)FA_DNS_MASK_ALL) == 0);
    int c = fa_dns_report(&m, FA_DNS_MASK(FA_DNS_TYPE_CNAME), on_record, &cnames);
    int a = fa_dns_report(&m, FA_DNS_MASK_ADDR, on_record, &addrs);
    FUZZ_CHECK(c == cnames.count && a == addrs.count && c + a == rc);
    FUZZ_CHECK(addrs.naddrs == seen->naddrs &&
               memcmp(addrs.addrs, seen->addrs, sizeof *seen->addrs * (size_t)seen->naddrs) == 0);
}

static void names_table(const uint8_t *data, size_t size, const struct seen *seen, int rc)
{
    struct fa_names *n = fa_names_new(MAX_ENTRIES);
    size_t entries = 0;

    if (!n)
        return;
    FUZZ_CHECK(fa_names_dns(n, data, size, 2000) == rc);
    FUZZ_CHECK(fa_names_dns(n, data, size, 1000) == rc);
    for (int i = 0; i < seen->naddrs; i++) {
        fa_names_for(n, &seen->addrs[i], 1500);
        fa_names_for(n, &seen->addrs[i], 3000);
    }
    fa_names_each(n, count_entry, &entries);
    FUZZ_CHECK(entries <= MAX_ENTRIES && entries == fa_names_stats(n).entries);
    FUZZ_CHECK(fa_names_stats(n).nomem == 0);
    fa_names_free(n);
}

/* The message as one DNS-over-TCP stream carries it. */
static void over_tcp(const uint8_t *data, size_t size)
{
    if (size > 0xffff)
        return;
    uint8_t *stream = malloc(size + 2);
    if (!stream)
        return;
    stream[0] = (uint8_t)(size >> 8);
    stream[1] = (uint8_t)size;
    memcpy(stream + 2, data, size);
    fuzz_app_direction(fa_app_inspect, 0, stream, size + 2, FUZZ_APP_LIMIT);
    fuzz_app_direction(fa_app_inspect_response, 1, stream, size + 2, FUZZ_APP_LIMIT);
    free(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen seen = {0};

    int rc = fa_dns_parse(data, size, on_record, &seen);
    FUZZ_CHECK(rc >= -1);
    FUZZ_CHECK(rc == -1 ? seen.count == 0 : rc == seen.count);
    FUZZ_CHECK(fa_dns_parse(data, size, NULL, NULL) == rc);
    split_walks(data, size, &seen, rc);
    names_table(data, size, &seen, rc);
    over_tcp(data, size);
    return 0;
}
