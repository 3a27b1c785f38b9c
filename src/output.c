/*
 * output.c - print stored flows: a table for people, JSON and CSV named by
 * the schema's columns, and Zeek's conn.log as TSV or JSON lines.
 *
 * Invariants:
 *   - output streams: each flow is printed as the store hands it over, so
 *     memory does not grow with the number of flows;
 *   - numbers are printed from integers, never through a float format:
 *     times are microseconds (fa_ns_to_us()) written as seconds with
 *     exactly 6 decimals, so one database always prints the same bytes;
 *   - a duration is last_seen minus first_seen as printed, so the three
 *     always agree;
 *   - the conn.log's #open and #close come from the data (the first flow's
 *     ts and the latest last_seen), not the wall clock, so a log can be
 *     reproduced; only a log without flows takes the current time;
 *   - whatever bytes a stored string holds, JSON stays valid and a TSV
 *     field never holds a tab or newline.
 */
#include "output.h"

#include "appproto.h"
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct emitter;

struct format {
    /* first is NULL when no flow matched. */
    void (*head)(struct emitter *e, const struct fa_stored_flow *first);
    void (*row)(struct emitter *e, const struct fa_stored_flow *flow);
    void (*tail)(struct emitter *e);
};

struct emitter {
    FILE *out;
    const struct format *format;
    uint64_t count;
    int64_t latest_ns;   /* the largest last_seen, for the conn.log's #close */
    struct fa_json json; /* the array of --format json */
};

static const char *const format_names[] = {
    [FA_FORMAT_TABLE] = "table", [FA_FORMAT_JSON] = "json",   [FA_FORMAT_CSV] = "csv",
    [FA_FORMAT_ZEEK] = "zeek",   [FA_FORMAT_JSONL] = "jsonl",
};

int fa_format_parse(const char *name)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcmp(name, format_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *fa_proto_zeek_name(int proto)
{
    switch (proto) {
    case FA_PROTO_TCP:
        return "tcp";
    case FA_PROTO_UDP:
        return "udp";
    case FA_PROTO_ICMP:
    case FA_PROTO_ICMPV6:
        return "icmp";
    default:
        return "unknown_transport";
    }
}

static int64_t duration_us(const struct fa_flow_record *r)
{
    return fa_ns_to_us(r->last_ns) - fa_ns_to_us(r->first_ns);
}

/* strftime() of the UTC second containing ns; with_us appends ".ffffff". */
static const char *utc_str(int64_t ns, const char *fmt, int with_us, char *buf, size_t size)
{
    int64_t us = fa_ns_to_us(ns), frac = us % 1000000;
    time_t secs = (time_t)(us / 1000000 - (frac < 0));
    struct tm tm;
    size_t n;

    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof tm);
    n = strftime(buf, size, fmt, &tm);
    if (with_us)
        snprintf(buf + n, size - n, ".%06d", (int)(frac < 0 ? frac + 1000000 : frac));
    return buf;
}

/* "192.0.2.1:80" or "[2001:db8::1]:80". */
static const char *endpoint_str(const struct fa_addr *a, unsigned port, char *buf, size_t size)
{
    char host[FA_ADDR_STRLEN];

    snprintf(buf, size, fa_addr_is_v4(a) ? "%s:%u" : "[%s]:%u", fa_addr_str(a, host), port);
    return buf;
}

/* The app_proto name, NULL when the flow was not named. */
static const char *app_name(const struct fa_flow_record *r)
{
    const char *name = fa_app_name((enum fa_app)r->app_proto);

    return name[0] ? name : NULL;
}

/* ---- table ---------------------------------------------------------------- */

/* The app column's width comes before its value. */
#define TABLE_APP_WIDTH 30
#define TABLE_LINE "%-26s  %-5s  %-46s  %-6s  %-10s  %11s  %17s  %3s  %9s  %-*s  %s\n"

static void table_head(struct emitter *e, const struct fa_stored_flow *first)
{
    (void)first;
    fprintf(e->out, TABLE_LINE, "first_seen (UTC)", "proto", "orig -> resp", "state", "history",
            "pkts o/r", "bytes o/r", "syn", "synack ms", TABLE_APP_WIDTH, "app", "icmp error");
}

