/*
 * test_rules.c - the rules language: every statement form and the exact
 * structures it yields, how files combine (same file adds, a later file
 * replaces), name resolution across files, address and port matching, and
 * the exact message, line and column of every kind of mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "appproto.h"
#include "rules.h"

#define MS 1000000LL

/* ---- helpers ------------------------------------------------------------ */

static struct fa_addr addr(const char *text)
{
    struct fa_addr a;
    uint8_t v4[4];
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, text, v4) == 1) {
        a.b[10] = a.b[11] = 0xff;
        memcpy(a.b + 12, v4, 4);
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, a.b), 1);
    }
    return a;
}

static void assert_addr(const struct fa_addr *got, const char *want)
{
    struct fa_addr w = addr(want);
    assert_memory_equal(got->b, w.b, 16);
}

static void load_ok(struct fa_ruleset *rs, const char *name, const char *text)
{
    char err[FA_RULES_ERRBUF_SIZE] = "";
    int rc = fa_ruleset_load_text(rs, name, text, err);
    if (rc != 0)
        fail_msg("%s", err);
}

static void finish_ok(struct fa_ruleset *rs)
{
    char err[FA_RULES_ERRBUF_SIZE] = "";
    if (fa_ruleset_finish(rs, err) != 0)
        fail_msg("%s", err);
}

static struct fa_ruleset *parse(const char *text)
{
    struct fa_ruleset *rs = fa_ruleset_new();
    assert_non_null(rs);
    load_ok(rs, "t.rules", text);
    finish_ok(rs);
    return rs;
}

static const struct fa_role *role(const struct fa_ruleset *rs, const char *name)
{
    int i = fa_ruleset_role(rs, name);
    assert_true(i >= 0);
    return &rs->roles[i];
}

static void assert_range(const struct fa_member *m, const char *lo, const char *hi)
{
    assert_int_equal(m->kind, FA_MEMBER_RANGE);
    assert_null(m->pattern);
    assert_addr(&m->lo, lo);
    assert_addr(&m->hi, hi);
}

static void assert_group(const struct fa_port_group *g, const char *text, size_t nalts)
{
    assert_string_equal(g->text, text);
    assert_int_equal(g->nalts, nalts);
}

static void assert_alt(const struct fa_port_group *g, size_t i, uint16_t lo, uint16_t hi)
{
    assert_true(i < g->nalts);
    assert_int_equal(g->alts[i].lo, lo);
    assert_int_equal(g->alts[i].hi, hi);
}

/* ---- roles -------------------------------------------------------------- */

