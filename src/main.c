/*
 * main.c - the flowaudit command line: parses a subcommand and its options
 * and hands them to the module that does the work.
 *
 * Exit status: 0 done; 1 when audit or check found what --fail-on names;
 * 2 bad usage or bad input (the message on stderr names the file or
 * option and what to do).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditcmd.h"
#include "capture.h"
#include "finding.h"
#include "outfile.h"
#include "output.h"
#include "report.h"
#include "store.h"
#include "streams.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: flowaudit COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  read FILE... [--db PATH] [-f BPF]       record the flows of pcap/pcapng files ('-' = "
    "stdin)\n"
    "  capture -i IFACE [--db PATH] [-f BPF] [--duration SEC] [-c COUNT] [-Z USER]\n"
    "          [--checkpoint SEC]              record the flows seen live on an interface\n"
    "  flows [--db PATH] [--state S] [--host ADDR] [--port N] [--proto P] [--run ID]\n"
    "        [--format table|json|csv]         list recorded flows\n"
    "  export [--db PATH] --format zeek|jsonl [-o FILE] [--run ID]\n"
    "                                          write flows as a Zeek conn.log or JSON lines\n"
    "  audit [--db PATH] --site FILE [--matrix FILE] [--run ID] [--format F] [--fail-on L]\n"
    "                                          hold the recorded flows against the rules\n"
    "  report [--db PATH] [--audit ID] [--format text|markdown|html|json] [-o FILE]\n"
    "                                          print an audit (default: the newest)\n"
    "  check FILE... --site FILE [--matrix FILE] [--format F] [--fail-on L] [read options]\n"
    "                                          read the captures, audit them, print the report\n"
    "\n"
    "Options of read and capture:\n"
    "  --db PATH             database (default flowaudit.db)\n"
    "  -f, --filter BPF      only packets matching the capture filter\n"
    "  --verify-checksums    drop packets with a wrong IP/TCP/UDP/ICMP checksum\n"
    "  --no-names            do not reassemble streams for protocols and server names\n"
    "  --name-bytes N        bytes of each stream direction looked at for names (8192)\n"
    "  --max-flows N         flows kept in memory (default 1000000); the idlest are\n"
    "                        written early when full, and counted as evicted;\n"
    "                        memory stays under 64 MiB + N x 480 bytes\n"
    "  --attempt-timeout SEC unanswered TCP attempt (default 5)\n"
    "  --tcp-timeout SEC     TCP inactivity (default 300)\n"
    "  --udp-timeout SEC     UDP inactivity (default 60)\n"
    "  --icmp-timeout SEC    ICMP and other protocols' inactivity (default 60)\n"
    "  -q, --quiet           no progress on stderr\n"
    "\n"
    "Options of capture:\n"
    "  -Z, --user USER       give up root for USER once the interface is open\n"
    "  --checkpoint SEC      write the flows still open every SEC seconds (default 60),\n"
    "                        so that a crash loses at most that much\n"
    "\n"
    "Options of audit and check:\n"
    "  --site FILE           the environment's hosts and their roles (rules language)\n"
    "  --matrix FILE         rules to use instead of the built-in OutSystems 11 matrix\n"
    "  --format F            text (default), markdown, html or json\n"
    "  --fail-on L           exit 1 when a finding is at least: error (default),\n"
    "                        warning, or never\n"
    "  -o, --output FILE     write the report there\n"
    "\n"
    "Exit status: 0 done (audit, check: no finding reached --fail-on); 1 findings\n"
    "reached --fail-on; 2 bad usage or bad input.\n"
    "\n"
    "  flowaudit help        this text;  flowaudit --version\n";

/* The usage text and its messages spell these out. */
_Static_assert(FA_STREAMS_DEFAULT_LIMIT == 8192, "--name-bytes' default, as usage says");
_Static_assert(FA_STREAMS_MAX_LIMIT == 1048576, "--name-bytes' largest, as its message says");

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "flowaudit: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'flowaudit help' for usage.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds_ns(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v > 0) || v > 1e9)
        return -1;
    *out = (int64_t)llround(v * 1e9);
    return 0;
}

