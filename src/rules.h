/*
 * rules.h - the rules language: roles (which hosts play which part) and
 * rules (which traffic between roles is required, allowed or denied).
 *
 * A ruleset is built from one or more files, in order: the matrix first,
 * then the site file, which may redefine roles, ports and settings.  Names
 * (roles, named ports) are resolved by fa_ruleset_finish(), so a rule may
 * use a role or port that a later file defines.  rules/README.md is the
 * language reference.
 */
#ifndef FA_RULES_H
#define FA_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define FA_RULES_ERRBUF_SIZE 512

/* One member of a role. */
enum fa_member_kind {
    FA_MEMBER_ANY,   /* every address */
    FA_MEMBER_RANGE, /* lo..hi inclusive: a single address, a CIDR prefix or a range */
    FA_MEMBER_NAME   /* name:PATTERN; matched against names learned from the wire */
};

struct fa_member {
    enum fa_member_kind kind;
    struct fa_addr lo, hi; /* FA_MEMBER_RANGE; IPv4 members are IPv4-mapped */
    uint8_t v4;            /* FA_MEMBER_RANGE: 1 for an IPv4 member (written as IPv4, or as
                              IPv6 with both ends IPv4-mapped), which holds IPv4 addresses
                              only; 0 for IPv6, which holds no IPv4-mapped address, since
                              IPv4 traffic is stored in that form and ::/0 would cover it */
    char *pattern;         /* FA_MEMBER_NAME, lower case: "architecture.outsystems.com",
                              "*.outsystems.com" */
};

/* Strings that name a file (file below) point into fa_ruleset.sources. */
struct fa_role {
    char *name;                /* lower case */
    struct fa_member *members; /* NULL when nmembers is 0: "role NAME none" */
    size_t nmembers;
    const char *file; /* where the definition in effect starts: the first */
    int line;         /* role line for it in the last file that has one */
};

/* Ports: a rule's port list is groups separated by ','; a group is
 * alternatives separated by '|': "80,443" is two groups, each required on
 * its own; "1433|1521" is one group that either port satisfies.  No port
 * is in two groups of a rule: a flow counts for the first group holding
 * its port, so a later one could never be observed.  Port names expand
 * into alternatives, so a few lines could name millions of them; the
 * limits below keep a hostile file from exhausting memory. */
#define FA_RULES_MAX_GROUPS 1024      /* port groups in one rule */
#define FA_RULES_MAX_PORT_ALTS 100000 /* alternatives in the whole ruleset, names expanded */

struct fa_port_range {
    uint16_t lo, hi;
};

struct fa_port_group {
    struct fa_port_range *alts;
    size_t nalts;
    char *text; /* as written, after resolving names: "1433|1521" */
};

enum fa_rule_kind { FA_RULE_REQUIRE, FA_RULE_ALLOW, FA_RULE_DENY };

/* Why the platform needs the traffic: publication fails without it, or
 * only monitoring (warnings in Service Center) does. */
enum fa_purpose { FA_PURPOSE_PUBLICATION, FA_PURPOSE_MONITORING };

struct fa_rule {
    enum fa_rule_kind kind;
    int src, dst;              /* role indexes, after fa_ruleset_finish(); -1 before */
    char *src_name, *dst_name; /* as written, lower case */
    int src_col, dst_col;      /* where they are written, for messages */
    int both_directions;       /* <-> */
    uint8_t proto;             /* FA_PROTO_TCP, FA_PROTO_UDP, FA_PROTO_ICMP (which stands
                                  for ICMPv6 too); 0 = any IP protocol */
    char *ports;               /* the port list after "tcp/" or "udp/", lower case; NULL: none */
    int ports_col;
    struct fa_port_group *groups; /* built by fa_ruleset_finish(); none: any port */
    size_t ngroups;
    char *message;
    enum fa_purpose purpose;
    int64_t slow_ns; /* slow=DURATION on the rule; 0 = the setting for the role */
    uint32_t apps;   /* app=NAME|...: bit (1u << enum fa_app) for each application protocol
                        the rule's ports should carry; 0 = no app= option (any) */
    const char *file;
    int line;
    char *text; /* the statement as written, comment removed, blanks trimmed */
};

/* set slow-handshake ROLE DURATION; a later one for the same role
 * replaces it. */
