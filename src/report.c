/*
 * report.c - render a stored audit for people (text, markdown, html) and
 * for programs (json).
 *
 * Invariants:
 *   - streaming: the audit's record is copied (a few short strings), and
 *     runs, requirements and findings are walked from the store as often
 *     as needed (to count, to size text columns, once per section) so
 *     memory does not grow with the number of findings;
 *   - every string that came from the wire or from a file goes through
 *     the format's escaping (style->str or the JSON writer): in text,
 *     markdown and html a control character, a byte of no valid UTF-8
 *     sequence, a C1 control, or a character that reorders or hides text
 *     (bidi controls, zero-width characters) is shown as \xNN for each of
 *     its bytes, so nothing can move a cursor, start an escape sequence,
 *     break a table or disguise an address; a backslash is shown doubled,
 *     so that \xNN always means an escaped byte, never text that looks
 *     like one;
 *   - the literals this file writes itself are plain ASCII with none of
 *     the characters any format treats specially;
 *   - times are UTC to the second for people, and seconds with 6 decimals
 *     (microseconds, as stored) for programs; an unset time is "-" / null.
 *
 * JSON shape (one object; objects and arrays that may be long have one
 * value a line):
 *
 *   {
 *   "summary": {
 *     "audit_id": 3, "created": 1700000000.000000,
 *     "version": "0.1.0",               flowaudit that made the audit
 *     "report_version": "0.1.0",        flowaudit that wrote this report
 *     "fail_on": "error",
 *     "rule_files": ["rules/outsystems-11.rules", "site.rules"],
 *     "runs": [{"id", "mode", "source", "filter", "sensor", "version",
 *               "started", "ended", "first_packet", "last_packet",
 *               "packets", "bytes", "flows", "evicted",
 *               "orphan_fragments", "decode_errors",
 *               "received", "dropped", "if_dropped"}],
 *     "first_packet", "last_packet",    over the runs; null without packets
 *     "packets", "bytes", "flows",      sums over the runs
 *     "flows_audited", "decode_errors", "evicted", "orphan_fragments",
 *     "received", "dropped", "if_dropped",
 *                                       libpcap's counts, summed over live
 *                                       runs; null when no run was live
 *     "findings_by_severity": {"error", "warning", "info"},
 *     "requirements_by_status": {"ok", "failing", "failed", "not-observed"}
 *   },
 *   "requirements": [
 *     {"rule": "FILE:LINE", "rule_file", "rule_line", "rule_text",
 *      "status", "purpose", "src_role", "dst_role", "proto",
 *      "ports" ("443", "1433|1521", "" for any), "attempts", "failures",
 *      "first_seen", "last_seen", "message"}
 *   ],
 *   "findings": [
 *     {"kind", "severity", "section" ("failures", "unexpected",
 *      "information"), "rule": "FILE:LINE" or null, "rule_file",
 *      "rule_line", "rule_text", "src", "src_role", "dst", "dst_role",
 *      "proto", "port" (null without one), "count", "syn_count",
 *      "first_seen", "last_seen", "detail", "examples": [uids],
 *      "message"}
 *   ]
 *   }
 *
 * Findings come in the store's order: errors, warnings, information, then
 * by kind, source, destination and port.  Strings are null where the
 * store holds none; a finding's src_role and dst_role are null too when
 * empty (no role names the host).  Times are numbers of seconds with 6
 * decimals, or null when unset.  Strings that are not valid UTF-8 keep
 * each stray byte as the code point of the same number (json.h).
 */
#define _GNU_SOURCE /* asprintf() */

#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

#define LABEL_WIDTH 15    /* text: summary labels */
#define MAX_CELL_WIDTH 48 /* text: a longer cell overflows rather than widen the table */
#define MAX_COLUMNS 16

enum section { SEC_FAILURES, SEC_UNEXPECTED, SEC_INFORMATION, SEC_COUNT };

static const char *const section_names[SEC_COUNT] = {"failures", "unexpected", "information"};

static const char *const section_titles[SEC_COUNT] = {"Failures", "Unexpected traffic",
                                                      "Information"};

static const char *const section_intros[SEC_COUNT] = {
    "Blocked, rejected, unreachable, denied and slow traffic, and ports carrying another "
    "protocol, by host pair and port.",
    "Traffic that no rule allows.",
    "Requirements that no flow tested.",
};

/* Kinds not known here go with the failures, so nothing is left out. */
static enum section section_of(const char *kind)
{
    if (kind && strcmp(kind, "unexpected") == 0)
        return SEC_UNEXPECTED;
    if (kind && strcmp(kind, "not-observed") == 0)
        return SEC_INFORMATION;
    return SEC_FAILURES;
}

#define NSTATUS 4
static const char *const status_names[NSTATUS] = {"ok", "failing", "failed", "not-observed"};
/* CSS classes: fixed names, never the stored text. */
static const char *const status_classes[NSTATUS + 1] = {"ok", "failing", "failed", "unseen",
                                                        "other"};

static int status_index(const char *status)
{
    for (int i = 0; i < NSTATUS; i++)
        if (status && strcmp(status, status_names[i]) == 0)
            return i;
    return NSTATUS;
}

/* The audit's record, copied: the store's strings live only during a visit. */
struct audit_copy {
    int64_t id, created_ns;
    uint64_t flows;
    char *version, *sources, *runs, *fail_on;
};

/* What the summary says, gathered before anything is written. */
struct totals {
    int64_t first_ns, last_ns; /* 0: no packet */
    uint64_t packets, bytes, flows, evicted, orphan_fragments, decode_errors;
    int live; /* some run has libpcap's counts */
    uint64_t received, dropped, if_dropped;
    uint64_t by_severity[FA_SEV_ERROR + 1];
    uint64_t by_section[SEC_COUNT];
    uint64_t by_status[NSTATUS + 1]; /* [NSTATUS]: any other status */
    uint64_t requirements;
};

struct report;

/* How a format for people writes.  str() is the only way a stored string
 * reaches the output; the other hooks write this file's own literals. */
