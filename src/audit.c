/*
 * audit.c - hold every stored flow against the rules; keep what each
 * require rule saw and group what is wrong into findings.
 *
 * For each flow, in this order:
 *   1. an ICMP error message is skipped: it is evidence about the flow it
 *      quotes (that flow carries it), not traffic of its own;
 *   2. the flow's outcome is decided: unreachable (an ICMP destination
 *      unreachable quoted it before a handshake completed), rejected
 *      (REJ), blocked (a SYN never answered: S0, RSTOS0, SH), pending (a
 *      lone SYN still within its attempt timeout when the capture ended)
 *      or ok;
 *   3. require and allow rules that match it make it allowed.  The rules
 *      that name the flow's ends most precisely (by address or name rather
 *      than through `any`) decide: each such require rule counts the
 *      attempt, and a failed outcome becomes a finding under the first of
 *      them (require before allow); a handshake slower than the threshold
 *      is a slow finding; first bytes of another protocol than the rule's
 *      app= are a protocol-mismatch finding;
 *   4. otherwise a matching deny rule makes it denied;
 *   5. otherwise, if either end is a known host (a member of a role by
 *      address, not by `any` or a name), it is unexpected.
 * Findings are grouped by kind, rule, hosts, protocol and port.  Nothing
 * is written until every flow was seen; the store then receives the audit
 * in one transaction.
 *
 * Roles hold a flow's ends this way: the originator by address only; the
 * responder by address, or by a name the flow carries (server_name, what
 * its client asked for; dns_name, what a DNS answer called its address)
 * matching a name: member.  Names are learned for the side that is
 * reached, never for the side that connects.
 */
#define _GNU_SOURCE /* asprintf(), open_memstream() */

#include "audit.h"

#include "appproto.h"
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EXAMPLES 3
#define UID_LEN 24

/* Zeek's tcp_attempt_delay: a SYN younger than this when the capture
 * ended was not yet unanswered. */
#define ATTEMPT_WINDOW_NS (5 * 1000000000LL)

enum outcome { OUT_OK, OUT_PENDING, OUT_BLOCKED, OUT_REJECTED, OUT_UNREACHABLE };

static const char *const outcome_kind[] = {
    [OUT_OK] = "ok",
    [OUT_PENDING] = "pending",
    [OUT_BLOCKED] = "blocked",
    [OUT_REJECTED] = "rejected",
    [OUT_UNREACHABLE] = "unreachable",
};

static int is_failure(enum outcome o)
{
    return o == OUT_BLOCKED || o == OUT_REJECTED || o == OUT_UNREACHABLE;
}

/* A run audited, and when its capture ended. */
struct run_end {
    int64_t id, last_ns;
};

/* A finding being built. */
struct group {
    struct group *next; /* hash chain */
    uint64_t hash;
    const char *kind;
    int rule;    /* index into the ruleset, -1 for none */
    int reverse; /* the rule matched with its roles swapped (<->) */
    struct fa_addr src, dst;
    uint8_t proto;
    int port;
    enum fa_severity severity;
    uint64_t count, syns;
    int64_t first_ns, last_ns;
    int64_t worst_ns; /* slow: the longest handshake */
    char detail[96];
    char examples[MAX_EXAMPLES * UID_LEN];
    int nexamples;
    uint8_t *named;      /* unexpected: [role] 1 when a role named the responder of
                            one of the flows by name; NULL until one did */
    struct group *order; /* creation order, for a stable output */
};

/* What one require rule's port group saw in one direction. */
struct req_state {
    uint64_t attempts, failures;
    int64_t first_ns, last_ns;
};

struct audit {
    const struct fa_ruleset *rs;
    uint64_t seed[2]; /* keys the groups' hash: their addresses come from captures */
    struct group **buckets;
    size_t nbuckets, ngroups;
    struct group *first, *last;
    struct req_state *req; /* [rule][group][direction], require rules only */
    size_t *req_base;      /* rule -> its first req_state, or SIZE_MAX */
    uint64_t flows;
    struct run_end *runs; /* the runs audited, by id */
    size_t nruns, runs_cap;
    int failed;
};

/* ---- matching -------------------------------------------------------- */

static int rule_proto_matches(const struct fa_rule *rule, uint8_t proto)
{
    if (rule->proto == 0)
        return 1;
    if (rule->proto == FA_PROTO_ICMP)
        return proto == FA_PROTO_ICMP || proto == FA_PROTO_ICMPV6;
    return rule->proto == proto;
}