/* "tls apps.example.com", "ssh", or "-".  The name is the one the flow
 * sent (server_name), or failing that the one DNS answers gave its
 * responder (dns_name): one column says what the server is called either
 * way, and csv and json tell them apart.  A name too long for the column
 * keeps its start, where the host is named, and ends in "..."; csv and
 * json have it whole. */
static const char *table_app(const struct fa_flow_record *r, char *buf, size_t size)
{
    const char *app = app_name(r);
    const char *name = r->server_name[0] ? r->server_name : r->dns_name;

    if (!app && !name[0])
        return "-";
    snprintf(buf, size, "%s%s%.*s", app ? app : "", app && name[0] ? " " : "", TABLE_APP_WIDTH + 1,
             name);
    if (strlen(buf) > TABLE_APP_WIDTH)
        memcpy(buf + TABLE_APP_WIDTH - 3, "...", 4);
    return buf;
}

/* The table is read on a terminal, and its text comes from a database
 * file, which need not be one flowaudit wrote: a byte that could move the
 * cursor or start an escape sequence is shown as '?'. */
static void put_visible(FILE *out, const char *line)
{
    for (const unsigned char *c = (const unsigned char *)line; *c; c++)
        putc(*c == '\n' || (*c >= 0x20 && *c < 0x7f) ? *c : '?', out);
}

static void table_row(struct emitter *e, const struct fa_stored_flow *f)
{
    const struct fa_flow_record *r = &f->rec;
    char when[40], proto[FA_PROTO_STRLEN], orig[64], resp[64], ends[136], pkts[48], bytes[48],
        syn[16];
    char hs[32] = "-", icmp[96] = "-", from[FA_ADDR_STRLEN], app[TABLE_APP_WIDTH + 16];
    char line[1024];

    endpoint_str(&r->orig_h, r->orig_p, orig, sizeof orig);
    endpoint_str(&r->resp_h, r->resp_p, resp, sizeof resp);
    snprintf(ends, sizeof ends, "%s -> %s", orig, resp);
    snprintf(pkts, sizeof pkts, "%" PRIu64 "/%" PRIu64, r->orig_pkts, r->resp_pkts);
    snprintf(bytes, sizeof bytes, "%" PRIu64 "/%" PRIu64, r->orig_bytes, r->resp_bytes);
    snprintf(syn, sizeof syn, "%" PRIu32, r->syn_count);
    if (r->syn_to_synack_ns >= 0) {
        int64_t us = fa_ns_to_us(r->syn_to_synack_ns);
        snprintf(hs, sizeof hs, "%" PRId64 ".%03d", us / 1000, (int)(us % 1000));
    }
    if (r->has_icmp_error)
        snprintf(icmp, sizeof icmp, "%s %u/%u from %s", r->icmp_error_v6 ? "icmp6" : "icmp",
                 r->icmp_error_type, r->icmp_error_code, fa_addr_str(&r->icmp_error_from, from));
    snprintf(line, sizeof line, TABLE_LINE,
             utc_str(r->first_ns, "%Y-%m-%d %H:%M:%S", 1, when, sizeof when),
             fa_proto_name(r->proto, proto), ends, r->conn_state, r->history[0] ? r->history : "-",
             pkts, bytes, syn, hs, TABLE_APP_WIDTH, table_app(r, app, sizeof app), icmp);
    put_visible(e->out, line);
}

static void no_tail(struct emitter *e)
{
    (void)e;
}

/* Zeek's conn.log names the service by the analyzer that took the flow:
 * its TLS analyzer is "ssl", and http, dns, ssh and smtp are named as here.
 * Zeek's base scripts have no tds, tns or amqp analyzer; those keep the
 * names flowaudit gives them, lower case as Zeek's are.  NULL when the
 * flow was not named. */
static const char *zeek_service(const struct fa_flow_record *r)
{
    return r->app_proto == FA_APP_TLS ? "ssl" : app_name(r);
}

/* ---- JSON (json.c writes the values) ------------------------------------ */

/* "null" when the time is unset (negative), as the schema stores it. */
static void json_secs_or_null(struct fa_json *j, const char *key, int64_t ns)
{
    if (ns >= 0)
        fa_json_secs(j, key, fa_ns_to_us(ns));
    else
        fa_json_null(j, key);
}