struct style {
    int measure;       /* tables are walked once more first, to size columns */
    const char *arrow; /* between source and destination */
    void (*begin)(struct report *r);
    void (*end)(struct report *r);
    void (*str)(struct report *r, const char *s); /* NULL as "-" */
    void (*heading)(struct report *r, const char *title);
    void (*para)(struct report *r, const char *text);
    void (*items_begin)(struct report *r);
    void (*item)(struct report *r, const char *label);
    void (*item_line)(struct report *r, int i); /* before line i of an item of several */
    void (*item_end)(struct report *r);
    void (*items_end)(struct report *r);
    void (*mark)(struct report *r, const char *cls, const char *s); /* s, highlighted */
    void (*table)(struct report *r, const char *const *cols);       /* NULL-terminated */
    void (*cell)(struct report *r);                                 /* before each cell */
    void (*row_end)(struct report *r);
    void (*table_end)(struct report *r);
    void (*finding)(struct report *r, const struct fa_finding *f); /* NULL: a table row */
};

struct report {
    struct fa_store *store;
    FILE *out; /* NULL while measuring */
    char *errbuf;
    const struct style *st;
    struct audit_copy audit;
    struct totals t;
    enum section section; /* the findings being written */
    int row;              /* rows (runs, findings) written in the current block */
    /* text tables */
    size_t col, cell_start;
    int ncell;
    size_t widths[MAX_COLUMNS];
    struct fa_json json;
    int oom;
};

/* ---- writing ------------------------------------------------------------ */

/* Writes n bytes that show as cols columns. */
static void put_n(struct report *r, const char *s, size_t n, size_t cols)
{
    r->col += cols;
    if (r->out)
        fwrite(s, 1, n, r->out);
}

/* This file's own ASCII text. */
static void put(struct report *r, const char *s)
{
    put_n(r, s, strlen(s), strlen(s));
}

static void put_spaces(struct report *r, size_t n)
{
    while (n--)
        put_n(r, " ", 1, 1);
}

/* 1234567 as "1,234,567". */
static void put_count(struct report *r, uint64_t v)
{
    char digits[24], buf[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v), k = 0;

    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    put(r, buf);
}

static void put_int(struct report *r, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof buf, "%" PRId64, v);
    put(r, buf);
}

/* "2023-11-14 22:13:20", the UTC second holding ns; "-" when unset. */
static void put_time(struct report *r, int64_t ns)
{
    int64_t us = fa_ns_to_us(ns);
    time_t secs = (time_t)(us / 1000000 - (us % 1000000 < 0));
    struct tm tm;
    char buf[32];

    if (!ns || !gmtime_r(&secs, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm)) {
        put(r, "-");
        return;
    }
    put(r, buf);
}

static void put_span(struct report *r, int64_t first_ns, int64_t last_ns)
{
    put_time(r, first_ns);
    put(r, " .. ");
    put_time(r, last_ns);
}

/* "3 errors" / "1 error". */
static void put_counted(struct report *r, uint64_t n, const char *one, const char *many)
{
    put_count(r, n);
    put(r, " ");
    put(r, n == 1 ? one : many);
}

/* ---- lists stored in one string ---------------------------------------- */

#define SOURCES_SEP '\n' /* the audit's rule files, one a line: a path may hold spaces */
#define EXAMPLES_SEP ' ' /* a finding's example uids */

/* The next item of the list at *s, whose items are separated by sep
 * (empty ones skipped), as a string to free; NULL at the end, or when
 * memory runs out (r->oom then set).  *s moves past it. */
static char *next_item(struct report *r, const char **s, char sep)
{
    while (*s && **s) {
        const char *start = *s, *end = strchr(start, sep);
        size_t len = end ? (size_t)(end - start) : strlen(start);
        char *item;

        *s = end ? end + 1 : start + len;
        if (len == 0)
            continue;
        if (!(item = strndup(start, len)))
            r->oom = 1;
        return item;
    }
    return NULL;
}

/* ---- what may be shown as is -------------------------------------------- */

/* Characters beyond ASCII that change how the text around them shows:
 * C1 controls (U+009B is CSI on some terminals), bidi controls, zero-width
 * and invisible characters, line and paragraph separators, tags. */
static int hidden_code_point(uint32_t c)
{
    return c <= 0x9f || c == 0x061c || (c >= 0x200b && c <= 0x200f) ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff ||
           (c >= 0xfff9 && c <= 0xfffb) || (c >= 0xe0000 && c <= 0xe007f);
}

/* How many bytes at s make one character shown as is: 1 for printable
 * ASCII, 2 to 4 for valid UTF-8 of a visible character; 0 for a byte to
 * show as \xNN. */
static int shown_as_is(const char *s)
{
    unsigned char c = (unsigned char)*s;
    uint32_t cp;
    int n;

    if (c >= 0x20 && c < 0x7f)
        return 1;
    n = fa_utf8_decode(s, &cp);
    return n > 0 && !hidden_code_point(cp) ? n : 0;
}

static void put_hex(struct report *r, const char *pattern, unsigned char c)
{
    char buf[64];

    snprintf(buf, sizeof buf, pattern, c);
    put_n(r, buf, strlen(buf), 4); /* shows as \xNN */
}

/* ---- text ------------------------------------------------------------------ */

/* A backslash is doubled so that \xNN always means an escaped byte. */
static void text_str(struct report *r, const char *s)
{
    if (!s) {
        put(r, "-");
        return;
    }
    while (*s) {
        int n = shown_as_is(s);

        if (n == 0)
            put_hex(r, "\\x%02x", (unsigned char)*s++);
        else if (*s == '\\')
            put(r, "\\\\"), s++;
        else
            put_n(r, s, (size_t)n, 1), s += n;
    }
}

/* "flowaudit report: audit 3", into buf (64 bytes). */
static const char *title(const struct report *r, char *buf)
{
    snprintf(buf, 64, "flowaudit report: audit %" PRId64, r->audit.id);
    return buf;
}

static void text_begin(struct report *r)
{
    char buf[64];

    put(r, title(r, buf));
    put(r, "\n");
    for (size_t i = strlen(buf); i > 0; i--)
        put(r, "=");
    put(r, "\n");
}

static void text_end(struct report *r)
{
    (void)r;
}

static void text_heading(struct report *r, const char *title)
{
    put(r, "\n");
    put(r, title);
    put(r, "\n");
    for (size_t i = strlen(title); i > 0; i--)
        put(r, "-");
    put(r, "\n");
}