/* The port group of rule that holds port, or -1; rules without ports
 * (and non-port protocols) match as group 0. */
static int rule_port_group(const struct fa_rule *rule, const struct fa_flow_record *r)
{
    if (rule->ngroups == 0)
        return 0;
    if (r->proto != FA_PROTO_TCP && r->proto != FA_PROTO_UDP)
        return -1;
    for (size_t g = 0; g < rule->ngroups; g++)
        if (fa_port_group_has(&rule->groups[g], r->resp_p))
            return (int)g;
    return -1;
}

/* 1 when a name the flow carries for its responder matches a name:
 * member of role. */
static int resp_named_by(const struct fa_role *role, const struct fa_flow_record *r)
{
    return fa_role_has_name(role, r->server_name) || fa_role_has_name(role, r->dns_name);
}

/* The responder is in role by address or by name. */
static int resp_in_role(const struct fa_role *role, const struct fa_flow_record *r)
{
    return fa_role_has_addr(role, &r->resp_h) || resp_named_by(role, r);
}

/* 1 when the flow goes from the rule's source to its destination, 2 when
 * it goes the other way on a <-> rule, 0 when the rule does not apply. */
static int rule_direction(const struct fa_ruleset *rs, const struct fa_rule *rule,
                          const struct fa_flow_record *r)
{
    const struct fa_role *src = &rs->roles[rule->src], *dst = &rs->roles[rule->dst];
    if (fa_role_has_addr(src, &r->orig_h) && resp_in_role(dst, r))
        return 1;
    if (rule->both_directions && fa_role_has_addr(dst, &r->orig_h) && resp_in_role(src, r))
        return 2;
    return 0;
}

/* A known host is named by address in some role; `any` knows nobody, and
 * neither does a name: a name: member stands for a service outside the
 * environment (OutSystems' cloud), which hosts no role names may reach
 * without it being the environment's traffic. */
static int is_known(const struct fa_ruleset *rs, const struct fa_addr *a)
{
    for (size_t i = 0; i < rs->nroles; i++)
        if (fa_role_names_addr(&rs->roles[i], a))
            return 1;
    return 0;
}

/* Notes in g which roles name the flow's responder by name, for
 * known_roles(); the finding's destination may then be labelled with a
 * role although no rule matched. */
static void note_named(struct audit *a, struct group *g, const struct fa_flow_record *r)
{
    const struct fa_ruleset *rs = a->rs;
    if (!r->server_name[0] && !r->dns_name[0])
        return;
    for (size_t i = 0; i < rs->nroles; i++) {
        if (!resp_named_by(&rs->roles[i], r))
            continue;
        if (!g->named && !(g->named = calloc(rs->nroles, 1))) {
            a->failed = 1;
            return;
        }
        g->named[i] = 1;
    }
}

/* The roles that name a by address, or (named, when not NULL) by a name
 * one of the finding's flows carried, comma separated (malloc'ed), or
 * NULL for none. */
