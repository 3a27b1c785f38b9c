/*
 * output.h - print stored flows: for people (table), for programs (json,
 * csv, jsonl) and for Zeek's tools (a conn.log).
 *
 * Output reads only from the store; it never sees packets.  It streams,
 * one flow at a time, and prints times as seconds with exactly 6 decimals.
 *
 *   table  one header line, then one line per flow, times in UTC;
 *   json   an array of objects named by the schema's columns, with
 *          icmp_error as an object {type, code, v6, from} or null;
 *   csv    RFC 4180 (CRLF line ends), the same columns, icmp_error
 *          flattened to icmp_error_type/_code/_v6/_from, NULL as empty;
 *   zeek   a conn.log as Zeek writes it (zeek-cut reads it).  #open and
 *          #close are the first flow's ts and the latest last_seen, in UTC,
 *          so the same flows give the same log; only an empty log takes
 *          the wall clock;
 *   jsonl  Zeek's JSON log: one object a line, conn.log's field names,
 *          unset fields left out.
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