static void text_para(struct report *r, const char *text)
{
    put(r, text);
    put(r, "\n");
}

static void text_items_begin(struct report *r)
{
    (void)r;
}

static void text_item(struct report *r, const char *label)
{
    put(r, label);
    put_spaces(r, LABEL_WIDTH > strlen(label) ? LABEL_WIDTH - strlen(label) : 1);
}

static void text_item_line(struct report *r, int i)
{
    if (i > 0) {
        put(r, "\n");
        put_spaces(r, LABEL_WIDTH);
    }
}

static void text_item_end(struct report *r)
{
    put(r, "\n");
}

static void text_items_end(struct report *r)
{
    (void)r;
}

static void text_mark(struct report *r, const char *cls, const char *s)
{
    (void)cls;
    text_str(r, s);
}

/* Ends the cell being written: while measuring, widens its column; else
 * pads it to the column's width (but the last). */
static void text_cell_done(struct report *r, int last)
{
    size_t w = r->col - r->cell_start, i = (size_t)r->ncell - 1;

    if (r->ncell == 0)
        return;
    if (!r->out) {
        if (w > r->widths[i])
            r->widths[i] = w < MAX_CELL_WIDTH ? w : MAX_CELL_WIDTH;
    } else if (!last) {
        put_spaces(r, (w < r->widths[i] ? r->widths[i] - w : 0) + 2);
    }
}

static void text_cell(struct report *r)
{
    text_cell_done(r, 0);
    r->cell_start = r->col;
    if (r->ncell < MAX_COLUMNS)
        r->ncell++;
}

static void text_row_end(struct report *r)
{
    text_cell_done(r, 1);
    r->ncell = 0;
    put(r, "\n");
}

/* Headers, then dashes under each column. */
static void text_table(struct report *r, const char *const *cols)
{
    int n = 0;

    for (; cols[n]; n++) {
        text_cell(r);
        put(r, cols[n]);
    }
    text_row_end(r);
    for (int i = 0; i < n && r->out; i++) {
        for (size_t k = 0; k < r->widths[i]; k++)
            put(r, "-");
        put(r, i + 1 < n ? "  " : "\n");
    }
}

static void text_table_end(struct report *r)
{
    (void)r;
}

static void put_endpoint(struct report *r, const char *host, const char *role);
static void put_proto_port(struct report *r, const char *proto, int port);
static void put_rule(struct report *r, const char *file, int line);

static void text_field(struct report *r, const char *label)
{
    put(r, "    ");
    put(r, label);
    put_spaces(r, 10 - strlen(label));
}

/* A finding as a block: a headline, then one labelled line per fact;
 * lines without a value are left out. */
static void text_finding(struct report *r, const struct fa_finding *f)
{
    if (r->row++ > 0)
        put(r, "\n");
    put(r, "[");
    put(r, fa_severity_name(f->severity));
    put(r, "] ");
    text_str(r, f->kind);
    put(r, "  ");
    put_endpoint(r, f->src, f->src_role);
    put(r, " -> ");
    put_endpoint(r, f->dst, f->dst_role);
    if (f->proto) {
        put(r, "  ");
        put_proto_port(r, f->proto, f->port);
    }
    put(r, "\n");
    text_field(r, "flows");
    put_count(r, f->count);
    if (f->syn_count) {
        put(r, " (");
        put_counted(r, f->syn_count, "SYN", "SYNs");
        put(r, ")");
    }
    put(r, "\n");
    if (f->first_ns || f->last_ns) {
        text_field(r, "seen");
        put_span(r, f->first_ns, f->last_ns);
        put(r, " UTC\n");
    }
    if (f->detail && f->detail[0]) {
        text_field(r, "detail");
        text_str(r, f->detail);
        put(r, "\n");
    }
    if (f->examples && f->examples[0]) {
        text_field(r, "examples");
        text_str(r, f->examples);
        put(r, "\n");
    }
    if (f->rule_file) {
        text_field(r, "rule");
        put_rule(r, f->rule_file, f->rule_line);
        if (f->rule_text) {
            put(r, "  ");
            text_str(r, f->rule_text);
        }
        put(r, "\n");
    }
    text_field(r, "message");
    text_str(r, f->message);
    put(r, "\n");
}

static const struct style text_style = {
    .measure = 1,
    .arrow = " -> ",
    .begin = text_begin,
    .end = text_end,
    .str = text_str,
    .heading = text_heading,
    .para = text_para,
    .items_begin = text_items_begin,
    .item = text_item,
    .item_line = text_item_line,
    .item_end = text_item_end,
    .items_end = text_items_end,
    .mark = text_mark,
    .table = text_table,
    .cell = text_cell,
    .row_end = text_row_end,
    .table_end = text_table_end,
    .finding = text_finding,
};

/* ---- markdown -------------------------------------------------------------- */

/* Punctuation that could start emphasis, code, a link, strike-through or
 * a table cell is escaped with a backslash; '<', '>' and '&' become
 * entities so no HTML tag or entity gets through.  A backslash shows
 * doubled, as in text, so that \xNN always means an escaped byte. */
static void md_str(struct report *r, const char *s)
{
    if (!s) {
        put(r, "-");
        return;
    }
    while (*s) {
        int n = shown_as_is(s);
        char esc[3] = {'\\', *s, '\0'};

        if (n == 0)
            put_hex(r, "\\\\x%02x", (unsigned char)*s++);
        else if (*s == '<')
            put(r, "&lt;"), s++;
        else if (*s == '>')
            put(r, "&gt;"), s++;
        else if (*s == '&')
            put(r, "&amp;"), s++;
        else if (*s == '\\')
            put(r, "\\\\\\\\"), s++; /* shows as two */
        else if (n == 1 && strchr("`*_[]|~#", *s))
            put(r, esc), s++;
        else
            put_n(r, s, (size_t)n, 1), s += n;
    }
}

static void md_begin(struct report *r)
{
    char buf[64];

    put(r, "# ");
    put(r, title(r, buf));
    put(r, "\n\n");
}

static void md_end(struct report *r)
{
    (void)r;
}

static void md_heading(struct report *r, const char *title)
{
    put(r, "## ");
    put(r, title);
    put(r, "\n\n");
}

static void md_para(struct report *r, const char *text)
{
    put(r, text);
    put(r, "\n\n");
}

