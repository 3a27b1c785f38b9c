/*
 * output.h - print stored flows: for people (table), for programs (json,
 * csv, jsonl) and for Zeek's tools (a conn.log).
 *
 * Output reads only from the store; it never sees packets.
 */
#ifndef FA_OUTPUT_H
#define FA_OUTPUT_H

#include <stdio.h>

#include "store.h"

enum fa_format { FA_FORMAT_TABLE, FA_FORMAT_JSON, FA_FORMAT_CSV, FA_FORMAT_ZEEK, FA_FORMAT_JSONL };

/* Parses "table", "json", ...; returns -1 for an unknown name. */
int fa_format_parse(const char *name);

/* Writes the flows matching f to out.  Returns 0, or -1 with errbuf
 * (FA_STORE_ERRBUF_SIZE). */
int fa_output_flows(struct fa_store *s, const struct fa_flow_filter *f, enum fa_format fmt,
                    FILE *out, char *errbuf);

/* Zeek's name for an IP protocol: tcp, udp, icmp (ICMPv6 too), unknown_transport. */
const char *fa_proto_zeek_name(int proto);

#endif
