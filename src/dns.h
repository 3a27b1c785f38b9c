/*
 * dns.h - the address records of a DNS response, so that flows can be
 * named by the names their clients looked up.
 *
 * The parser is pure: no allocation, no global state.  It reads nothing
 * outside [msg, msg + len) and checks a whole message before it reports any
 * part of it, so it can be fuzzed on its own.
 */
#ifndef FA_DNS_H
#define FA_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define FA_DNS_TYPE_A 1
#define FA_DNS_TYPE_CNAME 5
#define FA_DNS_TYPE_AAAA 28

#define FA_DNS_NAME_LEN 256

struct fa_dns_record {
    /* The owner name: lower-cased, without the trailing dot ("" for the
     * root), always NUL-terminated. */
    char name[FA_DNS_NAME_LEN];
    uint16_t type; /* FA_DNS_TYPE_A, _AAAA or _CNAME */
    /* Seconds; a value with the top bit set counts as 0 (RFC 2181 8). */
    uint32_t ttl;
    struct fa_addr addr;          /* A (IPv4-mapped) or AAAA; all zero for a CNAME */
    char target[FA_DNS_NAME_LEN]; /* CNAME, in the same form as name; "" otherwise */
};

typedef void (*fa_dns_record_fn)(void *ctx, const struct fa_dns_record *r);

/*
 * Parses one DNS message: a UDP payload, or a TCP message without its
 * 2-byte length.  For a response to a standard query (QR 1, opcode QUERY,
 * RCODE NOERROR) calls fn (when not NULL) for each class IN A, AAAA and
 * CNAME record of the answer section, in order, and returns how many it
 * reported.
 *
 * Returns 0, reading no further than the header, for a query, another
 * opcode, or an RCODE other than NOERROR.  Returns -1, having reported
 * nothing, when the message is malformed: shorter than its header, a
 * section count running past its end, a record or name running past its
 * end, a name longer than 255 bytes or with an obsolete label type, a
 * compression pointer that does not point strictly before the part of the
 * name it is read from (which rules out loops and forward pointers; at most
 * 128 are followed in one name) or into the header, an answer A or AAAA of
 * the wrong size, a CNAME whose data is not exactly one name.  Bytes after
 * the last counted record are ignored.
 *
 * Names are shown as dotted text.  A name with a label byte that is not
 * printable ASCII (0x21-0x7e) or is a dot cannot be shown faithfully: its
 * record (as owner or CNAME target) is skipped, not reported, and does not
 * make the message malformed.
 */
int fa_dns_parse(const uint8_t *msg, size_t len, fa_dns_record_fn fn, void *ctx);

/*
 * fa_dns_parse() in two halves, for a caller that reads the answers of a
 * message in more than one walk (CNAMEs first, then addresses): the
 * message is checked once, and each walk decodes the names of only the
 * records it reports.
 */

/* A set of record types, for fa_dns_report(). */
#define FA_DNS_MASK(type) ((uint32_t)1 << (type))
#define FA_DNS_MASK_ADDR (FA_DNS_MASK(FA_DNS_TYPE_A) | FA_DNS_MASK(FA_DNS_TYPE_AAAA))
#define FA_DNS_MASK_ALL (FA_DNS_MASK_ADDR | FA_DNS_MASK(FA_DNS_TYPE_CNAME))

/* A message fa_dns_check() found well-formed. */
struct fa_dns_msg {
    const uint8_t *msg;
    size_t len;
    size_t answers; /* the offset of the answer section */
    unsigned an;    /* its record count */
    /* The types of its class IN A, AAAA and CNAME answers, as FA_DNS_MASK()
     * bits: those fa_dns_report() may report (it skips a record whose name
     * cannot be shown). */
    uint32_t types;
};

/* Checks msg as fa_dns_parse() does, reporting nothing.  Returns -1 when
 * fa_dns_parse() would, 0 when it would return 0 without reading past the
 * header, else 1 with m set for fa_dns_report(). */
int fa_dns_check(const uint8_t *msg, size_t len, struct fa_dns_msg *m);

/* Calls fn (when not NULL), in order, for each record fa_dns_parse() would
 * report whose type is in types (FA_DNS_MASK() bits), and returns how many.
 * m comes from fa_dns_check(), and the message must not have changed
 * since.  Walks whose masks split FA_DNS_MASK_ALL between them report,
 * together, what fa_dns_parse() reports. */
int fa_dns_report(const struct fa_dns_msg *m, uint32_t types, fa_dns_record_fn fn, void *ctx);

#endif
