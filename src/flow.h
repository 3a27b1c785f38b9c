/*
 * flow.h - the flow table: decoded packets in, finished flow records out.
 *
 * A flow is one bidirectional conversation keyed on protocol, addresses and
 * ports (for ICMP: addresses and the message type pair, as Zeek keys them).
 * The table follows each TCP endpoint through Zeek's endpoint states, keeps
 * Zeek's history letters and counters, and hands a struct fa_flow_record to
 * the sink when the flow ends: closed and lingered, timed out, evicted
 * because the table is full, or flushed at the end of the capture.
 *
 * Invariants:
 *   - the table never holds more than max_flows flows; making room evicts
 *     the flows idle longest and counts them in fa_flow_stats.evicted;
 *   - every flow that enters the table reaches the sink exactly once with
 *     final = 1 (checkpoints may send it earlier with final = 0);
 *   - the table's clock only moves forward: a packet stamped earlier than
 *     the latest one ages flows as if it came at the latest time, while
 *     records keep each packet's own timestamps.
 */
#ifndef FA_FLOW_H
#define FA_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define FA_HISTORY_MAX 32

/* Why a record was written. */
enum fa_flow_end {
    FA_END_ACTIVE = 0,  /* checkpoint of a flow still in memory */
    FA_END_CLOSED,      /* both sides finished (FIN/RST) and the linger passed */
    FA_END_TIMEOUT,     /* inactivity or unanswered-attempt timeout */
    FA_END_EVICTED,     /* the table was full */
    FA_END_CAPTURE_END, /* still open when the capture ended */
    FA_END_REUSED       /* a new connection took over the 5-tuple */
};

/* One flow as it is stored and exported.  Directions are orig (the side
 * that opened the flow) and resp. */
struct fa_flow_record {
    uint64_t seq; /* 1, 2, ... in the order flows were created in the run */
    /* 1, 2, ... in the order the table first wrote its flows: a flow
     * written again (after a checkpoint) keeps its row. */
    uint64_t row;
    uint8_t ip_version;
    uint8_t proto; /* IP protocol number */
    struct fa_addr orig_h, resp_h;
    uint16_t orig_p, resp_p;   /* ICMP: orig_p is the type, resp_p the reply type or the code */
    int64_t first_ns, last_ns; /* capture timestamps, nanoseconds since the epoch */

    uint64_t orig_pkts, resp_pkts;
    uint64_t orig_ip_bytes, resp_ip_bytes;
    uint64_t orig_bytes, resp_bytes; /* payload; TCP: from sequence numbers, as Zeek */

    char history[FA_HISTORY_MAX + 1];
    char conn_state[8]; /* S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH */

    uint32_t syn_count;       /* SYNs (without ACK) the originator sent */
    int64_t syn_to_synack_ns; /* -1 when not seen */
    int64_t synack_to_ack_ns; /* -1 when not seen */

    /* The ICMP error that quoted a packet of this flow, if any. */
    uint8_t has_icmp_error;
    uint8_t icmp_error_type, icmp_error_code;
    uint8_t icmp_error_v6; /* the error was ICMPv6 */
    struct fa_addr icmp_error_from;

    enum fa_flow_end end;

    /* What the flow's first bytes said (streams.h); app_proto 0 when they
     * said nothing or were not looked at. */
    uint8_t app_proto; /* enum fa_app */
    uint16_t tls_version;
    /* The names come last: most flows have none, and the writer queues a
     * record without them when they are empty (writer.c). */
    char server_name[256]; /* TLS SNI or HTTP Host; "" when none */
    /* The name a DNS answer gave the responder's address before the flow
     * began, as the capture saw it; "" when none.  Filled by the caller
     * that knows the answers (capture.c), not by the flow table. */
    char dns_name[256];
};

/* Called for each record; final is 0 for a checkpoint of a live flow.
 * The record is the table's scratch copy: the sink may fill in what the
 * table does not know (dns_name) before passing it on. */
typedef void (*fa_flow_sink)(void *ctx, struct fa_flow_record *rec, int final);

struct fa_flow_config {
    uint64_t max_flows;         /* default 1,000,000 */
    int64_t attempt_timeout_ns; /* unanswered TCP attempt, Zeek's tcp_attempt_delay: 5 s */
    int64_t tcp_timeout_ns;     /* TCP inactivity, Zeek's tcp_inactivity_timeout: 5 min */
    int64_t udp_timeout_ns;     /* Zeek's udp_inactivity_timeout: 1 min */
    int64_t icmp_timeout_ns;    /* Zeek's icmp_inactivity_timeout: 1 min */
    int64_t other_timeout_ns;   /* other IP protocols: 1 min */
    int64_t close_linger_ns;    /* Zeek's tcp_close_delay / tcp_reset_delay: 5 s */
};

struct fa_flow_stats {
    uint64_t packets;          /* packets given to the table */
    uint64_t flows;            /* flows created */
    uint64_t active;           /* flows in memory now */
    uint64_t evicted;          /* flows written early because the table was full */
    uint64_t orphan_fragments; /* non-first fragments whose first fragment was never seen */
};

struct fa_flow_table;

void fa_flow_config_defaults(struct fa_flow_config *cfg);

/* Returns NULL and fills errbuf (FA_ERRBUF_SIZE) on failure. */
struct fa_flow_table *fa_flow_table_new(const struct fa_flow_config *cfg, fa_flow_sink sink,
                                        void *sink_ctx, char *errbuf);
void fa_flow_table_free(struct fa_flow_table *t);

/* Account one decoded packet seen at ts_ns.  Returns 1 when the packet
 * belongs to a TCP flow whose first bytes are still wanted for naming
 * (begun with a SYN, not yet decided by fa_flow_set_app, early in the
 * flow): the caller gives those packets to stream reassembly, and no
 * others. */
int fa_flow_packet(struct fa_flow_table *t, const struct fa_packet *pkt, int64_t ts_ns);

/* Records what a TCP stream's first bytes said on its flow: client and
 * server as in t (src is the client); app_proto 0 says the stream was
 * decided without a name.  With final, the flow's packets are no longer
 * wanted for naming; without, they are wanted until a final call,
 * however many (streams.h: a DNS stream whose answers are read).
 * Nothing happens when the flow has already ended. */
void fa_flow_set_app(struct fa_flow_table *t, const struct fa_tuple *tuple, uint8_t app_proto,
                     uint16_t tls_version, const char *server_name, int final);

/* Write and drop the flows whose timeouts passed by now_ns.  The table
 * calls it itself as capture time advances; a live capture calls it when
 * the wire is quiet too. */
void fa_flow_expire(struct fa_flow_table *t, int64_t now_ns);

/* Sends flows changed since they were last sent to the sink, final = 0,
 * at most max of them, and returns how many.  Calls continue one round
 * over every flow in memory; a return below max means the round is over
 * (the next call starts another).  A live capture calls it a little at a
 * time so that writing never holds up reading. */
size_t fa_flow_checkpoint(struct fa_flow_table *t, size_t max);

/* End of capture: every flow still in memory goes to the sink, final. */
void fa_flow_flush(struct fa_flow_table *t);

const struct fa_flow_stats *fa_flow_table_stats(const struct fa_flow_table *t);

#define FA_ERRBUF_SIZE 256

#endif
