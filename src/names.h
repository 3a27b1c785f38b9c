/*
 * names.h - the DNS answers a capture saw: which names resolved to which
 * addresses, and when, so that a flow can be given the name its client
 * most likely looked up.
 *
 * The table holds one entry per (name, address) pair, with the first and
 * the last time an answer gave that pair.  It is fed from DNS responses,
 * which anyone on the path can forge, so it is built to stay cheap under
 * hostile input:
 *   - it never holds more than max_entries entries; a new pair when it is
 *     full drops the entry observed least recently (counted in dropped);
 *   - no address has more than FA_NAMES_PER_ADDR names: a further name
 *     drops that address's name observed least recently (counted too), so
 *     a lookup by address looks at a bounded number of entries;
 *   - its hashes of addresses and names are keyed with a secret random
 *     seed, so colliding names or addresses cannot be computed offline.
 * "Least recently" is in the order answers were observed, which is the
 * capture's order, not their timestamps (files read together may overlap).
 */
#ifndef FA_NAMES_H
#define FA_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* The bound a capture uses: a few tens of megabytes at most. */
#define FA_NAMES_DEFAULT_MAX 100000

/* Names kept for one address: far more than a host is usually known by,
 * few enough that a lookup stays cheap however many a CDN address has. */
#define FA_NAMES_PER_ADDR 64

/* CNAME records of one response that are followed back to the question;
 * resolvers stop following chains long before this. */
#define FA_NAMES_MAX_CNAMES 32

struct fa_names;

struct fa_names_stats {
    uint64_t entries; /* held now */
    uint64_t dropped; /* entries dropped to stay within a bound */
    uint64_t nomem;   /* answers not recorded for want of memory */
};

/* max_entries 0 means FA_NAMES_DEFAULT_MAX.  NULL when out of memory. */
struct fa_names *fa_names_new(size_t max_entries);
void fa_names_free(struct fa_names *n);

/* Records that an answer seen at ts_ns gave name (lower-case text, at most
 * 255 bytes; longer is cut) for addr: a new entry, or the existing one's
 * first and last times widened to take ts_ns in.  Returns 0, or -1 when
 * out of memory (the answer is then not recorded, and counted in nomem). */
int fa_names_observe(struct fa_names *n, const char *name, const struct fa_addr *addr,
                     int64_t ts_ns);

/*
 * Parses one DNS message (a whole UDP payload) as fa_dns_parse() does and
 * observes its answers at ts_ns: for each A or AAAA record, its owner
 * name, and, when the owner is the end of a CNAME chain in the same
 * answer, the name at the chain's start too, which is the name the client
 * asked for (architecture.outsystems.com rather than the CDN name it is an
 * alias of).  Returns what fa_dns_parse() returned: -1 for a malformed
 * message, else the number of records it reported.
 */
int fa_names_dns(struct fa_names *n, const uint8_t *msg, size_t len, int64_t ts_ns);

/*
 * The name most recently seen resolving to addr at or before before_ns,
 * or NULL.  An entry counts from its last time when that is not after
 * before_ns, else from its first time when that is not (it was seen some
 * time between), else not at all; among entries counting from the same
 * time, the one observed last wins, so a question name beats the CNAME
 * target observed with it.  The string is valid until the table changes.
 */
const char *fa_names_for(const struct fa_names *n, const struct fa_addr *addr, int64_t before_ns);

/* Calls fn for every entry, least recently observed first, until fn
 * returns non-zero; returns that value, or 0.  fn must not change n. */
typedef int (*fa_names_fn)(void *ctx, const char *name, const struct fa_addr *addr,
                           int64_t first_ns, int64_t last_ns);
int fa_names_each(const struct fa_names *n, fa_names_fn fn, void *ctx);

struct fa_names_stats fa_names_stats(const struct fa_names *n);

#endif
