/*
 * rules.c - parse the rules language (rules/README.md) into a ruleset.
 *
 * Text is read one line at a time; a line is split into tokens (words and
 * quoted strings), and one statement is built from them.  Parsing stops at
 * the first mistake, reported as "FILE:LINE:COLUMN: message" with columns
 * counted in bytes from 1 and pointing at the offending token.
 *
 * Invariants:
 *   - everything hangs off the ruleset and is freed by fa_ruleset_free();
 *     a statement is checked whole before anything is allocated for it, so
 *     an error leaves nothing half-built behind;
 *   - file names are owned by rs->sources; roles, rules and settings point
 *     into it, which is also how "defined in this file" is told apart from
 *     "defined in an earlier file";
 *   - names (roles, named ports, patterns) are stored lower case;
 *   - a role keeps its index once created: a later file replaces its
 *     members in place, and rules refer to roles by name until
 *     fa_ruleset_finish(), so files may refer forward to each other;
 *   - nothing is global; errors go to the caller's errbuf;
 *   - messages are plain ASCII on one line: file names and text quoted
 *     from a file go through escape(), so no byte of the file reaches a
 *     terminal as is;
 *   - a ruleset stays small whatever its files say: a rule has at most
 *     FA_RULES_MAX_GROUPS port groups and the ruleset at most
 *     FA_RULES_MAX_PORT_ALTS alternatives once port names are expanded.
 */
#include "rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appproto.h"

#define MAX_LINE 4096                        /* bytes, without the end of line */
#define MAX_FILE (16 * 1024 * 1024)          /* a rules file is text a person edits */
#define MAX_QUOTE 60                         /* bytes of an offending token shown in a message */
#define QUOTE_SIZE (MAX_QUOTE * 4 + 8)       /* quote()'s result: each byte may take 4, \xNN */
#define NAME_SIZE (FA_RULES_ERRBUF_SIZE / 2) /* a file name leaves room for the message */

#define EXPECT_MEMBER "a member (address, prefix, range, any, none or name:PATTERN)"
#define EXPECT_PROTO "a protocol (tcp, udp, tcp/PORTS, udp/PORTS, icmp or any)"
#define EXPECT_DURATION "a duration (a number and us, ms or s, e.g. 10ms)"
#define EXPECT_OPTION "purpose=publication, purpose=monitoring, slow=DURATION or app=PROTOCOLS"
/* Longer than any name fa_app_name() gives (the longest have 4 letters),
 * and room for the list of them all. */
#define APP_NAME_MAX 15
#define APP_LIST_SIZE 128
_Static_assert(FA_APP_COUNT <= 32, "struct fa_rule's apps holds a bit per app");

/* Where a message points; the parser and fa_ruleset_finish() both report. */
struct where {
    char *errbuf;
    const char *file;
    int line;
    size_t *alts; /* port alternatives built so far in the ruleset; NULL: not building */
};

/* s[0..n) fit for a message, into buf (size bytes, cut at a whole
 * escape): a byte that is not printable ASCII becomes \xNN and a
 * backslash is doubled, as the text report writes them.  Bytes from a
 * file could otherwise move a terminal's cursor, reorder the line (bidi
 * controls), split it (a newline in a file name), or pose as an escape.
 * Returns how many bytes of s it took. */
static size_t escape(char *buf, size_t size, const char *s, size_t n)
{
    size_t o = 0, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[5];
        size_t len;
        if (c == '\\')
            len = (size_t)snprintf(e, sizeof e, "\\\\");
        else if (c < 0x20 || c >= 0x7f)
            len = (size_t)snprintf(e, sizeof e, "\\x%02x", c);
        else
            e[0] = (char)c, e[1] = '\0', len = 1;
        if (o + len >= size)
            break;
        memcpy(buf + o, e, len);
        o += len;
    }
    buf[o] = '\0';
    return i;
}

/* A file name for a message, escaped, into buf (NAME_SIZE bytes); a
 * longer one is cut and ends with "...". */
static const char *file_name(char *buf, const char *path)
{
    size_t n = strlen(path);
    if (escape(buf, NAME_SIZE - 3, path, n) < n)
        strcat(buf, "...");
    return buf;
}

static int vfail(const struct where *w, int col, const char *fmt, va_list ap)
{
    char file[NAME_SIZE];
    int n = snprintf(w->errbuf, FA_RULES_ERRBUF_SIZE, "%s:%d:%d: ", file_name(file, w->file),
                     w->line, col);
    if (n >= 0 && n < FA_RULES_ERRBUF_SIZE)
        vsnprintf(w->errbuf + n, FA_RULES_ERRBUF_SIZE - (size_t)n, fmt, ap);
    return -1;
}

static int fail_at(const struct where *w, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const struct where *w, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(w, col, fmt, ap);
    va_end(ap);
    return -1;
}

static int out_of_memory(char *errbuf)
{
    snprintf(errbuf, FA_RULES_ERRBUF_SIZE, "out of memory");
    return -1;
}

/* "'text'" for a message, escaped, and shortened so that the message
 * stays readable; buf holds QUOTE_SIZE bytes. */
static const char *quote(char *buf, size_t size, const char *s, size_t n)
{
    char text[MAX_QUOTE * 4 + 1];
    escape(text, sizeof text, s, n > MAX_QUOTE ? MAX_QUOTE : n);
    snprintf(buf, size, "'%s%s'", text, n > MAX_QUOTE ? "..." : "");
    return buf;
}

/* ---- characters and names ---------------------------------------------- */

/* The language is ASCII and case-insensitive outside strings; the C
 * library's ctype would depend on the locale. */
static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    c = lower(c);
    return is_digit(c) || (c >= 'a' && c <= 'z');
}

static int is_blank(int c)
{
    return c == ' ' || c == '\t';
}

/* Role names: [a-z0-9][a-z0-9-_.]* */
static int is_name(const char *s)
{
    if (!is_alnum(s[0]))
        return 0;
    for (s++; *s; s++)
        if (!is_alnum(*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* Port names start with a letter, so that they never read as a port or a
 * range. */
static int is_port_name(const char *s)
{
    return !is_digit(s[0]) && is_name(s);
}

static char *dup_lower(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)lower((unsigned char)s[i]);
    d[n] = '\0';
    return d;
}

/* A DNS name, or "*." and a DNS name: labels of letters, digits, '-' and
 * '_' (service names use it), at most 63 bytes each, 253 in all. */
static int is_dns_pattern(const char *s)
{
    size_t label = 0;
    if (s[0] == '*' && s[1] == '.')
        s += 2;
    if (*s == '\0' || strlen(s) > 253)
        return 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (is_alnum(*s) || *s == '-' || *s == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* ---- freeing ------------------------------------------------------------ */

static void free_members(struct fa_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].pattern);
    free(m);
}

static void free_groups(struct fa_port_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].alts);
        free(g[i].text);
    }
    free(g);
}