static char *known_roles(const struct fa_ruleset *rs, const struct fa_addr *a, const uint8_t *named)
{
    char *buf = NULL;
    size_t size = 0;
    int any = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    for (size_t i = 0; i < rs->nroles; i++) {
        if (!fa_role_names_addr(&rs->roles[i], a) && !(named && named[i]))
            continue;
        fprintf(f, "%s%s", any ? "," : "", rs->roles[i].name);
        any = 1;
    }
    fclose(f);
    if (!any) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* How precisely the rule names the flow's ends: one for each end its role
 * names by address (or, for the responder, by name) rather than through
 * `any`. */
static int rule_precision(const struct fa_ruleset *rs, const struct fa_rule *rule, int dir,
                          const struct fa_flow_record *r)
{
    const struct fa_role *src = &rs->roles[dir == 1 ? rule->src : rule->dst];
    const struct fa_role *dst = &rs->roles[dir == 1 ? rule->dst : rule->src];
    return fa_role_names_addr(src, &r->orig_h) +
           (fa_role_names_addr(dst, &r->resp_h) || resp_named_by(dst, r));
}

/* ---- outcome --------------------------------------------------------- */

static int is_icmp_error_message(const struct fa_flow_record *r)
{
    if (r->proto == FA_PROTO_ICMP)
        return r->orig_p == 3 || r->orig_p == 4 || r->orig_p == 5 || r->orig_p == 11 ||
               r->orig_p == 12;
    if (r->proto == FA_PROTO_ICMPV6)
        return r->orig_p >= 1 && r->orig_p <= 4;
    return 0;
}

static int tcp_established(const struct fa_flow_record *r)
{
    static const char *const states[] = {"S1", "SF", "S2", "S3", "RSTO", "RSTR"};
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (strcmp(r->conn_state, states[i]) == 0)
            return 1;
    return 0;
}

/* A destination unreachable refused the flow, unless it only asked for
 * smaller packets (path MTU discovery) or came after the handshake had
 * succeeded: the connection worked. */
static int is_unreachable(const struct fa_flow_record *r)
{
    if (!r->has_icmp_error || r->icmp_error_type != (r->icmp_error_v6 ? 1 : 3))
        return 0;
    if (!r->icmp_error_v6 && r->icmp_error_code == 4)
        return 0;
    return r->proto != FA_PROTO_TCP || !tcp_established(r);
}

/* The runs come from the store in id order: a binary search, since this
 * runs once for every blocked flow of every run audited. */
static int64_t run_last_ns(const struct audit *a, int64_t run_id)
{
    size_t lo = 0, hi = a->nruns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->runs[mid].id < run_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->nruns && a->runs[lo].id == run_id ? a->runs[lo].last_ns : 0;
}

static enum outcome outcome_of(const struct audit *a, const struct fa_stored_flow *sf)
{
    const struct fa_flow_record *r = &sf->rec;
    if (is_unreachable(r))
        return OUT_UNREACHABLE;
    if (r->proto != FA_PROTO_TCP)
        return OUT_OK;
    if (strcmp(r->conn_state, "REJ") == 0)
        return OUT_REJECTED;
    if (strcmp(r->conn_state, "S0") != 0 && strcmp(r->conn_state, "RSTOS0") != 0 &&
        strcmp(r->conn_state, "SH") != 0)
        return OUT_OK;
    /* The capture ended while a lone SYN could still have been answered;
     * one the client had to send again was not. */
    if (r->end == FA_END_CAPTURE_END && r->syn_count <= 1 &&
        run_last_ns(a, sf->run_id) - r->first_ns < ATTEMPT_WINDOW_NS)
        return OUT_PENDING;
    return OUT_BLOCKED;
}

static const char *icmp_unreachable_name(int v6, int code)
{
    static const char *const v4[] = {
        "network unreachable",
        "host unreachable",
        "protocol unreachable",
        "port unreachable",
        "fragmentation needed",
        "source route failed",
        "network unknown",
        "host unknown",
        "source host isolated",
        "network administratively prohibited",
        "host administratively prohibited",
        "network unreachable for TOS",
        "host unreachable for TOS",
        "communication administratively prohibited",
        "host precedence violation",
        "precedence cutoff",
    };
    static const char *const v6names[] = {
        "no route",
        "administratively prohibited",
        "beyond scope of source address",
        "address unreachable",
        "port unreachable",
        "source address failed policy",
        "reject route",
    };
    if (v6)
        return code >= 0 && code < (int)(sizeof v6names / sizeof *v6names) ? v6names[code]
                                                                           : "unreachable";
    return code >= 0 && code < (int)(sizeof v4 / sizeof *v4) ? v4[code] : "unreachable";
}

/* ---- groups ---------------------------------------------------------- */

/* Keyed as the flow table's hash is: whoever sent the capture chose its
 * addresses, and could otherwise choose them to fall in one bucket. */
static uint64_t group_hash(const struct audit *a, const char *kind, int rule,
                           const struct fa_addr *src, const struct fa_addr *dst, uint8_t proto,
                           int port)
{
    uint64_t h = fa_hash_end(a->seed, src, (uint16_t)(port + 1)) ^
                 fa_mix64(fa_hash_end(a->seed, dst, (uint16_t)(rule + 1)));
    for (const char *c = kind; *c; c++)
        h = h * 31 + (unsigned char)*c;
    return fa_mix64(h ^ proto);
}

static int grow_groups(struct audit *a)
{
    size_t n = a->nbuckets ? a->nbuckets * 2 : 1024;
    struct group **nb = calloc(n, sizeof *nb);
    if (!nb)
        return -1;
    for (struct group *g = a->first; g; g = g->order) {
        g->next = nb[g->hash & (n - 1)];
        nb[g->hash & (n - 1)] = g;
    }
    free(a->buckets);
    a->buckets = nb;
    a->nbuckets = n;
    return 0;
}

/* The group for this key, created on first use; NULL when out of memory. */
static struct group *group_for(struct audit *a, const char *kind, int rule,
                               const struct fa_addr *src, const struct fa_addr *dst, uint8_t proto,
                               int port)
{
    uint64_t h = group_hash(a, kind, rule, src, dst, proto, port);
    if (a->nbuckets) {
        for (struct group *g = a->buckets[h & (a->nbuckets - 1)]; g; g = g->next)
            if (g->hash == h && strcmp(g->kind, kind) == 0 && g->rule == rule &&
                g->proto == proto && g->port == port && memcmp(g->src.b, src->b, 16) == 0 &&
                memcmp(g->dst.b, dst->b, 16) == 0)
                return g;
    }
    if (a->ngroups >= a->nbuckets && grow_groups(a) < 0)
        return NULL;
    struct group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->hash = h;
    g->kind = kind;
    g->rule = rule;
    g->src = *src;
    g->dst = *dst;
    g->proto = proto;
    g->port = port;
    g->next = a->buckets[h & (a->nbuckets - 1)];
    a->buckets[h & (a->nbuckets - 1)] = g;
    if (a->last)
        a->last->order = g;
    else
        a->first = g;
    a->last = g;
    a->ngroups++;
    return g;
}

static void group_add_flow(struct group *g, const struct fa_stored_flow *sf)
{
    const struct fa_flow_record *r = &sf->rec;
    if (g->count == 0 || r->first_ns < g->first_ns)
        g->first_ns = r->first_ns;
    if (r->last_ns > g->last_ns)
        g->last_ns = r->last_ns;
    g->count++;
    g->syns += r->syn_count;
    if (g->nexamples < MAX_EXAMPLES) {
        size_t used = strlen(g->examples);
        snprintf(g->examples + used, sizeof g->examples - used, "%s%s", used ? " " : "", sf->uid);
        g->nexamples++;
    }
}

/* Adds the flow to the finding (kind, rule) between its two ends. */
static struct group *add_finding(struct audit *a, const char *kind, int rule, int reverse,
                                 enum fa_severity sev, const struct fa_stored_flow *sf)
{
    const struct fa_flow_record *r = &sf->rec;
    int port = r->proto == FA_PROTO_TCP || r->proto == FA_PROTO_UDP ? r->resp_p : -1;
    struct group *g = group_for(a, kind, rule, &r->orig_h, &r->resp_h, r->proto, port);
    if (!g) {
        a->failed = 1;
        return NULL;
    }
    if (g->count == 0) {
        g->severity = sev;
        g->reverse = reverse;
    }
    group_add_flow(g, sf);
    return g;
}

/* ---- per flow -------------------------------------------------------- */

static void count_attempt(struct audit *a, int rule, int group, int dir, int failed,
                          const struct fa_flow_record *r)
{
    struct req_state *st = &a->req[a->req_base[rule] + (size_t)group * 2 + (size_t)(dir - 1)];
    if (st->attempts == 0 || r->first_ns < st->first_ns)
        st->first_ns = r->first_ns;
    if (r->last_ns > st->last_ns)
        st->last_ns = r->last_ns;
    st->attempts++;
    st->failures += failed;
}

/* The handshake threshold for a flow under rule: the rule's own; else
 * the lowest setting of a role that names the responder by address; else
 * the setting for any.  0: none. */
static int64_t slow_threshold(const struct fa_ruleset *rs, const struct fa_rule *rule,
                              const struct fa_addr *resp)
{
    if (rule->slow_ns > 0)
        return rule->slow_ns;
    int64_t own = 0, any = 0;
    for (size_t i = 0; i < rs->nslow; i++) {
        const struct fa_slow_setting *s = &rs->slow[i];
        if (s->role < 0)
            any = s->ns;
        else if (fa_role_names_addr(&rs->roles[s->role], resp) && (own == 0 || s->ns < own))
            own = s->ns;
    }
    return own ? own : any;
}

static void check_slow(struct audit *a, int rule, int reverse, const struct fa_stored_flow *sf)
{
    const struct fa_flow_record *r = &sf->rec;
    if (r->proto != FA_PROTO_TCP || r->syn_to_synack_ns < 0)
        return;
    int64_t limit = slow_threshold(a->rs, &a->rs->rules[rule], &r->resp_h);
    if (limit <= 0 || r->syn_to_synack_ns <= limit)
        return;
    struct group *g = add_finding(a, "slow", rule, reverse, FA_SEV_WARNING, sf);
    if (g && r->syn_to_synack_ns > g->worst_ns) {
        g->worst_ns = r->syn_to_synack_ns;
        snprintf(g->detail, sizeof g->detail, "handshake %.3f ms > %.3f ms",
                 (double)g->worst_ns / 1e6, (double)limit / 1e6);
    }
}

/* "tls", "tds|tns": the protocols of an app= option, as written in rules. */
static void apps_text(uint32_t apps, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 1; i < 32 && used < size; i++)
        if (apps & (1u << i))
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "|" : "",
                                     fa_app_name((enum fa_app)i));
}

