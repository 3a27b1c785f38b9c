/*
 * names.c - the table of DNS answers: (name, address) pairs with the first
 * and last time each was seen.
 *
 * A hash table indexes the addresses (hosts).  A host's entries are kept
 * on a list of their own, most recently observed first: fa_names_for()
 * reads it, and an answer seen again is found on it, comparing each
 * entry's name hash and length before its name (a list holds at most
 * FA_NAMES_PER_ADDR entries).  A second list holds every entry in
 * observation order, oldest first: its head is what goes when the table
 * is full.
 *
 * Invariants:
 *   - every entry is on its host's list and on the observation list,
 *     exactly once, and no two entries of a host have the same name; a
 *     host exists only while it has an entry, and its count is the length
 *     of its list;
 *   - count <= max and every host's count <= FA_NAMES_PER_ADDR after each
 *     call; each bound is kept by dropping one entry before adding one;
 *   - addresses hash with fa_hash_end() and names with fa_hash_bytes()
 *     (SipHash-2-4), under a key drawn when the table is made, so an
 *     attacker who chooses the names and addresses of answers can choose
 *     neither their buckets nor names whose hashes collide on a host's
 *     list;
 *   - nothing here allocates per packet except a new entry (and its host);
 *     fa_names_dns() works in the scratch space of the table.
 */
#include "names.h"

#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "hash.h"

/* The longest name kept: the text of a 255-byte wire name is shorter. */
#define NAME_MAX_LEN 255

#define INITIAL_BUCKETS 256

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
    struct entry *older, *newer; /* the observation list */
    struct entry *prev, *next;   /* the host's list, most recent first */
    struct host *host;
    int64_t first_ns, last_ns;
    uint32_t hash; /* name_hash() of the name */
    uint8_t len;   /* of the name: 1 to NAME_MAX_LEN */
    char name[];
};

struct host {
    struct hlink h; /* first: in the host table */
    struct fa_addr addr;
    struct entry *head, *tail;
    unsigned count;
};

/* A CNAME record of the message being read, with its names' hashes. */
struct cname {
    char owner[FA_DNS_NAME_LEN];
    char target[FA_DNS_NAME_LEN];
    size_t owner_len;
    uint32_t owner_hash, target_hash;
    int start; /* the index of the CNAME at the start of the chain ending in this one */
};

struct fa_names {
    uint64_t key[2];
    size_t max, count;
    struct table hosts;
    struct entry *oldest, *newest;
    uint64_t dropped, nomem;
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
    if (table_init(&n->hosts) < 0) {
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
    free(n->hosts.b);
    free(n);
}

static uint64_t host_hash(const struct fa_names *n, const struct fa_addr *addr)
{
    return fa_hash_end(n->key, addr, 0);
}

static uint32_t name_hash(const struct fa_names *n, const char *name, size_t len)
{
    return (uint32_t)fa_hash_bytes(n->key, name, len);
}

static struct host *find_host(const struct fa_names *n, const struct fa_addr *addr, uint64_t hash)
{
    for (struct hlink *l = table_first(&n->hosts, hash); l; l = table_next(l)) {
        struct host *h = (struct host *)l;
        if (fa_addr_eq(&h->addr, addr))
            return h;
    }
    return NULL;
}

static struct entry *find_entry(const struct host *h, const char *name, size_t len, uint32_t hash)
{
    for (struct entry *e = h->head; e; e = e->next)
        if (e->hash == hash && e->len == len && memcmp(e->name, name, len) == 0)
            return e;
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