static void free_rule(struct fa_rule *r)
{
    free(r->src_name);
    free(r->dst_name);
    free(r->ports);
    free_groups(r->groups, r->ngroups);
    free(r->message);
    free(r->text);
}

struct fa_ruleset *fa_ruleset_new(void)
{
    return calloc(1, sizeof(struct fa_ruleset));
}

void fa_ruleset_free(struct fa_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nroles; i++) {
        free(rs->roles[i].name);
        free_members(rs->roles[i].members, rs->roles[i].nmembers);
    }
    free(rs->roles);
    for (size_t i = 0; i < rs->nrules; i++)
        free_rule(&rs->rules[i]);
    free(rs->rules);
    for (size_t i = 0; i < rs->nslow; i++)
        free(rs->slow[i].role_name);
    free(rs->slow);
    for (size_t i = 0; i < rs->nports; i++) {
        free(rs->ports[i].name);
        free(rs->ports[i].spec);
    }
    free(rs->ports);
    for (size_t i = 0; i < rs->nsources; i++)
        free(rs->sources[i]);
    free(rs->sources);
    free(rs);
}

/* Makes room for one more element at the end of *arr. */
static int grow(void *arr, size_t n, size_t size)
{
    void **p = arr;
    void *q = realloc(*p, (n + 1) * size);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

/* ---- lookups ------------------------------------------------------------ */

int fa_ruleset_role(const struct fa_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->nroles; i++)
        if (strcasecmp(rs->roles[i].name, name) == 0)
            return (int)i;
    return -1;
}

static struct fa_named_ports *find_port(const struct fa_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->nports; i++)
        if (strcmp(rs->ports[i].name, name) == 0)
            return &rs->ports[i];
    return NULL;
}

static struct fa_slow_setting *find_slow(const struct fa_ruleset *rs, const char *role)
{
    for (size_t i = 0; i < rs->nslow; i++)
        if (strcmp(rs->slow[i].role_name, role) == 0)
            return &rs->slow[i];
    return NULL;
}

int fa_member_has_addr(const struct fa_member *m, const struct fa_addr *addr)
{
    if (m->kind == FA_MEMBER_ANY)
        return 1;
    /* 16 bytes compared in order are the address as one big-endian
     * number; IPv4-mapped addresses form one block of it, which an IPv6
     * prefix such as ::/0 spans without meaning to. */
    return m->kind == FA_MEMBER_RANGE && !m->v4 == !fa_addr_is_v4(addr) &&
           memcmp(m->lo.b, addr->b, 16) <= 0 && memcmp(addr->b, m->hi.b, 16) <= 0;
}

int fa_role_has_addr(const struct fa_role *role, const struct fa_addr *addr)
{
    for (size_t i = 0; i < role->nmembers; i++)
        if (fa_member_has_addr(&role->members[i], addr))
            return 1;
    return 0;
}

int fa_role_names_addr(const struct fa_role *role, const struct fa_addr *addr)
{
    for (size_t i = 0; i < role->nmembers; i++)
        if (role->members[i].kind == FA_MEMBER_RANGE && fa_member_has_addr(&role->members[i], addr))
            return 1;
    return 0;
}

int fa_name_matches(const char *pattern, const char *name)
{
    if (!pattern || !name)
        return 0;
    size_t n = strlen(name), plen;
    if (n > 0 && name[n - 1] == '.') /* "host.example.com." names the same host */
        n--;
    if (n == 0)
        return 0;
    if (pattern[0] == '*' && pattern[1] == '.') {
        pattern++; /* ".x.com": the name must end with it, after a label of its own */
        plen = strlen(pattern);
        if (n <= plen || name[n - plen - 1] == '.')
            return 0;
        name += n - plen;
    } else if ((plen = strlen(pattern)) != n) {
        return 0;
    }
    for (size_t i = 0; i < plen; i++)
        if (lower((unsigned char)name[i]) != (unsigned char)pattern[i])
            return 0;
    return 1;
}

int fa_role_has_name(const struct fa_role *role, const char *name)
{
    if (!name || !name[0])
        return 0;
    for (size_t i = 0; i < role->nmembers; i++)
        if (role->members[i].kind == FA_MEMBER_NAME &&
            fa_name_matches(role->members[i].pattern, name))
            return 1;
    return 0;
}

int fa_port_group_has(const struct fa_port_group *g, uint16_t port)
{
    for (size_t i = 0; i < g->nalts; i++)
        if (g->alts[i].lo <= port && port <= g->alts[i].hi)
            return 1;
    return 0;
}

/* ---- ports ---------------------------------------------------------------
 *
 * A port list is groups separated by ',', each alternatives separated by
 * '|', each a port, a range N-M or a port name.  The same code checks a list
 * when it is read (out is NULL: names are not looked up, since they may be
 * defined by a later file) and builds the groups in fa_ruleset_finish().
 */

#define PORTS_GROUPS 1 /* ',' allowed: a rule's list, not a named port's */
#define PORTS_NAMES 2  /* port names allowed */

/* The decimal number in s[0..n), which is digits only; values above 65535
 * (every port and prefix length is below) come out as 65536. */
static long decimal(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++)
        if ((v = v * 10 + (s[i] - '0')) > 65535)
            v = 65536;
    return v;
}

static size_t digits(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_digit(s[i]))
        i++;
    return i;
}

static int add_alt(const struct where *w, struct fa_port_group *g, long lo, long hi)
{
    if (!g)
        return 0;
    if (grow(&g->alts, g->nalts, sizeof *g->alts) < 0)
        return out_of_memory(w->errbuf);
    g->alts[g->nalts].lo = (uint16_t)lo;
    g->alts[g->nalts].hi = (uint16_t)hi;
    g->nalts++;
    if (w->alts)
        (*w->alts)++;
    return 0;
}

/* Fails at col once the ruleset holds more alternatives than it may: a
 * port name used many times would otherwise multiply its alternatives
 * without bound. */
static int check_alts(const struct where *w, int col)
{
    if (w->alts && *w->alts > FA_RULES_MAX_PORT_ALTS)
        return fail_at(w, col, "too many ports: the ruleset may hold at most %d port alternatives",
                       FA_RULES_MAX_PORT_ALTS);
    return 0;
}

static int parse_group(const struct where *w, const char *s, size_t n, char end, int col,
                       unsigned flags, const struct fa_ruleset *rs, struct fa_port_group *g);

