/*
 * names.c - the table of DNS answers: (name, address) pairs with the first
 * and last time each was seen.
 *
 * Two hash tables index the same entries: one by the pair, to update an
 * answer seen again, and one by address (a host), whose entries are kept
 * on a list of their own, most recently observed first, for fa_names_for().
 * A third list holds every entry in observation order, oldest first: its
 * head is what goes when the table is full.
 *
 * Invariants:
 *   - every entry is in the pair table, on its host's list and on the
 *     observation list, exactly once; a host exists only while it has an
 *     entry, and its count is the length of its list;
 *   - pairs.count <= max and every host's count <= FA_NAMES_PER_ADDR after
 *     each call; each bound is kept by dropping one entry before adding one;
 *   - both tables hash with SipHash-2-4 under a key drawn from getrandom()
 *     when the table is made, so an attacker who chooses the names and
 *     addresses of answers cannot choose their buckets;
 *   - nothing here allocates per packet except a new entry (and its host);
 *     fa_names_dns() works in the scratch space of the table.
 */
#include "names.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "hash.h"

/* The longest name kept: the text of a 255-byte wire name is shorter. */
#define NAME_MAX_LEN 255

#define INITIAL_BUCKETS 256

/* ---- hashing ----------------------------------------------------------- */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

/* SipHash-2-4 (Aumasson and Bernstein): a keyed function made for hash
 * tables fed by an adversary.  Words are read in host order; the values
 * never leave the process, so they need not match other hosts'. */