    order_unlink(n, e);
    host_unlink(h, e);
    if (h->count == 0) {
        table_remove(&n->hosts, &h->h);
        free(h);
    }
    free(e);
    n->count--;
    n->dropped++;
}

/* fa_names_observe() for a name already measured (len at most
 * NAME_MAX_LEN) and hashed with name_hash(). */
static int observe(struct fa_names *n, const char *name, size_t len, uint32_t hash,
                   const struct fa_addr *addr, int64_t ts_ns)
{
    uint64_t hh;
    struct entry *e;
    struct host *h;

    /* The root has no name to give a flow. */
    if (len == 0)
        return 0;
    hh = host_hash(n, addr);
    h = find_host(n, addr, hh);
    if (h && (e = find_entry(h, name, len, hash))) {
        if (ts_ns < e->first_ns)
            e->first_ns = ts_ns;
        if (ts_ns > e->last_ns)
            e->last_ns = ts_ns;
        order_unlink(n, e);
        order_append(n, e);
        host_unlink(h, e);
        host_push(h, e);
        return 0;
    }

    /* Room first.  The oldest entry may be the last of this very host,
     * which then goes with it. */
    if (n->count >= n->max) {
        if (n->oldest->host == h && h->count == 1)
            h = NULL;
        drop_entry(n, n->oldest);
    }
    if (h && h->count >= FA_NAMES_PER_ADDR)
        drop_entry(n, h->tail); /* leaves h: it had more than one entry */

    e = malloc(sizeof *e + len + 1);
    if (!e) {
        n->nomem++;
        return -1;
    }
    if (!h) {
        if (!(h = calloc(1, sizeof *h))) {
            free(e);
            n->nomem++;
            return -1;
        }
        h->addr = *addr;
        h->h.hash = hh;
        table_insert(&n->hosts, &h->h);
    }
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->hash = hash;
    e->len = (uint8_t)len;
    e->host = h;
    e->first_ns = e->last_ns = ts_ns;
    order_append(n, e);
    host_push(h, e);
    n->count++;
    return 0;
}

int fa_names_observe(struct fa_names *n, const char *name, const struct fa_addr *addr,
                     int64_t ts_ns)
{
    size_t len = strnlen(name, NAME_MAX_LEN);

    return observe(n, name, len, name_hash(n, name, len), addr, ts_ns);
}

const char *fa_names_for(const struct fa_names *n, const struct fa_addr *addr, int64_t before_ns)
{
    const struct host *h = find_host(n, addr, host_hash(n, addr));
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
    struct fa_names_stats st = {n->count, n->dropped, n->nomem};

    return st;
}

/* ---- DNS responses ----------------------------------------------------- */

/* dns.h's names are at most 253 characters: never cut here. */
static void collect_cname(void *ctx, const struct fa_dns_record *r)
{
    struct fa_names *n = ctx;
    struct cname *c;
    size_t len;

    if (n->ncnames == FA_NAMES_MAX_CNAMES)
        return;
    c = &n->cnames[n->ncnames++];
    c->owner_len = strlen(r->name);
    memcpy(c->owner, r->name, c->owner_len + 1);
    c->owner_hash = name_hash(n, c->owner, c->owner_len);
    len = strlen(r->target);
    memcpy(c->target, r->target, len + 1);
    c->target_hash = name_hash(n, c->target, len);
}

/* The first CNAME whose target is name (whose name_hash() is hash), or -1. */
static int cname_to(const struct fa_names *n, const char *name, uint32_t hash)
{
    for (int i = 0; i < n->ncnames; i++)
        if (n->cnames[i].target_hash == hash && strcmp(n->cnames[i].target, name) == 0)
            return i;
    return -1;
}

/* Follows each CNAME back to the start of its chain once per message, so
 * that each address record then costs one scan of the CNAMEs.  The link
 * from each CNAME to the one before it is found first (a scan each), then
 * walked from each CNAME for at most ncnames steps, which ends a chain
 * that loops: at most ncnames^2 name comparisons (by hash first) and
 * ncnames^2 steps. */
static void find_chain_starts(struct fa_names *n)
{
    int before[FA_NAMES_MAX_CNAMES];

    for (int i = 0; i < n->ncnames; i++)
        before[i] = cname_to(n, n->cnames[i].owner, n->cnames[i].owner_hash);
    for (int i = 0; i < n->ncnames; i++) {
        int at = i;

        for (int step = 0; step < n->ncnames && before[at] >= 0; step++)
            at = before[at];
        n->cnames[i].start = at;
    }
}

/* The owner first, then the question name: observed last, the name the
 * client asked for wins ties in fa_names_for(). */
static void observe_address(void *ctx, const struct fa_dns_record *r)
{
    struct fa_names *n = ctx;
    size_t len = strlen(r->name);
    uint32_t hash = name_hash(n, r->name, len);
    const struct cname *q;
    int c;

    observe(n, r->name, len, hash, &r->addr, n->dns_ts);
    if ((c = cname_to(n, r->name, hash)) < 0)
        return;
    q = &n->cnames[n->cnames[c].start];
    if (q->owner_hash != hash || strcmp(q->owner, r->name) != 0)
        observe(n, q->owner, q->owner_len, q->owner_hash, &r->addr, n->dns_ts);
}

/* The message is checked once, then read in two walks, because an answer
 * need not list a chain's CNAMEs before the addresses they lead to: the
 * CNAMEs (when there are any), then the A and AAAA records.  Each walk
 * decodes the names of its own records only. */
int fa_names_dns(struct fa_names *n, const uint8_t *msg, size_t len, int64_t ts_ns)
{
    struct fa_dns_msg m;
    int rc = fa_dns_check(msg, len, &m);

    if (rc <= 0)
        return rc;
    n->ncnames = 0;
    rc = fa_dns_report(&m, FA_DNS_MASK(FA_DNS_TYPE_CNAME), collect_cname, n);
    find_chain_starts(n);
    n->dns_ts = ts_ns;
    return rc + fa_dns_report(&m, FA_DNS_MASK_ADDR, observe_address, n);
}