/* The rule says which protocol its ports carry (app=), and the flow's
 * first bytes said another: a protocol-mismatch finding.  A flow whose
 * bytes said nothing (no data, a protocol appproto does not know, naming
 * off) is not judged: only the bytes tell. */
static void check_app(struct audit *a, int rule, int reverse, const struct fa_stored_flow *sf)
{
    const struct fa_flow_record *r = &sf->rec;
    uint32_t apps = a->rs->rules[rule].apps;
    if (!apps || r->app_proto == FA_APP_UNKNOWN ||
        (r->app_proto < 32 && (apps & (1u << r->app_proto))))
        return;
    struct group *g = add_finding(a, "protocol-mismatch", rule, reverse, FA_SEV_WARNING, sf);
    if (g && !g->detail[0]) {
        char want[64];
        const char *got = fa_app_name((enum fa_app)r->app_proto);
        apps_text(apps, want, sizeof want);
        snprintf(g->detail, sizeof g->detail, "carried %s, expected %s", got[0] ? got : "?", want);
    }
}

static void describe_failure(struct group *g, enum outcome o, const struct fa_flow_record *r)
{
    char from[FA_ADDR_STRLEN];
    if (g->detail[0])
        return;
    if (o == OUT_UNREACHABLE)
        snprintf(g->detail, sizeof g->detail, "%s %u/%u (%s) from %s",
                 r->icmp_error_v6 ? "icmp6" : "icmp", r->icmp_error_type, r->icmp_error_code,
                 icmp_unreachable_name(r->icmp_error_v6, r->icmp_error_code),
                 fa_addr_str(&r->icmp_error_from, from));
    else if (o == OUT_BLOCKED)
        snprintf(g->detail, sizeof g->detail, "SYN not answered");
    else if (o == OUT_REJECTED)
        snprintf(g->detail, sizeof g->detail, "SYN answered by RST");
}

