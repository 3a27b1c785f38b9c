/*
 * fuzz_rules.c - fuzzes the rules language parser (rules.h).
 *
 * Input: a rules text (bytes after a NUL are not seen: the parser takes a
 * C string).  It is parsed twice, as flowaudit loads rules: alone, as the
 * one file of a ruleset, and as a site file after the built-in matrix
 * (rules/outsystems-11.rules, compiled in), which it may redefine.  Each
 * ruleset that parses is finished, and its roles, members and port groups
 * are queried.  fuzz/dict/rules.dict holds the language's words.
 *
 * Checked beyond memory safety: an error message is one line of printable
 * ASCII (rules.h promises it whatever the file holds), an address range
 * runs upwards and holds its own ends, a port group holds the ports it
 * lists, and a role is found by its own name.
 */
#include <string.h>

#include "fuzz.h"
#include "rules.h"

extern const char *const fa_builtin_matrix[];

static void check_message(const char *err)
{
    const char *end = memchr(err, '\0', FA_RULES_ERRBUF_SIZE);
    FUZZ_CHECK(end != NULL && end > err);
    for (const char *p = err; p < end; p++)
        FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e);
}

static void check_member(const struct fa_member *m)
{
    if (m->kind == FA_MEMBER_RANGE) {
        FUZZ_CHECK(memcmp(&m->lo, &m->hi, sizeof m->lo) <= 0);
        /* An IPv6 range may start among IPv4-mapped addresses, which it
         * does not hold (rules.h, fa_member.v4). */
        FUZZ_CHECK(fa_member_has_addr(m, &m->lo) || (!m->v4 && fa_addr_is_v4(&m->lo)));
        FUZZ_CHECK(fa_member_has_addr(m, &m->hi) || (!m->v4 && fa_addr_is_v4(&m->hi)));
    } else if (m->kind == FA_MEMBER_NAME) {
        FUZZ_CHECK(m->pattern != NULL);
        fa_name_matches(m->pattern, "architecture.outsystems.com");
        fa_name_matches(m->pattern, m->pattern);
    } else {
        FUZZ_CHECK(fa_member_has_addr(m, &m->lo));
    }
}

static void query(const struct fa_ruleset *rs)
{
    struct fa_addr probe;

    fa_addr_parse("192.0.2.10", &probe);
    for (size_t i = 0; i < rs->nroles; i++) {
        const struct fa_role *role = &rs->roles[i];
        FUZZ_CHECK(fa_ruleset_role(rs, role->name) >= 0);
        for (size_t m = 0; m < role->nmembers; m++)
            check_member(&role->members[m]);
        fa_role_has_addr(role, &probe);
        fa_role_names_addr(role, &probe);
        fa_role_has_name(role, "www.example.com.");
    }
    for (size_t r = 0; r < rs->nrules; r++) {
        const struct fa_rule *rule = &rs->rules[r];
        FUZZ_CHECK(rule->src >= 0 && (size_t)rule->src < rs->nroles);
        FUZZ_CHECK(rule->dst >= 0 && (size_t)rule->dst < rs->nroles);
        for (size_t g = 0; g < rule->ngroups; g++) {
            const struct fa_port_group *grp = &rule->groups[g];
            for (size_t a = 0; a < grp->nalts; a++) {
                FUZZ_CHECK(grp->alts[a].lo <= grp->alts[a].hi);
                FUZZ_CHECK(fa_port_group_has(grp, grp->alts[a].lo));
                FUZZ_CHECK(fa_port_group_has(grp, grp->alts[a].hi));
            }
        }
    }
}

/* Loads the texts in order, as one ruleset, and finishes it. */
static void load(const char *matrix, const char *site)
{
    char err[FA_RULES_ERRBUF_SIZE];
    struct fa_ruleset *rs = fa_ruleset_new();

    if (!rs)
        return;
    int rc = 0;
    if (matrix) {
        rc = fa_ruleset_load_text(rs, "matrix.rules", matrix, err);
        if (rc < 0)
            check_message(err);
    }
    if (rc == 0 && (rc = fa_ruleset_load_text(rs, "site.rules", site, err)) < 0)
        check_message(err);
    if (rc == 0) {
        if (fa_ruleset_finish(rs, err) < 0)
            check_message(err);
        else
            query(rs);
    }
    fa_ruleset_free(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    load(NULL, text);
    load(fa_builtin_matrix[0], text);
    free(text);
    return 0;
}
