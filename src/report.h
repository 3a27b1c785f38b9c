/*
 * report.h - an audit as a document to hand to a network team: what was
 * captured, each requirement and its status, the failures with exact
 * host pairs and ports, unexpected traffic, and what was never observed.
 *
 * A report reads only what the audit stored (audits, requirements,
 * findings, and the runs it covered); it streams, so its memory does not
 * grow with the number of findings.  Formats:
 *
 *   text      for a terminal, aligned; bytes that could move the cursor
 *             or start an escape sequence are shown as \xNN;
 *   markdown  headings and tables, cells escaped;
 *   html      one self-contained file (inline CSS, no script, nothing
 *             fetched), which prints well;
 *   json      for programs; its shape is documented at the top of
 *             report.c.
 */
#ifndef FA_REPORT_H
#define FA_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

enum fa_report_format {
    FA_REPORT_TEXT,
    FA_REPORT_MARKDOWN,
    FA_REPORT_HTML,
    FA_REPORT_JSON,
};

/* Parses "text", "markdown", "html", "json"; -1 for anything else. */
int fa_report_format_parse(const char *name);

/* Writes the report of audit audit_id to out.  Returns 0, or -1 with
 * errbuf (FA_STORE_ERRBUF_SIZE): no such audit, a store error, or a
 * failed write. */
int fa_report_write(struct fa_store *s, int64_t audit_id, enum fa_report_format fmt, FILE *out,
                    char *errbuf);

#endif