static void md_items_begin(struct report *r)
{
    (void)r;
}

static void md_item(struct report *r, const char *label)
{
    put(r, "- **");
    put(r, label);
    put(r, ":** ");
}

/* Several lines make a nested list. */
static void md_item_line(struct report *r, int i)
{
    (void)i;
    put(r, "\n  - ");
}

static void md_item_end(struct report *r)
{
    put(r, "\n");
}

static void md_items_end(struct report *r)
{
    put(r, "\n");
}

static void md_mark(struct report *r, const char *cls, const char *s)
{
    (void)cls;
    put(r, "**");
    md_str(r, s);
    put(r, "**");
}

static void md_table(struct report *r, const char *const *cols)
{
    int n = 0;

    for (; cols[n]; n++) {
        put(r, n ? " | " : "| ");
        put(r, cols[n]);
    }
    put(r, " |\n");
    for (int i = 0; i < n; i++)
        put(r, "|---");
    put(r, "|\n");
    r->ncell = 0;
}

static void md_cell(struct report *r)
{
    put(r, r->ncell++ ? " | " : "| ");
}

static void md_row_end(struct report *r)
{
    put(r, " |\n");
    r->ncell = 0;
}

static void md_table_end(struct report *r)
{
    put(r, "\n");
}

static const struct style md_style = {
    .measure = 0,
    .arrow = " \xe2\x86\x92 ", /* U+2192 RIGHTWARDS ARROW */
    .begin = md_begin,
    .end = md_end,
    .str = md_str,
    .heading = md_heading,
    .para = md_para,
    .items_begin = md_items_begin,
    .item = md_item,
    .item_line = md_item_line,
    .item_end = md_item_end,
    .items_end = md_items_end,
    .mark = md_mark,
    .table = md_table,
    .cell = md_cell,
    .row_end = md_row_end,
    .table_end = md_table_end,
    .finding = NULL,
};

/* ---- html ------------------------------------------------------------------ */

/* The Content-Security-Policy forbids scripts and every fetch: even a
 * string that escaped escaping could neither run nor phone home. */
static const char html_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"color-scheme\" content=\"light\">\n"
    "<title>";

static const char html_css[] =
    "<style>\n"
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;"
    "color:#1a1a1a;background:#fff;margin:2em auto;max-width:1500px;padding:0 1em}\n"
    "h1{font-size:1.6em;margin:0 0 .6em}\n"
    "h2{font-size:1.25em;margin:1.8em 0 .4em;padding-bottom:.2em;border-bottom:2px solid #bbb}\n"
    "p{margin:.3em 0 .8em}\n"
    "table{border-collapse:collapse;width:100%;margin:.4em 0 1em}\n"
    "th,td{border:1px solid #c8c8c8;padding:.25em .5em;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}\n"
    "thead th{background:#eef0f3}\n"
    "table.summary{width:auto}\n"
    "table.summary th{background:#f6f7f9;white-space:nowrap}\n"
    "td{font-variant-numeric:tabular-nums}\n"
    ".esc{color:#a00000;font-family:ui-monospace,Menlo,Consolas,monospace}\n"
    ".mark{font-weight:600;padding:0 .35em;border-radius:3px;white-space:nowrap}\n"
    ".error,.failed{color:#8a1010;background:#fde4e4}\n"
    ".warning,.failing{color:#6e4a00;background:#fff0c8}\n"
    ".info,.unseen,.other{color:#1f3a5a;background:#e5eef8}\n"
    ".ok{color:#1d5a20;background:#e2f3e2}\n"
    "@media print{\n"
    "body{margin:0;max-width:none;font-size:9pt;color:#000;background:#fff}\n"
    "thead{display:table-header-group}\n"
    "tr,th,td{break-inside:avoid;page-break-inside:avoid}\n"
    "h2{break-after:avoid;page-break-after:avoid}\n"
    "thead th,table.summary th{background:#fff}\n"
    ".mark{color:#000;background:none;border:1px solid #000}\n"
    ".esc{color:#000}\n"
    "@page{size:landscape;margin:1cm}\n"
    "}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n";

/* Everything markup could take for its own is an entity; what must not
 * be shown as is becomes a marked \xNN, and a backslash shows doubled,
 * as in text, so that \xNN always means an escaped byte. */
static void html_str(struct report *r, const char *s)
{
    if (!s) {
        put(r, "-");
        return;
    }
    while (*s) {
        int n = shown_as_is(s);

        if (n == 0)
            put_hex(r, "<span class=\"esc\">\\x%02x</span>", (unsigned char)*s++);
        else if (*s == '&')
            put(r, "&amp;"), s++;
        else if (*s == '<')
            put(r, "&lt;"), s++;
        else if (*s == '>')
            put(r, "&gt;"), s++;
        else if (*s == '"')
            put(r, "&quot;"), s++;
        else if (*s == '\'')
            put(r, "&#39;"), s++;
        else if (*s == '\\')
            put(r, "\\\\"), s++;
        else
            put_n(r, s, (size_t)n, 1), s += n;
    }
}

static void html_begin(struct report *r)
{
    char buf[64];

    put(r, html_head);
    put(r, title(r, buf));
    put(r, "</title>\n");
    put(r, html_css);
    put(r, "<h1>");
    put(r, buf);
    put(r, "</h1>\n");
}

static void html_end(struct report *r)
{
    put(r, "</body>\n</html>\n");
}

static void html_heading(struct report *r, const char *title)
{
    put(r, "<h2>");
    put(r, title);
    put(r, "</h2>\n");
}

static void html_para(struct report *r, const char *text)
{
    put(r, "<p>");
    put(r, text);
    put(r, "</p>\n");
}

static void html_items_begin(struct report *r)
{
    put(r, "<table class=\"summary\"><tbody>\n");
}

static void html_item(struct report *r, const char *label)
{
    put(r, "<tr><th>");
    put(r, label);
    put(r, "</th><td>");
}

static void html_item_line(struct report *r, int i)
{
    if (i > 0)
        put(r, "<br>");
}

static void html_item_end(struct report *r)
{
    put(r, "</td></tr>\n");
}

static void html_items_end(struct report *r)
{
    put(r, "</tbody></table>\n");
}

