/*
 * fuzz_flow.c - fuzzes the flow table (flow.h) with decoded packets.
 *
 * Input: [u8 link control] then records, each
 *     [u16 length, big-endian][u8 time step][length bytes of frame]
 * (a last frame shorter than its length takes what is left).  The link
 * control byte picks the link type as in fuzz_decode.c (low 6 bits into
 * fuzz_links).  A time step t below 255 moves the clock t*t*10 ms forward
 * (up to 650 s, past every timeout); 255 moves it 1 s back
 * (fuzz_next_frame in fuzz.h).
 *
 * Each frame is decoded; a packet goes to a table of at most 4 flows, so
 * eviction runs.  As capture.c does, a packet the table wants for naming
 * has its TCP payload looked at by fa_app_inspect (one segment standing
 * for the stream) and a UDP payload from port 53 is parsed as DNS, and
 * what they say goes back with fa_flow_set_app.  Every 16th record
 * checkpoints 2 flows, every 32nd expires; the end flushes.
 *
 * Checked beyond memory safety (flow.h's invariants): the table never
 * holds more than its maximum, every flow reaches the sink exactly once
 * final and never after that, records' strings are terminated, conn_state
 * is one of Zeek's, a flow's first packet is not later than its last, a
 * handshake time is never negative, and the packet count is right.
 */
#include <string.h>

#include "appproto.h"
#include "dns.h"
#include "flow.h"
#include "fuzz.h"

#define MAX_FLOWS 4

struct sink_state {
    uint8_t *finals; /* finals[seq]: the flow's final record was seen */
    size_t cap;
    uint64_t nfinal;
    int oom;
};

static int terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static int known_state(const char *s)
{
    static const char *const states[] = {"S0",   "S1",     "SF",    "REJ", "S2",  "S3", "RSTO",
                                         "RSTR", "RSTOS0", "RSTRH", "SH",  "SHR", "OTH"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (strcmp(s, states[i]) == 0)
            return 1;
    return 0;
}

static void sink(void *ctx, struct fa_flow_record *rec, int final)
{
    struct sink_state *st = ctx;

    FUZZ_CHECK(rec->seq >= 1);
    FUZZ_CHECK(terminated(rec->history, sizeof rec->history));
    FUZZ_CHECK(terminated(rec->conn_state, sizeof rec->conn_state));
    FUZZ_CHECK(terminated(rec->server_name, sizeof rec->server_name));
    FUZZ_CHECK(terminated(rec->dns_name, sizeof rec->dns_name));
    FUZZ_CHECK(final == (rec->end != FA_END_ACTIVE));
    FUZZ_CHECK(known_state(rec->conn_state));
    FUZZ_CHECK(rec->first_ns <= rec->last_ns);
    FUZZ_CHECK(rec->orig_pkts + rec->resp_pkts >= 1);
    FUZZ_CHECK(rec->syn_to_synack_ns >= -1 && rec->synack_to_ack_ns >= -1);
    FUZZ_CHECK(rec->ip_version == 4 || rec->ip_version == 6);
    if (rec->seq >= st->cap) {
        size_t cap = rec->seq * 2;
        uint8_t *more = realloc(st->finals, cap);
        if (!more) {
            st->oom = 1;
            return;
        }
        memset(more + st->cap, 0, cap - st->cap);
        st->finals = more;
        st->cap = cap;
    }
    FUZZ_CHECK(!st->finals[rec->seq]); /* nothing after the final record */
    if (final) {
        st->finals[rec->seq] = 1;
        st->nfinal++;
    }
}

/* What capture.c and streams.c learn from a packet's payload. */
static void name_flow(struct fa_flow_table *t, const struct fa_packet *pkt, int wanted)
{
    struct fa_tuple tuple = {.proto = pkt->proto,
                             .has_ports = 1,
                             .sport = pkt->sport,
                             .dport = pkt->dport,
                             .src = pkt->src,
                             .dst = pkt->dst};
    struct fa_app_info info;

    if (!pkt->payload || !pkt->has_ports)
        return;
    if (wanted && pkt->proto == FA_PROTO_TCP && pkt->payload_caplen > 0 &&
        fa_app_inspect(pkt->payload, pkt->payload_caplen, 8192, &info) == FA_APP_DONE)
        /* Final or not as the input's length says: both ways are reached. */
        fa_flow_set_app(t, &tuple, (uint8_t)info.app, info.tls_version, info.server_name,
                        (int)(pkt->payload_caplen & 1));
    if (pkt->proto == FA_PROTO_UDP && pkt->sport == 53 && pkt->payload_caplen == pkt->payload_len &&
        !pkt->is_fragment && fa_dns_parse(pkt->payload, pkt->payload_len, NULL, NULL) >= 0)
        fa_flow_set_app(t, &tuple, FA_APP_DNS, 0, NULL, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fa_flow_config cfg;
    struct sink_state st = {0};
    char errbuf[FA_ERRBUF_SIZE];

    if (size < 1)
        return 0;
    int dlt = fuzz_links[(data[0] & 0x3f) % FUZZ_NLINKS];
    fa_flow_config_defaults(&cfg);
    cfg.max_flows = MAX_FLOWS;
    struct fa_flow_table *t = fa_flow_table_new(&cfg, sink, &st, errbuf);
    if (!t)
        return 0;

    int64_t now = FUZZ_START_NS;
    uint64_t packets = 0, records = 0;
    size_t off = 1;
    const uint8_t *frame;
    uint32_t len;
    while (fuzz_next_frame(data, size, &off, &now, &frame, &len)) {
        struct fa_packet pkt;
        uint8_t *copy = fuzz_exact_copy(frame, len);
        if (fa_decode(dlt, copy, len, len, 0, &pkt) == FA_DECODE_OK) {
            int wanted = fa_flow_packet(t, &pkt, now);
            packets++;
            name_flow(t, &pkt, wanted);
            FUZZ_CHECK(fa_flow_table_stats(t)->active <= MAX_FLOWS);
        }
        free(copy);
        records++;
        if (records % 16 == 0)
            fa_flow_checkpoint(t, 2);
        if (records % 32 == 0)
            fa_flow_expire(t, now);
    }
    fa_flow_flush(t);

    const struct fa_flow_stats *s = fa_flow_table_stats(t);
    FUZZ_CHECK(s->packets == packets);
    FUZZ_CHECK(s->active == 0);
    FUZZ_CHECK(st.oom || st.nfinal == s->flows);
    fa_flow_table_free(t);
    free(st.finals);
    return 0;
}