static void json_icmp_error(struct fa_json *j, const struct fa_flow_record *r)
{
    char from[FA_ADDR_STRLEN];

    if (!r->has_icmp_error) {
        fa_json_null(j, "icmp_error");
        return;
    }
    fa_json_begin_object(j, "icmp_error", 0);
    fa_json_uint(j, "type", r->icmp_error_type);
    fa_json_uint(j, "code", r->icmp_error_code);
    fa_json_bool(j, "v6", r->icmp_error_v6);
    fa_json_str(j, "from", fa_addr_str(&r->icmp_error_from, from));
    fa_json_end(j);
}

/* "null" when the string is unset (NULL or ""), as the schema stores it. */
static void json_str_or_null(struct fa_json *j, const char *key, const char *value)
{
    if (value && value[0])
        fa_json_str(j, key, value);
    else
        fa_json_null(j, key);
}

static void json_flow(struct fa_json *j, const struct fa_stored_flow *f)
{
    const struct fa_flow_record *r = &f->rec;
    char host[FA_ADDR_STRLEN], proto[FA_PROTO_STRLEN];
    const char *end = fa_store_end_name(r->end);

    fa_json_begin_object(j, NULL, 0);
    fa_json_str(j, "uid", f->uid);
    fa_json_uint(j, "run_id", (uint64_t)f->run_id);
    fa_json_uint(j, "seq", r->seq);
    fa_json_uint(j, "ip_version", r->ip_version);
    fa_json_uint(j, "proto", r->proto);
    fa_json_str(j, "proto_name", fa_proto_name(r->proto, proto));
    fa_json_str(j, "orig_h", fa_addr_str(&r->orig_h, host));
    fa_json_uint(j, "orig_p", r->orig_p);
    fa_json_str(j, "resp_h", fa_addr_str(&r->resp_h, host));
    fa_json_uint(j, "resp_p", r->resp_p);
    fa_json_secs(j, "first_seen", fa_ns_to_us(r->first_ns));
    fa_json_secs(j, "last_seen", fa_ns_to_us(r->last_ns));
    fa_json_secs(j, "duration", duration_us(r));
    fa_json_uint(j, "orig_pkts", r->orig_pkts);
    fa_json_uint(j, "orig_ip_bytes", r->orig_ip_bytes);
    fa_json_uint(j, "orig_bytes", r->orig_bytes);
    fa_json_uint(j, "resp_pkts", r->resp_pkts);
    fa_json_uint(j, "resp_ip_bytes", r->resp_ip_bytes);
    fa_json_uint(j, "resp_bytes", r->resp_bytes);
    fa_json_str(j, "conn_state", r->conn_state);
    fa_json_str(j, "history", r->history);
    fa_json_uint(j, "syn_count", r->syn_count);
    json_secs_or_null(j, "syn_to_synack", r->syn_to_synack_ns);
    json_secs_or_null(j, "synack_to_ack", r->synack_to_ack_ns);
    json_icmp_error(j, r);
    fa_json_str(j, "end_reason", end ? end : "");
    json_str_or_null(j, "app_proto", app_name(r));
    json_str_or_null(j, "server_name", r->server_name);
    json_str_or_null(j, "tls_version", fa_store_tls_version_name(r->tls_version));
    json_str_or_null(j, "dns_name", r->dns_name);
    fa_json_end(j);
}

/* One array, a flow a line. */
static void json_head(struct emitter *e, const struct fa_stored_flow *first)
{
    (void)first;
    fa_json_init(&e->json, e->out);
    fa_json_begin_array(&e->json, NULL, 1);
}

static void json_row(struct emitter *e, const struct fa_stored_flow *f)
{
    json_flow(&e->json, f);
}

static void json_tail(struct emitter *e)
{
    fa_json_end(&e->json);
    putc('\n', e->out);
}

/* Zeek's JSON logs leave unset fields out: local_orig and local_resp
 * always; service when the flow was not named; duration and the byte
 * counts when the duration is 0; history when it is empty. */