/* Resolves a port name into g's alternatives. */
static int add_named(const struct where *w, const char *name, int col, const struct fa_ruleset *rs,
                     struct fa_port_group *g)
{
    const struct fa_named_ports *np = find_port(rs, name);
    if (!np)
        return fail_at(w, col, "unknown port name '%s'", name);
    return parse_group(w, np->spec, strlen(np->spec), '\0', col, 0, rs, g);
}

/* One alternative: s[0..n), then the byte next (a separator or '\0'). */
static int parse_alt(const struct where *w, const char *s, size_t n, char next, int col,
                     unsigned flags, const struct fa_ruleset *rs, struct fa_port_group *g)
{
    const char *what =
        flags & PORTS_NAMES ? "a port, a port range or a port name" : "a port or a port range";
    char q[QUOTE_SIZE], name[MAX_LINE + 1];
    size_t d = digits(s, n);

    if (n == 0) {
        if (next == '\0')
            return fail_at(w, col, "expected %s, found end of the port list", what);
        return fail_at(w, col, "expected %s, found '%c'", what, next);
    }
    if (d == n ||
        (d > 0 && s[d] == '-' && d + 1 < n && digits(s + d + 1, n - d - 1) == n - d - 1)) {
        long lo = decimal(s, d), hi = d == n ? lo : decimal(s + d + 1, n - d - 1);
        if (lo > 65535)
            return fail_at(w, col, "port %.*s out of range (0-65535)", (int)d, s);
        if (hi > 65535)
            return fail_at(w, col + (int)d + 1, "port %.*s out of range (0-65535)",
                           (int)(n - d - 1), s + d + 1);
        if (lo > hi)
            return fail_at(w, col, "port range %.*s is backwards (first port above last)", (int)n,
                           s);
        return add_alt(w, g, lo, hi);
    }
    memcpy(name, s, n);
    name[n] = '\0';
    if (!(flags & PORTS_NAMES) || !is_port_name(name))
        return fail_at(w, col, "expected %s, found %s", what, quote(q, sizeof q, s, n));
    return g ? add_named(w, name, col, rs, g) : 0;
}

/* "80|8080-8090", as groups print. */
static char *group_text(const struct fa_port_group *g)
{
    char *t = malloc(g->nalts * 12 + 1), *p = t;
    if (!t)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < g->nalts; i++) {
        const struct fa_port_range *a = &g->alts[i];
        p += sprintf(p, i ? "|%u" : "%u", (unsigned)a->lo);
        if (a->hi != a->lo)
            p += sprintf(p, "-%u", (unsigned)a->hi);
    }
    return t;
}

/* One group: alternatives separated by '|' in s[0..n), which ends with the
 * byte end. */
static int parse_group(const struct where *w, const char *s, size_t n, char end, int col,
                       unsigned flags, const struct fa_ruleset *rs, struct fa_port_group *g)
{
    size_t i = 0;
    for (;;) {
        size_t k = i;
        while (k < n && s[k] != '|')
            k++;
        if (parse_alt(w, s + i, k - i, k < n ? '|' : end, col + (int)i, flags, rs, g) < 0)
            return -1;
        /* A name's alternatives are counted where the name is used. */
        if ((flags & PORTS_NAMES) && check_alts(w, col + (int)i) < 0)
            return -1;
        if (k == n)
            return 0;
        i = k + 1;
    }
}

/* Checks spec (written at column col), and when out is not NULL builds its
 * groups, looking names up in rs. */
static int parse_ports(const struct where *w, const char *spec, int col, unsigned flags,
                       const struct fa_ruleset *rs, struct fa_port_group **out, size_t *nout)
{
    struct fa_port_group *groups = NULL, g;
    size_t ngroups = 0, seen = 0, i = 0;
    for (;;) {
        size_t k = i;
        while (spec[k] && spec[k] != ',')
            k++;
        memset(&g, 0, sizeof g);
        if (seen++ == FA_RULES_MAX_GROUPS) {
            fail_at(w, col + (int)i, "too many port groups: a rule may have at most %d",
                    FA_RULES_MAX_GROUPS);
            goto fail;
        }
        if (parse_group(w, spec + i, k - i, spec[k], col + (int)i, flags, rs, out ? &g : NULL) < 0)
            goto fail;
        if (spec[k] == ',' && !(flags & PORTS_GROUPS)) {
            fail_at(w, col + (int)k,
                    "a named port is one group: ',' is not allowed here "
                    "(use '|' for alternatives)");
            goto fail;
        }
        if (out) {
            if (!(g.text = group_text(&g)) || grow(&groups, ngroups, sizeof *groups) < 0) {
                out_of_memory(w->errbuf);
                goto fail;
            }
            groups[ngroups++] = g;
        }
        if (!spec[k])
            break;
        i = k + 1;
    }
    if (out) {
        *out = groups;
        *nout = ngroups;
    }
    return 0;
fail:
    free(g.alts);
    free(g.text);
    free_groups(groups, ngroups);
    return -1;
}

/* ---- durations ---------------------------------------------------------- */

enum { DURATION_OK, DURATION_BAD, DURATION_ZERO, DURATION_TOO_LONG };

/* "10ms", "1.5s", "250us" into nanoseconds; digits past the ninth after
 * the point are below a nanosecond and ignored. */
static int parse_duration(const char *s, int64_t *ns)
{
    int64_t whole = 0, frac = 0, scale = 1, unit;
    size_t n = digits(s, strlen(s));
    if (n == 0)
        return DURATION_BAD;
    if (n > 9) /* 999999999s still fits in int64_t nanoseconds */
        return DURATION_TOO_LONG;
    for (size_t i = 0; i < n; i++)
        whole = whole * 10 + (s[i] - '0');
    s += n;
    if (*s == '.') {
        size_t f = digits(s + 1, strlen(s + 1));
        s++;
        if (f == 0)
            return DURATION_BAD;
        for (size_t i = 0; i < f && i < 9; i++) {
            frac = frac * 10 + (s[i] - '0');
            scale *= 10;
        }
        s += f;
    }
    if (strcasecmp(s, "us") == 0)
        unit = 1000;
    else if (strcasecmp(s, "ms") == 0)
        unit = 1000000;
    else if (strcasecmp(s, "s") == 0)
        unit = 1000000000;
    else
        return DURATION_BAD;
    *ns = whole * unit + frac * unit / scale;
    return *ns > 0 ? DURATION_OK : DURATION_ZERO;
}

/* ---- addresses ---------------------------------------------------------- */

/* Parses s[0..n) as one address; returns AF_INET or AF_INET6, 0 if it is
 * neither.  inet_pton() is strict: no octal, no short IPv4 forms. */
static int parse_addr(const char *s, size_t n, struct fa_addr *a)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    switch (fa_addr_parse(tmp, a)) {
    case 4:
        return AF_INET;
    case 6:
        return AF_INET6;
    default:
        return 0;
    }
}