/* Severity of a failed attempt under rule: a require rule for publication
 * is an error; one for monitoring, or an allow rule, a warning. */
static enum fa_severity failure_severity(const struct fa_rule *rule)
{
    return rule->kind == FA_RULE_REQUIRE && rule->purpose == FA_PURPOSE_PUBLICATION
               ? FA_SEV_ERROR
               : FA_SEV_WARNING;
}

/* The require and allow rules that decide a flow: those that name its
 * ends most precisely.  Returns the chosen rule (a require rule before an
 * allow rule, then file order) or -1, and the first deny rule in *deny. */
struct verdict {
    int rule, dir;
    int deny, deny_dir;
    int precision;
};

static void match_rules(const struct fa_ruleset *rs, const struct fa_flow_record *r,
                        struct verdict *v)
{
    *v = (struct verdict){.rule = -1, .deny = -1, .precision = -1};
    for (size_t i = 0; i < rs->nrules; i++) {
        const struct fa_rule *rule = &rs->rules[i];
        if (!rule_proto_matches(rule, r->proto) || rule_port_group(rule, r) < 0)
            continue;
        int dir = rule_direction(rs, rule, r);
        if (!dir)
            continue;
        if (rule->kind == FA_RULE_DENY) {
            if (v->deny < 0) {
                v->deny = (int)i;
                v->deny_dir = dir;
            }
            continue;
        }
        int p = rule_precision(rs, rule, dir, r);
        if (p > v->precision || (p == v->precision && rule->kind == FA_RULE_REQUIRE &&
                                 rs->rules[v->rule].kind != FA_RULE_REQUIRE)) {
            v->rule = (int)i;
            v->dir = dir;
            v->precision = p;
        }
    }
}