/* cls is one of this file's class names, never stored text. */
static void html_mark(struct report *r, const char *cls, const char *s)
{
    put(r, "<span class=\"mark ");
    put(r, cls);
    put(r, "\">");
    html_str(r, s);
    put(r, "</span>");
}

static void html_table(struct report *r, const char *const *cols)
{
    put(r, "<table>\n<thead><tr>");
    for (int i = 0; cols[i]; i++) {
        put(r, "<th>");
        put(r, cols[i]);
        put(r, "</th>");
    }
    put(r, "</tr></thead>\n<tbody>\n");
    r->ncell = 0;
}

static void html_cell(struct report *r)
{
    put(r, r->ncell++ ? "</td><td>" : "<tr><td>");
}

static void html_row_end(struct report *r)
{
    put(r, "</td></tr>\n");
    r->ncell = 0;
}

static void html_table_end(struct report *r)
{
    put(r, "</tbody>\n</table>\n");
}

static const struct style html_style = {
    .measure = 0,
    .arrow = " &rarr; ",
    .begin = html_begin,
    .end = html_end,
    .str = html_str,
    .heading = html_heading,
    .para = html_para,
    .items_begin = html_items_begin,
    .item = html_item,
    .item_line = html_item_line,
    .item_end = html_item_end,
    .items_end = html_items_end,
    .mark = html_mark,
    .table = html_table,
    .cell = html_cell,
    .row_end = html_row_end,
    .table_end = html_table_end,
    .finding = NULL,
};

/* ---- pieces shared by the formats for people ------------------------------- */

/* A finding's role, or NULL for none: an empty role names nothing either,
 * and must not print as "()" or "". */
static const char *role_or_null(const char *role)
{
    return role && role[0] ? role : NULL;
}

/* "10.0.0.5 (frontend)", "frontend" without a host, "-" without either. */
static void put_endpoint(struct report *r, const char *host, const char *role)
{
    role = role_or_null(role);
    if (!host && !role) {
        put(r, "-");
        return;
    }
    if (host)
        r->st->str(r, host);
    if (host && role)
        put(r, " (");
    if (role)
        r->st->str(r, role);
    if (host && role)
        put(r, ")");
}

/* "tcp/1433", "icmp" without a port, "-" without a protocol. */
static void put_proto_port(struct report *r, const char *proto, int port)
{
    r->st->str(r, proto);
    if (proto && port >= 0) {
        put(r, "/");
        put_int(r, port);
    }
}

/* "FILE:LINE". */
static void put_rule(struct report *r, const char *file, int line)
{
    r->st->str(r, file);
    put(r, ":");
    put_int(r, line);
}

/* Visitors stop a walk at the first write error. */
static int write_failed(const struct report *r)
{
    return r->out && ferror(r->out);
}

/* Walks the runs the audit covered: none when its list is empty (the
 * store would take an empty list for every run). */
static int each_run(struct report *r, fa_run_visitor fn)
{
    if (!r->audit.runs || !r->audit.runs[0])
        return 0;
    return fa_store_each_run(r->store, r->audit.runs, fn, r, r->errbuf);
}

/* "#1 read a.pcap (sensor s1, filter tcp, flowaudit 0.1.0, unfinished)". */
static int summary_run(void *ctx, const struct fa_run_row *run)
{
    struct report *r = ctx;

    r->st->item_line(r, r->row++);
    put(r, "#");
    put_int(r, run->id);
    put(r, " ");
    r->st->str(r, run->mode);
    put(r, " ");
    r->st->str(r, run->source);
    put(r, " (sensor ");
    r->st->str(r, run->sensor);
    if (run->filter && run->filter[0]) {
        put(r, ", filter ");
        r->st->str(r, run->filter);
    }
    put(r, ", flowaudit ");
    r->st->str(r, run->version);
    if (!run->ended_ns)
        put(r, ", unfinished");
    put(r, ")");
    return write_failed(r);
}

/* Rule files are stored one a line: a path may hold spaces. */
static void summary_rule_files(struct report *r)
{
    const char *s = r->audit.sources;
    char *file;
    int n = 0;

    while ((file = next_item(r, &s, SOURCES_SEP)) != NULL) {
        put(r, n++ ? ", " : "");
        r->st->str(r, file);
        free(file);
    }
    if (n == 0)
        put(r, "none");
}

static void summary_audit(struct report *r)
{
    const struct style *st = r->st;

    st->item(r, "Audit");
    put_int(r, r->audit.id);
    put(r, ", made ");
    put_time(r, r->audit.created_ns);
    put(r, " UTC by flowaudit ");
    st->str(r, r->audit.version);
    put(r, ", fails on ");
    st->str(r, r->audit.fail_on);
    st->item_end(r);
    st->item(r, "Report");
    put(r, "flowaudit " FA_VERSION);
    st->item_end(r);
    st->item(r, "Rule files");
    summary_rule_files(r);
    st->item_end(r);
}

static void summary_traffic(struct report *r)
{
    const struct style *st = r->st;
    const struct totals *t = &r->t;

    st->item(r, "Time span");
    if (t->first_ns) {
        put_span(r, t->first_ns, t->last_ns);
        put(r, " UTC");
    } else {
        put(r, "no packet");
    }
    st->item_end(r);
    st->item(r, "Packets");
    put_count(r, t->packets);
    st->item_end(r);
    st->item(r, "Bytes");
    put_count(r, t->bytes);
    st->item_end(r);
    st->item(r, "Flows");
    put_count(r, t->flows);
    put(r, " recorded, ");
    put_count(r, r->audit.flows);
    put(r, " audited");
    st->item_end(r);
    st->item(r, "Dropped");
    if (t->live) {
        put_count(r, t->dropped);
        put(r, " by the kernel, ");
        put_count(r, t->if_dropped);
        put(r, " by the interface, of ");
        put_count(r, t->received);
        put(r, " received");
    } else {
        put(r, "not measured (no live capture)");
    }
    st->item_end(r);
    st->item(r, "Decode errors");
    put_count(r, t->decode_errors);
    st->item_end(r);
    st->item(r, "Evicted flows");
    put_count(r, t->evicted);
    st->item_end(r);
}