static const char *addr_text(int family, const struct fa_addr *a, char *buf)
{
    return inet_ntop(family, family == AF_INET ? a->b + 12 : a->b, buf, INET6_ADDRSTRLEN);
}

/* The first and last address of a prefix of bits bits (of 128). */
static void prefix_bounds(const struct fa_addr *a, int bits, struct fa_addr *lo, struct fa_addr *hi)
{
    for (int i = 0; i < 16; i++) {
        int keep = bits - 8 * i;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        lo->b[i] = a->b[i] & mask;
        hi->b[i] = a->b[i] | (uint8_t)~mask;
    }
}

/* ---- the parser --------------------------------------------------------- */

struct token {
    const char *s;   /* NUL-terminated; a string's content with escapes undone */
    const char *raw; /* as written, for messages */
    size_t rawlen;
    int col;
    int quoted;
};

struct parser {
    struct fa_ruleset *rs;
    struct where w;
    char raw[MAX_LINE + 1]; /* the line as written */
    char buf[MAX_LINE + 2]; /* token texts, each NUL-terminated */
    struct token tok[MAX_LINE / 2 + 1];
    size_t ntok;
    int end_col;        /* just after the last token: where "end of line" is */
    char q[QUOTE_SIZE]; /* found()'s result */
};

static int fail(struct parser *p, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(&p->w, col, fmt, ap);
    va_end(ap);
    return -1;
}

/* Token i, or NULL past the end of the line. */
static const struct token *token(const struct parser *p, size_t i)
{
    return i < p->ntok ? &p->tok[i] : NULL;
}

static int col_of(const struct parser *p, const struct token *t)
{
    return t ? t->col : p->end_col;
}

/* What was found instead of what was expected, for messages. */
static const char *found(struct parser *p, const struct token *t)
{
    if (!t)
        return "end of line";
    return quote(p->q, sizeof p->q, t->raw, t->rawlen);
}

/* A word token that is a role name (or "any"). */
static int is_role_token(const struct token *t)
{
    return t && !t->quoted && is_name(t->s);
}

/* A quoted string from raw[i], which is '"'; its content goes to *out with
 * escapes undone.  Returns the offset just past the closing quote, or -1. */
static long read_string(struct parser *p, size_t len, size_t i, char **out)
{
    size_t j = i + 1;
    char *o = *out;
    while (j < len && p->raw[j] != '"') {
        if (p->raw[j] == '\\' && j + 1 < len) {
            unsigned char c = (unsigned char)p->raw[j + 1];
            if (c != '"' && c != '\\') {
                /* Shown as is only when printable: no byte of the file
                 * reaches the terminal raw. */
                if (c < 0x20 || c >= 0x7f)
                    return fail(p, (int)j + 1,
                                "unknown escape in string: byte 0x%02x after '\\'; only \\\" and "
                                "\\\\ are allowed",
                                c);
                return fail(p, (int)j + 1,
                            "unknown escape '\\%c' in string; only \\\" and \\\\ are allowed", c);
            }
            j++;
        }
        *o++ = p->raw[j++];
    }
    if (j >= len)
        return fail(p, (int)i + 1, "unterminated string");
    *o++ = '\0';
    *out = o;
    return (long)j + 1;
}

/* Splits raw[0..len) into tokens, up to a '#' outside strings. */
static int tokenize(struct parser *p, size_t len)
{
    char *o = p->buf;
    size_t i = 0;
    p->ntok = 0;
    p->end_col = 1;
    for (;;) {
        while (i < len && is_blank(p->raw[i]))
            i++;
        if (i >= len || p->raw[i] == '#')
            return 0;
        struct token *t = &p->tok[p->ntok++];
        t->col = (int)i + 1;
        t->raw = p->raw + i;
        t->s = o;
        t->quoted = p->raw[i] == '"';
        size_t j = i;
        if (t->quoted) {
            long end = read_string(p, len, i, &o);
            if (end < 0)
                return -1;
            j = (size_t)end;
            if (j < len && !is_blank(p->raw[j]) && p->raw[j] != '#') {
                size_t k = j;
                while (k < len && !is_blank(p->raw[k]))
                    k++;
                return fail(p, (int)j + 1, "expected a blank after the closing quote, found %s",
                            quote(p->q, sizeof p->q, p->raw + j, k - j));
            }
        } else {
            while (j < len && !is_blank(p->raw[j]) && p->raw[j] != '#') {
                if (p->raw[j] == '"')
                    return fail(p, (int)j + 1,
                                "expected a blank before the opening quote, found %s",
                                quote(p->q, sizeof p->q, t->raw, j + 1 - i));
                *o++ = p->raw[j++];
            }
            *o++ = '\0';
        }
        t->rawlen = j - i;
        p->end_col = (int)j + 1;
        i = j;
    }
}

/* ---- role NAME MEMBER... ------------------------------------------------ */

static int parse_prefix(struct parser *p, const struct token *t, const char *slash,
                        struct fa_member *m)
{
    const char *s = t->s, *len = slash + 1;
    struct fa_addr a;
    char text[INET6_ADDRSTRLEN];
    int family = parse_addr(s, (size_t)(slash - s), &a);
    int max = family == AF_INET ? 32 : 128;
    size_t n = strlen(len);
    if (!family)
        return fail(p, t->col, "expected " EXPECT_MEMBER ", found %s", found(p, t));
    if (n == 0 || digits(len, n) != n)
        return fail(p, t->col, "expected a prefix length after '/', found %s", found(p, t));
    long bits = decimal(len, n);
    if (bits > max)
        return fail(p, t->col, "%s: prefix length above %d", t->s, max);
    prefix_bounds(&a, (int)bits + (family == AF_INET ? 96 : 0), &m->lo, &m->hi);
    if (memcmp(&m->lo, &a, sizeof a) != 0)
        return fail(p, t->col, "%s: host bits set; did you mean %s/%ld?", t->s,
                    addr_text(family, &m->lo, text), bits);
    return 0;
}

static int parse_range(struct parser *p, const struct token *t, const char *dash,
                       struct fa_member *m)
{
    const char *s = t->s;
    int f1 = parse_addr(s, (size_t)(dash - s), &m->lo);
    int f2 = parse_addr(dash + 1, strlen(dash + 1), &m->hi);
    if (!f1 || !f2)
        return fail(p, t->col, "expected " EXPECT_MEMBER ", found %s", found(p, t));
    if (f1 != f2)
        return fail(p, t->col, "%s: range mixes IPv4 and IPv6", s);
    if (memcmp(&m->lo, &m->hi, sizeof m->lo) > 0)
        return fail(p, t->col, "%s: range is backwards (first address above last)", s);
    return 0;
}