static int parse_proto(const char *s)
{
    uint64_t n;
    if (!strcmp(s, "tcp"))
        return 6;
    if (!strcmp(s, "udp"))
        return 17;
    if (!strcmp(s, "icmp"))
        return 1;
    if (!strcmp(s, "icmp6"))
        return 58;
    if (parse_u64(s, &n) == 0 && n <= 255)
        return (int)n;
    return -1;
}

/* ------------------------------------------------------------------ */
/* read and capture */

enum {
    OPT_DB = 1000,
    OPT_VERIFY,
    OPT_MAX_FLOWS,
    OPT_ATTEMPT,
    OPT_TCP,
    OPT_UDP,
    OPT_ICMP,
    OPT_DURATION,
    OPT_STATE,
    OPT_HOST,
    OPT_PORT,
    OPT_PROTO,
    OPT_FORMAT,
    OPT_RUN,
    OPT_SITE,
    OPT_MATRIX,
    OPT_FAIL_ON,
    OPT_AUDIT,
    OPT_NO_NAMES,
    OPT_NAME_BYTES,
    OPT_CHECKPOINT
};

/* Options shared by read and capture; returns 1 when handled, -1 on a bad value. */
static int capture_option(int c, const char *arg, struct fa_capture_opts *o)
{
    uint64_t n;
    int64_t ns;
    switch (c) {
    case OPT_DB:
        o->db_path = arg;
        return 1;
    case 'f':
        o->filter = arg;
        return 1;
    case 'q':
        o->quiet = 1;
        return 1;
    case OPT_VERIFY:
        o->verify_checksums = 1;
        return 1;
    case OPT_NO_NAMES:
        o->names = 0;
        return 1;
    case OPT_NAME_BYTES:
        if (parse_u64(arg, &n) < 0 || n == 0 || n > FA_STREAMS_MAX_LIMIT) {
            usage_error("--name-bytes needs a number of bytes from 1 to 1048576, not '%s'", arg);
            return -1;
        }
        o->name_bytes = (size_t)n;
        return 1;
    case OPT_MAX_FLOWS:
        if (parse_u64(arg, &n) < 0 || n == 0) {
            usage_error("--max-flows needs a positive number, not '%s'", arg);
            return -1;
        }
        o->flow.max_flows = n;
        return 1;
    case OPT_ATTEMPT:
    case OPT_TCP:
    case OPT_UDP:
    case OPT_ICMP:
        if (parse_seconds_ns(arg, &ns) < 0) {
            usage_error("a timeout needs a positive number of seconds, not '%s'", arg);
            return -1;
        }
        if (c == OPT_ATTEMPT)
            o->flow.attempt_timeout_ns = ns;
        else if (c == OPT_TCP)
            o->flow.tcp_timeout_ns = ns;
        else if (c == OPT_UDP)
            o->flow.udp_timeout_ns = ns;
        else
            o->flow.icmp_timeout_ns = o->flow.other_timeout_ns = ns;
        return 1;
    default:
        return 0;
    }
}

#define CAPTURE_LONG_OPTIONS                                                                       \
    {"db", required_argument, NULL, OPT_DB}, {"filter", required_argument, NULL, 'f'},             \
        {"quiet", no_argument, NULL, 'q'}, {"verify-checksums", no_argument, NULL, OPT_VERIFY},    \
        {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},                                     \
        {"no-names", no_argument, NULL, OPT_NO_NAMES},                                             \
        {"name-bytes", required_argument, NULL, OPT_NAME_BYTES},                                   \
        {"attempt-timeout", required_argument, NULL, OPT_ATTEMPT},                                 \
        {"tcp-timeout", required_argument, NULL, OPT_TCP},                                         \
        {"udp-timeout", required_argument, NULL, OPT_UDP},                                         \
    {                                                                                              \
        "icmp-timeout", required_argument, NULL, OPT_ICMP                                          \
    }