static void summary_counts(struct report *r)
{
    const struct style *st = r->st;
    const uint64_t *sev = r->t.by_severity;

    st->item(r, "Findings");
    put_counted(r, sev[FA_SEV_ERROR], "error", "errors");
    put(r, ", ");
    put_counted(r, sev[FA_SEV_WARNING], "warning", "warnings");
    put(r, ", ");
    put_count(r, sev[FA_SEV_INFO]);
    put(r, " info");
    st->item_end(r);
    st->item(r, "Requirements");
    for (int i = 0; i < NSTATUS; i++) {
        put(r, i ? ", " : "");
        put_count(r, r->t.by_status[i]);
        put(r, " ");
        put(r, status_names[i]);
    }
    if (r->t.by_status[NSTATUS]) {
        put(r, ", ");
        put_count(r, r->t.by_status[NSTATUS]);
        put(r, " other");
    }
    st->item_end(r);
}

static int human_summary(struct report *r)
{
    r->st->heading(r, "Summary");
    r->st->items_begin(r);
    summary_audit(r);
    r->st->item(r, "Runs");
    r->row = 0;
    if (each_run(r, summary_run) < 0)
        return -1;
    if (r->row == 0)
        put(r, "none");
    r->st->item_end(r);
    summary_traffic(r);
    summary_counts(r);
    r->st->items_end(r);
    return 0;
}

/* ---- requirements ---------------------------------------------------------- */

static const char *const requirement_cols[] = {
    "Status",          "Rule",     "Roles",    "Protocol/ports",
    "Purpose",         "Attempts", "Failures", "First seen (UTC)",
    "Last seen (UTC)", "Message",  NULL,
};

static int requirement_row(void *ctx, const struct fa_requirement *q)
{
    struct report *r = ctx;
    const struct style *st = r->st;

    st->cell(r);
    st->mark(r, status_classes[status_index(q->status)], q->status);
    st->cell(r);
    put_rule(r, q->rule_file, q->rule_line);
    st->cell(r);
    st->str(r, q->src_role);
    put(r, st->arrow);
    st->str(r, q->dst_role);
    st->cell(r);
    st->str(r, q->proto);
    if (q->ports && q->ports[0]) {
        put(r, "/");
        st->str(r, q->ports);
    }
    st->cell(r);
    st->str(r, q->purpose);
    st->cell(r);
    put_count(r, q->attempts);
    st->cell(r);
    put_count(r, q->failures);
    st->cell(r);
    put_time(r, q->first_ns);
    st->cell(r);
    put_time(r, q->last_ns);
    st->cell(r);
    st->str(r, q->message);
    st->row_end(r);
    return write_failed(r);
}

/* Formats that align columns walk the table once unseen, to size them. */
static int measure_requirements(struct report *r)
{
    FILE *out = r->out;
    int rc;

    memset(r->widths, 0, sizeof r->widths);
    r->out = NULL;
    r->st->table(r, requirement_cols);
    rc = fa_store_each_requirement(r->store, r->audit.id, requirement_row, r, r->errbuf);
    r->out = out;
    return rc;
}

static int human_requirements(struct report *r)
{
    if (r->st->measure && measure_requirements(r) < 0)
        return -1;
    r->st->heading(r, "Requirements");
    if (r->t.requirements == 0) {
        r->st->para(r, "None: the rule files require nothing.");
        return 0;
    }
    r->st->table(r, requirement_cols);
    if (fa_store_each_requirement(r->store, r->audit.id, requirement_row, r, r->errbuf) < 0)
        return -1;
    r->st->table_end(r);
    return 0;
}

/* ---- findings -------------------------------------------------------------- */

static const char *const finding_cols[] = {
    "Severity",        "Kind",   "Source",   "Destination",
    "Protocol/port",   "Flows",  "SYNs",     "First seen (UTC)",
    "Last seen (UTC)", "Detail", "Examples", "Rule",
    "Message",         NULL,
};

static const char *const severity_classes[] = {
    [FA_SEV_INFO] = "info",
    [FA_SEV_WARNING] = "warning",
    [FA_SEV_ERROR] = "error",
};

static void finding_row(struct report *r, const struct fa_finding *f)
{
    const struct style *st = r->st;
    const char *sev = fa_severity_name(f->severity);

    st->cell(r);
    st->mark(r, (unsigned)f->severity <= FA_SEV_ERROR ? severity_classes[f->severity] : "other",
             sev);
    st->cell(r);
    st->str(r, f->kind);
    st->cell(r);
    put_endpoint(r, f->src, f->src_role);
    st->cell(r);
    put_endpoint(r, f->dst, f->dst_role);
    st->cell(r);
    put_proto_port(r, f->proto, f->port);
    st->cell(r);
    put_count(r, f->count);
    st->cell(r);
    put_count(r, f->syn_count);
    st->cell(r);
    put_time(r, f->first_ns);
    st->cell(r);
    put_time(r, f->last_ns);
    st->cell(r);
    st->str(r, f->detail && f->detail[0] ? f->detail : NULL);
    st->cell(r);
    st->str(r, f->examples && f->examples[0] ? f->examples : NULL);
    st->cell(r);
    if (f->rule_file) {
        put_rule(r, f->rule_file, f->rule_line);
        if (f->rule_text) {
            put(r, ": ");
            st->str(r, f->rule_text);
        }
    } else {
        put(r, "-");
    }
    st->cell(r);
    st->str(r, f->message);
    st->row_end(r);
}

static int human_finding(void *ctx, const struct fa_finding *f)
{
    struct report *r = ctx;

    if (section_of(f->kind) != r->section)
        return 0;
    if (r->st->finding)
        r->st->finding(r, f);
    else
        finding_row(r, f);
    return write_failed(r);
}

static int human_section(struct report *r, enum section sec)
{
    const struct style *st = r->st;
    int table = !st->finding;

    st->heading(r, section_titles[sec]);
    if (r->t.by_section[sec] == 0) {
        st->para(r, "None.");
        return 0;
    }
    st->para(r, section_intros[sec]);
    r->section = sec;
    r->row = 0;
    if (table)
        st->table(r, finding_cols);
    else
        put(r, "\n");
    if (fa_store_each_finding(r->store, r->audit.id, human_finding, r, r->errbuf) < 0)
        return -1;
    if (table)
        st->table_end(r);
    return 0;
}