static void test_role_members(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("# members of every kind\n"
                                  "role front-end 192.0.2.10 192.0.2.11   # two addresses\n"
                                  "role dev-tools 198.51.100.0/24\n"
                                  "  role V6\t2001:db8::/32 2001:db8:1::5 ::/0\n"
                                  "role ranges 192.0.2.10-192.0.2.20 2001:db8::1-2001:db8::ff\n"
                                  "role lifetime-sni name:architecture.outsystems.com "
                                  "name:*.OutSystems.com\n"
                                  "role end-users any 10.0.0.0/8 0.0.0.0/0 192.0.2.7/32\n"
                                  "role a_b.c 0.0.0.0-255.255.255.255\n");
    const struct fa_role *r;

    assert_int_equal(rs->nroles, 7);
    assert_int_equal(rs->nrules, 0);

    r = &rs->roles[0];
    assert_string_equal(r->name, "front-end");
    assert_int_equal(r->nmembers, 2);
    assert_range(&r->members[0], "192.0.2.10", "192.0.2.10");
    assert_range(&r->members[1], "192.0.2.11", "192.0.2.11");
    assert_string_equal(r->file, "t.rules");
    assert_int_equal(r->line, 2);
    /* IPv4 is stored IPv4-mapped */
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10};
    assert_memory_equal(r->members[0].lo.b, mapped, 16);

    r = &rs->roles[1];
    assert_string_equal(r->name, "dev-tools");
    assert_int_equal(r->nmembers, 1);
    assert_range(&r->members[0], "198.51.100.0", "198.51.100.255");
    assert_int_equal(r->line, 3);

    r = &rs->roles[2];
    assert_string_equal(r->name, "v6"); /* stored lower case */
    assert_int_equal(r->nmembers, 3);
    assert_range(&r->members[0], "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_range(&r->members[1], "2001:db8:1::5", "2001:db8:1::5");
    assert_range(&r->members[2], "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_int_equal(r->line, 4);

    r = &rs->roles[3];
    assert_int_equal(r->nmembers, 2);
    assert_range(&r->members[0], "192.0.2.10", "192.0.2.20");
    assert_range(&r->members[1], "2001:db8::1", "2001:db8::ff");

    r = &rs->roles[4];
    assert_string_equal(r->name, "lifetime-sni");
    assert_int_equal(r->nmembers, 2);
    assert_int_equal(r->members[0].kind, FA_MEMBER_NAME);
    assert_string_equal(r->members[0].pattern, "architecture.outsystems.com");
    assert_int_equal(r->members[1].kind, FA_MEMBER_NAME);
    assert_string_equal(r->members[1].pattern, "*.outsystems.com");

    r = &rs->roles[5];
    assert_int_equal(r->nmembers, 4);
    assert_int_equal(r->members[0].kind, FA_MEMBER_ANY);
    assert_null(r->members[0].pattern);
    assert_range(&r->members[1], "10.0.0.0", "10.255.255.255");
    assert_range(&r->members[2], "0.0.0.0", "255.255.255.255");
    assert_range(&r->members[3], "192.0.2.7", "192.0.2.7");

    r = &rs->roles[6];
    assert_string_equal(r->name, "a_b.c");
    assert_range(&r->members[0], "0.0.0.0", "255.255.255.255");

    /* names are found in any case; "any" was not used, so not created */
    assert_int_equal(fa_ruleset_role(rs, "FRONT-END"), 0);
    assert_int_equal(fa_ruleset_role(rs, "any"), -1);
    assert_int_equal(fa_ruleset_role(rs, "nobody"), -1);
    assert_int_equal(rs->nsources, 1);
    assert_string_equal(rs->sources[0], "t.rules");
    fa_ruleset_free(rs);
}

/* Repeated role lines in one file add members; in a later file they
 * replace them. */
static void test_role_override(void **state)
{
    (void)state;
    struct fa_ruleset *rs = fa_ruleset_new();
    const struct fa_role *r;

    load_ok(rs, "matrix.rules",
            "role end-users 10.0.0.0/8\n"
            "role web 192.0.2.1\n"
            "role end-users 172.16.0.0/12 # same file: adds\n");
    r = role(rs, "end-users");
    assert_int_equal(r->nmembers, 2);
    assert_range(&r->members[0], "10.0.0.0", "10.255.255.255");
    assert_range(&r->members[1], "172.16.0.0", "172.31.255.255");
    assert_string_equal(r->file, "matrix.rules");
    assert_int_equal(r->line, 1);

    load_ok(rs, "site.rules",
            "\n"
            "role end-users any\n"
            "role END-USERS 203.0.113.0/24 # the site file adds to its own definition\n");
    finish_ok(rs);
    assert_int_equal(rs->nroles, 2);
    r = &rs->roles[0]; /* keeps its index */
    assert_string_equal(r->name, "end-users");
    assert_int_equal(r->nmembers, 2);
    assert_int_equal(r->members[0].kind, FA_MEMBER_ANY);
    assert_range(&r->members[1], "203.0.113.0", "203.0.113.255");
    assert_string_equal(r->file, "site.rules");
    assert_int_equal(r->line, 2);
    r = &rs->roles[1];
    assert_int_equal(r->nmembers, 1);
    assert_string_equal(r->file, "matrix.rules");

    assert_int_equal(rs->nsources, 2);
    assert_string_equal(rs->sources[0], "matrix.rules");
    assert_string_equal(rs->sources[1], "site.rules");

    /* a third file replaces again */
    load_ok(rs, "third.rules", "role end-users 192.0.2.99\n");
    r = &rs->roles[0];
    assert_int_equal(r->nmembers, 1);
    assert_range(&r->members[0], "192.0.2.99", "192.0.2.99");
    assert_string_equal(r->file, "third.rules");
    fa_ruleset_free(rs);
}

/* "role NAME none": a role with no hosts, for a later file to fill. */
static void test_role_none(void **state)
{
    (void)state;
    struct fa_ruleset *rs = fa_ruleset_new();
    struct fa_addr x = addr("192.0.2.10");
    const struct fa_role *r;

    load_ok(rs, "matrix.rules",
            "role front-end none # the site file names them\n"
            "role a none\n"
            "role a 192.0.2.1    # same file: adds\n"
            "role b 192.0.2.2\n"
            "role b None         # adds nothing\n"
            "role c 192.0.2.3\n"
            "require any -> front-end tcp/80 \"x\"\n");
    finish_ok(rs);
    r = role(rs, "front-end");
    assert_int_equal(r->nmembers, 0);
    assert_null(r->members);
    assert_int_equal(r->line, 1);
    assert_false(fa_role_has_addr(r, &x));
    assert_int_equal(rs->rules[0].dst, 0);
    assert_int_equal(role(rs, "a")->nmembers, 1);
    assert_range(&role(rs, "a")->members[0], "192.0.2.1", "192.0.2.1");
    assert_int_equal(role(rs, "b")->nmembers, 1);

    load_ok(rs, "site.rules",
            "role front-end 192.0.2.10 192.0.2.11\n"
            "role c none\n");
    finish_ok(rs);
    r = role(rs, "front-end");
    assert_int_equal(r->nmembers, 2);
    assert_true(fa_role_has_addr(r, &x));
    assert_string_equal(r->file, "site.rules");
    r = role(rs, "c");
    assert_int_equal(r->nmembers, 0);
    assert_null(r->members);
    assert_string_equal(r->file, "site.rules");
    fa_ruleset_free(rs);
}

/* ---- rules -------------------------------------------------------------- */

static const char *matrix =
    "role front-end 192.0.2.10 192.0.2.11\n"                                  /* 1 */
    "role dev-tools 198.51.100.0/24\n"                                        /* 2 */
    "role database 192.0.2.30\n"                                              /* 3 */
    "role controller 192.0.2.40\n"                                            /* 4 */
    "require dev-tools -> front-end tcp/80,443 \"Deploy applications to the " /* 5 */
    "environment\"\n"
    "require front-end -> database tcp/1433|1521 \"Database connection\"   # | : " /* 6 */
    "either port\n"
    "allow controller <-> front-end tcp/12000-12002 \"Platform services\"\n" /* 7 */
    "deny any -> database tcp/1433 \"Database \\\"reachable\\\" from C:\\\\outside # "
    "not a comment\"\n"                                                     /* 8 */
    "set slow-handshake database 10ms\n"                                    /* 9 */
    "set port deployment-controller 12000\n"                                /* 10 */
    "allow front-end -> controller tcp/deployment-controller \"Deployment " /* 11 */
    "Controller Service\" purpose=monitoring slow=50ms\n"
    "require front-end -> any udp \"DNS\" purpose=publication\n"    /* 12 */
    "\tallow any -> any icmp \"ping\"  \n"                          /* 13 */
    "deny database -> any any \"nothing\"\n"                        /* 14 */
    "require front-end -> database tcp \"any port\" slow=1.5s\n"    /* 15 */
    "allow front-end -> database udp/53|5353,0-52|65535 \"udp\"\n"; /* 16 */

static void test_rule_forms(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse(matrix);
    const struct fa_rule *r;
    int fe = fa_ruleset_role(rs, "front-end"), dt = fa_ruleset_role(rs, "dev-tools");
    int db = fa_ruleset_role(rs, "database"), ctl = fa_ruleset_role(rs, "controller");
    int any = fa_ruleset_role(rs, "any");

    assert_int_equal(rs->nroles, 5);
    assert_int_equal(any, 4); /* created by fa_ruleset_finish() */
    assert_int_equal(rs->roles[any].nmembers, 1);
    assert_int_equal(rs->roles[any].members[0].kind, FA_MEMBER_ANY);
    assert_int_equal(rs->nrules, 10);

    r = &rs->rules[0];
    assert_int_equal(r->kind, FA_RULE_REQUIRE);
    assert_int_equal(r->src, dt);
    assert_int_equal(r->dst, fe);
    assert_string_equal(r->src_name, "dev-tools");
    assert_int_equal(r->src_col, 9);
    assert_int_equal(r->dst_col, 22);
    assert_false(r->both_directions);
    assert_int_equal(r->proto, FA_PROTO_TCP);
    assert_string_equal(r->ports, "80,443");
    assert_int_equal(r->ports_col, 36);
    assert_int_equal(r->ngroups, 2);
    assert_group(&r->groups[0], "80", 1);
    assert_alt(&r->groups[0], 0, 80, 80);
    assert_group(&r->groups[1], "443", 1);
    assert_alt(&r->groups[1], 0, 443, 443);
    assert_string_equal(r->message, "Deploy applications to the environment");
    assert_int_equal(r->purpose, FA_PURPOSE_PUBLICATION);
    assert_int_equal(r->slow_ns, 0);
    assert_string_equal(r->file, "t.rules");
    assert_int_equal(r->line, 5);
    assert_string_equal(r->text, "require dev-tools -> front-end tcp/80,443 \"Deploy applications "
                                 "to the environment\"");

    r = &rs->rules[1];
    assert_int_equal(r->src, fe);
    assert_int_equal(r->dst, db);
    assert_int_equal(r->ngroups, 1);
    assert_group(&r->groups[0], "1433|1521", 2);
    assert_alt(&r->groups[0], 0, 1433, 1433);
    assert_alt(&r->groups[0], 1, 1521, 1521);
    assert_string_equal(r->text,
                        "require front-end -> database tcp/1433|1521 \"Database connection\"");
    assert_int_equal(r->line, 6);

    r = &rs->rules[2];
    assert_int_equal(r->kind, FA_RULE_ALLOW);
    assert_int_equal(r->src, ctl);
    assert_int_equal(r->dst, fe);
    assert_true(r->both_directions);
    assert_int_equal(r->ngroups, 1);
    assert_group(&r->groups[0], "12000-12002", 1);
    assert_alt(&r->groups[0], 0, 12000, 12002);

    r = &rs->rules[3];
    assert_int_equal(r->kind, FA_RULE_DENY);
    assert_int_equal(r->src, any);
    assert_int_equal(r->dst, db);
    assert_string_equal(r->message, "Database \"reachable\" from C:\\outside # not a comment");
    assert_string_equal(r->text, "deny any -> database tcp/1433 \"Database \\\"reachable\\\" from "
                                 "C:\\\\outside # not a comment\"");

    r = &rs->rules[4]; /* a named port, an option of each kind */
    assert_int_equal(r->src, fe);
    assert_int_equal(r->dst, ctl);
    assert_int_equal(r->ngroups, 1);
    assert_group(&r->groups[0], "12000", 1);
    assert_alt(&r->groups[0], 0, 12000, 12000);
    assert_string_equal(r->ports, "deployment-controller");
    assert_int_equal(r->purpose, FA_PURPOSE_MONITORING);
    assert_int_equal(r->slow_ns, 50 * MS);
    assert_int_equal(r->line, 11);

    r = &rs->rules[5]; /* udp, any port */
    assert_int_equal(r->proto, FA_PROTO_UDP);
    assert_null(r->ports);
    assert_int_equal(r->ngroups, 0);
    assert_null(r->groups);
    assert_int_equal(r->dst, any);
    assert_int_equal(r->purpose, FA_PURPOSE_PUBLICATION);

    r = &rs->rules[6]; /* icmp; leading tab and trailing blanks */
    assert_int_equal(r->proto, FA_PROTO_ICMP);
    assert_int_equal(r->src, any);
    assert_int_equal(r->dst, any);
    assert_int_equal(r->ngroups, 0);
    assert_string_equal(r->text, "allow any -> any icmp \"ping\"");
    assert_int_equal(r->src_col, 8);

    r = &rs->rules[7]; /* any protocol */
    assert_int_equal(r->kind, FA_RULE_DENY);
    assert_int_equal(r->proto, 0);
    assert_int_equal(r->ngroups, 0);

    r = &rs->rules[8]; /* tcp, any port, fractional slow */
    assert_int_equal(r->proto, FA_PROTO_TCP);
    assert_int_equal(r->ngroups, 0);
    assert_int_equal(r->slow_ns, 1500 * MS);

    r = &rs->rules[9]; /* two groups of alternatives, ranges, edges */
    assert_int_equal(r->ngroups, 2);
    assert_group(&r->groups[0], "53|5353", 2);
    assert_group(&r->groups[1], "0-52|65535", 2);
    assert_alt(&r->groups[1], 0, 0, 52);
    assert_alt(&r->groups[1], 1, 65535, 65535);

    /* set slow-handshake */
    assert_int_equal(rs->nslow, 1);
    assert_string_equal(rs->slow[0].role_name, "database");
    assert_int_equal(rs->slow[0].role, db);
    assert_int_equal(rs->slow[0].ns, 10 * MS);
    assert_int_equal(rs->slow[0].line, 9);
    /* set port */
    assert_int_equal(rs->nports, 1);
    assert_string_equal(rs->ports[0].name, "deployment-controller");
    assert_string_equal(rs->ports[0].spec, "12000");
    assert_int_equal(rs->ports[0].line, 10);

    /* finishing again changes nothing */
    finish_ok(rs);
    assert_int_equal(rs->nroles, 5);
    assert_int_equal(rs->rules[0].ngroups, 2);
    assert_int_equal(rs->rules[3].src, any);
    fa_ruleset_free(rs);
}

/* Before fa_ruleset_finish() rules hold names only. */
static void test_rule_unresolved(void **state)
{
    (void)state;
    struct fa_ruleset *rs = fa_ruleset_new();
    load_ok(rs, "t.rules", "require a -> b tcp/80 \"m\"\n");
    assert_int_equal(rs->nrules, 1);
    assert_int_equal(rs->rules[0].src, -1);
    assert_int_equal(rs->rules[0].dst, -1);
    assert_string_equal(rs->rules[0].dst_name, "b");
    assert_int_equal(rs->rules[0].ngroups, 0);
    fa_ruleset_free(rs);
}

static void test_case_insensitive(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("ROLE Web 192.0.2.1\n"
                                  "SET PORT Admin 8443\n"
                                  "Set Slow-Handshake WEB 1MS\n"
                                  "ALLOW ANY -> WEB TCP/ADMIN \"Mixed Case Kept\" "
                                  "PURPOSE=MONITORING SLOW=2S\n"
                                  "Deny web -> Any ICMP \"x\"\n");
    assert_int_equal(fa_ruleset_role(rs, "web"), 0);
    assert_string_equal(rs->ports[0].name, "admin");
    assert_int_equal(rs->slow[0].ns, 1 * MS);
    assert_int_equal(rs->slow[0].role, 0);
    assert_int_equal(rs->rules[0].dst, 0);
    assert_int_equal(rs->rules[0].src, 1);
    assert_group(&rs->rules[0].groups[0], "8443", 1);
    assert_string_equal(rs->rules[0].message, "Mixed Case Kept");
    assert_int_equal(rs->rules[0].purpose, FA_PURPOSE_MONITORING);
    assert_int_equal(rs->rules[0].slow_ns, 2000 * MS);
    assert_int_equal(rs->rules[1].kind, FA_RULE_DENY);
    assert_int_equal(rs->rules[1].proto, FA_PROTO_ICMP);
    fa_ruleset_free(rs);
}

static void test_durations(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("role a any\n"
                                  "set slow-handshake a 250us\n"
                                  "set slow-handshake any 1.5s\n"
                                  "set slow-handshake b 0.5ms\n"
                                  "set slow-handshake c 1.000000001s\n"
                                  "set slow-handshake d 1.0000000019s\n"
                                  "set slow-handshake e 999999999s\n"
                                  "set slow-handshake f 1us\n"
                                  "role b any\nrole c any\nrole d any\nrole e any\nrole f any\n");
    assert_int_equal(rs->nslow, 7);
    assert_int_equal(rs->slow[0].ns, 250000);
    assert_int_equal(rs->slow[0].role, 0);
    assert_string_equal(rs->slow[1].role_name, "any");
    assert_int_equal(rs->slow[1].role, -1);
    assert_int_equal(rs->slow[1].ns, 1500000000);
    assert_int_equal(rs->slow[2].ns, 500000);
    assert_int_equal(rs->slow[3].ns, 1000000001);
    assert_int_equal(rs->slow[4].ns, 1000000001); /* below a nanosecond: dropped */
    assert_int_equal(rs->slow[5].ns, 999999999LL * 1000000000LL);
    assert_int_equal(rs->slow[6].ns, 1000);
    assert_int_equal(rs->slow[6].role, fa_ruleset_role(rs, "f"));
    fa_ruleset_free(rs);
}

/* The site file overrides ports and settings; the matrix may use roles and
 * ports only the site file defines. */
static void test_files_combine(void **state)
{
    (void)state;
    struct fa_ruleset *rs = fa_ruleset_new();
    const struct fa_rule *r;

    load_ok(rs, "matrix.rules",
            "role web 192.0.2.1\n"
            "set port deployment-controller 12000\n"
            "set port deployment-controller 12001 # a later set replaces\n"
            "set slow-handshake web 10ms\n"
            "require web -> web tcp/deployment-controller,https|8443 \"x\"\n"
            "require web -> site-only tcp/80 \"uses a role the site file defines\"\n");
    load_ok(rs, "site.rules",
            "set port deployment-controller 12100|12101-12102\n"
            "set port https 443\n"
            "set slow-handshake web 20ms\n"
            "role site-only 203.0.113.5\n");
    finish_ok(rs);

    r = &rs->rules[0];
    assert_int_equal(r->ngroups, 2);
    assert_group(&r->groups[0], "12100|12101-12102", 2);
    assert_alt(&r->groups[0], 0, 12100, 12100);
    assert_alt(&r->groups[0], 1, 12101, 12102);
    assert_group(&r->groups[1], "443|8443", 2);
    r = &rs->rules[1];
    assert_int_equal(r->dst, fa_ruleset_role(rs, "site-only"));
    assert_string_equal(r->file, "matrix.rules");

    assert_int_equal(rs->nports, 2);
    assert_string_equal(rs->ports[0].spec, "12100|12101-12102");
    assert_string_equal(rs->ports[0].file, "site.rules");
    assert_int_equal(rs->ports[0].line, 1);
    assert_int_equal(rs->nslow, 1);
    assert_int_equal(rs->slow[0].ns, 20 * MS);
    assert_string_equal(rs->slow[0].file, "site.rules");
    assert_int_equal(rs->slow[0].line, 3);
    fa_ruleset_free(rs);
}

/* ---- matching ----------------------------------------------------------- */

static int has(const struct fa_role *r, const char *a)
{
    struct fa_addr x = addr(a);
    return fa_role_has_addr(r, &x);
}

static void test_role_has_addr(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("role p4 192.0.2.0/24\n"
                                  "role p6 2001:db8::/32\n"
                                  "role r 198.51.100.10-198.51.100.20\n"
                                  "role one 203.0.113.9\n"
                                  "role all4 0.0.0.0/0\n"
                                  "role names name:example.com name:*.example.com\n"
                                  "role every any\n"
                                  "allow any -> any any \"x\"\n");
    const struct fa_role *p4 = role(rs, "p4"), *p6 = role(rs, "p6"), *r = role(rs, "r");
    const struct fa_role *one = role(rs, "one"), *all4 = role(rs, "all4");

    assert_true(has(p4, "192.0.2.0"));
    assert_true(has(p4, "192.0.2.255"));
    assert_false(has(p4, "192.0.1.255"));
    assert_false(has(p4, "192.0.3.0"));
    assert_false(has(p4, "::c000:200")); /* IPv4-compatible, not IPv4-mapped */

    assert_true(has(p6, "2001:db8::"));
    assert_true(has(p6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(has(p6, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(has(p6, "2001:db9::"));
    assert_false(has(p6, "192.0.2.1"));

    assert_true(has(r, "198.51.100.10"));
    assert_true(has(r, "198.51.100.20"));
    assert_false(has(r, "198.51.100.9"));
    assert_false(has(r, "198.51.100.21"));

    assert_true(has(one, "203.0.113.9"));
    assert_false(has(one, "203.0.113.8"));
    assert_false(has(one, "203.0.113.10"));

    assert_true(has(all4, "0.0.0.0"));
    assert_true(has(all4, "255.255.255.255"));
    assert_false(has(all4, "::"));
    assert_false(has(all4, "2001:db8::1"));

    assert_false(has(role(rs, "names"), "192.0.2.1"));
    assert_true(has(role(rs, "every"), "2001:db8::1"));
    assert_true(has(role(rs, "any"), "192.0.2.1"));
    assert_true(has(role(rs, "any"), "::"));
    fa_ruleset_free(rs);
}

/* name: patterns, as rules.c stores them (lower case), against names from
 * the wire (any case). */
static void test_name_matches(void **state)
{
    (void)state;
    /* exact: the same name, in any case, the root dot ignored */
    assert_true(fa_name_matches("architecture.outsystems.com", "architecture.outsystems.com"));
    assert_true(fa_name_matches("architecture.outsystems.com", "Architecture.OutSystems.COM"));
    assert_true(fa_name_matches("architecture.outsystems.com", "architecture.outsystems.com."));
    assert_false(fa_name_matches("architecture.outsystems.com", "architecture.outsystems.co"));
    assert_false(fa_name_matches("architecture.outsystems.com", "xarchitecture.outsystems.com"));
    assert_false(fa_name_matches("architecture.outsystems.com", "a.architecture.outsystems.com"));
    assert_false(fa_name_matches("outsystems.com", "architecture.outsystems.com"));

    /* wildcard: at least one more label, any number of them */
    assert_true(fa_name_matches("*.outsystems.com", "architecture.outsystems.com"));
    assert_true(fa_name_matches("*.outsystems.com", "a.b.outsystems.com"));
    assert_true(fa_name_matches("*.outsystems.com", "X.OUTSYSTEMS.com"));
    assert_true(fa_name_matches("*.outsystems.com", "x.outsystems.com."));
    assert_true(fa_name_matches("*.outsystems.com", "_svc.outsystems.com"));
    /* not the name itself, nor a name that only ends in the same letters */
    assert_false(fa_name_matches("*.outsystems.com", "outsystems.com"));
    assert_false(fa_name_matches("*.outsystems.com", "outsystems.com."));
    assert_false(fa_name_matches("*.outsystems.com", "evil-outsystems.com"));
    assert_false(fa_name_matches("*.outsystems.com", "xoutsystems.com"));
    assert_false(fa_name_matches("*.outsystems.com", ".outsystems.com"));
    assert_false(fa_name_matches("*.outsystems.com", "a..outsystems.com"));
    assert_false(fa_name_matches("*.outsystems.com", "outsystems.com.evil.example"));
    /* "*" is a wildcard in a pattern, never in a name */
    assert_false(fa_name_matches("a.outsystems.com", "*.outsystems.com"));

    /* nothing matches an empty name, or stands in for a missing one */
    assert_false(fa_name_matches("outsystems.com", ""));
    assert_false(fa_name_matches("outsystems.com", "."));
    assert_false(fa_name_matches("*.outsystems.com", ""));
    assert_false(fa_name_matches("outsystems.com", NULL));
    assert_false(fa_name_matches(NULL, "outsystems.com"));
}

static void test_role_has_name(void **state)
{
    (void)state;
    struct fa_ruleset *rs =
        parse("role ad name:Architecture.OutSystems.com\n"
              "role cloud name:outsystems.com name:*.outsystems.com\n"
              "role builders 52.51.203.1 name:experiencebuilder.outsystems.com\n"
              "role hosts 192.0.2.0/24 any\n"
              "role empty none\n");
    const struct fa_role *ad = role(rs, "ad"), *cloud = role(rs, "cloud");
    const struct fa_role *builders = role(rs, "builders");

    assert_string_equal(ad->members[0].pattern, "architecture.outsystems.com");
    assert_true(fa_role_has_name(ad, "architecture.outsystems.com"));
    assert_true(fa_role_has_name(ad, "ARCHITECTURE.outsystems.com"));
    assert_false(fa_role_has_name(ad, "aimentorstudio.outsystems.com"));
    assert_false(fa_role_has_name(ad, ""));
    assert_false(fa_role_has_name(ad, NULL));

    /* either member: the apex by its own member, names under it by the
     * wildcard */
    assert_true(fa_role_has_name(cloud, "outsystems.com"));
    assert_true(fa_role_has_name(cloud, "architecture.outsystems.com"));
    assert_false(fa_role_has_name(cloud, "outsystems.com.example"));

    /* addresses and names side by side, each matched its own way */
    assert_true(fa_role_has_name(builders, "experiencebuilder.outsystems.com"));
    assert_false(fa_role_has_name(builders, "52.51.203.1"));
    assert_true(has(builders, "52.51.203.1"));
    struct fa_addr a = addr("52.51.203.1");
    assert_true(fa_role_names_addr(builders, &a));
    assert_false(fa_role_names_addr(ad, &a));

    /* any holds every address and no name; none holds nothing */
    assert_false(fa_role_has_name(role(rs, "hosts"), "architecture.outsystems.com"));
    assert_false(fa_role_has_name(role(rs, "empty"), "architecture.outsystems.com"));
    fa_ruleset_free(rs);
}

/* app=: the protocols a rule's ports should carry, one bit each. */
static void test_app_option(void **state)
{
    (void)state;
    struct fa_ruleset *rs =
        parse("role fe 192.0.2.10\nrole db 192.0.2.30\n"
              "require fe -> db tcp/1433|1521 \"Database\" app=tds|tns\n"
              "allow any -> fe tcp/443 \"Apps\" APP=TLS purpose=monitoring slow=20ms\n"
              "require fe -> db tcp/12000 \"Remoting\"\n"
              "allow fe -> any tcp/80 \"Web\" app=http|http\n");

    assert_int_equal(rs->rules[0].apps, (1u << FA_APP_TDS) | (1u << FA_APP_TNS));
    assert_string_equal(rs->rules[0].text,
                        "require fe -> db tcp/1433|1521 \"Database\" app=tds|tns");
    assert_int_equal(rs->rules[1].apps, 1u << FA_APP_TLS);
    assert_int_equal(rs->rules[1].purpose, FA_PURPOSE_MONITORING);
    assert_int_equal(rs->rules[1].slow_ns, 20 * MS);
    assert_int_equal(rs->rules[2].apps, 0); /* no app=: any protocol */
    assert_int_equal(rs->rules[3].apps, 1u << FA_APP_HTTP);
    fa_ruleset_free(rs);

    /* every name fa_app_name() gives is accepted */
    for (int a = 1; fa_app_name((enum fa_app)a)[0]; a++) {
        char text[128];
        snprintf(text, sizeof text, "allow any -> any tcp \"m\" app=%s\n",
                 fa_app_name((enum fa_app)a));
        rs = parse(text);
        assert_int_equal(rs->rules[0].apps, 1u << a);
        fa_ruleset_free(rs);
    }
}

/* IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), inside IPv6 prefixes such
 * as ::/0 and ::/1 and ranges across ::ffff:0:0/96: the family keeps each
 * member to its own addresses. */
static void test_families(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("role all6 ::/0\n"
                                  "role low6 ::/1\n"
                                  "role all4 0.0.0.0/0\n"
                                  "role range6 ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"
                                  "role across ::fffe:0:0-::1:0:0:1\n"
                                  "role range4 0.0.0.0-255.255.255.255\n"
                                  "role mapped ::ffff:192.0.2.0/120\n"
                                  "role mapped1 ::ffff:192.0.2.1\n"
                                  "role mappedr ::ffff:192.0.2.1-::ffff:192.0.2.9\n"
                                  "role host6 ::ffff:1\n"
                                  "role mixed 2001:db8::/32 name:example.com any\n");
    const struct fa_role *all6 = role(rs, "all6"), *all4 = role(rs, "all4");
    const struct fa_role *range6 = role(rs, "range6"), *range4 = role(rs, "range4");
    const struct fa_role *across = role(rs, "across"), *mixed = role(rs, "mixed");
    struct fa_addr a;

    assert_false(all6->members[0].v4);
    assert_true(all4->members[0].v4);
    assert_false(range6->members[0].v4);
    assert_true(range4->members[0].v4);
    assert_true(role(rs, "mapped")->members[0].v4);
    assert_true(role(rs, "mapped1")->members[0].v4);
    assert_true(role(rs, "mappedr")->members[0].v4);
    assert_false(role(rs, "host6")->members[0].v4);

    assert_false(has(all6, "192.0.2.1"));
    assert_false(has(all6, "0.0.0.0"));
    assert_false(has(all6, "255.255.255.255"));
    assert_true(has(all6, "2001:db8::1"));
    assert_true(has(all6, "::"));
    assert_true(has(all6, "::c000:201")); /* IPv4-compatible is IPv6 */
    assert_false(has(role(rs, "low6"), "192.0.2.1"));
    assert_true(has(role(rs, "low6"), "::1"));
    assert_false(has(all4, "2001:db8::1"));
    assert_false(has(all4, "::"));
    assert_true(has(all4, "192.0.2.1"));

    assert_false(has(range6, "192.0.2.1"));
    assert_true(has(range6, "2001:db8::1"));
    assert_false(has(across, "192.0.2.1"));
    assert_true(has(across, "::fffe:0:1"));
    assert_true(has(across, "::1:0:0:0"));
    assert_false(has(range4, "2001:db8::1"));
    assert_false(has(range4, "::1"));
    assert_true(has(range4, "192.0.2.1"));

    /* Written in ::ffff: form, a member is IPv4. */
    assert_true(has(role(rs, "mapped"), "192.0.2.1"));
    assert_false(has(role(rs, "mapped"), "192.0.3.1"));
    assert_false(has(role(rs, "mapped"), "2001:db8::1"));
    assert_true(has(role(rs, "mapped1"), "192.0.2.1"));
    assert_true(has(role(rs, "mappedr"), "192.0.2.9"));
    assert_false(has(role(rs, "mappedr"), "192.0.2.10"));
    assert_true(has(role(rs, "host6"), "::ffff:1"));

    /* Member by member; any holds everything, name: nothing. */
    a = addr("192.0.2.1");
    assert_false(fa_member_has_addr(&mixed->members[0], &a));
    assert_false(fa_member_has_addr(&mixed->members[1], &a));
    assert_true(fa_member_has_addr(&mixed->members[2], &a));
    assert_true(fa_role_has_addr(mixed, &a));
    assert_false(fa_role_names_addr(mixed, &a)); /* any names nobody */
    a = addr("2001:db8::1");
    assert_true(fa_member_has_addr(&mixed->members[0], &a));
    assert_true(fa_role_names_addr(mixed, &a));
    assert_false(fa_role_names_addr(all4, &a));
    a = addr("192.0.2.1");
    assert_true(fa_role_names_addr(all4, &a));
    assert_false(fa_role_names_addr(all6, &a));
    fa_ruleset_free(rs);
}

static void test_port_group_has(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("role a any\n"
                                  "allow a -> a tcp/80|8000-8080,0|65535 \"x\"\n");
    const struct fa_port_group *g = &rs->rules[0].groups[0], *e = &rs->rules[0].groups[1];

    assert_true(fa_port_group_has(g, 80));
    assert_false(fa_port_group_has(g, 79));
    assert_false(fa_port_group_has(g, 81));
    assert_true(fa_port_group_has(g, 8000));
    assert_true(fa_port_group_has(g, 8040));
    assert_true(fa_port_group_has(g, 8080));
    assert_false(fa_port_group_has(g, 7999));
    assert_false(fa_port_group_has(g, 8081));
    assert_true(fa_port_group_has(e, 0));
    assert_true(fa_port_group_has(e, 65535));
    assert_false(fa_port_group_has(e, 1));
    assert_false(fa_port_group_has(e, 65534));
    fa_ruleset_free(rs);

    /* Alternatives of one group may overlap; groups may touch. */
    rs = parse("role a any\nset port web 80|443\n"
               "allow a -> a tcp/80|80|1-100|web,101-442,444 \"x\"\n");
    assert_int_equal(rs->rules[0].ngroups, 3);
    assert_group(&rs->rules[0].groups[0], "80|80|1-100|80|443", 5);
    fa_ruleset_free(rs);
}

/* The message of loading text (then site, when not NULL) and finishing,
 * which must fail; valid until the next call. */
static const char *load_error(const char *text, const char *site)
{
    static char err[FA_RULES_ERRBUF_SIZE];
    struct fa_ruleset *rs = fa_ruleset_new();
    int rc = fa_ruleset_load_text(rs, "t.rules", text, err);
    if (rc == 0 && site)
        rc = fa_ruleset_load_text(rs, "site.rules", site, err);
    if (rc == 0)
        rc = fa_ruleset_finish(rs, err);
    assert_int_equal(rc, -1);
    fa_ruleset_free(rs);
    return err;
}

/* "set port big 1|2|...|999", then rules of the given numbers of "big"
 * alternatives, one per line: "allow a -> a tcp/big|big|...". */
static char *big_ports(const int *nbig, size_t nrules)
{
    size_t size = 8192 + nrules * 8192, n = 0;
    char *t = malloc(size);
    assert_non_null(t);
    n += (size_t)snprintf(t + n, size - n, "role a any\nset port big 1");
    for (int p = 2; p <= 999; p++)
        n += (size_t)snprintf(t + n, size - n, "|%d", p);
    n += (size_t)snprintf(t + n, size - n, "\n");
    for (size_t r = 0; r < nrules; r++) {
        n += (size_t)snprintf(t + n, size - n, "allow a -> a tcp/big");
        for (int k = 1; k < nbig[r]; k++)
            n += (size_t)snprintf(t + n, size - n, "|big");
        n += (size_t)snprintf(t + n, size - n, " \"m\"\n");
    }
    assert_true(n < size);
    return t;
}

/* Port names multiply: the ruleset's alternatives and a rule's groups
 * are bounded, so that a small file cannot take all memory. */
static void test_port_limits(void **state)
{
    (void)state;
    char *text, err[FA_RULES_ERRBUF_SIZE];
    struct fa_ruleset *rs;
    size_t n = 0;

    /* 100 names of 999 ports: 99,900 alternatives, within the limit, and
     * counted afresh when finishing again. */
    text = big_ports((const int[]){100}, 1);
    rs = parse(text);
    assert_int_equal(rs->rules[0].ngroups, 1);
    assert_int_equal(rs->rules[0].groups[0].nalts, 99900);
    finish_ok(rs);
    fa_ruleset_free(rs);
    free(text);

    /* The 101st name crosses it (line 3, column 18 + 100 * 4). */
    text = big_ports((const int[]){101}, 1);
    assert_string_equal(load_error(text, NULL), "t.rules:3:418: too many ports: the ruleset may "
                                                "hold at most 100000 port alternatives");
    free(text);

    /* The limit is for the whole ruleset: the second rule crosses it at
     * its 41st name (59,940 + 40,959 > 100,000). */
    text = big_ports((const int[]){60, 60}, 2);
    assert_string_equal(load_error(text, NULL), "t.rules:4:178: too many ports: the ruleset may "
                                                "hold at most 100000 port alternatives");
    free(text);

    /* At most 1024 groups in a rule, counted when the rule is read. */
    text = malloc(8192);
    assert_non_null(text);
    n = (size_t)sprintf(text, "role a any\nset port p 80\nallow a -> a tcp/p");
    for (int g = 1; g < 1024; g++)
        n += (size_t)sprintf(text + n, ",p");
    strcpy(text + n, " \"m\"\n");
    rs = fa_ruleset_new();
    assert_int_equal(fa_ruleset_load_text(rs, "t.rules", text, err), 0);
    /* (these 1024 groups all hold port 80) */
    assert_int_equal(fa_ruleset_finish(rs, err), -1);
    assert_string_equal(err, "t.rules:3:18: port 80 is in two groups of this rule");
    fa_ruleset_free(rs);
    /* The 1025th is refused where it starts, column 18 + 1024 * 2. */
    strcpy(text + n, ",p \"m\"\n");
    assert_string_equal(load_error(text, NULL),
                        "t.rules:3:2066: too many port groups: a rule may have at most 1024");
    free(text);
}

/* Bytes of a file or of its name reach a message escaped: one line of
 * printable ASCII, a backslash doubled so that \xNN is always a byte. */
static void test_escaped_messages(void **state)
{
    (void)state;
    char err[FA_RULES_ERRBUF_SIZE];
    struct fa_ruleset *rs = fa_ruleset_new();
    const char *e;

    /* An escape sequence stops the line before any token is quoted. */
    assert_string_equal(load_error("role db 192.0.2.1 \x1b[2J\n", NULL),
                        "t.rules:1:19: control character 0x1b");
    assert_string_equal(load_error("role db\x1b]0;x\x07 192.0.2.1\n", NULL),
                        "t.rules:1:8: control character 0x1b");
    /* U+202E RIGHT-TO-LEFT OVERRIDE would show "1.2.3.4" reversed. */
    assert_string_equal(load_error("role db evil\xe2\x80\xae"
                                   "4.3.2.1\n",
                                   NULL),
                        "t.rules:1:9: expected a member (address, prefix, range, any, none or "
                        "name:PATTERN), found 'evil\\xe2\\x80\\xae4.3.2.1'");
    /* Invalid UTF-8, a C1 control, a backslash. */
    assert_string_equal(load_error("alow\xff\xc2\x9b a -> b tcp/80 \"m\"\n", NULL),
                        "t.rules:1:1: unknown statement 'alow\\xff\\xc2\\x9b'; expected role, "
                        "require, allow, deny or set");
    assert_string_equal(load_error("require a -> b tcp/80 \"m\" \\xff\n", NULL),
                        "t.rules:1:27: unknown option '\\\\xff'; expected purpose=publication, "
                        "purpose=monitoring, slow=DURATION or app=PROTOCOLS");
    assert_string_equal(load_error("require a -> b tcp/80 \"m\\\xe2\x80\xae\"\n", NULL),
                        "t.rules:1:25: unknown escape in string: byte 0xe2 after '\\'; only \\\" "
                        "and \\\\ are allowed");
    /* A long token is cut after 60 bytes, escaped or not. */
    e = load_error("role db \xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80"
                   "\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae"
                   "\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae\xe2"
                   "\x80\xae\xe2\x80\xae\xe2\x80\xae\n",
                   NULL);
    assert_non_null(strstr(e, "found '\\xe2\\x80\\xae"));
    assert_int_equal(strlen(strstr(e, "found '")), strlen("found ''...") + 60 * 4);

    /* File names: a newline would split the message, ESC drive the
     * terminal. */
    assert_int_equal(fa_ruleset_load_text(rs, "site\n.rules", "role", err), -1);
    assert_string_equal(err, "site\\x0a.rules:1:5: expected a role name (letters, digits, '-', "
                             "'_' and '.'), found end of line");
    assert_int_equal(
        fa_ruleset_load_text(rs, "\x1b[31mred\\x.rules", "\nrequire a -> b \"m\"", err), -1);
    assert_string_equal(err, "\\x1b[31mred\\\\x.rules:2:16: expected a protocol (tcp, udp, "
                             "tcp/PORTS, udp/PORTS, icmp or any), found '\"m\"'");
    assert_int_equal(fa_ruleset_load_file(rs, "/nonexistent/a\nb\xe2\x80\xae.rules", err), -1);
    assert_string_equal(err, "/nonexistent/a\\x0ab\\xe2\\x80\\xae.rules: cannot read: No such "
                             "file or directory");
    /* Names resolved at the end name their file escaped too. */
    assert_int_equal(fa_ruleset_load_text(rs, "x\ty.rules", "allow a -> a icmp \"m\"", err), 0);
    assert_int_equal(fa_ruleset_finish(rs, err), -1);
    assert_string_equal(err, "x\\x09y.rules:1:7: unknown role 'a'");
    fa_ruleset_free(rs);
}

/* ---- mistakes ----------------------------------------------------------- */

struct bad {
    const char *text; /* loaded as t.rules */
    const char *site; /* when not NULL, loaded next as site.rules */
    const char *want;
};

static const struct bad bad[] = {
    /* statements */
    {"alow a -> b tcp/80 \"m\"\n", NULL,
     "t.rules:1:1: unknown statement 'alow'; expected role, require, allow, deny or set"},
    {"# fine\n\n   rol a 192.0.2.1\n", NULL,
     "t.rules:3:4: unknown statement 'rol'; expected role, require, allow, deny or set"},
    {"\"role\" a 192.0.2.1", NULL,
     "t.rules:1:1: unknown statement '\"role\"'; expected role, require, allow, deny or set"},
    {"->", NULL, "t.rules:1:1: unknown statement '->'; expected role, require, allow, deny or set"},

    /* role */
    {"role", NULL,
     "t.rules:1:5: expected a role name (letters, digits, '-', '_' and '.'), found end of line"},
    {"role Front@End 192.0.2.1", NULL,
     "t.rules:1:6: expected a role name (letters, digits, '-', '_' and '.'), found 'Front@End'"},
    {"role -x 192.0.2.1", NULL,
     "t.rules:1:6: expected a role name (letters, digits, '-', '_' and '.'), found '-x'"},
    {"role \"db\" 192.0.2.1", NULL,
     "t.rules:1:6: expected a role name (letters, digits, '-', '_' and '.'), found '\"db\"'"},
    {"role ANY 192.0.2.1", NULL, "t.rules:1:6: 'any' is a built-in role and cannot be defined"},
    {"role db", NULL,
     "t.rules:1:8: empty role 'db': expected at least one member (address, prefix, range, any, "
     "none or name:PATTERN)"},
    {"role db    # nothing yet", NULL,
     "t.rules:1:8: empty role 'db': expected at least one member (address, prefix, range, any, "
     "none or name:PATTERN)"},
    {"role db none 192.0.2.1", NULL, "t.rules:1:9: 'none' cannot be combined with other members"},
    {"role db 192.0.2.1 NONE", NULL, "t.rules:1:19: 'none' cannot be combined with other members"},
    {"role db none none", NULL, "t.rules:1:9: 'none' cannot be combined with other members"},
    {"role db 192.0.2.1 databse", NULL,
     "t.rules:1:19: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'databse'"},
    {"role db 192.0.2.256", NULL,
     "t.rules:1:9: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'192.0.2.256'"},
    {"role db 10.1", NULL,
     "t.rules:1:9: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'10.1'"},
    {"role db fe80::1%eth0", NULL,
     "t.rules:1:9: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'fe80::1%eth0'"},
    {"role db \"192.0.2.1\"", NULL,
     "t.rules:1:9: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'\"192.0.2.1\"'"},
    {"role db 192.0.2.1/24", NULL,
     "t.rules:1:9: 192.0.2.1/24: host bits set; did you mean 192.0.2.0/24?"},
    {"role db 2001:db8::1/32", NULL,
     "t.rules:1:9: 2001:db8::1/32: host bits set; did you mean 2001:db8::/32?"},
    {"role db 10.0.0.0/33", NULL, "t.rules:1:9: 10.0.0.0/33: prefix length above 32"},
    {"role db 2001:db8::/129", NULL, "t.rules:1:9: 2001:db8::/129: prefix length above 128"},
    {"role db 10.0.0.0/", NULL,
     "t.rules:1:9: expected a prefix length after '/', found '10.0.0.0/'"},
    {"role db 10.0.0.0/8x", NULL,
     "t.rules:1:9: expected a prefix length after '/', found '10.0.0.0/8x'"},
    {"role db 10.0.0/8", NULL,
     "t.rules:1:9: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'10.0.0/8'"},
    {"role db 192.0.2.20-192.0.2.10", NULL,
     "t.rules:1:9: 192.0.2.20-192.0.2.10: range is backwards (first address above last)"},
    {"role db 192.0.2.1-2001:db8::1", NULL,
     "t.rules:1:9: 192.0.2.1-2001:db8::1: range mixes IPv4 and IPv6"},
    {"role db 192.0.2.1-", NULL,
     "t.rules:1:9: expected a member (address, prefix, range, any, none or name:PATTERN), found "
     "'192.0.2.1-'"},
    {"role db name:", NULL,
     "t.rules:1:9: expected a DNS name or *.DNS-NAME after 'name:', found 'name:'"},
    {"role db name:a..b", NULL,
     "t.rules:1:9: expected a DNS name or *.DNS-NAME after 'name:', found 'name:a..b'"},
    {"role db name:*", NULL,
     "t.rules:1:9: expected a DNS name or *.DNS-NAME after 'name:', found 'name:*'"},
    {"role db name:foo.*.com", NULL,
     "t.rules:1:9: expected a DNS name or *.DNS-NAME after 'name:', found 'name:foo.*.com'"},
    {"role db name:host.", NULL,
     "t.rules:1:9: expected a DNS name or *.DNS-NAME after 'name:', found 'name:host.'"},
    {"role db name:a234567890123456789012345678901234567890123456789012345678901234.com", NULL,
     "t.rules:1:9: expected a DNS name or *.DNS-NAME after 'name:', found "
     "'name:a234567890123456789012345678901234567890123456789012345...'"},

    /* rules: roles and arrow */
    {"require", NULL, "t.rules:1:8: expected a source role, found end of line"},
    {"allow # no more", NULL, "t.rules:1:6: expected a source role, found end of line"},
    {"deny a!", NULL, "t.rules:1:6: expected a source role, found 'a!'"},
    {"allow any->any icmp \"m\"", NULL, "t.rules:1:7: expected a source role, found 'any->any'"},
    {"require a", NULL, "t.rules:1:10: expected '->' or '<->', found end of line"},
    {"require a => b tcp/80 \"m\"", NULL, "t.rules:1:11: expected '->' or '<->', found '=>'"},
    {"require a <- b tcp/80 \"m\"", NULL, "t.rules:1:11: expected '->' or '<->', found '<-'"},
    {"require a -> ", NULL, "t.rules:1:13: expected a destination role, found end of line"},
    {"require a -> \"b\"", NULL, "t.rules:1:14: expected a destination role, found '\"b\"'"},
    /* protocols and ports */
    {"require a -> b", NULL,
     "t.rules:1:15: expected a protocol (tcp, udp, tcp/PORTS, udp/PORTS, icmp or any), found "
     "end of line"},
    {"require a -> b sctp \"m\"", NULL,
     "t.rules:1:16: expected a protocol (tcp, udp, tcp/PORTS, udp/PORTS, icmp or any), found "
     "'sctp'"},
    {"require a -> b icmp/8 \"m\"", NULL,
     "t.rules:1:16: expected a protocol (tcp, udp, tcp/PORTS, udp/PORTS, icmp or any), found "
     "'icmp/8'"},
    {"require a -> b any/80 \"m\"", NULL,
     "t.rules:1:16: expected a protocol (tcp, udp, tcp/PORTS, udp/PORTS, icmp or any), found "
     "'any/80'"},
    {"require a -> b tcp/70000 \"m\"", NULL, "t.rules:1:20: port 70000 out of range (0-65535)"},
    {"require a -> b tcp/80,443-70000 \"m\"", NULL,
     "t.rules:1:27: port 70000 out of range (0-65535)"},
    {"require a -> b udp/99999999999999999999 \"m\"", NULL,
     "t.rules:1:20: port 99999999999999999999 out of range (0-65535)"},
    {"require a -> b tcp/443-80 \"m\"", NULL,
     "t.rules:1:20: port range 443-80 is backwards (first port above last)"},
    {"require a -> b tcp/80,,443 \"m\"", NULL,
     "t.rules:1:23: expected a port, a port range or a port name, found ','"},
    {"require a -> b tcp/80| \"m\"", NULL,
     "t.rules:1:23: expected a port, a port range or a port name, found end of the port list"},
    {"require a -> b tcp/ \"m\"", NULL,
     "t.rules:1:20: expected a port, a port range or a port name, found end of the port list"},
    {"require a -> b tcp/|80 \"m\"", NULL,
     "t.rules:1:20: expected a port, a port range or a port name, found '|'"},
    {"require a -> b tcp/80,|443 \"m\"", NULL,
     "t.rules:1:23: expected a port, a port range or a port name, found '|'"},
    {"require a -> b tcp/80-x \"m\"", NULL,
     "t.rules:1:20: expected a port, a port range or a port name, found '80-x'"},
    {"require a -> b tcp/1-2-3 \"m\"", NULL,
     "t.rules:1:20: expected a port, a port range or a port name, found '1-2-3'"},
    {"require a -> b tcp/80,8o \"m\"", NULL,
     "t.rules:1:23: expected a port, a port range or a port name, found '8o'"},
    {"require a -> b tcp/http@ \"m\"", NULL,
     "t.rules:1:20: expected a port, a port range or a port name, found 'http@'"},
    /* message */
    {"require a -> b tcp/80", NULL,
     "t.rules:1:22: missing message: expected a quoted message after 'tcp/80'"},
    {"require a -> b tcp/80   # the message is missing", NULL,
     "t.rules:1:22: missing message: expected a quoted message after 'tcp/80'"},
    {"require a -> b tcp/80 Deploy apps", NULL,
     "t.rules:1:23: expected a quoted message, found 'Deploy'"},
    {"require a -> b tcp/80 \"Deploy", NULL, "t.rules:1:23: unterminated string"},
    {"require a -> b tcp/80 \"Deploy # not a comment", NULL, "t.rules:1:23: unterminated string"},
    {"require a -> b tcp/80 \"Deploy\\\"", NULL, "t.rules:1:23: unterminated string"},
    {"require a -> b tcp/80 \"Deploy\\", NULL, "t.rules:1:23: unterminated string"},
    {"require a -> b tcp/80 \"Deploy\nmore\"", NULL, "t.rules:1:23: unterminated string"},
    {"require a -> b tcp/80 \"a\\nb\"", NULL,
     "t.rules:1:25: unknown escape '\\n' in string; only \\\" and \\\\ are allowed"},
    {"require a -> b tcp/80 \"m\"x", NULL,
     "t.rules:1:26: expected a blank after the closing quote, found 'x'"},
    {"require a -> b tcp/80 \"m\"\"n\" purpose=monitoring", NULL,
     "t.rules:1:26: expected a blank after the closing quote, found '\"n\"'"},
    {"require a -> b tcp/80 x\"m\"", NULL,
     "t.rules:1:24: expected a blank before the opening quote, found 'x\"'"},
    {"require a -> b tcp/80 \"\"", NULL, "t.rules:1:23: empty message"},
    /* options */
    {"require a -> b tcp/80 \"m\" purpose=backup", NULL,
     "t.rules:1:27: expected purpose=publication or purpose=monitoring, found 'purpose=backup'"},
    {"require a -> b tcp/80 \"m\" purpose=monitoring purpose=monitoring", NULL,
     "t.rules:1:46: option 'purpose' given twice"},
    {"require a -> b udp/53 \"m\" slow=10ms", NULL,
     "t.rules:1:27: slow= applies only to tcp rules"},
    {"require a -> b any \"m\" slow=10ms", NULL, "t.rules:1:24: slow= applies only to tcp rules"},
    {"deny a -> b tcp/80 \"m\" slow=10ms", NULL,
     "t.rules:1:24: slow= applies only to allow and require rules"},
    {"require a -> b tcp/80 \"m\" slow=10", NULL,
     "t.rules:1:27: expected a duration (a number and us, ms or s, e.g. 10ms), found 'slow=10'"},
    {"require a -> b tcp/80 \"m\" slow=10 ms", NULL,
     "t.rules:1:27: expected a duration (a number and us, ms or s, e.g. 10ms), found 'slow=10'"},
    {"require a -> b tcp/80 \"m\" slow=.5s", NULL,
     "t.rules:1:27: expected a duration (a number and us, ms or s, e.g. 10ms), found "
     "'slow=.5s'"},
    {"require a -> b tcp/80 \"m\" slow=1.s", NULL,
     "t.rules:1:27: expected a duration (a number and us, ms or s, e.g. 10ms), found "
     "'slow=1.s'"},
    {"require a -> b tcp/80 \"m\" slow=10min", NULL,
     "t.rules:1:27: expected a duration (a number and us, ms or s, e.g. 10ms), found "
     "'slow=10min'"},
    {"require a -> b tcp/80 \"m\" slow=-1ms", NULL,
     "t.rules:1:27: expected a duration (a number and us, ms or s, e.g. 10ms), found "
     "'slow=-1ms'"},
    {"require a -> b tcp/80 \"m\" slow=0ms", NULL,
     "t.rules:1:27: expected a duration above zero, found 'slow=0ms'"},
    {"require a -> b tcp/80 \"m\" slow=0.0000000001s", NULL,
     "t.rules:1:27: expected a duration above zero, found 'slow=0.0000000001s'"},
    {"require a -> b tcp/80 \"m\" slow=1000000000s", NULL,
     "t.rules:1:27: duration too long, found 'slow=1000000000s'"},
    {"require a -> b tcp/80 \"m\" slow=1ms slow=2ms", NULL,
     "t.rules:1:36: option 'slow' given twice"},
    {"require a -> b tcp/80 \"m\" colour=red", NULL,
     "t.rules:1:27: unknown option 'colour=red'; expected purpose=publication, "
     "purpose=monitoring, slow=DURATION or app=PROTOCOLS"},
    {"require a -> b tcp/80 \"m\" \"n\"", NULL,
     "t.rules:1:27: unknown option '\"n\"'; expected purpose=publication, purpose=monitoring, "
     "slow=DURATION or app=PROTOCOLS"},
    /* app=: names from fa_app_name(), the column at the name at fault */
    {"require a -> b tcp/80 \"m\" app=gopher", NULL,
     "t.rules:1:31: unknown application protocol 'gopher'; expected tls, http, tds, tns, ssh, "
     "smtp, amqp or dns"},
    {"require a -> b tcp/1433 \"m\" app=tds|tsn", NULL,
     "t.rules:1:37: unknown application protocol 'tsn'; expected tls, http, tds, tns, ssh, smtp, "
     "amqp or dns"},
    {"require a -> b tcp/80 \"m\" app=httpxxxxxxxxx", NULL,
     "t.rules:1:31: unknown application protocol 'httpxxxxxxxxx'; expected tls, http, tds, tns, "
     "ssh, smtp, amqp or dns"},
    {"require a -> b tcp/80 \"m\" app=", NULL,
     "t.rules:1:31: expected an application protocol (tls, http, tds, tns, ssh, smtp, amqp or "
     "dns), found end of the list"},
    {"require a -> b tcp/80 \"m\" app=http|", NULL,
     "t.rules:1:36: expected an application protocol (tls, http, tds, tns, ssh, smtp, amqp or "
     "dns), found end of the list"},
    {"require a -> b tcp/80 \"m\" app=|http", NULL,
     "t.rules:1:31: expected an application protocol (tls, http, tds, tns, ssh, smtp, amqp or "
     "dns), found '|'"},
    {"require a -> b tcp/80 \"m\" app=http||tls", NULL,
     "t.rules:1:36: expected an application protocol (tls, http, tds, tns, ssh, smtp, amqp or "
     "dns), found '|'"},
    {"require a -> b tcp/80 \"m\" app=http,tls", NULL,
     "t.rules:1:31: unknown application protocol 'http,tls'; expected tls, http, tds, tns, ssh, "
     "smtp, amqp or dns"},
    {"require a -> b tcp/80 \"m\" app=http app=tls", NULL,
     "t.rules:1:36: option 'app' given twice"},
    {"allow a -> b udp/53 \"m\" app=dns", NULL, "t.rules:1:25: app= applies only to tcp rules"},
    {"allow a -> b any \"m\" app=tls", NULL, "t.rules:1:22: app= applies only to tcp rules"},
    {"deny a -> b tcp/443 \"m\" app=tls", NULL,
     "t.rules:1:25: app= applies only to allow and require rules"},
    {"allow a -> b tcp/80 \"m\" \"app=http\"", NULL,
     "t.rules:1:25: unknown option '\"app=http\"'; expected purpose=publication, "
     "purpose=monitoring, slow=DURATION or app=PROTOCOLS"},

    /* names resolved once every file is loaded */
    {"role a 192.0.2.1\nrequire a -> dtabase tcp/80 \"m\"\n", NULL,
     "t.rules:2:14: unknown role 'dtabase'"},
    {"role a 192.0.2.1\n\n  allow Fron-end <-> a tcp/80 \"m\"\n", NULL,
     "t.rules:3:9: unknown role 'fron-end'"},
    {"require web -> db tcp/80 \"m\"\n", "role web 192.0.2.1\n", "t.rules:1:16: unknown role 'db'"},
    {"role a any\nrequire a -> a tcp/80,deploy-controller \"m\"\n", NULL,
     "t.rules:2:23: unknown port name 'deploy-controller'"},
    {"role a any\nrequire a -> a udp/80|dns \"m\"\n", "set port dnss 53\n",
     "t.rules:2:23: unknown port name 'dns'"},
    {"set slow-handshake dtabase 10ms\n", NULL, "t.rules:1:20: unknown role 'dtabase'"},
    /* a port in two groups of a rule: only the first would ever count it */
    {"role a any\nrequire a -> a tcp/80,80 \"m\"\n", NULL,
     "t.rules:2:20: port 80 is in two groups of this rule"},
    {"role a any\nset port web 80|8080\nrequire a -> a tcp/443,8000-8100,web \"m\"\n", NULL,
     "t.rules:3:20: port 8080 is in two groups of this rule"},
    {"role a any\nallow a -> a udp/100-200|50,150-300,60 \"m\"\n", NULL,
     "t.rules:2:18: port 150 is in two groups of this rule"},
    {"role a any\nallow a -> a tcp/0-65535,65535 \"m\"\n", NULL,
     "t.rules:2:18: port 65535 is in two groups of this rule"},
    {"role a any\nset port web 80\nrequire a -> a tcp/web,443 \"m\"\n", "set port web 443|8443\n",
     "t.rules:3:20: port 443 is in two groups of this rule"},

    /* set */
    {"set", NULL, "t.rules:1:4: expected a setting (slow-handshake or port), found end of line"},
    {"set colour red", NULL,
     "t.rules:1:5: unknown setting 'colour'; expected slow-handshake or port"},
    {"set slow-handshake", NULL, "t.rules:1:19: expected a role name or any, found end of line"},
    {"set slow-handshake \"db\" 10ms", NULL,
     "t.rules:1:20: expected a role name or any, found '\"db\"'"},
    {"set slow-handshake db", NULL,
     "t.rules:1:22: expected a duration (a number and us, ms or s, e.g. 10ms), found end of "
     "line"},
    {"set slow-handshake db 10", NULL,
     "t.rules:1:23: expected a duration (a number and us, ms or s, e.g. 10ms), found '10'"},
    {"set slow-handshake db 0s", NULL, "t.rules:1:23: expected a duration above zero, found '0s'"},
    {"set slow-handshake db 10ms extra", NULL, "t.rules:1:28: expected end of line, found 'extra'"},
    {"set port", NULL,
     "t.rules:1:9: expected a port name (a letter, then letters, digits, '-', '_' and '.'), "
     "found end of line"},
    {"set port 80 80", NULL,
     "t.rules:1:10: expected a port name (a letter, then letters, digits, '-', '_' and '.'), "
     "found '80'"},
    {"set port web", NULL, "t.rules:1:13: expected a port or a port range, found end of line"},
    {"set port web \"80\"", NULL, "t.rules:1:14: expected a port or a port range, found '\"80\"'"},
    {"set port web 80,443", NULL,
     "t.rules:1:16: a named port is one group: ',' is not allowed here (use '|' for "
     "alternatives)"},
    {"set port web http", NULL, "t.rules:1:14: expected a port or a port range, found 'http'"},
    {"set port web 80|http", NULL, "t.rules:1:17: expected a port or a port range, found 'http'"},
    {"set port web 80 443", NULL, "t.rules:1:17: expected end of line, found '443'"},
    {"set port web 99999", NULL, "t.rules:1:14: port 99999 out of range (0-65535)"},
    {"set port web 90-80", NULL,
     "t.rules:1:14: port range 90-80 is backwards (first port above last)"},

    /* bytes and lines */
    {"role a\x01 192.0.2.1", NULL, "t.rules:1:7: control character 0x01"},
    {"role a 192.0.2.1\x7f", NULL, "t.rules:1:17: control character 0x7f"},
    {"role a 192.0.2.1\rrole b 192.0.2.2", NULL, "t.rules:1:17: control character 0x0d"},
    {"role db\r\n", NULL,
     "t.rules:1:8: empty role 'db': expected at least one member (address, prefix, range, any, "
     "none or name:PATTERN)"},
    {"role a 192.0.2.1\r\nrole\r\n", NULL,
     "t.rules:2:5: expected a role name (letters, digits, '-', '_' and '.'), found end of line"},
    {"\xef\xbb\xbfrole", NULL,
     "t.rules:1:5: expected a role name (letters, digits, '-', '_' and '.'), found end of line"},
    {"role a 192.0.2.1\n", "\n\nrequire a -> b tcp/80 \"m\"\n",
     "site.rules:3:14: unknown role 'b'"},
    {"role a 192.0.2.1\n", "role b 192.0.2.2\nrole",
     "site.rules:2:5: expected a role name (letters, digits, '-', '_' and '.'), found end of "
     "line"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fa_ruleset *rs = fa_ruleset_new();
        char err[FA_RULES_ERRBUF_SIZE] = "";
        int rc = fa_ruleset_load_text(rs, "t.rules", bad[i].text, err);
        if (rc == 0 && bad[i].site)
            rc = fa_ruleset_load_text(rs, "site.rules", bad[i].site, err);
        if (rc == 0)
            rc = fa_ruleset_finish(rs, err);
        if (rc != -1 || strcmp(err, bad[i].want) != 0)
            fail_msg("case %zu: %s\n   want: %s\n    got: %s (rc %d)", i, bad[i].text, bad[i].want,
                     err, rc);
        fa_ruleset_free(rs);
    }
}

/* Lines are limited to 4096 bytes, not counting the end of line. */
static void test_long_line(void **state)
{
    (void)state;
    char *text = malloc(4096 + 20);
    char err[FA_RULES_ERRBUF_SIZE];
    struct fa_ruleset *rs = fa_ruleset_new();

    assert_non_null(text);
    memset(text, ' ', 4096);
    memcpy(text, "# a comment", 11);
    strcpy(text + 4096, "\r\nrole a any\n");
    assert_int_equal(fa_ruleset_load_text(rs, "t.rules", text, err), 0);
    assert_int_equal(rs->nroles, 1);

    memset(text, ' ', 4097);
    memcpy(text, "role a any", 10);
    strcpy(text + 4097, "\n");
    assert_int_equal(fa_ruleset_load_text(rs, "long.rules", text, err), -1);
    assert_string_equal(err, "long.rules:1:4097: line longer than 4096 bytes");
    fa_ruleset_free(rs);
    free(text);
}

static char *write_temp(const char *data, size_t len)
{
    char *path = strdup("/tmp/test_rules_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_load_file(void **state)
{
    (void)state;
    static const char ok[] = "\xef\xbb\xbf# written on Windows\r\n"
                             "role web 192.0.2.1\r\n"
                             "allow any -> web tcp/443 \"TLS\"\r\n";
    static const char nul[] = "role a 192.0.2.1\nrole b\0 192.0.2.2\n";
    char err[FA_RULES_ERRBUF_SIZE], want[FA_RULES_ERRBUF_SIZE + 64];
    struct fa_ruleset *rs = fa_ruleset_new();
    char *path = write_temp(ok, sizeof ok - 1);

    assert_int_equal(fa_ruleset_load_file(rs, path, err), 0);
    finish_ok(rs);
    assert_int_equal(rs->nsources, 1);
    assert_string_equal(rs->sources[0], path);
    assert_string_equal(rs->roles[0].name, "web");
    assert_string_equal(rs->rules[0].file, path);
    assert_int_equal(rs->rules[0].line, 3);
    assert_string_equal(rs->rules[0].text, "allow any -> web tcp/443 \"TLS\"");
    unlink(path);
    free(path);

    path = write_temp(nul, sizeof nul - 1);
    assert_int_equal(fa_ruleset_load_file(rs, path, err), -1);
    snprintf(want, sizeof want, "%s:2:7: NUL byte", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);

    assert_int_equal(fa_ruleset_load_file(rs, "/nonexistent/site.rules", err), -1);
    assert_string_equal(err, "/nonexistent/site.rules: cannot read: No such file or directory");
    assert_int_equal(fa_ruleset_load_file(rs, "/", err), -1);
    assert_string_equal(err, "/: cannot read: Is a directory");
    fa_ruleset_free(rs);
}

/* An empty file, or comments only, is a valid (empty) ruleset. */
static void test_empty(void **state)
{
    (void)state;
    struct fa_ruleset *rs = parse("");
    assert_int_equal(rs->nroles + rs->nrules + rs->nslow + rs->nports, 0);
    fa_ruleset_free(rs);
    rs = parse("\n   \n\t# only a comment \"with a quote\n#\n");
    assert_int_equal(rs->nroles + rs->nrules + rs->nslow + rs->nports, 0);
    fa_ruleset_free(rs);
    fa_ruleset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_members),    cmocka_unit_test(test_role_override),
        cmocka_unit_test(test_role_none),       cmocka_unit_test(test_rule_forms),
        cmocka_unit_test(test_rule_unresolved), cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_durations),       cmocka_unit_test(test_files_combine),
        cmocka_unit_test(test_role_has_addr),   cmocka_unit_test(test_name_matches),
        cmocka_unit_test(test_role_has_name),   cmocka_unit_test(test_app_option),
        cmocka_unit_test(test_families),        cmocka_unit_test(test_port_group_has),
        cmocka_unit_test(test_port_limits),     cmocka_unit_test(test_escaped_messages),
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_load_file),       cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
