/*
 * auditcmd.c - the `audit`, `report` and `check` commands after their
 * options are parsed.
 *
 * Rules are loaded, and so checked, before anything is read or written,
 * so a mistake in a rule file costs nothing.  Every error is one line on
 * stderr naming the file and what to do, with exit status 2; the audit's
 * own verdict is status 0 or 1 (FA_EXIT_*).
 */
#include "auditcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "outfile.h"
#include "report.h"
#include "store.h"

extern const char *const fa_builtin_matrix[];

/* The name the built-in matrix goes by in messages and records. */
#define BUILTIN_MATRIX_NAME "outsystems-11.rules"

/* A rule file's text; NULL with a message on stderr. */
static char *read_file(const char *path, size_t *len)
{
    char err[FA_RULES_ERRBUF_SIZE];
    char *text = fa_rules_read_file(path, len, err);
    if (!text)
        fprintf(stderr, "flowaudit: %s\n", err);
    return text;
}

/* Appends "# ==> NAME <==\nTEXT" to *all, the record of the rules used. */
static int append_record(char **all, size_t *len, const char *name, const char *text)
{
    size_t add = strlen(name) + strlen(text) + 16;
    char *n = realloc(*all, *len + add + 1);
    if (!n)
        return -1;
    *all = n;
    *len += (size_t)snprintf(n + *len, add + 1, "# ==> %s <==\n%s%s", name, text,
                             text[0] && text[strlen(text) - 1] != '\n' ? "\n" : "");
    return 0;
}

static int load_one(struct fa_ruleset *rs, const char *name, const char *text, size_t text_len,
                    char **all, size_t *len)
{
    char err[FA_RULES_ERRBUF_SIZE];
    if (fa_ruleset_load_buffer(rs, name, text, text_len, err) < 0) {
        fprintf(stderr, "flowaudit: %s\n", err);
        return -1;
    }
    if (append_record(all, len, name, text) < 0) {
        fprintf(stderr, "flowaudit: out of memory\n");
        return -1;
    }
    return 0;
}

int fa_rules_load(const struct fa_rules_source *src, struct fa_ruleset **out, char **text)
{
    char err[FA_RULES_ERRBUF_SIZE];
    char *all = NULL, *file = NULL;
    size_t len = 0, file_len = 0;
    struct fa_ruleset *rs = fa_ruleset_new();

    if (!rs) {
        fprintf(stderr, "flowaudit: out of memory\n");
        return -1;
    }
    if (src->matrix) {
        if (!(file = read_file(src->matrix, &file_len)) ||
            load_one(rs, src->matrix, file, file_len, &all, &len) < 0)
            goto fail;
        free(file);
        file = NULL;
    } else if (load_one(rs, BUILTIN_MATRIX_NAME, fa_builtin_matrix[0], strlen(fa_builtin_matrix[0]),
                        &all, &len) < 0) {
        goto fail;
    }
    if (src->site) {
        if (!(file = read_file(src->site, &file_len)) ||
            load_one(rs, src->site, file, file_len, &all, &len) < 0)
            goto fail;
        free(file);
        file = NULL;
    }
    if (fa_ruleset_finish(rs, err) < 0) {
        fprintf(stderr, "flowaudit: %s\n", err);
        goto fail;
    }
    *out = rs;
    *text = all;
    return 0;
fail:
    free(file);
    free(all);
    fa_ruleset_free(rs);
    return -1;
}

static int audit_exists(void *ctx, const struct fa_audit_info *a)
{
    (void)ctx;
    (void)a;
    return 0;
}

static int print_report(struct fa_store *s, int64_t audit_id, int format, const char *output)
{
    char err[FA_STORE_ERRBUF_SIZE];
    /* Checked before the output is opened, which would empty a file. */
    if (fa_store_get_audit(s, audit_id, audit_exists, NULL, err) < 0) {
        fprintf(stderr, "flowaudit: %s\n", err);
        return -1;
    }
    struct fa_outfile out;
    if (fa_outfile_open(&out, output) < 0)
        return -1;
    int rc = fa_report_write(s, audit_id, (enum fa_report_format)format, out.fp, err);
    return fa_outfile_close(&out, rc, err);
}

static const char *fail_on_name(int fail_on)
{
    return fail_on < 0 ? "never" : fa_severity_name((enum fa_severity)fail_on);
}

/* Status 1 when a finding is at least as severe as fail_on. */
static int verdict(const struct fa_audit_result *res, int fail_on)
{
    if (fail_on < 0)
        return FA_EXIT_CLEAN;
    for (int sev = fail_on; sev <= FA_SEV_ERROR; sev++)
        if (res->counts[sev])
            return FA_EXIT_FINDINGS;
    return FA_EXIT_CLEAN;
}

int fa_audit_command(const struct fa_audit_opts *o, const struct fa_ruleset *rs,
                     const char *rules_text)
{
    char err[FA_STORE_ERRBUF_SIZE];
    struct fa_audit_result res;

    struct fa_store *s = fa_store_open(o->db_path, FA_STORE_UPDATE, err);
    if (!s) {
        fprintf(stderr, "flowaudit: %s\n", err);
        return FA_EXIT_USAGE;
    }
    if (fa_audit_run(s, rs, rules_text, o->run_id, fail_on_name(o->fail_on), &res, err) < 0) {
        fprintf(stderr, "flowaudit: %s\n", err);
        fa_store_close(s);
        return FA_EXIT_USAGE;
    }
    int status = print_report(s, res.audit_id, o->format, o->output) < 0
                     ? FA_EXIT_USAGE
                     : verdict(&res, o->fail_on);
    fa_store_close(s);
    return status;
}

int fa_report_command(const char *db_path, int64_t audit_id, int format, const char *output)
{
    char err[FA_STORE_ERRBUF_SIZE];
    struct fa_store *s = fa_store_open(db_path, FA_STORE_READ, err);
    int status = FA_EXIT_USAGE;

    if (!s) {
        fprintf(stderr, "flowaudit: %s\n", err);
        return FA_EXIT_USAGE;
    }
    if (audit_id == 0) {
        audit_id = fa_store_last_audit(s, err);
        if (audit_id < 0) {
            fprintf(stderr, "flowaudit: %s\n", err);
            goto out;
        }
        if (audit_id == 0) {
            fprintf(stderr, "flowaudit: %s: no audit yet; run 'flowaudit audit' first\n", db_path);
            goto out;
        }
    }
    if (print_report(s, audit_id, format, output) == 0)
        status = FA_EXIT_CLEAN;
out:
    fa_store_close(s);
    return status;
}