static int write_human(struct report *r)
{
    /* What failed comes first: it is what the reader came for. */
    r->st->begin(r);
    if (human_summary(r) < 0 || human_section(r, SEC_FAILURES) < 0 || human_requirements(r) < 0 ||
        human_section(r, SEC_UNEXPECTED) < 0 || human_section(r, SEC_INFORMATION) < 0)
        return -1;
    r->st->end(r);
    return 0;
}

/* ---- json ------------------------------------------------------------------ */

static void json_time(struct fa_json *j, const char *key, int64_t ns)
{
    if (ns)
        fa_json_secs(j, key, fa_ns_to_us(ns));
    else
        fa_json_null(j, key);
}

/* "rule": "FILE:LINE", "rule_file", "rule_line"; nulls without a file. */
static void json_rule(struct report *r, const char *file, int line)
{
    char *text = NULL;

    if (file && asprintf(&text, "%s:%d", file, line) < 0) {
        text = NULL;
        r->oom = 1;
    }
    fa_json_str(&r->json, "rule", text);
    free(text);
    fa_json_str(&r->json, "rule_file", file);
    if (file)
        fa_json_int(&r->json, "rule_line", line);
    else
        fa_json_null(&r->json, "rule_line");
}

/* The items of a list separated by sep, as an array of strings. */
static void json_list(struct report *r, const char *key, const char *s, char sep)
{
    char *item;

    fa_json_begin_array(&r->json, key, 0);
    while ((item = next_item(r, &s, sep)) != NULL) {
        fa_json_str(&r->json, NULL, item);
        free(item);
    }
    fa_json_end(&r->json);
}

static void json_pcap_count(struct fa_json *j, const char *key, int live, uint64_t v)
{
    if (live)
        fa_json_uint(j, key, v);
    else
        fa_json_null(j, key);
}

static int json_run(void *ctx, const struct fa_run_row *run)
{
    struct report *r = ctx;
    struct fa_json *j = &r->json;

    fa_json_begin_object(j, NULL, 0);
    fa_json_int(j, "id", run->id);
    fa_json_str(j, "mode", run->mode);
    fa_json_str(j, "source", run->source);
    fa_json_str(j, "filter", run->filter);
    fa_json_str(j, "sensor", run->sensor);
    fa_json_str(j, "version", run->version);
    json_time(j, "started", run->started_ns);
    json_time(j, "ended", run->ended_ns);
    json_time(j, "first_packet", run->first_packet_ns);
    json_time(j, "last_packet", run->last_packet_ns);
    fa_json_uint(j, "packets", run->packets);
    fa_json_uint(j, "bytes", run->bytes);
    fa_json_uint(j, "flows", run->flows);
    fa_json_uint(j, "evicted", run->evicted);
    fa_json_uint(j, "orphan_fragments", run->orphan_fragments);
    fa_json_uint(j, "decode_errors", run->decode_errors);
    json_pcap_count(j, "received", run->has_pcap_stats, run->received);
    json_pcap_count(j, "dropped", run->has_pcap_stats, run->dropped);
    json_pcap_count(j, "if_dropped", run->has_pcap_stats, run->if_dropped);
    fa_json_end(j);
    return write_failed(r);
}

static void json_counts(struct report *r)
{
    struct fa_json *j = &r->json;
    const struct totals *t = &r->t;

    fa_json_begin_object(j, "findings_by_severity", 0);
    for (int sev = FA_SEV_ERROR; sev >= FA_SEV_INFO; sev--)
        fa_json_uint(j, fa_severity_name((enum fa_severity)sev), t->by_severity[sev]);
    fa_json_end(j);
    fa_json_begin_object(j, "requirements_by_status", 0);
    for (int i = 0; i < NSTATUS; i++)
        fa_json_uint(j, status_names[i], t->by_status[i]);
    fa_json_end(j);
}

static int json_summary(struct report *r)
{
    struct fa_json *j = &r->json;
    const struct totals *t = &r->t;

    fa_json_begin_object(j, "summary", 1);
    fa_json_int(j, "audit_id", r->audit.id);
    json_time(j, "created", r->audit.created_ns);
    fa_json_str(j, "version", r->audit.version);
    fa_json_str(j, "report_version", FA_VERSION);
    fa_json_str(j, "fail_on", r->audit.fail_on);
    json_list(r, "rule_files", r->audit.sources, SOURCES_SEP);
    fa_json_begin_array(j, "runs", 1);
    if (each_run(r, json_run) < 0)
        return -1;
    fa_json_end(j);
    json_time(j, "first_packet", t->first_ns);
    json_time(j, "last_packet", t->last_ns);
    fa_json_uint(j, "packets", t->packets);
    fa_json_uint(j, "bytes", t->bytes);
    fa_json_uint(j, "flows", t->flows);
    fa_json_uint(j, "flows_audited", r->audit.flows);
    fa_json_uint(j, "decode_errors", t->decode_errors);
    fa_json_uint(j, "evicted", t->evicted);
    fa_json_uint(j, "orphan_fragments", t->orphan_fragments);
    json_pcap_count(j, "received", t->live, t->received);
    json_pcap_count(j, "dropped", t->live, t->dropped);
    json_pcap_count(j, "if_dropped", t->live, t->if_dropped);
    json_counts(r);
    fa_json_end(j);
    return 0;
}

static int json_requirement(void *ctx, const struct fa_requirement *q)
{
    struct report *r = ctx;
    struct fa_json *j = &r->json;

    fa_json_begin_object(j, NULL, 0);
    json_rule(r, q->rule_file, q->rule_line);
    fa_json_str(j, "rule_text", q->rule_text);
    fa_json_str(j, "status", q->status);
    fa_json_str(j, "purpose", q->purpose);
    fa_json_str(j, "src_role", q->src_role);
    fa_json_str(j, "dst_role", q->dst_role);
    fa_json_str(j, "proto", q->proto);
    fa_json_str(j, "ports", q->ports);
    fa_json_uint(j, "attempts", q->attempts);
    fa_json_uint(j, "failures", q->failures);
    json_time(j, "first_seen", q->first_ns);
    json_time(j, "last_seen", q->last_ns);
    fa_json_str(j, "message", q->message);
    fa_json_end(j);
    return write_failed(r);
}