/* Checks one member; m->pattern is left to make_pattern(), so that a
 * failed line allocates nothing. */
static int parse_member(struct parser *p, const struct token *t, struct fa_member *m)
{
    const char *s = t->s, *slash = strchr(s, '/'), *dash = strchr(s, '-');
    memset(m, 0, sizeof *m);
    if (t->quoted)
        return fail(p, t->col, "expected " EXPECT_MEMBER ", found %s", found(p, t));
    if (strcasecmp(s, "any") == 0) {
        m->kind = FA_MEMBER_ANY;
        return 0;
    }
    if (strncasecmp(s, "name:", 5) == 0) {
        m->kind = FA_MEMBER_NAME;
        if (!is_dns_pattern(s + 5))
            return fail(p, t->col, "expected a DNS name or *.DNS-NAME after 'name:', found %s",
                        found(p, t));
        return 0;
    }
    m->kind = FA_MEMBER_RANGE;
    if (slash) {
        if (parse_prefix(p, t, slash, m) < 0)
            return -1;
    } else if (dash) {
        if (parse_range(p, t, dash, m) < 0)
            return -1;
    } else {
        if (!parse_addr(s, strlen(s), &m->lo))
            return fail(p, t->col, "expected " EXPECT_MEMBER ", found %s", found(p, t));
        m->hi = m->lo;
    }
    /* Written as IPv4, or as IPv6 wholly in ::ffff:0:0/96: an IPv4 member. */
    m->v4 = fa_addr_is_v4(&m->lo) && fa_addr_is_v4(&m->hi);
    return 0;
}

/* Adds members to role i, or replaces them when the role was defined by an
 * earlier file: the site file overrides the matrix. */
static int merge_members(struct parser *p, size_t i, struct fa_member *m, size_t n, int line)
{
    struct fa_role *r = &p->rs->roles[i];
    if (r->file != p->w.file) {
        free_members(r->members, r->nmembers);
        r->members = m;
        r->nmembers = n;
        r->file = p->w.file;
        r->line = line;
        return 0;
    }
    if (n == 0) /* none adds nothing; realloc(p, 0) could free p */
        return 0;
    struct fa_member *all = realloc(r->members, (r->nmembers + n) * sizeof *all);
    if (!all) {
        free_members(m, n);
        return out_of_memory(p->w.errbuf);
    }
    memcpy(all + r->nmembers, m, n * sizeof *m);
    r->members = all;
    r->nmembers += n;
    free(m);
    return 0;
}

/* "role NAME none" declares a role with no hosts yet, for a later file to
 * fill (the matrix names roles that only the site file can populate).
 * none stands alone: sets *n to 0 when the line is "none", fails when none
 * is mixed with members. */
static int is_none_line(struct parser *p, size_t *n)
{
    for (size_t i = 2; i < p->ntok; i++) {
        const struct token *t = &p->tok[i];
        if (!t->quoted && strcasecmp(t->s, "none") == 0) {
            if (p->ntok > 3)
                return fail(p, t->col, "'none' cannot be combined with other members");
            *n = 0;
        }
    }
    return 0;
}

