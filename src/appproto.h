/*
 * appproto.h - the application protocol of a TCP flow, from the first bytes
 * each side sent, and the server name the client asked for.
 *
 * The recognisers look at bytes, never at ports: a TLS ClientHello on 1433
 * is TLS (TDS 8.0 starts that way), a PRELOGIN on 8080 is TDS.  They are
 * pure: no allocation, no global state, no libpcap; every byte is read only
 * after a check that it lies inside [data, data + len).
 *
 * The caller reassembles each direction of the stream in order from its
 * first byte and calls again with a longer prefix as segments arrive, until
 * the answer is FA_APP_DONE.  The answer depends on the prefix and the limit
 * only, and once DONE, a longer prefix (short of the limit) gives the same
 * answer.
 *
 * Being wrong is worse than saying nothing: each recogniser checks every
 * field it can, and anything it is not sure of is FA_APP_UNKNOWN.
 */
#ifndef FA_APPPROTO_H
#define FA_APPPROTO_H

#include <stddef.h>
#include <stdint.h>

enum fa_app {
    FA_APP_UNKNOWN = 0,
    FA_APP_TLS,  /* a TLS ClientHello (or ServerHello, alert) record */
    FA_APP_HTTP, /* an HTTP/1.x request line (or status line) */
    FA_APP_TDS,  /* SQL Server: PRELOGIN or LOGIN7 (response: PRELOGIN) */
    FA_APP_TNS,  /* Oracle Net: CONNECT (response: ACCEPT, REFUSE, REDIRECT, RESEND) */
    FA_APP_SSH,  /* an "SSH-x.y-" banner */
    FA_APP_SMTP, /* EHLO/HELO (response: a "220" greeting that names SMTP) */
    FA_APP_AMQP, /* an AMQP protocol header (response: Connection.Start) */
    FA_APP_DNS,  /* one DNS message over TCP, with its 2-byte length */
    FA_APP_COUNT /* not a protocol: how many values there are */
};

/* Short stable name as stored and shown: "tls", "http", "tds", "tns", "ssh",
 * "smtp", "amqp", "dns"; "" for FA_APP_UNKNOWN or a value out of range. */
const char *fa_app_name(enum fa_app a);

/* The enum fa_app that fa_app_name() names name (FA_APP_UNKNOWN for ""),
 * or -1 when it names none, or name is NULL. */
int fa_app_parse(const char *name);

#define FA_SERVER_NAME_LEN 256

struct fa_app_info {
    enum fa_app app;
    /* The TLS SNI host_name, or the HTTP Host header without its port.
     * "" when there is none or it is not a valid DNS name (labels of 1..63
     * letters, digits, '-' or '_', 253 characters at most; an IPv4 literal
     * passes, an IPv6 literal does not).  Lower-cased, without a trailing
     * dot, always NUL-terminated. */
    char server_name[FA_SERVER_NAME_LEN];
    /* TLS only: the highest version the ClientHello offers (0x0303 for TLS
     * 1.2, 0x0304 for TLS 1.3): the highest 0x03xx value of its
     * supported_versions extension when it has one (GREASE values ignored),
     * else its client_version.  0 when not TLS, or when the ClientHello was
     * not read to its end. */
    uint16_t tls_version;
    /* 1 when app is known but the message that would name the flow was cut
     * by the limit or turned out malformed: the fields above hold only what
     * was read and checked before that point (see fa_app_inspect). */
    uint8_t incomplete;
};

enum fa_app_verdict {
    FA_APP_MORE, /* a plausible prefix: call again with more bytes */
    FA_APP_DONE  /* decided: *info is final */
};

/*
 * Looks at the first len bytes the originator sent on a TCP stream.
 *
 * FA_APP_MORE: the bytes so far are a plausible prefix of a message that
 * would say more (a ClientHello not complete yet, spanning TLS records and
 * TCP segments; HTTP headers without their blank line yet); *info is then
 * all zero.  FA_APP_DONE: *info is filled; app is FA_APP_UNKNOWN when
 * nothing matched.  The answer is DONE as soon as it is known, on malformed
 * input, and once len >= limit (the caller's buffering limit, e.g. 8192).
 *
 * What is decided when:
 *   TLS   at the end of the ClientHello handshake message (server_name,
 *         tls_version); at the limit or on a malformed ClientHello, app is
 *         TLS with incomplete set, and at the limit only, server_name and
 *         tls_version are kept if their extensions were read whole;
 *   HTTP  at the blank line that ends the headers; at the limit, app is
 *         HTTP with incomplete set and the Host of the header lines read
 *         whole; a malformed header line gives HTTP, incomplete, no name;
 *         two Host headers give no name;
 *   others as soon as their signature is checked (app only).
 */
enum fa_app_verdict fa_app_inspect(const uint8_t *data, size_t len, size_t limit,
                                   struct fa_app_info *info);

/*
 * The same for the responder's first bytes: an "SSH-x.y-" banner, an SMTP
 * "220" greeting whose first line names SMTP, a TDS PRELOGIN response, a TNS
 * ACCEPT, REFUSE, REDIRECT or RESEND, an "HTTP/1.x nnn" status line, a TLS
 * ServerHello or alert, an AMQP Connection.Start (or protocol header), a DNS
 * response over TCP.  Sets app only.
 */
enum fa_app_verdict fa_app_inspect_response(const uint8_t *data, size_t len, size_t limit,
                                            struct fa_app_info *info);

#endif