static int json_finding(void *ctx, const struct fa_finding *f)
{
    struct report *r = ctx;
    struct fa_json *j = &r->json;

    fa_json_begin_object(j, NULL, 0);
    fa_json_str(j, "kind", f->kind);
    fa_json_str(j, "severity", fa_severity_name(f->severity));
    fa_json_str(j, "section", section_names[section_of(f->kind)]);
    json_rule(r, f->rule_file, f->rule_line);
    fa_json_str(j, "rule_text", f->rule_text);
    fa_json_str(j, "src", f->src);
    fa_json_str(j, "src_role", role_or_null(f->src_role));
    fa_json_str(j, "dst", f->dst);
    fa_json_str(j, "dst_role", role_or_null(f->dst_role));
    fa_json_str(j, "proto", f->proto);
    if (f->port >= 0)
        fa_json_int(j, "port", f->port);
    else
        fa_json_null(j, "port");
    fa_json_uint(j, "count", f->count);
    fa_json_uint(j, "syn_count", f->syn_count);
    json_time(j, "first_seen", f->first_ns);
    json_time(j, "last_seen", f->last_ns);
    fa_json_str(j, "detail", f->detail);
    json_list(r, "examples", f->examples, EXAMPLES_SEP);
    fa_json_str(j, "message", f->message);
    fa_json_end(j);
    return write_failed(r);
}

static int write_json(struct report *r)
{
    struct fa_json *j = &r->json;

    fa_json_init(j, r->out);
    fa_json_begin_object(j, NULL, 1);
    if (json_summary(r) < 0)
        return -1;
    fa_json_begin_array(j, "requirements", 1);
    if (fa_store_each_requirement(r->store, r->audit.id, json_requirement, r, r->errbuf) < 0)
        return -1;
    fa_json_end(j);
    fa_json_begin_array(j, "findings", 1);
    if (fa_store_each_finding(r->store, r->audit.id, json_finding, r, r->errbuf) < 0)
        return -1;
    fa_json_end(j);
    fa_json_end(j);
    putc('\n', r->out);
    return 0;
}

/* ---- gathering --------------------------------------------------------------- */

static int copy_audit(void *ctx, const struct fa_audit_info *a)
{
    struct report *r = ctx;
    struct audit_copy *c = &r->audit;

    c->id = a->id;
    c->created_ns = a->created_ns;
    c->flows = a->flows;
    c->version = strdup(a->version ? a->version : "");
    c->sources = strdup(a->sources ? a->sources : "");
    c->runs = strdup(a->runs ? a->runs : "");
    c->fail_on = strdup(a->fail_on ? a->fail_on : "");
    if (!c->version || !c->sources || !c->runs || !c->fail_on)
        r->oom = 1;
    return 0;
}

static void free_audit(struct audit_copy *c)
{
    free(c->version);
    free(c->sources);
    free(c->runs);
    free(c->fail_on);
}

static int count_run(void *ctx, const struct fa_run_row *run)
{
    struct totals *t = &((struct report *)ctx)->t;

    if (run->first_packet_ns && (!t->first_ns || run->first_packet_ns < t->first_ns))
        t->first_ns = run->first_packet_ns;
    if (run->last_packet_ns > t->last_ns)
        t->last_ns = run->last_packet_ns;
    t->packets += run->packets;
    t->bytes += run->bytes;
    t->flows += run->flows;
    t->evicted += run->evicted;
    t->orphan_fragments += run->orphan_fragments;
    t->decode_errors += run->decode_errors;
    if (run->has_pcap_stats) {
        t->live = 1;
        t->received += run->received;
        t->dropped += run->dropped;
        t->if_dropped += run->if_dropped;
    }
    return 0;
}

static int count_requirement(void *ctx, const struct fa_requirement *q)
{
    struct totals *t = &((struct report *)ctx)->t;

    t->requirements++;
    t->by_status[status_index(q->status)]++;
    return 0;
}

static int count_finding(void *ctx, const struct fa_finding *f)
{
    struct totals *t = &((struct report *)ctx)->t;

    if ((unsigned)f->severity <= FA_SEV_ERROR)
        t->by_severity[f->severity]++;
    t->by_section[section_of(f->kind)]++;
    return 0;
}

/* The counts the summary opens with, before anything is written. */
static int gather(struct report *r)
{
    if (fa_store_get_audit(r->store, r->audit.id, copy_audit, r, r->errbuf) < 0)
        return -1;
    if (r->oom) {
        snprintf(r->errbuf, FA_STORE_ERRBUF_SIZE, "out of memory");
        return -1;
    }
    if (each_run(r, count_run) < 0 ||
        fa_store_each_requirement(r->store, r->audit.id, count_requirement, r, r->errbuf) < 0 ||
        fa_store_each_finding(r->store, r->audit.id, count_finding, r, r->errbuf) < 0)
        return -1;
    return 0;
}

/* ---- entry points ------------------------------------------------------------ */

static const char *const format_names[] = {
    [FA_REPORT_TEXT] = "text",
    [FA_REPORT_MARKDOWN] = "markdown",
    [FA_REPORT_HTML] = "html",
    [FA_REPORT_JSON] = "json",
};

static const struct style *const styles[] = {
    [FA_REPORT_TEXT] = &text_style,
    [FA_REPORT_MARKDOWN] = &md_style,
    [FA_REPORT_HTML] = &html_style,
    [FA_REPORT_JSON] = NULL,
};

int fa_report_format_parse(const char *name)
{
    for (size_t i = 0; i < sizeof format_names / sizeof *format_names; i++)
        if (name && strcmp(name, format_names[i]) == 0)
            return (int)i;
    return -1;
}

int fa_report_write(struct fa_store *s, int64_t audit_id, enum fa_report_format fmt, FILE *out,
                    char *errbuf)
{
    struct report r = {.store = s, .out = out, .errbuf = errbuf, .audit.id = audit_id};
    int rc;

    if ((unsigned)fmt >= sizeof format_names / sizeof *format_names) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "unknown report format %d", (int)fmt);
        return -1;
    }
    r.st = styles[fmt];
    rc = gather(&r);
    if (rc == 0)
        rc = r.st ? write_human(&r) : write_json(&r);
    free_audit(&r.audit);
    if (rc < 0)
        return -1;
    if (r.oom) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory");
        return -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "cannot write the report: %s", strerror(errno));
        return -1;
    }
    return 0;
}