static int parse_role(struct parser *p)
{
    const struct token *name = token(p, 1);
    struct fa_member *m = NULL;
    size_t n = p->ntok > 2 ? p->ntok - 2 : 0;

    if (!is_role_token(name))
        return fail(p, col_of(p, name),
                    "expected a role name (letters, digits, '-', '_' and '.'), found %s",
                    found(p, name));
    if (strcasecmp(name->s, "any") == 0)
        return fail(p, name->col, "'any' is a built-in role and cannot be defined");
    if (n == 0)
        return fail(p, p->end_col,
                    "empty role '%s': expected at least one member (address, prefix, "
                    "range, any, none or name:PATTERN)",
                    name->s);
    if (is_none_line(p, &n) < 0)
        return -1;
    if (n > 0 && !(m = calloc(n, sizeof *m)))
        return out_of_memory(p->w.errbuf);
    for (size_t i = 0; i < n; i++) {
        if (parse_member(p, &p->tok[i + 2], &m[i]) < 0) {
            free_members(m, i);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (m[i].kind == FA_MEMBER_NAME) {
            const char *pat = p->tok[i + 2].s + 5;
            if (!(m[i].pattern = dup_lower(pat, strlen(pat)))) {
                free_members(m, n);
                return out_of_memory(p->w.errbuf);
            }
        }
    }

    int i = fa_ruleset_role(p->rs, name->s);
    if (i >= 0)
        return merge_members(p, (size_t)i, m, n, p->w.line);
    struct fa_role r = {NULL, m, n, p->w.file, p->w.line};
    if (!(r.name = dup_lower(name->s, strlen(name->s))) ||
        grow(&p->rs->roles, p->rs->nroles, sizeof r) < 0) {
        free(r.name);
        free_members(m, n);
        return out_of_memory(p->w.errbuf);
    }
    p->rs->roles[p->rs->nroles++] = r;
    return 0;
}

/* ---- require|allow|deny SRC ARROW DST PROTOSPEC "MESSAGE" [OPTION...] --- */

/* PROTOSPEC: sets r->proto; *ports is the port list (NULL for none) and
 * *col its column. */
static int parse_protospec(struct parser *p, const struct token *t, struct fa_rule *r,
                           const char **ports, int *col)
{
    const char *s = t ? t->s : "", *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    *ports = NULL;
    if (!t || t->quoted)
        goto bad;
    if (n == 3 && strncasecmp(s, "tcp", 3) == 0)
        r->proto = FA_PROTO_TCP;
    else if (n == 3 && strncasecmp(s, "udp", 3) == 0)
        r->proto = FA_PROTO_UDP;
    else if (!slash && strcasecmp(s, "icmp") == 0)
        r->proto = FA_PROTO_ICMP;
    else if (!slash && strcasecmp(s, "any") == 0)
        r->proto = 0;
    else
        goto bad;
    if (slash) {
        *ports = slash + 1;
        *col = t->col + (int)n + 1;
        return parse_ports(&p->w, *ports, *col, PORTS_GROUPS | PORTS_NAMES, p->rs, NULL, NULL);
    }
    return 0;
bad:
    return fail(p, col_of(p, t), "expected " EXPECT_PROTO ", found %s", found(p, t));
}

static int parse_duration_token(struct parser *p, const struct token *t, const char *s, int64_t *ns)
{
    switch (t && !t->quoted ? parse_duration(s, ns) : DURATION_BAD) {
    case DURATION_OK:
        return 0;
    case DURATION_ZERO:
        return fail(p, t->col, "expected a duration above zero, found %s", found(p, t));
    case DURATION_TOO_LONG:
        return fail(p, t->col, "duration too long, found %s", found(p, t));
    default:
        return fail(p, col_of(p, t), "expected " EXPECT_DURATION ", found %s", found(p, t));
    }
}

/* "tls, http, ... or dns": every name fa_app_name() gives, for messages,
 * so that the list never falls behind appproto.c. */
static const char *app_list(char *buf, size_t size)
{
    size_t used = 0;
    int n = FA_APP_COUNT - 1;
    buf[0] = '\0';
    for (int a = 1; a <= n && used < size; a++) {
        const char *sep = a == 1 ? "" : a == n ? " or " : ", ";
        used += (size_t)snprintf(buf + used, size - used, "%s%s", sep, fa_app_name((enum fa_app)a));
    }
    return buf;
}

/* app=NAME|NAME...: s is the list after "app=", written at column col.
 * Sets a bit of *apps for each name; names are case-insensitive. */
static int parse_apps(struct parser *p, const char *s, int col, uint32_t *apps)
{
    char list[APP_LIST_SIZE], q[QUOTE_SIZE];
    size_t i = 0;
    *apps = 0;
    for (;;) {
        size_t k = i;
        while (s[k] && s[k] != '|')
            k++;
        if (k == i)
            return fail(p, col + (int)i, "expected an application protocol (%s), found %s",
                        app_list(list, sizeof list), s[k] ? "'|'" : "end of the list");
        char name[APP_NAME_MAX + 1];
        int a = -1;
        if (k - i <= APP_NAME_MAX) {
            for (size_t j = i; j < k; j++)
                name[j - i] = (char)lower((unsigned char)s[j]);
            name[k - i] = '\0';
            a = fa_app_parse(name);
        }
        /* fa_app_parse("") is FA_APP_UNKNOWN, which no flow is checked for. */
        if (a <= 0)
            return fail(p, col + (int)i, "unknown application protocol %s; expected %s",
                        quote(q, sizeof q, s + i, k - i), app_list(list, sizeof list));
        *apps |= 1u << a;
        if (!s[k])
            return 0;
        i = k + 1;
    }
}

/* OPTIONs from token i on. */
static int parse_options(struct parser *p, size_t i, struct fa_rule *r)
{
    int purpose = 0, slow = 0, app = 0;
    for (; i < p->ntok; i++) {
        const struct token *t = &p->tok[i];
        const char *s = t->s;
        if (!t->quoted && strncasecmp(s, "purpose=", 8) == 0) {
            if (purpose++)
                return fail(p, t->col, "option 'purpose' given twice");
            if (strcasecmp(s + 8, "publication") == 0)
                r->purpose = FA_PURPOSE_PUBLICATION;
            else if (strcasecmp(s + 8, "monitoring") == 0)
                r->purpose = FA_PURPOSE_MONITORING;
            else
                return fail(p, t->col,
                            "expected purpose=publication or purpose=monitoring, found %s",
                            found(p, t));
        } else if (!t->quoted && strncasecmp(s, "slow=", 5) == 0) {
            if (slow++)
                return fail(p, t->col, "option 'slow' given twice");
            if (r->proto != FA_PROTO_TCP)
                return fail(p, t->col, "slow= applies only to tcp rules");
            if (r->kind == FA_RULE_DENY)
                return fail(p, t->col, "slow= applies only to allow and require rules");
            if (parse_duration_token(p, t, s + 5, &r->slow_ns) < 0)
                return -1;
        } else if (!t->quoted && strncasecmp(s, "app=", 4) == 0) {
            if (app++)
                return fail(p, t->col, "option 'app' given twice");
            /* Only TCP streams are told apart (streams.h); a UDP flow is
             * at most named dns, from an answer: on any other protocol
             * the option could never find a mismatch. */
            if (r->proto != FA_PROTO_TCP)
                return fail(p, t->col, "app= applies only to tcp rules");
            /* Traffic a deny rule matches is a finding whatever it carries. */
            if (r->kind == FA_RULE_DENY)
                return fail(p, t->col, "app= applies only to allow and require rules");
            if (parse_apps(p, s + 4, t->col + 4, &r->apps) < 0)
                return -1;
        } else {
            return fail(p, t->col, "unknown option %s; expected " EXPECT_OPTION, found(p, t));
        }
    }
    return 0;
}

static int parse_rule(struct parser *p, enum fa_rule_kind kind)
{
    const struct token *src = token(p, 1), *arrow = token(p, 2), *dst = token(p, 3);
    const struct token *proto = token(p, 4), *msg = token(p, 5);
    struct fa_rule r;
    const char *ports;
    size_t textlen;

    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.src = r.dst = -1;
    r.purpose = FA_PURPOSE_PUBLICATION;
    if (!is_role_token(src))
        return fail(p, col_of(p, src), "expected a source role, found %s", found(p, src));
    if (arrow && !arrow->quoted && strcmp(arrow->s, "<->") == 0)
        r.both_directions = 1;
    else if (!arrow || arrow->quoted || strcmp(arrow->s, "->") != 0)
        return fail(p, col_of(p, arrow), "expected '->' or '<->', found %s", found(p, arrow));
    if (!is_role_token(dst))
        return fail(p, col_of(p, dst), "expected a destination role, found %s", found(p, dst));
    if (parse_protospec(p, proto, &r, &ports, &r.ports_col) < 0)
        return -1;
    if (!msg)
        return fail(p, p->end_col, "missing message: expected a quoted message after %s",
                    found(p, proto));
    if (!msg->quoted)
        return fail(p, msg->col, "expected a quoted message, found %s", found(p, msg));
    if (msg->s[0] == '\0')
        return fail(p, msg->col, "empty message");
    if (parse_options(p, 6, &r) < 0)
        return -1;

    textlen = (size_t)(p->end_col - p->tok[0].col);
    r.src_col = src->col;
    r.dst_col = dst->col;
    r.file = p->w.file;
    r.line = p->w.line;
    r.src_name = dup_lower(src->s, strlen(src->s));
    r.dst_name = dup_lower(dst->s, strlen(dst->s));
    r.ports = ports ? dup_lower(ports, strlen(ports)) : NULL;
    r.message = strdup(msg->s);
    r.text = strndup(p->tok[0].raw, textlen);
    if (!r.src_name || !r.dst_name || (ports && !r.ports) || !r.message || !r.text ||
        grow(&p->rs->rules, p->rs->nrules, sizeof r) < 0) {
        free_rule(&r);
        return out_of_memory(p->w.errbuf);
    }
    p->rs->rules[p->rs->nrules++] = r;
    return 0;
}

/* ---- set KEY ... -------------------------------------------------------- */

static int expect_end(struct parser *p, size_t i)
{
    const struct token *t = token(p, i);
    if (t)
        return fail(p, t->col, "expected end of line, found %s", found(p, t));
    return 0;
}

/* set slow-handshake ROLE|any DURATION */
static int parse_set_slow(struct parser *p)
{
    const struct token *role = token(p, 2), *dur = token(p, 3);
    struct fa_slow_setting *old, s = {-1, NULL, 0, p->w.file, p->w.line, 0};

    if (!is_role_token(role))
        return fail(p, col_of(p, role), "expected a role name or any, found %s", found(p, role));
    if (parse_duration_token(p, dur, dur ? dur->s : "", &s.ns) < 0 || expect_end(p, 4) < 0)
        return -1;
    s.col = role->col;
    if (!(s.role_name = dup_lower(role->s, strlen(role->s))))
        return out_of_memory(p->w.errbuf);
    if ((old = find_slow(p->rs, s.role_name)) != NULL) {
        free(old->role_name);
        *old = s;
        return 0;
    }
    if (grow(&p->rs->slow, p->rs->nslow, sizeof s) < 0) {
        free(s.role_name);
        return out_of_memory(p->w.errbuf);
    }
    p->rs->slow[p->rs->nslow++] = s;
    return 0;
}

/* set port NAME PORTS */
static int parse_set_port(struct parser *p)
{
    const struct token *name = token(p, 2), *spec = token(p, 3);
    struct fa_named_ports *old, np = {NULL, NULL, p->w.file, p->w.line};

    if (!name || name->quoted || !is_port_name(name->s))
        return fail(p, col_of(p, name),
                    "expected a port name (a letter, then letters, digits, '-', '_' and '.'), "
                    "found %s",
                    found(p, name));
    if (!spec || spec->quoted)
        return fail(p, col_of(p, spec), "expected a port or a port range, found %s",
                    found(p, spec));
    if (parse_ports(&p->w, spec->s, spec->col, 0, p->rs, NULL, NULL) < 0 || expect_end(p, 4) < 0)
        return -1;
    np.name = dup_lower(name->s, strlen(name->s));
    np.spec = dup_lower(spec->s, strlen(spec->s));
    if (!np.name || !np.spec)
        goto oom;
    if ((old = find_port(p->rs, np.name)) != NULL) {
        free(old->name);
        free(old->spec);
        *old = np;
        return 0;
    }
    if (grow(&p->rs->ports, p->rs->nports, sizeof np) < 0)
        goto oom;
    p->rs->ports[p->rs->nports++] = np;
    return 0;
oom:
    free(np.name);
    free(np.spec);
    return out_of_memory(p->w.errbuf);
}

static int parse_set(struct parser *p)
{
    const struct token *key = token(p, 1);
    if (!key)
        return fail(p, p->end_col,
                    "expected a setting (slow-handshake or port), found end of line");
    if (!key->quoted && strcasecmp(key->s, "slow-handshake") == 0)
        return parse_set_slow(p);
    if (!key->quoted && strcasecmp(key->s, "port") == 0)
        return parse_set_port(p);
    return fail(p, key->col, "unknown setting %s; expected slow-handshake or port", found(p, key));
}

/* ---- lines and files ---------------------------------------------------- */

static int parse_statement(struct parser *p)
{
    const struct token *t = &p->tok[0];
    const char *s = t->quoted ? "" : t->s;
    if (strcasecmp(s, "role") == 0)
        return parse_role(p);
    if (strcasecmp(s, "require") == 0)
        return parse_rule(p, FA_RULE_REQUIRE);
    if (strcasecmp(s, "allow") == 0)
        return parse_rule(p, FA_RULE_ALLOW);
    if (strcasecmp(s, "deny") == 0)
        return parse_rule(p, FA_RULE_DENY);
    if (strcasecmp(s, "set") == 0)
        return parse_set(p);
    return fail(p, t->col, "unknown statement %s; expected role, require, allow, deny or set",
                found(p, t));
}

/* One line of len bytes, without its end of line. */
static int parse_line(struct parser *p, const char *s, size_t len)
{
    if (len > MAX_LINE)
        return fail(p, MAX_LINE + 1, "line longer than %d bytes", MAX_LINE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            return fail(p, (int)i + 1, "NUL byte");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(p, (int)i + 1, "control character 0x%02x", c);
    }
    memcpy(p->raw, s, len);
    p->raw[len] = '\0';
    if (tokenize(p, len) < 0)
        return -1;
    return p->ntok ? parse_statement(p) : 0;
}

/* Records name among the sources; returns the ruleset's copy. */
static const char *add_source(struct fa_ruleset *rs, const char *name)
{
    char *copy = strdup(name);
    if (!copy || grow(&rs->sources, rs->nsources, sizeof *rs->sources) < 0) {
        free(copy);
        return NULL;
    }
    rs->sources[rs->nsources++] = copy;
    return copy;
}

static int load_buffer(struct fa_ruleset *rs, const char *name, const char *text, size_t len,
                       char *errbuf)
{
    struct parser *p;
    const char *file = add_source(rs, name);
    size_t i = 0;
    int rc = 0;

    if (!file || !(p = calloc(1, sizeof *p)))
        return out_of_memory(errbuf);
    p->rs = rs;
    p->w.errbuf = errbuf;
    p->w.file = file;
    /* A byte order mark some editors write is not part of the first line. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && rc == 0) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
        if (n > 0 && text[end - 1] == '\r') /* written on Windows */
            n--;
        p->w.line++;
        rc = parse_line(p, text + i, n);
        i = end + 1;
    }
    free(p);
    return rc;
}