struct fa_slow_setting {
    int role;        /* -1 for any; resolved by fa_ruleset_finish() */
    char *role_name; /* as written, lower case: "database", "any" */
    int64_t ns;
    const char *file;
    int line, col; /* col: of the role name */
};

/* set port NAME PORTS; a later one for the same name replaces it. */
struct fa_named_ports {
    char *name; /* lower case */
    char *spec; /* as written, lower case: "12000", "12002|12102" */
    const char *file;
    int line;
};

struct fa_ruleset {
    struct fa_role *roles;
    size_t nroles;
    struct fa_rule *rules;
    size_t nrules;
    struct fa_slow_setting *slow;
    size_t nslow;
    struct fa_named_ports *ports;
    size_t nports;
    char **sources; /* "FILE" for each file loaded, in order; owns the names */
    size_t nsources;
};

struct fa_ruleset *fa_ruleset_new(void);
void fa_ruleset_free(struct fa_ruleset *rs);

/* Parses a file (or text already in memory, named name in messages) into
 * rs.  Returns 0, or -1 with "NAME:LINE:COLUMN: what was expected" in
 * errbuf (FA_RULES_ERRBUF_SIZE).  Parsing stops at the first mistake; rs
 * then holds the statements before it and must still be freed.  The file
 * name and text quoted from the file are escaped in messages: a byte that
 * is not printable ASCII is \xNN and a backslash is doubled, so a message
 * is one line of plain ASCII whatever the file holds. */
int fa_ruleset_load_file(struct fa_ruleset *rs, const char *path, char *errbuf);
int fa_ruleset_load_text(struct fa_ruleset *rs, const char *name, const char *text, char *errbuf);
/* text of len bytes, which may hold a NUL byte: it is refused where it
 * is, as any other mistake. */
int fa_ruleset_load_buffer(struct fa_ruleset *rs, const char *name, const char *text, size_t len,
                           char *errbuf);

/* A rule file's text, read whole (at most 16 MiB) and NUL-terminated, as
 * fa_ruleset_load_file() reads it; *len excludes the terminator.  NULL
 * with "NAME: why" in errbuf when it cannot be read, or holds nothing but
 * blanks (a wrong path, a failed copy).  The caller frees it. */
char *fa_rules_read_file(const char *path, size_t *len, char *errbuf);

/* Resolves role and port names once every file is loaded: sets each
 * rule's src, dst and groups and each setting's role, adding the built-in
 * role "any" (one FA_MEMBER_ANY member) when something uses it.  May be
 * called again after loading more.  Returns 0, or -1 with
 * "FILE:LINE:COLUMN: unknown role 'x'" (or "unknown port name 'x'", a port
 * in two groups of a rule, too many port alternatives) in errbuf. */
int fa_ruleset_finish(struct fa_ruleset *rs, char *errbuf);

/* Index of the role called name (in any case), or -1. */
int fa_ruleset_role(const struct fa_ruleset *rs, const char *name);

/* 1 when addr is in the member: any holds every address; an address,
 * prefix or range holds the addresses of its own family in it (see
 * fa_member.v4); name: holds none. */
int fa_member_has_addr(const struct fa_member *m, const struct fa_addr *addr);

/* 1 when addr is a member of role by address (any, single, prefix,
 * range); name: members match nothing here. */
int fa_role_has_addr(const struct fa_role *role, const struct fa_addr *addr);

/* 1 when the role names addr by address: an address, prefix or range
 * member holds it (any and name: members name nobody). */
int fa_role_names_addr(const struct fa_role *role, const struct fa_addr *addr);

/* 1 when name matches a name: pattern (stored lower case): the same name
 * in any case, or for "*.x.com" a name ending in ".x.com" after at least
 * one more label ("a.x.com", "a.b.x.com"; not "x.com").  One trailing dot
 * on name (the root) is ignored.  NULL or "" matches nothing. */
int fa_name_matches(const char *pattern, const char *name);

/* 1 when a name: member of role matches name.  Names are learned from the
 * wire for the responder of a flow only (the server name its client asked
 * for, the name a DNS answer gave its address), so this is how a role
 * holds a flow's responder by name; an originator has no names. */
int fa_role_has_name(const struct fa_role *role, const char *name);

/* 1 when port is in the group. */
int fa_port_group_has(const struct fa_port_group *g, uint16_t port);

#endif