/* Every require rule as precise as the chosen one counts the attempt. */
static void count_attempts(struct audit *a, const struct verdict *v, enum outcome o,
                           const struct fa_flow_record *r)
{
    const struct fa_ruleset *rs = a->rs;
    if (o == OUT_PENDING)
        return;
    for (size_t i = 0; i < rs->nrules; i++) {
        const struct fa_rule *rule = &rs->rules[i];
        if (rule->kind != FA_RULE_REQUIRE || !rule_proto_matches(rule, r->proto))
            continue;
        int group = rule_port_group(rule, r);
        int dir = group < 0 ? 0 : rule_direction(rs, rule, r);
        if (dir && rule_precision(rs, rule, dir, r) == v->precision)
            count_attempt(a, (int)i, group, dir, is_failure(o), r);
    }
}

static int audit_flow(void *ctx, const struct fa_stored_flow *sf)
{
    struct audit *a = ctx;
    const struct fa_ruleset *rs = a->rs;
    const struct fa_flow_record *r = &sf->rec;
    struct verdict v;
    struct group *g = NULL;

    a->flows++;
    if (is_icmp_error_message(r))
        return a->failed;
    enum outcome o = outcome_of(a, sf);
    match_rules(rs, r, &v);
    if (v.rule >= 0) {
        count_attempts(a, &v, o, r);
        if (is_failure(o))
            g = add_finding(a, outcome_kind[o], v.rule, v.dir == 2,
                            failure_severity(&rs->rules[v.rule]), sf);
        else if (o == OUT_OK)
            check_slow(a, v.rule, v.dir == 2, sf);
        check_app(a, v.rule, v.dir == 2, sf);
    } else if (v.deny >= 0) {
        g = add_finding(a, "denied", v.deny, v.deny_dir == 2, FA_SEV_ERROR, sf);
    } else if (is_known(rs, &r->orig_h) || is_known(rs, &r->resp_h)) {
        g = add_finding(a, "unexpected", -1, 0, FA_SEV_WARNING, sf);
        if (g)
            note_named(a, g, r);
    }
    if (g)
        describe_failure(g, o, r);
    return a->failed;
}

/* ---- results --------------------------------------------------------- */

/* A rule's protocol: 0 is any. */
static const char *rule_proto_text(int proto, char *buf)
{
    return proto == 0 ? "any" : fa_proto_name(proto, buf);
}

/* The finding's message (malloc'ed): the rule's reason and what happened. */
static char *finding_message(const struct fa_ruleset *rs, const struct group *g)
{
    const char *why = g->rule >= 0 ? rs->rules[g->rule].message : "no rule allows this traffic";
    const char *what = "";
    char *msg;
    if (strcmp(g->kind, "blocked") == 0)
        what = ": SYN sent, no SYN-ACK (dropped on the way, or nothing answers)";
    else if (strcmp(g->kind, "rejected") == 0)
        what = ": SYN answered by RST (nothing listens, or a reject rule)";
    else if (strcmp(g->kind, "unreachable") == 0)
        what = ": refused by ICMP destination unreachable";
    else if (strcmp(g->kind, "slow") == 0)
        what = ": handshake slower than the threshold";
    else if (strcmp(g->kind, "protocol-mismatch") == 0)
        what = ": the first bytes are of another protocol than the port should carry";
    return asprintf(&msg, "%s%s", why, what) < 0 ? NULL : msg;
}

static int put_group(struct fa_store *s, int64_t id, const struct fa_ruleset *rs,
                     const struct group *g, struct fa_audit_result *res, char *errbuf)
{
    char src[FA_ADDR_STRLEN], dst[FA_ADDR_STRLEN], proto[FA_PROTO_STRLEN];
    const struct fa_rule *rule = g->rule >= 0 ? &rs->rules[g->rule] : NULL;
    /* Under a rule the ends are its roles; without one, the roles that
     * name the addresses, and the destination's names, if any. */
    char *src_known = rule ? NULL : known_roles(rs, &g->src, NULL);
    char *dst_known = rule ? NULL : known_roles(rs, &g->dst, g->named);
    char *msg = finding_message(rs, g);
    int rc = -1;
    if (!msg) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for a finding");
        goto out;
    }
    struct fa_finding f = {
        .kind = g->kind,
        .severity = g->severity,
        .rule_file = rule ? rule->file : NULL,
        .rule_line = rule ? rule->line : 0,
        .rule_text = rule ? rule->text : NULL,
        .src = fa_addr_str(&g->src, src),
        .src_role = rule ? rs->roles[g->reverse ? rule->dst : rule->src].name : src_known,
        .dst = fa_addr_str(&g->dst, dst),
        .dst_role = rule ? rs->roles[g->reverse ? rule->src : rule->dst].name : dst_known,
        .proto = fa_proto_name(g->proto, proto),
        .port = g->port,
        .count = g->count,
        .syn_count = g->syns,
        .first_ns = g->first_ns,
        .last_ns = g->last_ns,
        .detail = g->detail[0] ? g->detail : NULL,
        .examples = g->examples,
        .message = msg,
    };
    res->counts[g->severity]++;
    rc = fa_store_put_finding(s, id, &f, errbuf);