int fa_ruleset_load_buffer(struct fa_ruleset *rs, const char *name, const char *text, size_t len,
                           char *errbuf)
{
    return load_buffer(rs, name, text, len, errbuf);
}

int fa_ruleset_load_text(struct fa_ruleset *rs, const char *name, const char *text, char *errbuf)
{
    return load_buffer(rs, name, text, strlen(text), errbuf);
}

/* A file with nothing in it but blanks is a wrong path or a failed copy,
 * not rules.  A file of comments is kept: someone wrote it. */
static int holds_nothing(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_blank((unsigned char)data[i]) && data[i] != '\r' && data[i] != '\n')
            return 0;
    return 1;
}

char *fa_rules_read_file(const char *path, size_t *len_out, char *errbuf)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL, name[NAME_SIZE];
    size_t len = 0, cap = 0, got;
    int err;

    file_name(name, path);
    if (!f) {
        snprintf(errbuf, FA_RULES_ERRBUF_SIZE, "%s: cannot read: %s", name, strerror(errno));
        return NULL;
    }
    do {
        if (len == cap) {
            /* One byte past the limit tells a file of exactly MAX_FILE
             * bytes from a larger one. */
            size_t want = cap ? 2 * cap : 65536;
            char *more =
                cap <= MAX_FILE ? realloc(data, want > MAX_FILE ? MAX_FILE + 1 : want) : NULL;
            if (!more) {
                if (cap > MAX_FILE)
                    snprintf(errbuf, FA_RULES_ERRBUF_SIZE, "%s: cannot read: larger than %d MiB",
                             name, MAX_FILE >> 20);
                else
                    out_of_memory(errbuf);
                free(data);
                fclose(f);
                return NULL;
            }
            data = more;
            cap = want > MAX_FILE ? MAX_FILE + 1 : want;
        }
        got = fread(data + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        err = errno;
        free(data);
        fclose(f);
        snprintf(errbuf, FA_RULES_ERRBUF_SIZE, "%s: cannot read: %s", name, strerror(err));
        return NULL;
    }
    fclose(f);
    if (holds_nothing(data, len)) {
        free(data);
        snprintf(errbuf, FA_RULES_ERRBUF_SIZE,
                 "%s: empty rule file; name the environment's hosts in it (see rules/README.md)",
                 name);
        return NULL;
    }
    data[len] = '\0'; /* room: the loop ends on a read that got nothing */
    *len_out = len;
    return data;
}