static int cmd_capture(int argc, char **argv)
{
    static const struct option longopts[] = {
        CAPTURE_LONG_OPTIONS,
        {"interface", required_argument, NULL, 'i'},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"count", required_argument, NULL, 'c'},
        {"user", required_argument, NULL, 'Z'},
        {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
        {NULL, 0, NULL, 0}};
    struct fa_capture_opts o;
    uint64_t n;
    int c;

    fa_capture_opts_defaults(&o);
    while ((c = getopt_long(argc, argv, "f:qi:c:Z:", longopts, NULL)) != -1) {
        int r = capture_option(c, optarg, &o);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 1)
            continue;
        switch (c) {
        case 'i':
            o.iface = optarg;
            break;
        case 'Z':
            o.user = optarg;
            break;
        case 'c':
            if (parse_u64(optarg, &n) < 0 || n == 0) {
                usage_error("-c needs a positive packet count, not '%s'", optarg);
                return EXIT_USAGE;
            }
            o.count = n;
            break;
        case OPT_DURATION:
            if (parse_u64(optarg, &n) < 0 || n == 0) {
                usage_error("--duration needs a positive number of seconds, not '%s'", optarg);
                return EXIT_USAGE;
            }
            o.duration_s = (int64_t)n;
            break;
        case OPT_CHECKPOINT:
            /* A day bounds it: longer would lose more than anyone keeps. */
            if (parse_u64(optarg, &n) < 0 || n == 0 || n > 86400) {
                usage_error("--checkpoint needs a number of seconds from 1 to 86400, not '%s'",
                            optarg);
                return EXIT_USAGE;
            }
            o.checkpoint_s = (int64_t)n;
            break;
        default:
            fprintf(stderr, "Run 'flowaudit help' for usage.\n");
            return EXIT_USAGE;
        }
    }
    if (!o.iface) {
        usage_error("%s", "capture needs an interface: -i IFACE");
        return EXIT_USAGE;
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    return fa_capture_run(&o, NULL);
}

/* ------------------------------------------------------------------ */
/* flows and export */