static void jsonl_row(struct emitter *e, const struct fa_stored_flow *f)
{
    const struct fa_flow_record *r = &f->rec;
    struct fa_json j;
    char host[FA_ADDR_STRLEN];
    int64_t dur = duration_us(r);
    const char *service = zeek_service(r);

    fa_json_init(&j, e->out);
    fa_json_begin_object(&j, NULL, 0);
    fa_json_secs(&j, "ts", fa_ns_to_us(r->first_ns));
    fa_json_str(&j, "uid", f->uid);
    fa_json_str(&j, "id.orig_h", fa_addr_str(&r->orig_h, host));
    fa_json_uint(&j, "id.orig_p", r->orig_p);
    fa_json_str(&j, "id.resp_h", fa_addr_str(&r->resp_h, host));
    fa_json_uint(&j, "id.resp_p", r->resp_p);
    fa_json_str(&j, "proto", fa_proto_zeek_name(r->proto));
    if (service)
        fa_json_str(&j, "service", service);
    if (dur != 0) {
        fa_json_secs(&j, "duration", dur);
        fa_json_uint(&j, "orig_bytes", r->orig_bytes);
        fa_json_uint(&j, "resp_bytes", r->resp_bytes);
    }
    fa_json_str(&j, "conn_state", r->conn_state);
    fa_json_uint(&j, "missed_bytes", 0);
    if (r->history[0])
        fa_json_str(&j, "history", r->history);
    fa_json_uint(&j, "orig_pkts", r->orig_pkts);
    fa_json_uint(&j, "orig_ip_bytes", r->orig_ip_bytes);
    fa_json_uint(&j, "resp_pkts", r->resp_pkts);
    fa_json_uint(&j, "resp_ip_bytes", r->resp_ip_bytes);
    fa_json_end(&j);
    putc('\n', e->out);
}

static void jsonl_head(struct emitter *e, const struct fa_stored_flow *first)
{
    (void)e;
    (void)first;
}

/* ---- CSV (RFC 4180: CRLF line ends, quotes only where needed) ------------- */

static const char *const csv_columns[] = {
    "uid",
    "run_id",
    "seq",
    "ip_version",
    "proto",
    "proto_name",
    "orig_h",
    "orig_p",
    "resp_h",
    "resp_p",
    "first_seen",
    "last_seen",
    "duration",
    "orig_pkts",
    "orig_ip_bytes",
    "orig_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "resp_bytes",
    "conn_state",
    "history",
    "syn_count",
    "syn_to_synack",
    "synack_to_ack",
    "icmp_error_type",
    "icmp_error_code",
    "icmp_error_v6",
    "icmp_error_from",
    "end_reason",
    "app_proto",
    "server_name",
    "tls_version",
    "dns_name",
};

struct csv_row {
    FILE *out;
    int cells;
};

static void csv_cell(struct csv_row *w, const char *value)
{
    if (w->cells++)
        putc(',', w->out);
    if (!strpbrk(value, ",\"\r\n")) {
        fputs(value, w->out);
        return;
    }
    putc('"', w->out);
    for (const char *c = value; *c; c++) {
        if (*c == '"')
            putc('"', w->out);
        putc(*c, w->out);
    }
    putc('"', w->out);
}

static void csv_uint(struct csv_row *w, uint64_t value)
{
    char buf[24];

    snprintf(buf, sizeof buf, "%" PRIu64, value);
    csv_cell(w, buf);
}

static void csv_secs_or_empty(struct csv_row *w, int64_t ns)
{
    char buf[FA_SECS_STRLEN];

    csv_cell(w, ns >= 0 ? fa_secs_str(fa_ns_to_us(ns), buf) : "");
}

static void csv_end(struct csv_row *w)
{
    fputs("\r\n", w->out);
}

static void csv_head(struct emitter *e, const struct fa_stored_flow *first)
{
    struct csv_row w = {e->out, 0};

    (void)first;
    for (size_t i = 0; i < sizeof csv_columns / sizeof csv_columns[0]; i++)
        csv_cell(&w, csv_columns[i]);
    csv_end(&w);
}