int fa_ruleset_load_file(struct fa_ruleset *rs, const char *path, char *errbuf)
{
    size_t len;
    char *data = fa_rules_read_file(path, &len, errbuf);
    if (!data)
        return -1;
    int rc = load_buffer(rs, path, data, len, errbuf);
    free(data);
    return rc;
}

/* ---- resolving names ---------------------------------------------------- */

/* The built-in role "any", added the first time something uses it. */
static int any_role(struct fa_ruleset *rs, char *errbuf)
{
    int i = fa_ruleset_role(rs, "any");
    if (i >= 0)
        return i;
    struct fa_role r = {strdup("any"), calloc(1, sizeof(struct fa_member)), 1, NULL, 0};
    if (!r.name || !r.members || grow(&rs->roles, rs->nroles, sizeof r) < 0) {
        free(r.name);
        free(r.members);
        return out_of_memory(errbuf);
    }
    r.members[0].kind = FA_MEMBER_ANY;
    rs->roles[rs->nroles] = r;
    return (int)rs->nroles++;
}

/* *index = the role called name, written at col of where w is. */
static int resolve_role(struct fa_ruleset *rs, const struct where *w, const char *name, int col,
                        int *index)
{
    int i;
    if (strcmp(name, "any") == 0)
        i = any_role(rs, w->errbuf);
    else if ((i = fa_ruleset_role(rs, name)) < 0)
        fail_at(w, col, "unknown role '%s'", name);
    *index = i;
    return i < 0 ? -1 : 0;
}

/* A run of ports of one group of a rule. */
struct span {
    uint16_t lo, hi;
    size_t group;
};

static int span_by_group(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return (int)x->lo - (int)y->lo;
}

static int span_by_lo(const void *a, const void *b)
{
    return (int)((const struct span *)a)->lo - (int)((const struct span *)b)->lo;
}

/* Fails at col when a port is in two groups of a rule: the audit counts a
 * flow for the first group that holds its port, so the later group could
 * never be observed.  Alternatives of one group may overlap.  Sorting
 * keeps this fast for the largest rule the limits allow. */
static int check_overlap(const struct where *w, int col, const struct fa_port_group *g,
                         size_t ngroups)
{
    struct span *sp;
    size_t n = 0, m = 0;
    long top = -1;

    if (ngroups < 2)
        return 0;
    for (size_t i = 0; i < ngroups; i++)
        n += g[i].nalts;
    if (!(sp = malloc(n * sizeof *sp)))
        return out_of_memory(w->errbuf);
    for (size_t i = 0; i < ngroups; i++)
        for (size_t k = 0; k < g[i].nalts; k++)
            sp[m++] = (struct span){g[i].alts[k].lo, g[i].alts[k].hi, i};
    qsort(sp, n, sizeof *sp, span_by_group);
    m = 0; /* each group's alternatives merged into disjoint spans */
    for (size_t k = 0; k < n; k++) {
        if (m > 0 && sp[m - 1].group == sp[k].group && sp[k].lo <= sp[m - 1].hi) {
            if (sp[k].hi > sp[m - 1].hi)
                sp[m - 1].hi = sp[k].hi;
        } else {
            sp[m++] = sp[k];
        }
    }
    qsort(sp, m, sizeof *sp, span_by_lo);
    /* A span starting at or below the highest port of the spans before it
     * shares its first port with the span that reached that height, which
     * is of another group since a group's spans are disjoint; the first
     * found is the lowest port shared. */
    for (size_t k = 0; k < m; k++) {
        if ((long)sp[k].lo <= top) {
            unsigned port = sp[k].lo;
            free(sp);
            return fail_at(w, col, "port %u is in two groups of this rule", port);
        }
        if ((long)sp[k].hi > top)
            top = sp[k].hi;
    }
    free(sp);
    return 0;
}

static int resolve_rule(struct fa_ruleset *rs, struct fa_rule *r, char *errbuf, size_t *alts)
{
    struct where w = {errbuf, r->file, r->line, alts};
    if (resolve_role(rs, &w, r->src_name, r->src_col, &r->src) < 0 ||
        resolve_role(rs, &w, r->dst_name, r->dst_col, &r->dst) < 0)
        return -1;
    free_groups(r->groups, r->ngroups);
    r->groups = NULL;
    r->ngroups = 0;
    if (!r->ports)
        return 0;
    if (parse_ports(&w, r->ports, r->ports_col, PORTS_GROUPS | PORTS_NAMES, rs, &r->groups,
                    &r->ngroups) < 0)
        return -1;
    return check_overlap(&w, r->ports_col, r->groups, r->ngroups);
}

int fa_ruleset_finish(struct fa_ruleset *rs, char *errbuf)
{
    size_t alts = 0; /* every rule's groups are built again, so counted again */
    for (size_t i = 0; i < rs->nrules; i++)
        if (resolve_rule(rs, &rs->rules[i], errbuf, &alts) < 0)
            return -1;
    for (size_t i = 0; i < rs->nslow; i++) {
        struct fa_slow_setting *s = &rs->slow[i];
        struct where w = {errbuf, s->file, s->line, NULL};
        s->role = strcmp(s->role_name, "any") == 0 ? -1 : fa_ruleset_role(rs, s->role_name);
        if (s->role < 0 && strcmp(s->role_name, "any") != 0)
            return fail_at(&w, s->col, "unknown role '%s'", s->role_name);
    }
    return 0;
}