static int cmd_output(int argc, char **argv, int is_export)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, OPT_DB},
                                             {"state", required_argument, NULL, OPT_STATE},
                                             {"host", required_argument, NULL, OPT_HOST},
                                             {"port", required_argument, NULL, OPT_PORT},
                                             {"proto", required_argument, NULL, OPT_PROTO},
                                             {"format", required_argument, NULL, OPT_FORMAT},
                                             {"run", required_argument, NULL, OPT_RUN},
                                             {"output", required_argument, NULL, 'o'},
                                             {NULL, 0, NULL, 0}};
    const char *db = "flowaudit.db", *outpath = NULL;
    struct fa_flow_filter f = {.port = -1, .proto = -1};
    struct fa_addr host;
    int fmt = is_export ? -1 : FA_FORMAT_TABLE;
    uint64_t n;
    int c;

    while ((c = getopt_long(argc, argv, is_export ? "o:" : "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            db = optarg;
            break;
        case 'o':
            outpath = optarg;
            break;
        case OPT_STATE:
            f.conn_state = optarg;
            break;
        case OPT_HOST:
            if (!fa_addr_parse(optarg, &host)) {
                usage_error("--host needs an IPv4 or IPv6 address, not '%s'", optarg);
                return EXIT_USAGE;
            }
            f.host = &host;
            break;
        case OPT_PORT:
            if (parse_u64(optarg, &n) < 0 || n > 65535) {
                usage_error("--port needs a number from 0 to 65535, not '%s'", optarg);
                return EXIT_USAGE;
            }
            f.port = (int)n;
            break;
        case OPT_PROTO:
            if ((f.proto = parse_proto(optarg)) < 0) {
                usage_error("--proto needs tcp, udp, icmp, icmp6 or a number, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_RUN:
            if (parse_u64(optarg, &n) < 0 || n == 0) {
                usage_error("--run needs a run id, not '%s'", optarg);
                return EXIT_USAGE;
            }
            f.run_id = (int64_t)n;
            break;
        case OPT_FORMAT:
            fmt = fa_format_parse(optarg);
            if (fmt < 0 || (is_export != (fmt == FA_FORMAT_ZEEK || fmt == FA_FORMAT_JSONL))) {
                usage_error(is_export ? "export --format is zeek or jsonl, not '%s'"
                                      : "flows --format is table, json or csv, not '%s'",
                            optarg);
                return EXIT_USAGE;
            }
            break;
        default:
            fprintf(stderr, "Run 'flowaudit help' for usage.\n");
            return EXIT_USAGE;
        }
    }
    if (fmt < 0) {
        usage_error("%s", "export needs --format zeek or --format jsonl");
        return EXIT_USAGE;
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }

    char err[FA_STORE_ERRBUF_SIZE];
    struct fa_store *s = fa_store_open(db, FA_STORE_READ, err);
    if (!s) {
        fprintf(stderr, "flowaudit: %s\n", err);
        return EXIT_USAGE;
    }
    struct fa_outfile out;
    if (fa_outfile_open(&out, outpath) < 0) {
        fa_store_close(s);
        return EXIT_USAGE;
    }
    int rc = fa_output_flows(s, &f, (enum fa_format)fmt, out.fp, err);
    rc = fa_outfile_close(&out, rc, err);
    fa_store_close(s);
    return rc < 0 ? EXIT_USAGE : 0;
}

/* ------------------------------------------------------------------ */
/* audit, report and check */

struct audit_args {
    struct fa_rules_source rules;
    struct fa_audit_opts audit;
};

static void audit_args_defaults(struct audit_args *a)
{
    memset(a, 0, sizeof *a);
    a->audit.db_path = "flowaudit.db";
    a->audit.format = FA_REPORT_TEXT;
    a->audit.fail_on = FA_SEV_ERROR;
}

/* Options shared by audit and check; 1 when handled, -1 on a bad value. */
static int audit_option(int c, const char *arg, struct audit_args *a)
{
    uint64_t n;
    switch (c) {
    case OPT_SITE:
        a->rules.site = arg;
        return 1;
    case OPT_MATRIX:
        a->rules.matrix = arg;
        return 1;
    case 'o':
        a->audit.output = arg;
        return 1;
    case OPT_FORMAT:
        if ((a->audit.format = fa_report_format_parse(arg)) < 0) {
            usage_error("--format is text, markdown, html or json, not '%s'", arg);
            return -1;
        }
        return 1;
    case OPT_FAIL_ON:
        if (!strcmp(arg, "never")) {
            a->audit.fail_on = -1;
        } else if ((a->audit.fail_on = fa_severity_parse(arg)) < FA_SEV_WARNING) {
            usage_error("--fail-on is error, warning or never, not '%s'", arg);
            return -1;
        }
        return 1;
    case OPT_RUN:
        if (parse_u64(arg, &n) < 0 || n == 0) {
            usage_error("--run needs a run id, not '%s'", arg);
            return -1;
        }
        a->audit.run_id = (int64_t)n;
        return 1;
    default:
        return 0;
    }
}

#define AUDIT_LONG_OPTIONS                                                                         \
    {"site", required_argument, NULL, OPT_SITE}, {"matrix", required_argument, NULL, OPT_MATRIX},  \
        {"format", required_argument, NULL, OPT_FORMAT},                                           \
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},                                         \
    {                                                                                              \
        "output", required_argument, NULL, 'o'                                                     \
    }

/* Loads the rules, then audits; the rules are checked before anything
 * is read or written. */
static int audit_with_rules(struct audit_args *a, int (*before)(void *, int64_t *), void *ctx)
{
    struct fa_ruleset *rs;
    char *text;
    if (!a->rules.site) {
        usage_error("%s", "the audit needs the site file: --site FILE");
        return EXIT_USAGE;
    }
    if (fa_rules_load(&a->rules, &rs, &text) < 0)
        return EXIT_USAGE;
    int status = before ? before(ctx, &a->audit.run_id) : 0;
    if (status == 0)
        status = fa_audit_command(&a->audit, rs, text);
    fa_ruleset_free(rs);
    free(text);
    return status;
}

static int cmd_audit(int argc, char **argv)
{
    static const struct option longopts[] = {AUDIT_LONG_OPTIONS,
                                             {"db", required_argument, NULL, OPT_DB},
                                             {"run", required_argument, NULL, OPT_RUN},
                                             {NULL, 0, NULL, 0}};
    struct audit_args a;
    int c;

    audit_args_defaults(&a);
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        int r = c == OPT_DB ? (a.audit.db_path = optarg, 1) : audit_option(c, optarg, &a);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0) {
            fprintf(stderr, "Run 'flowaudit help' for usage.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    return audit_with_rules(&a, NULL, NULL);
}

static int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, OPT_DB},
                                             {"audit", required_argument, NULL, OPT_AUDIT},
                                             {"format", required_argument, NULL, OPT_FORMAT},
                                             {"output", required_argument, NULL, 'o'},
                                             {NULL, 0, NULL, 0}};
    const char *db = "flowaudit.db", *output = NULL;
    int format = FA_REPORT_TEXT, c;
    uint64_t id = 0;

    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            db = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_AUDIT:
            if (parse_u64(optarg, &id) < 0 || id == 0) {
                usage_error("--audit needs an audit id, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_FORMAT:
            if ((format = fa_report_format_parse(optarg)) < 0) {
                usage_error("--format is text, markdown, html or json, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        default:
            fprintf(stderr, "Run 'flowaudit help' for usage.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    return fa_report_command(db, (int64_t)id, format, output);
}

/* check's read step, run once the rules are known to be good. */
static int check_read(void *ctx, int64_t *run_id)
{
    struct fa_capture_opts *o = ctx;
    return fa_capture_run(o, run_id);
}

/* Parses the options and capture files of read (a is NULL) and check. */
static int parse_read_args(int argc, char **argv, const char *cmd, struct fa_capture_opts *o,
                           struct audit_args *a)
{
    static const struct option read_opts[] = {CAPTURE_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    static const struct option check_opts[] = {
        CAPTURE_LONG_OPTIONS, AUDIT_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    int c;

    while ((c = getopt_long(argc, argv, a ? "f:qo:" : "f:q", a ? check_opts : read_opts, NULL)) !=
           -1) {
        int r = capture_option(c, optarg, o);
        if (r == 0 && a)
            r = audit_option(c, optarg, a);
        if (r < 0)
            return -1;
        if (r == 0) {
            fprintf(stderr, "Run 'flowaudit help' for usage.\n");
            return -1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr,
                "flowaudit: %s needs at least one capture file ('-' for standard input)\n"
                "Run 'flowaudit help' for usage.\n",
                cmd);
        return -1;
    }
    o->files = (const char *const *)argv + optind;
    o->nfiles = argc - optind;
    return 0;
}

static int cmd_read(int argc, char **argv)
{
    struct fa_capture_opts o;

    fa_capture_opts_defaults(&o);
    if (parse_read_args(argc, argv, "read", &o, NULL) < 0)
        return EXIT_USAGE;
    return fa_capture_run(&o, NULL);
}

static int cmd_check(int argc, char **argv)
{
    struct fa_capture_opts o;
    struct audit_args a;

    fa_capture_opts_defaults(&o);
    audit_args_defaults(&a);
    if (parse_read_args(argc, argv, "check", &o, &a) < 0)
        return EXIT_USAGE;
    a.audit.db_path = o.db_path;
    return audit_with_rules(&a, check_read, &o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("flowaudit %s\n", FA_VERSION);
        return 0;
    }
    /* Subcommands see their own options from argv[1] on; getopt names the
     * program by argv[0] in its messages. */
    static char progname[] = "flowaudit";
    argc--;
    argv++;
    argv[0] = progname;
    if (!strcmp(cmd, "read"))
        return cmd_read(argc, argv);
    if (!strcmp(cmd, "capture"))
        return cmd_capture(argc, argv);
    if (!strcmp(cmd, "flows"))
        return cmd_output(argc, argv, 0);
    if (!strcmp(cmd, "export"))
        return cmd_output(argc, argv, 1);
    if (!strcmp(cmd, "audit"))
        return cmd_audit(argc, argv);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc, argv);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc, argv);
    usage_error("unknown command '%s'", cmd);
    return EXIT_USAGE;
}