static void csv_icmp_error(struct csv_row *w, const struct fa_flow_record *r)
{
    char from[FA_ADDR_STRLEN];

    if (!r->has_icmp_error) {
        for (int i = 0; i < 4; i++)
            csv_cell(w, "");
        return;
    }
    csv_uint(w, r->icmp_error_type);
    csv_uint(w, r->icmp_error_code);
    csv_uint(w, r->icmp_error_v6 != 0);
    csv_cell(w, fa_addr_str(&r->icmp_error_from, from));
}

/* Cells in csv_columns order. */
static void csv_row(struct emitter *e, const struct fa_stored_flow *f)
{
    const struct fa_flow_record *r = &f->rec;
    struct csv_row w = {e->out, 0};
    char host[FA_ADDR_STRLEN], proto[FA_PROTO_STRLEN], secs[FA_SECS_STRLEN];
    const char *end = fa_store_end_name(r->end), *app = app_name(r);
    const char *tls = fa_store_tls_version_name(r->tls_version);

    csv_cell(&w, f->uid);
    csv_uint(&w, (uint64_t)f->run_id);
    csv_uint(&w, r->seq);
    csv_uint(&w, r->ip_version);
    csv_uint(&w, r->proto);
    csv_cell(&w, fa_proto_name(r->proto, proto));
    csv_cell(&w, fa_addr_str(&r->orig_h, host));
    csv_uint(&w, r->orig_p);
    csv_cell(&w, fa_addr_str(&r->resp_h, host));
    csv_uint(&w, r->resp_p);
    csv_cell(&w, fa_secs_str(fa_ns_to_us(r->first_ns), secs));
    csv_cell(&w, fa_secs_str(fa_ns_to_us(r->last_ns), secs));
    csv_cell(&w, fa_secs_str(duration_us(r), secs));
    csv_uint(&w, r->orig_pkts);
    csv_uint(&w, r->orig_ip_bytes);
    csv_uint(&w, r->orig_bytes);
    csv_uint(&w, r->resp_pkts);
    csv_uint(&w, r->resp_ip_bytes);
    csv_uint(&w, r->resp_bytes);
    csv_cell(&w, r->conn_state);
    csv_cell(&w, r->history);
    csv_uint(&w, r->syn_count);
    csv_secs_or_empty(&w, r->syn_to_synack_ns);
    csv_secs_or_empty(&w, r->synack_to_ack_ns);
    csv_icmp_error(&w, r);
    csv_cell(&w, end ? end : "");
    csv_cell(&w, app ? app : "");
    csv_cell(&w, r->server_name);
    csv_cell(&w, tls ? tls : "");
    csv_cell(&w, r->dns_name);
    csv_end(&w);
}

/* ---- Zeek conn.log (TSV) -------------------------------------------------- */

struct tsv_row {
    FILE *out;
    int cells;
};

static void tsv_raw(struct tsv_row *w, const char *value)
{
    if (w->cells++)
        putc('\t', w->out);
    fputs(value, w->out);
}

/* As Zeek writes strings: "(empty)" for "", and bytes that could be taken
 * for a separator, an escape or the unset mark written as \xNN. */
static void tsv_str(struct tsv_row *w, const char *value)
{
    if (w->cells++)
        putc('\t', w->out);
    if (!value[0]) {
        fputs("(empty)", w->out);
        return;
    }
    if (strcmp(value, "-") == 0) {
        fputs("\\x2d", w->out);
        return;
    }
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c == '\\' || *c < 0x20 || *c >= 0x7f)
            fprintf(w->out, "\\x%02x", *c);
        else
            putc(*c, w->out);
    }
}

static void tsv_uint(struct tsv_row *w, uint64_t value)
{
    char buf[24];

    snprintf(buf, sizeof buf, "%" PRIu64, value);
    tsv_raw(w, buf);
}

static void tsv_end(struct tsv_row *w)
{
    putc('\n', w->out);
}