static uint64_t siphash(const uint64_t key[2], const uint8_t *in, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
    uint64_t m, last = (uint64_t)len << 56;
    size_t whole = len - len % 8;

    for (size_t i = 0; i < whole; i += 8) {
        memcpy(&m, in + i, 8);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)in[whole + i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- a chained hash table of intrusive links --------------------------- */

struct hlink {
    struct hlink *next;
    uint64_t hash;
};

struct table {
    struct hlink **b;
    size_t nb; /* power of two */
    size_t count;
};

static int table_init(struct table *t)
{
    t->nb = INITIAL_BUCKETS;
    t->count = 0;
    t->b = calloc(t->nb, sizeof *t->b);
    return t->b ? 0 : -1;
}

/* Doubles the buckets once the load passes 1.  Out of memory, the chains
 * just grow longer: slower, still right. */
static void table_grow(struct table *t)
{
    size_t nb = t->nb * 2;
    struct hlink **b = calloc(nb, sizeof *b);

    if (!b)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct hlink *l = t->b[i], *next;
        for (; l; l = next) {
            next = l->next;
            l->next = b[l->hash & (nb - 1)];
            b[l->hash & (nb - 1)] = l;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static void table_insert(struct table *t, struct hlink *l)
{
    struct hlink **b;

    if (t->count >= t->nb)
        table_grow(t);
    b = &t->b[l->hash & (t->nb - 1)];
    l->next = *b;
    *b = l;
    t->count++;
}

static void table_remove(struct table *t, struct hlink *l)
{
    struct hlink **p = &t->b[l->hash & (t->nb - 1)];

    while (*p != l)
        p = &(*p)->next;
    *p = l->next;
    t->count--;
}

static struct hlink *table_first(const struct table *t, uint64_t hash)
{
    struct hlink *l = t->b[hash & (t->nb - 1)];

    while (l && l->hash != hash)
        l = l->next;
    return l;
}

static struct hlink *table_next(const struct hlink *l)
{
    uint64_t hash = l->hash;

    for (l = l->next; l && l->hash != hash; l = l->next)
        ;
    return (struct hlink *)l;
}

/* ---- the table --------------------------------------------------------- */

struct host;

struct entry {
    struct hlink h;              /* first: in the pair table */
    struct entry *older, *newer; /* the observation list */
    struct entry *prev, *next;   /* the host's list, most recent first */
    struct host *host;
    int64_t first_ns, last_ns;
    char name[];
};

struct host {
    struct hlink h; /* first: in the host table */
    struct fa_addr addr;
    struct entry *head, *tail;
    unsigned count;
};

struct cname {
    char owner[FA_DNS_NAME_LEN];
    char target[FA_DNS_NAME_LEN];
    int start; /* the index of the CNAME at the start of the chain ending in this one */
};

struct fa_names {
    uint64_t key[2];
    size_t max;
    struct table pairs, hosts;
    struct entry *oldest, *newest;
    uint64_t dropped;
    /* fa_names_dns()'s scratch: the CNAMEs of the message being read. */
    struct cname cnames[FA_NAMES_MAX_CNAMES];
    int ncnames;
    int64_t dns_ts;
};

struct fa_names *fa_names_new(size_t max_entries)
{
    struct fa_names *n = calloc(1, sizeof *n);

    if (!n)
        return NULL;
    n->max = max_entries ? max_entries : FA_NAMES_DEFAULT_MAX;
    fa_hash_seed(n->key);
    if (table_init(&n->pairs) < 0 || table_init(&n->hosts) < 0) {
        fa_names_free(n);
        return NULL;
    }
    return n;
}

void fa_names_free(struct fa_names *n)
{
    struct entry *e, *older;

    if (!n)
        return;
    for (e = n->newest; e; e = older) {
        older = e->older;
        if (e->host->count-- == 1)
            free(e->host);
        free(e);
    }
    free(n->pairs.b);
    free(n->hosts.b);
    free(n);
}

static uint64_t host_hash(const struct fa_names *n, const struct fa_addr *addr)
{
    return siphash(n->key, addr->b, sizeof addr->b);
}

static uint64_t pair_hash(const struct fa_names *n, const struct fa_addr *addr, const char *name,
                          size_t len)
{
    uint8_t buf[sizeof addr->b + NAME_MAX_LEN];

    memcpy(buf, addr->b, sizeof addr->b);
    memcpy(buf + sizeof addr->b, name, len);
    return siphash(n->key, buf, sizeof addr->b + len);
}

static struct host *find_host(const struct fa_names *n, const struct fa_addr *addr)
{
    for (struct hlink *l = table_first(&n->hosts, host_hash(n, addr)); l; l = table_next(l)) {
        struct host *h = (struct host *)l;
        if (memcmp(h->addr.b, addr->b, sizeof addr->b) == 0)
            return h;
    }
    return NULL;
}

static struct entry *find_entry(const struct fa_names *n, const struct fa_addr *addr,
                                const char *name, size_t len, uint64_t hash)
{
    for (struct hlink *l = table_first(&n->pairs, hash); l; l = table_next(l)) {
        struct entry *e = (struct entry *)l;
        if (memcmp(e->host->addr.b, addr->b, sizeof addr->b) == 0 &&
            strncmp(e->name, name, len) == 0 && e->name[len] == '\0')
            return e;
    }
    return NULL;
}

/* The observation list: newest at the tail. */
static void order_unlink(struct fa_names *n, struct entry *e)
{
    *(e->older ? &e->older->newer : &n->oldest) = e->newer;
    *(e->newer ? &e->newer->older : &n->newest) = e->older;
}

static void order_append(struct fa_names *n, struct entry *e)
{
    e->newer = NULL;
    e->older = n->newest;
    *(n->newest ? &n->newest->newer : &n->oldest) = e;
    n->newest = e;
}

/* A host's list: most recent at the head. */
static void host_unlink(struct host *h, struct entry *e)
{
    *(e->prev ? &e->prev->next : &h->head) = e->next;
    *(e->next ? &e->next->prev : &h->tail) = e->prev;
    h->count--;
}

static void host_push(struct host *h, struct entry *e)
{
    e->prev = NULL;
    e->next = h->head;
    *(h->head ? &h->head->prev : &h->tail) = e;
    h->head = e;
    h->count++;
}

/* Removes e from everything; its host goes with its last entry. */
static void drop_entry(struct fa_names *n, struct entry *e)
{
    struct host *h = e->host;

    table_remove(&n->pairs, &e->h);
    order_unlink(n, e);
    host_unlink(h, e);
    if (h->count == 0) {
        table_remove(&n->hosts, &h->h);
        free(h);
    }
    free(e);
    n->dropped++;
}

int fa_names_observe(struct fa_names *n, const char *name, const struct fa_addr *addr,
                     int64_t ts_ns)
{
    size_t len = strnlen(name, NAME_MAX_LEN);
    uint64_t hash;
    struct entry *e;
    struct host *h;

    /* The root has no name to give a flow. */
    if (len == 0)
        return 0;
    hash = pair_hash(n, addr, name, len);
    if ((e = find_entry(n, addr, name, len, hash))) {
        if (ts_ns < e->first_ns)
            e->first_ns = ts_ns;
        if (ts_ns > e->last_ns)
            e->last_ns = ts_ns;
        order_unlink(n, e);
        order_append(n, e);
        host_unlink(e->host, e);
        host_push(e->host, e);
        return 0;
    }

    /* Room first: dropping the oldest entry may free the very host this
     * answer is for, so the host is looked up only afterwards. */
    if (n->pairs.count >= n->max)
        drop_entry(n, n->oldest);
    h = find_host(n, addr);
    if (h && h->count >= FA_NAMES_PER_ADDR)
        drop_entry(n, h->tail); /* leaves h: it had more than one entry */

    e = malloc(sizeof *e + len + 1);
    if (!e)
        return -1;
    if (!h) {
        if (!(h = calloc(1, sizeof *h))) {
            free(e);
            return -1;
        }
        h->addr = *addr;
        h->h.hash = host_hash(n, addr);
        table_insert(&n->hosts, &h->h);
    }
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->h.hash = hash;
    e->host = h;
    e->first_ns = e->last_ns = ts_ns;
    table_insert(&n->pairs, &e->h);
    order_append(n, e);
    host_push(h, e);
    return 0;
}

const char *fa_names_for(const struct fa_names *n, const struct fa_addr *addr, int64_t before_ns)
{
    const struct host *h = find_host(n, addr);
    const struct entry *best = NULL;
    int64_t best_ns = 0;

    if (!h)
        return NULL;
    /* Most recently observed first, and only a later time replaces the
     * best: ties go to the entry observed last. */
    for (const struct entry *e = h->head; e; e = e->next) {
        int64_t at;

        if (e->last_ns <= before_ns)
            at = e->last_ns;
        else if (e->first_ns <= before_ns)
            at = e->first_ns;
        else
            continue;
        if (!best || at > best_ns) {
            best = e;
            best_ns = at;
        }
    }
    return best ? best->name : NULL;
}

int fa_names_each(const struct fa_names *n, fa_names_fn fn, void *ctx)
{
    for (const struct entry *e = n->oldest; e; e = e->newer) {
        int rc = fn(ctx, e->name, &e->host->addr, e->first_ns, e->last_ns);
        if (rc)
            return rc;
    }
    return 0;
}

struct fa_names_stats fa_names_stats(const struct fa_names *n)
{
    struct fa_names_stats st = {n->pairs.count, n->dropped};

    return st;
}

/* ---- DNS responses ----------------------------------------------------- */

static void collect_cname(void *ctx, const struct fa_dns_record *r)
{
    struct fa_names *n = ctx;
    struct cname *c;

    if (r->type != FA_DNS_TYPE_CNAME || n->ncnames == FA_NAMES_MAX_CNAMES)
        return;
    c = &n->cnames[n->ncnames++];
    memcpy(c->owner, r->name, sizeof c->owner);
    memcpy(c->target, r->target, sizeof c->target);
}

/* The CNAME whose target is name, or -1. */
static int cname_to(const struct fa_names *n, const char *name)
{
    for (int i = 0; i < n->ncnames; i++)
        if (strcmp(n->cnames[i].target, name) == 0)
            return i;
    return -1;
}

/* Follows each CNAME back to the start of its chain once per message, so
 * that each address record then costs one scan of the CNAMEs.  A walk
 * takes at most ncnames steps, which ends a chain that loops. */
static void find_chain_starts(struct fa_names *n)
{
    for (int i = 0; i < n->ncnames; i++) {
        int at = i, j;

        for (int step = 0; step < n->ncnames && (j = cname_to(n, n->cnames[at].owner)) >= 0; step++)
            at = j;
        n->cnames[i].start = at;
    }
}

/* The owner first, then the question name: observed last, the name the
 * client asked for wins ties in fa_names_for(). */
static void observe_address(void *ctx, const struct fa_dns_record *r)
{
    struct fa_names *n = ctx;
    int c;

    if (r->type != FA_DNS_TYPE_A && r->type != FA_DNS_TYPE_AAAA)
        return;
    fa_names_observe(n, r->name, &r->addr, n->dns_ts);
    if ((c = cname_to(n, r->name)) < 0)
        return;
    const char *question = n->cnames[n->cnames[c].start].owner;
    if (strcmp(question, r->name) != 0)
        fa_names_observe(n, question, &r->addr, n->dns_ts);
}

/* Two passes, because an answer need not list a chain's CNAMEs before
 * the addresses they lead to; the parser is pure, so both see the same
 * records. */
int fa_names_dns(struct fa_names *n, const uint8_t *msg, size_t len, int64_t ts_ns)
{
    int rc;

    n->ncnames = 0;
    rc = fa_dns_parse(msg, len, collect_cname, n);
    if (rc <= 0)
        return rc;
    find_chain_starts(n);
    n->dns_ts = ts_ns;
    fa_dns_parse(msg, len, observe_address, n);
    return rc;
}