out:
    free(src_known);
    free(dst_known);
    free(msg);
    return rc;
}

static const char *requirement_status(const struct req_state *st)
{
    if (st->attempts == 0)
        return "not-observed";
    if (st->failures == 0)
        return "ok";
    return st->failures == st->attempts ? "failed" : "failing";
}

/* One requirement row, and a not-observed finding when nothing was seen. */
static int put_requirement(struct fa_store *s, int64_t id, const struct fa_ruleset *rs,
                           const struct fa_rule *rule, size_t group, int dir,
                           const struct req_state *st, struct fa_audit_result *res, char *errbuf)
{
    const char *src = rs->roles[dir == 1 ? rule->src : rule->dst].name;
    const char *dst = rs->roles[dir == 1 ? rule->dst : rule->src].name;
    const char *ports = rule->ngroups ? rule->groups[group].text : "";
    char proto[FA_PROTO_STRLEN];
    struct fa_requirement q = {
        .rule_file = rule->file,
        .rule_line = rule->line,
        .rule_text = rule->text,
        .message = rule->message,
        .purpose = rule->purpose == FA_PURPOSE_MONITORING ? "monitoring" : "publication",
        .src_role = src,
        .dst_role = dst,
        .proto = rule_proto_text(rule->proto, proto),
        .ports = ports,
        .status = requirement_status(st),
        .attempts = st->attempts,
        .failures = st->failures,
        .first_ns = st->attempts ? st->first_ns : 0,
        .last_ns = st->attempts ? st->last_ns : 0,
    };
    if (fa_store_put_requirement(s, id, &q, errbuf) < 0)
        return -1;
    if (st->attempts)
        return 0;
    char *msg;
    if (asprintf(&msg,
                 "%s: no attempt seen (a passive capture cannot prove the path is open or "
                 "closed)",
                 rule->message) < 0) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for a finding");
        return -1;
    }
    struct fa_finding f = {
        .kind = "not-observed",
        .severity = FA_SEV_INFO,
        .rule_file = rule->file,
        .rule_line = rule->line,
        .rule_text = rule->text,
        .src_role = src,
        .dst_role = dst,
        .proto = rule_proto_text(rule->proto, proto),
        .port = -1,
        .detail = ports[0] ? ports : NULL,
        .examples = "",
        .message = msg,
    };
    res->counts[FA_SEV_INFO]++;
    int rc = fa_store_put_finding(s, id, &f, errbuf);
    free(msg);
    return rc;
}

static int put_requirements(struct fa_store *s, int64_t id, const struct audit *a,
                            struct fa_audit_result *res, char *errbuf)
{
    const struct fa_ruleset *rs = a->rs;
    for (size_t i = 0; i < rs->nrules; i++) {
        const struct fa_rule *rule = &rs->rules[i];
        if (rule->kind != FA_RULE_REQUIRE)
            continue;
        size_t ngroups = rule->ngroups ? rule->ngroups : 1;
        /* <-> between a role and itself is one requirement: a flow always
         * matches it forwards. */
        int ndirs = rule->both_directions && rule->src != rule->dst ? 2 : 1;
        for (int dir = 1; dir <= ndirs; dir++)
            for (size_t g = 0; g < ngroups; g++)
                if (put_requirement(s, id, rs, rule, g, dir,
                                    &a->req[a->req_base[i] + g * 2 + (size_t)(dir - 1)], res,
                                    errbuf) < 0)
                    return -1;
    }
    return 0;
}

/* The audited runs' ids, "1,2" (malloc'ed). */
static char *runs_text(const struct audit *a)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    for (size_t i = 0; i < a->nruns; i++)
        fprintf(f, "%s%lld", i ? "," : "", (long long)a->runs[i].id);
    return fclose(f) == 0 ? buf : (free(buf), NULL);
}