/* Zeek's own format, in UTC here so that a log reads the same anywhere. */
static const char *zeek_stamp(int64_t ns, char *buf, size_t size)
{
    return utc_str(ns, "%Y-%m-%d-%H-%M-%S", 0, buf, size);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void zeek_head(struct emitter *e, const struct fa_stored_flow *first)
{
    char stamp[32];

    fputs("#separator \\x09\n"
          "#set_separator\t,\n"
          "#empty_field\t(empty)\n"
          "#unset_field\t-\n"
          "#path\tconn\n",
          e->out);
    fprintf(e->out, "#open\t%s\n",
            zeek_stamp(first ? first->rec.first_ns : now_ns(), stamp, sizeof stamp));
    fputs("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice"
          "\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp"
          "\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n"
          "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount"
          "\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\n",
          e->out);
}

/* Zeek leaves service unset when no analyzer took the flow, duration and
 * the byte counts when the duration is 0, and history when it is empty. */
static void zeek_row(struct emitter *e, const struct fa_stored_flow *f)
{
    const struct fa_flow_record *r = &f->rec;
    struct tsv_row w = {e->out, 0};
    char host[FA_ADDR_STRLEN], secs[FA_SECS_STRLEN];
    int64_t dur = duration_us(r);
    const char *service = zeek_service(r);

    tsv_raw(&w, fa_secs_str(fa_ns_to_us(r->first_ns), secs));
    tsv_str(&w, f->uid);
    tsv_raw(&w, fa_addr_str(&r->orig_h, host));
    tsv_uint(&w, r->orig_p);
    tsv_raw(&w, fa_addr_str(&r->resp_h, host));
    tsv_uint(&w, r->resp_p);
    tsv_raw(&w, fa_proto_zeek_name(r->proto));
    if (service)
        tsv_str(&w, service);
    else
        tsv_raw(&w, "-");
    if (dur != 0) {
        tsv_raw(&w, fa_secs_str(dur, secs));
        tsv_uint(&w, r->orig_bytes);
        tsv_uint(&w, r->resp_bytes);
    } else {
        tsv_raw(&w, "-");
        tsv_raw(&w, "-");
        tsv_raw(&w, "-");
    }
    tsv_str(&w, r->conn_state);
    tsv_raw(&w, "-");
    tsv_raw(&w, "-");
    tsv_raw(&w, "0");
    if (r->history[0])
        tsv_str(&w, r->history);
    else
        tsv_raw(&w, "-");
    tsv_uint(&w, r->orig_pkts);
    tsv_uint(&w, r->orig_ip_bytes);
    tsv_uint(&w, r->resp_pkts);
    tsv_uint(&w, r->resp_ip_bytes);
    tsv_end(&w);
}

static void zeek_tail(struct emitter *e)
{
    char stamp[32];

    fprintf(e->out, "#close\t%s\n",
            zeek_stamp(e->count ? e->latest_ns : now_ns(), stamp, sizeof stamp));
}

/* ---- driver --------------------------------------------------------------- */

static const struct format formats[] = {
    [FA_FORMAT_TABLE] = {table_head, table_row, no_tail},
    [FA_FORMAT_JSON] = {json_head, json_row, json_tail},
    [FA_FORMAT_CSV] = {csv_head, csv_row, no_tail},
    [FA_FORMAT_ZEEK] = {zeek_head, zeek_row, zeek_tail},
    [FA_FORMAT_JSONL] = {jsonl_head, jsonl_row, no_tail},
};

/* Stops the scan at the first write error (a closed pipe, a full disk)
 * instead of formatting flows nobody will see. */
static int emit_flow(void *ctx, const struct fa_stored_flow *f)
{
    struct emitter *e = ctx;

    if (e->count == 0)
        e->format->head(e, f);
    e->format->row(e, f);
    if (e->count == 0 || f->rec.last_ns > e->latest_ns)
        e->latest_ns = f->rec.last_ns;
    e->count++;
    return ferror(e->out);
}

int fa_output_flows(struct fa_store *s, const struct fa_flow_filter *f, enum fa_format fmt,
                    FILE *out, char *errbuf)
{
    struct emitter e = {.out = out};

    if ((unsigned)fmt >= sizeof formats / sizeof formats[0]) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "unknown output format %d", (int)fmt);
        return -1;
    }
    e.format = &formats[fmt];
    if (fa_store_each_flow(s, f, emit_flow, &e, errbuf) < 0)
        return -1;
    if (e.count == 0)
        e.format->head(&e, NULL);
    e.format->tail(&e);
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "cannot write output: %s", strerror(errno));
        return -1;
    }
    return 0;
}
