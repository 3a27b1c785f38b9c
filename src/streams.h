/*
 * streams.h - the first bytes of each TCP stream, reassembled, to learn
 * the application protocol and the server's name (appproto.h).
 *
 * IPv4 streams are reassembled by libnids, fed from flowaudit's own
 * capture loop with bare IP packets; IPv6 streams, which libnids does not
 * know, by a small in-order reassembly of their first bytes here.  Either
 * way a direction stops being collected once the answer is known or after
 * `limit` bytes, so naming costs little; only a DNS server's side, read
 * for its answers when asked (fa_streams_on_dns), is collected on until
 * the stream ends or the limit.  libnids keeps global state: only one
 * fa_streams may exist at a time in a process.
 */
#ifndef FA_STREAMS_H
#define FA_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "appproto.h"
#include "decode.h"

#define FA_STREAMS_ERRBUF_SIZE 256

/* Bytes looked at per direction when the caller passes 0, and the most it
 * may ask for (a larger limit is brought down to it). */
#define FA_STREAMS_DEFAULT_LIMIT 8192
#define FA_STREAMS_MAX_LIMIT (1u << 20)

struct fa_streams;

/* Called once a stream's protocol (and maybe name) is known; t->src and
 * t->sport are the client's (the side that sent the SYN).  The client's
 * first bytes name the stream when appproto recognises them; when they
 * match nothing, or the stream ends before they are decided, the server's
 * first bytes may (the protocol only).  A stream neither side named is
 * reported with app FA_APP_UNKNOWN once it is decided.  final says whether
 * the caller may stop sending the stream's packets: 1 for every report
 * but one, a DNS client's stream while its server's answers are read
 * (fa_streams_on_dns), reported with final 0 when its query is seen and
 * again with final 1 once its server's side ends; its packets are wanted
 * until then, however many there are.  The callback may run from
 * fa_streams_packet and from fa_streams_free. */
typedef void (*fa_stream_named_fn)(void *ctx, const struct fa_tuple *t,
                                   const struct fa_app_info *info, int final);

/* limit: bytes looked at per direction (0 for FA_STREAMS_DEFAULT_LIMIT).  With
 * verify_checksums, libnids drops segments with a bad checksum (the
 * decoder has already dropped them); without, it keeps them, as a capture
 * on the server sees offloaded checksums.  NULL with errbuf on failure,
 * and when another fa_streams exists. */
struct fa_streams *fa_streams_new(size_t limit, int verify_checksums, fa_stream_named_fn fn,
                                  void *ctx, char *errbuf);

/* Called with each DNS message a DNS-over-TCP server sent (RFC 1035
 * 4.2.2: the message without its 2-byte length), once, in order, at the
 * time of the packet that completed it.  Only messages that end within
 * the limit count.  msg is valid during the call only. */
typedef void (*fa_stream_dns_fn)(void *ctx, const uint8_t *msg, size_t len, int64_t ts_ns);

/* Sets (fn NULL: clears) the DNS callback.  With one, a stream whose
 * client sends a DNS query is reported (app FA_APP_DNS) only once its
 * server's side ends, at the limit or its close, and every answer up to
 * then goes to fn; without one, it is reported as soon as the query is
 * seen.  Set it before the first packet. */
void fa_streams_on_dns(struct fa_streams *s, fa_stream_dns_fn fn, void *ctx);

/* Takes one decoded packet (TCP, or an IPv4 fragment) seen at ts_ns. */
void fa_streams_packet(struct fa_streams *s, const struct fa_packet *p, int64_t ts_ns);

/* Ends libnids and frees everything.  Streams still open are decided on
 * what they have sent (the callback may run); NULL is accepted. */
void fa_streams_free(struct fa_streams *s);

#endif