/* The rule files, one a line: a path may hold spaces (malloc'ed). */
static char *sources_text(const struct fa_ruleset *rs)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    for (size_t i = 0; i < rs->nsources; i++)
        fprintf(f, "%s%s", i ? "\n" : "", rs->sources[i]);
    return fclose(f) == 0 ? buf : (free(buf), NULL);
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_groups(struct fa_store *s, int64_t id, struct audit *a,
                        struct fa_audit_result *res, char *errbuf)
{
    if (put_requirements(s, id, a, res, errbuf) < 0)
        return -1;
    for (const struct group *g = a->first; g; g = g->order)
        if (put_group(s, id, a->rs, g, res, errbuf) < 0)
            return -1;
    return fa_store_end_audit(s, errbuf);
}

/* The audit lands whole or not at all. */
static int write_result(struct fa_store *s, struct audit *a, const char *rules_text,
                        const char *fail_on, struct fa_audit_result *res, char *errbuf)
{
    char *runs = runs_text(a), *sources = sources_text(a->rs);
    int rc = -1;
    if (!runs || !sources) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the audit");
        goto out;
    }
    struct fa_audit_info info = {
        .created_ns = wall_ns(),
        .version = FA_VERSION,
        .sources = sources,
        .rules_text = rules_text,
        .runs = runs,
        .flows = a->flows,
        .fail_on = fail_on,
    };
    int64_t id = fa_store_begin_audit(s, &info, errbuf);
    if (id < 0)
        goto out;
    res->audit_id = id;
    rc = write_groups(s, id, a, res, errbuf);
    if (rc < 0)
        fa_store_rollback(s);
out:
    free(runs);
    free(sources);
    return rc;
}

/* ---- setup ----------------------------------------------------------- */

static int audit_init(struct audit *a, const struct fa_ruleset *rs)
{
    size_t total = 0;
    memset(a, 0, sizeof *a);
    a->rs = rs;
    fa_hash_seed(a->seed);
    a->req_base = calloc(rs->nrules ? rs->nrules : 1, sizeof *a->req_base);
    if (!a->req_base)
        return -1;
    for (size_t i = 0; i < rs->nrules; i++) {
        a->req_base[i] = total;
        if (rs->rules[i].kind == FA_RULE_REQUIRE)
            total += (rs->rules[i].ngroups ? rs->rules[i].ngroups : 1) * 2;
    }
    a->req = calloc(total ? total : 1, sizeof *a->req);
    return a->req ? 0 : -1;
}

static void audit_free(struct audit *a)
{
    struct group *g = a->first;
    while (g) {
        struct group *next = g->order;
        free(g->named);
        free(g);
        g = next;
    }
    free(a->buckets);
    free(a->req);
    free(a->req_base);
    free(a->runs);
}

static int note_run(void *ctx, const struct fa_run_row *r)
{
    struct audit *a = ctx;
    if (a->nruns == a->runs_cap) {
        size_t cap = a->runs_cap ? a->runs_cap * 2 : 8;
        struct run_end *n = realloc(a->runs, cap * sizeof *n);
        if (!n) {
            a->failed = 1;
            return 1;
        }
        a->runs = n;
        a->runs_cap = cap;
    }
    a->runs[a->nruns++] = (struct run_end){r->id, r->last_packet_ns};
    return 0;
}

/* The runs to audit: run_id, or every run in the store. */
static int load_runs(struct fa_store *s, struct audit *a, int64_t run_id, char *errbuf)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    if (fa_store_each_run(s, run_id ? id : NULL, note_run, a, errbuf) < 0)
        return -1;
    if (a->failed) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the audit");
        return -1;
    }
    if (run_id && a->nruns == 0) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE,
                 "no run %lld in the database; 'flowaudit flows' "
                 "lists the runs' flows, the runs table the runs",
                 (long long)run_id);
        return -1;
    }
    return 0;
}

int fa_audit_run(struct fa_store *s, const struct fa_ruleset *rs, const char *rules_text,
                 int64_t run_id, const char *fail_on, struct fa_audit_result *result, char *errbuf)
{
    struct audit a;
    struct fa_flow_filter f;
    int rc = -1;

    memset(result, 0, sizeof *result);
    if (audit_init(&a, rs) < 0) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the audit");
        goto out;
    }
    if (load_runs(s, &a, run_id, errbuf) < 0)
        goto out;
    fa_flow_filter_init(&f);
    f.run_id = run_id;
    if (fa_store_each_flow(s, &f, audit_flow, &a, errbuf) < 0)
        goto out;
    if (a.failed) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the audit's findings");
        goto out;
    }
    rc = write_result(s, &a, rules_text, fail_on, result, errbuf);
out:
    audit_free(&a);
    return rc;
}
