/*
 * test_flow.c - the flow table: every conn_state, history letters, byte
 * counts, handshake times, timeouts, reuse, eviction, fragments, ICMP.
 *
 * Packets are built as struct fa_packet directly, so these tests exercise
 * the table alone, not the decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "appproto.h"
#include "flow.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

#define MAX_RECORDS 16

struct sink {
    struct fa_flow_record recs[MAX_RECORDS];
    int final[MAX_RECORDS];
    int n;
};

static void collect(void *ctx, struct fa_flow_record *rec, int final)
{
    struct sink *s = ctx;
    assert_true(s->n < MAX_RECORDS);
    s->recs[s->n] = *rec;
    s->final[s->n] = final;
    s->n++;
}

struct fixture {
    struct fa_flow_table *t;
    struct sink sink;
};

static struct fixture *fixture_with(const struct fa_flow_config *cfg)
{
    static struct fixture fx;
    char err[FA_ERRBUF_SIZE];
    memset(&fx, 0, sizeof fx);
    fx.t = fa_flow_table_new(cfg, collect, &fx.sink, err);
    assert_non_null(fx.t);
    return &fx;
}

static struct fixture *fixture_new(void)
{
    struct fa_flow_config cfg;
    fa_flow_config_defaults(&cfg);
    return fixture_with(&cfg);
}

static void fixture_done(struct fixture *fx)
{
    fa_flow_table_free(fx->t);
}

static void set_v4(struct fa_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
    memset(a, 0, sizeof *a);
    a->b[10] = a->b[11] = 0xff;
    a->b[12] = x;
    a->b[13] = y;
    a->b[14] = z;
    a->b[15] = w;
}

/* The client 192.0.2.10:40000 and the database 192.0.2.30:1433. */
#define CLIENT 1
#define SERVER 0

static struct fa_packet tcp_pkt(int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                                uint32_t len)
{
    struct fa_packet p;
    memset(&p, 0, sizeof p);
    p.ip_version = 4;
    p.proto = FA_PROTO_TCP;
    p.has_ports = 1;
    struct fa_addr c, s;
    set_v4(&c, 192, 0, 2, 10);
    set_v4(&s, 192, 0, 2, 30);
    p.src = from_client ? c : s;
    p.dst = from_client ? s : c;
    p.sport = from_client ? 40000 : 1433;
    p.dport = from_client ? 1433 : 40000;
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.tcp_window = 65535;
    p.payload_len = len;
    p.ip_len = 40 + len;
    return p;
}

static void tcp(struct fixture *fx, int64_t ms, int from_client, uint8_t flags, uint32_t seq,
                uint32_t ack, uint32_t len)
{
    struct fa_packet p = tcp_pkt(from_client, flags, seq, ack, len);
    fa_flow_packet(fx->t, &p, T0 + ms * MS);
}

#define SYN FA_TCP_SYN
#define ACK FA_TCP_ACK
#define FIN FA_TCP_FIN
#define RST FA_TCP_RST
#define PSH FA_TCP_PSH

enum { CISN = 1000, SISN = 5000 };

/* SYN, SYN-ACK, ACK at 0, 10 and 11 ms. */
static void handshake(struct fixture *fx)
{
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 10, SERVER, SYN | ACK, SISN, CISN + 1, 0);
    tcp(fx, 11, CLIENT, ACK, CISN + 1, SISN + 1, 0);
}

/* 100 bytes from the client, 200 back, both acknowledged. */
static void exchange(struct fixture *fx)
{
    tcp(fx, 20, CLIENT, PSH | ACK, CISN + 1, SISN + 1, 100);
    tcp(fx, 30, SERVER, PSH | ACK, SISN + 1, CISN + 101, 200);
    tcp(fx, 31, CLIENT, ACK, CISN + 101, SISN + 201, 0);
}

static const struct fa_flow_record *only_record(struct fixture *fx)
{
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 1);
    return &fx->sink.recs[0];
}

static void assert_flow(const struct fa_flow_record *r, const char *state, const char *history)
{
    assert_string_equal(r->conn_state, state);
    assert_string_equal(r->history, history);
}

/* ------------------------------------------------------------------ */

static void test_s0_retransmitted_syns_are_one_attempt(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 1000, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 3000, CLIENT, SYN, CISN, 0, 0);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "S0", "S");
    assert_int_equal(r->syn_count, 3);
    assert_int_equal(r->orig_pkts, 3);
    assert_int_equal(r->resp_pkts, 0);
    assert_int_equal(r->orig_bytes, 0);
    assert_int_equal(r->syn_to_synack_ns, -1);
    assert_int_equal(r->last_ns - r->first_ns, 3 * SEC);
    assert_int_equal(r->end, FA_END_CAPTURE_END);
    fixture_done(fx);
}

static void test_attempt_timeout_splits_as_zeek(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 1000, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 3000, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 7000, CLIENT, SYN, CISN, 0, 0);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 2);
    assert_int_equal(fx->sink.recs[0].syn_count, 3);
    assert_int_equal(fx->sink.recs[0].end, FA_END_TIMEOUT);
    assert_flow(&fx->sink.recs[1], "S0", "S");
    assert_int_equal(fx->sink.recs[1].syn_count, 1);
    assert_int_equal(fx->sink.recs[1].first_ns, T0 + 7 * SEC);
    fixture_done(fx);
}

static void test_new_isn_is_a_new_syn_letter_and_new_flow(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 1000, CLIENT, SYN, CISN + 77777, 0, 0);
    fa_flow_flush(fx->t);
    /* Zeek treats a SYN with another ISN as reuse of the 5-tuple. */
    assert_int_equal(fx->sink.n, 2);
    assert_int_equal(fx->sink.recs[0].end, FA_END_REUSED);
    fixture_done(fx);
}

static void test_rej(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 2, SERVER, RST | ACK, 0, CISN + 1, 0);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "REJ", "Sr");
    assert_int_equal(r->orig_bytes, 0);
    assert_int_equal(r->resp_bytes, 0);
    assert_int_equal(r->syn_count, 1);
    fixture_done(fx);
}

static void test_sf_counts_and_handshake_times(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    exchange(fx);
    tcp(fx, 40, CLIENT, FIN | ACK, CISN + 101, SISN + 201, 0);
    tcp(fx, 41, SERVER, FIN | ACK, SISN + 201, CISN + 102, 0);
    tcp(fx, 42, CLIENT, ACK, CISN + 102, SISN + 202, 0);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "SF", "ShADdFf");
    assert_int_equal(r->orig_pkts, 6);
    assert_int_equal(r->resp_pkts, 3);
    assert_int_equal(r->orig_bytes, 100);
    assert_int_equal(r->resp_bytes, 200);
    assert_int_equal(r->orig_ip_bytes, 6 * 40 + 100);
    assert_int_equal(r->resp_ip_bytes, 3 * 40 + 200);
    assert_int_equal(r->syn_to_synack_ns, 10 * MS);
    assert_int_equal(r->synack_to_ack_ns, 1 * MS);
    assert_int_equal(r->orig_p, 40000);
    assert_int_equal(r->resp_p, 1433);
    /* As Zeek: the ACK after both FINs does not lengthen the flow. */
    assert_int_equal(r->last_ns - r->first_ns, 41 * MS);
    fixture_done(fx);
}

static void test_silent_side_has_no_bytes(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 10, CLIENT, ACK, CISN + 1, 123456789, 0);
    tcp(fx, 20, CLIENT, PSH | ACK, CISN + 1, 123456789, 50);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "S0", "SAD");
    assert_int_equal(r->orig_bytes, 50);
    assert_int_equal(r->resp_bytes, 0);
    fixture_done(fx);
}

static void test_closed_flow_ends_after_linger(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    tcp(fx, 40, CLIENT, FIN | ACK, CISN + 1, SISN + 1, 0);
    tcp(fx, 41, SERVER, FIN | ACK, SISN + 1, CISN + 2, 0);
    fa_flow_expire(fx->t, T0 + 41 * MS + 4 * SEC);
    assert_int_equal(fx->sink.n, 0);
    fa_flow_expire(fx->t, T0 + 41 * MS + 5 * SEC);
    assert_int_equal(fx->sink.n, 1);
    assert_int_equal(fx->sink.recs[0].end, FA_END_CLOSED);
    assert_string_equal(fx->sink.recs[0].conn_state, "SF");
    fixture_done(fx);
}

static void test_retransmission_counts_once(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    tcp(fx, 20, CLIENT, PSH | ACK, CISN + 1, SISN + 1, 100);
    tcp(fx, 220, CLIENT, PSH | ACK, CISN + 1, SISN + 1, 100);
    tcp(fx, 230, SERVER, ACK, SISN + 1, CISN + 101, 0);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "S1", "ShADTa");
    assert_int_equal(r->orig_bytes, 100);
    fixture_done(fx);
}

static void test_s1(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    exchange(fx);
    assert_flow(only_record(fx), "S1", "ShADd");
    fixture_done(fx);
}

static void test_s2_originator_closed_only(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    tcp(fx, 40, CLIENT, FIN | ACK, CISN + 1, SISN + 1, 0);
    assert_flow(only_record(fx), "S2", "ShAF");
    fixture_done(fx);
}

static void test_s3_responder_closed_only(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    tcp(fx, 40, SERVER, FIN | ACK, SISN + 1, CISN + 1, 0);
    assert_flow(only_record(fx), "S3", "ShAf");
    fixture_done(fx);
}

static void test_rsto(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    tcp(fx, 40, CLIENT, RST | ACK, CISN + 1, SISN + 1, 0);
    assert_flow(only_record(fx), "RSTO", "ShAR");
    fixture_done(fx);
}

static void test_rstr(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    exchange(fx);
    tcp(fx, 40, SERVER, RST, SISN + 201, 0, 0);
    assert_flow(only_record(fx), "RSTR", "ShADdr");
    fixture_done(fx);
}

static void test_rstos0(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 100, CLIENT, RST, CISN + 1, 0, 0);
    assert_flow(only_record(fx), "RSTOS0", "SR");
    fixture_done(fx);
}

static void test_rstrh_synack_then_reset_flips_roles(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, SERVER, SYN | ACK, SISN, CISN + 1, 0);
    tcp(fx, 5, SERVER, RST, SISN + 1, 0, 0);
    const struct fa_flow_record *r = only_record(fx);
    /* 1433 is a likely server port: the SYN-ACK's sender is the responder. */
    assert_flow(r, "RSTRH", "^hr");
    assert_int_equal(r->orig_p, 40000);
    assert_int_equal(r->resp_p, 1433);
    assert_int_equal(r->orig_pkts, 0);
    assert_int_equal(r->resp_pkts, 2);
    fixture_done(fx);
}

static void test_sh_syn_then_fin(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 100, CLIENT, FIN, CISN + 1, 0, 0);
    assert_flow(only_record(fx), "SH", "SF");
    fixture_done(fx);
}

static void test_shr_synack_then_fin(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, SERVER, SYN | ACK, SISN, CISN + 1, 0);
    tcp(fx, 5, SERVER, FIN | ACK, SISN + 1, CISN + 1, 0);
    assert_flow(only_record(fx), "SHR", "^hf");
    fixture_done(fx);
}

static void test_oth_midstream(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, PSH | ACK, CISN, SISN, 10);
    tcp(fx, 5, SERVER, PSH | ACK, SISN, CISN + 10, 20);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "OTH", "Dd");
    assert_int_equal(r->orig_bytes, 10);
    assert_int_equal(r->resp_bytes, 20);
    fixture_done(fx);
}

static void test_midstream_from_server_port_is_flipped(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, SERVER, PSH | ACK, SISN, CISN, 20);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "OTH", "^d");
    assert_int_equal(r->resp_p, 1433);
    fixture_done(fx);
}

static void test_reuse_after_close_starts_new_flow(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    tcp(fx, 40, CLIENT, FIN | ACK, CISN + 1, SISN + 1, 0);
    tcp(fx, 41, SERVER, FIN | ACK, SISN + 1, CISN + 2, 0);
    tcp(fx, 42, CLIENT, ACK, CISN + 2, SISN + 2, 0);
    tcp(fx, 500, CLIENT, SYN, 90000, 0, 0);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 2);
    assert_string_equal(fx->sink.recs[0].conn_state, "SF");
    assert_int_equal(fx->sink.recs[0].end, FA_END_REUSED);
    assert_string_equal(fx->sink.recs[1].conn_state, "S0");
    assert_int_equal(fx->sink.recs[1].seq, 2);
    fixture_done(fx);
}

/* ------------------------------------------------------------------ */
/* UDP and ICMP */

static struct fa_packet udp_pkt(int from_client, uint32_t len)
{
    struct fa_packet p = tcp_pkt(from_client, 0, 0, 0, len);
    p.proto = FA_PROTO_UDP;
    p.sport = from_client ? 50000 : 53;
    p.dport = from_client ? 53 : 50000;
    p.ip_len = 28 + len;
    return p;
}

static void test_udp_answered_unanswered_and_response_only(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet q = udp_pkt(CLIENT, 30), a = udp_pkt(SERVER, 60);
    fa_flow_packet(fx->t, &q, T0);
    fa_flow_packet(fx->t, &a, T0 + MS);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 1);
    assert_flow(&fx->sink.recs[0], "SF", "Dd");
    assert_int_equal(fx->sink.recs[0].orig_bytes, 30);
    assert_int_equal(fx->sink.recs[0].resp_bytes, 60);
    fixture_done(fx);

    fx = fixture_new();
    fa_flow_packet(fx->t, &q, T0);
    assert_flow(only_record(fx), "S0", "D");
    fixture_done(fx);

    fx = fixture_new();
    fa_flow_packet(fx->t, &a, T0);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "SHR", "^d");
    assert_int_equal(r->resp_p, 53);
    fixture_done(fx);
}

static void test_udp_inactivity_timeout(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet q = udp_pkt(CLIENT, 30);
    fa_flow_packet(fx->t, &q, T0);
    fa_flow_packet(fx->t, &q, T0 + 61 * SEC);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 2);
    assert_int_equal(fx->sink.recs[0].end, FA_END_TIMEOUT);
    fixture_done(fx);
}

static struct fa_packet icmp_pkt(int from_client, uint8_t type, uint8_t code, uint32_t len)
{
    struct fa_packet p = tcp_pkt(from_client, 0, 0, 0, len);
    p.proto = FA_PROTO_ICMP;
    p.has_ports = 0;
    p.sport = p.dport = 0;
    p.has_icmp = 1;
    p.icmp_type = type;
    p.icmp_code = code;
    p.ip_len = 28 + len;
    return p;
}

static void test_icmp_echo_request_and_reply_pair(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet req = icmp_pkt(CLIENT, 8, 0, 56), rep = icmp_pkt(SERVER, 0, 0, 56);
    fa_flow_packet(fx->t, &req, T0);
    fa_flow_packet(fx->t, &rep, T0 + MS);
    const struct fa_flow_record *r = only_record(fx);
    assert_flow(r, "OTH", "");
    assert_int_equal(r->orig_p, 8);
    assert_int_equal(r->resp_p, 0);
    assert_int_equal(r->orig_pkts, 1);
    assert_int_equal(r->resp_pkts, 1);
    assert_int_equal(r->orig_bytes, 56);
    fixture_done(fx);
}

static void test_icmp_unreachable_is_attached_to_the_quoted_flow(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 0, CLIENT, SYN, CISN, 0, 0);
    struct fa_packet u = icmp_pkt(SERVER, 3, 13, 28);
    set_v4(&u.src, 192, 0, 2, 1); /* the firewall */
    u.has_quoted = 1;
    u.quoted.proto = FA_PROTO_TCP;
    u.quoted.has_ports = 1;
    set_v4(&u.quoted.src, 192, 0, 2, 10);
    set_v4(&u.quoted.dst, 192, 0, 2, 30);
    u.quoted.sport = 40000;
    u.quoted.dport = 1433;
    fa_flow_packet(fx->t, &u, T0 + 3 * MS);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 2);
    const struct fa_flow_record *tcpf =
        fx->sink.recs[0].proto == FA_PROTO_TCP ? &fx->sink.recs[0] : &fx->sink.recs[1];
    const struct fa_flow_record *icmpf =
        fx->sink.recs[0].proto == FA_PROTO_TCP ? &fx->sink.recs[1] : &fx->sink.recs[0];
    assert_int_equal(tcpf->has_icmp_error, 1);
    assert_int_equal(tcpf->icmp_error_type, 3);
    assert_int_equal(tcpf->icmp_error_code, 13);
    assert_memory_equal(tcpf->icmp_error_from.b, u.src.b, 16);
    assert_string_equal(tcpf->conn_state, "S0");
    /* The ICMP message is a flow of its own, as Zeek logs it. */
    assert_int_equal(icmpf->orig_p, 3);
    assert_int_equal(icmpf->resp_p, 13);
    fixture_done(fx);
}

/* ------------------------------------------------------------------ */
/* Memory, fragments, checkpoints */

static void test_full_table_evicts_idlest_and_counts(void **st)
{
    (void)st;
    struct fa_flow_config cfg;
    fa_flow_config_defaults(&cfg);
    cfg.max_flows = 2;
    struct fixture *fx = fixture_with(&cfg);
    for (int i = 0; i < 3; i++) {
        struct fa_packet q = udp_pkt(CLIENT, 10);
        q.sport = (uint16_t)(50000 + i);
        fa_flow_packet(fx->t, &q, T0 + i * MS);
    }
    assert_int_equal(fx->sink.n, 1);
    assert_int_equal(fx->sink.recs[0].end, FA_END_EVICTED);
    assert_int_equal(fx->sink.recs[0].orig_p, 50000);
    assert_int_equal(fa_flow_table_stats(fx->t)->evicted, 1);
    assert_int_equal(fa_flow_table_stats(fx->t)->active, 2);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 3);
    fixture_done(fx);
}

static void test_fragments_join_their_flow(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet first = udp_pkt(CLIENT, 1472);
    first.is_fragment = first.more_fragments = 1;
    first.frag_id = 77;
    first.ip_len = 1500;
    struct fa_packet rest = first;
    rest.has_ports = 0;
    rest.sport = rest.dport = 0;
    rest.more_fragments = 0;
    rest.frag_offset = 1480;
    rest.payload_len = 520;
    rest.ip_len = 540;
    struct fa_packet orphan = rest;
    orphan.frag_id = 78;
    fa_flow_packet(fx->t, &first, T0);
    fa_flow_packet(fx->t, &rest, T0 + 1);
    fa_flow_packet(fx->t, &orphan, T0 + 2);
    const struct fa_flow_record *r = only_record(fx);
    assert_int_equal(r->orig_pkts, 2);
    assert_int_equal(r->orig_bytes, 1472 + 520);
    assert_int_equal(r->orig_ip_bytes, 1500 + 540);
    assert_int_equal(fa_flow_table_stats(fx->t)->orphan_fragments, 1);
    fixture_done(fx);
}

static void test_checkpoint_sends_changed_flows_only(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    fa_flow_checkpoint(fx->t, SIZE_MAX);
    assert_int_equal(fx->sink.n, 1);
    assert_int_equal(fx->sink.final[0], 0);
    assert_int_equal(fx->sink.recs[0].end, FA_END_ACTIVE);
    fa_flow_checkpoint(fx->t, SIZE_MAX);
    assert_int_equal(fx->sink.n, 1);
    exchange(fx);
    fa_flow_checkpoint(fx->t, SIZE_MAX);
    assert_int_equal(fx->sink.n, 2);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 3);
    assert_int_equal(fx->sink.final[2], 1);
    assert_int_equal(fx->sink.recs[2].seq, fx->sink.recs[0].seq);
    /* Written again, it keeps the row its first record took. */
    assert_int_equal(fx->sink.recs[0].row, 1);
    assert_int_equal(fx->sink.recs[1].row, 1);
    assert_int_equal(fx->sink.recs[2].row, 1);
    fixture_done(fx);
}

/* Rows number the flows in the order they are first written, which is not
 * the order they were created in (seq). */
static void test_rows_in_write_order(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet a = udp_pkt(CLIENT, 30), b = udp_pkt(CLIENT, 30);
    b.sport++;
    fa_flow_packet(fx->t, &a, T0);
    fa_flow_packet(fx->t, &b, T0 + MS);
    fa_flow_packet(fx->t, &a, T0 + 2 * MS);
    fa_flow_flush(fx->t); /* idlest first: b, then a */
    assert_int_equal(fx->sink.n, 2);
    assert_int_equal(fx->sink.recs[0].seq, 2);
    assert_int_equal(fx->sink.recs[0].row, 1);
    assert_int_equal(fx->sink.recs[1].seq, 1);
    assert_int_equal(fx->sink.recs[1].row, 2);
    fixture_done(fx);
}

static void test_checkpoint_a_little_at_a_time(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    for (int i = 0; i < 3; i++) {
        struct fa_packet q = udp_pkt(CLIENT, 10);
        q.sport = (uint16_t)(50000 + i);
        fa_flow_packet(fx->t, &q, T0 + i * MS);
    }
    assert_int_equal(fa_flow_checkpoint(fx->t, 2), 2);
    assert_int_equal(fa_flow_checkpoint(fx->t, 2), 1); /* the round ends */
    assert_int_equal(fx->sink.n, 3);
    assert_int_equal(fa_flow_checkpoint(fx->t, 2), 0); /* nothing changed since */
    fixture_done(fx);
}

static void test_stream_names_reach_the_record(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    handshake(fx);
    struct fa_tuple t = {.proto = FA_PROTO_TCP, .has_ports = 1, .sport = 40000, .dport = 1433};
    set_v4(&t.src, 192, 0, 2, 10);
    set_v4(&t.dst, 192, 0, 2, 30);
    fa_flow_set_app(fx->t, &t, 3, 0x0304, "db.example.com", 1);
    t.dport = 1434; /* no such flow: nothing happens */
    fa_flow_set_app(fx->t, &t, 4, 0, "other.example.com", 1);
    const struct fa_flow_record *r = only_record(fx);
    assert_int_equal(r->app_proto, 3);
    assert_int_equal(r->tls_version, 0x0304);
    assert_string_equal(r->server_name, "db.example.com");
    fixture_done(fx);
}

/* Undecided, a flow is given to naming for its first 256 packets only;
 * named but still read (a DNS stream's answers), for as long as it takes,
 * until the final word. */
static void test_naming_packet_cap(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet syn = tcp_pkt(CLIENT, SYN, CISN, 0, 0);
    struct fa_packet ack = tcp_pkt(CLIENT, ACK, CISN + 1, SISN + 1, 0);
    struct fa_tuple t = {.proto = FA_PROTO_TCP, .has_ports = 1, .sport = 40000, .dport = 1433};
    set_v4(&t.src, 192, 0, 2, 10);
    set_v4(&t.dst, 192, 0, 2, 30);
    int64_t ts = T0;

    assert_int_equal(fa_flow_packet(fx->t, &syn, ts), 1);
    for (int i = 2; i <= 256; i++)
        assert_int_equal(fa_flow_packet(fx->t, &ack, ts += MS), 1);
    assert_int_equal(fa_flow_packet(fx->t, &ack, ts += MS), 0);
    fa_flow_flush(fx->t);

    fx->sink.n = 0;
    assert_int_equal(fa_flow_packet(fx->t, &syn, ts += MS), 1);
    fa_flow_set_app(fx->t, &t, FA_APP_DNS, 0, NULL, 0);
    for (int i = 2; i <= 1000; i++)
        assert_int_equal(fa_flow_packet(fx->t, &ack, ts += MS), 1);
    fa_flow_set_app(fx->t, &t, FA_APP_DNS, 0, NULL, 1);
    assert_int_equal(fa_flow_packet(fx->t, &ack, ts += MS), 0);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.n, 1);
    assert_int_equal(fx->sink.recs[0].app_proto, FA_APP_DNS);
    fixture_done(fx);
}

static void test_naming_wants_early_tcp_packets_until_decided(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    struct fa_packet syn = tcp_pkt(CLIENT, SYN, CISN, 0, 0);
    assert_int_equal(fa_flow_packet(fx->t, &syn, T0), 1);
    struct fa_packet data = tcp_pkt(CLIENT, PSH | ACK, CISN + 1, SISN + 1, 10);
    assert_int_equal(fa_flow_packet(fx->t, &data, T0 + MS), 1);
    struct fa_tuple t = {.proto = FA_PROTO_TCP, .has_ports = 1, .sport = 40000, .dport = 1433};
    set_v4(&t.src, 192, 0, 2, 10);
    set_v4(&t.dst, 192, 0, 2, 30);
    fa_flow_set_app(fx->t, &t, 0, 0, NULL, 1); /* decided, nothing recognised */
    assert_int_equal(fa_flow_packet(fx->t, &data, T0 + 2 * MS), 0);
    /* Reassembly starts at a SYN: a flow picked up mid-stream is not sent. */
    struct fa_packet mid = tcp_pkt(CLIENT, PSH | ACK, 7, 9, 10);
    mid.sport = 40001;
    assert_int_equal(fa_flow_packet(fx->t, &mid, T0 + 3 * MS), 0);
    struct fa_packet q = udp_pkt(CLIENT, 30);
    assert_int_equal(fa_flow_packet(fx->t, &q, T0 + 4 * MS), 0);
    fa_flow_flush(fx->t);
    assert_int_equal(fx->sink.recs[0].app_proto, 0);
    fixture_done(fx);
}

static void test_time_never_runs_backwards(void **st)
{
    (void)st;
    struct fixture *fx = fixture_new();
    tcp(fx, 1000, CLIENT, SYN, CISN, 0, 0);
    tcp(fx, 0, SERVER, SYN | ACK, SISN, CISN + 1, 0);
    const struct fa_flow_record *r = only_record(fx);
    assert_true(r->last_ns >= r->first_ns);
    assert_int_equal(r->syn_to_synack_ns, 0);
    fixture_done(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s0_retransmitted_syns_are_one_attempt),
        cmocka_unit_test(test_attempt_timeout_splits_as_zeek),
        cmocka_unit_test(test_new_isn_is_a_new_syn_letter_and_new_flow),
        cmocka_unit_test(test_rej),
        cmocka_unit_test(test_sf_counts_and_handshake_times),
        cmocka_unit_test(test_silent_side_has_no_bytes),
        cmocka_unit_test(test_closed_flow_ends_after_linger),
        cmocka_unit_test(test_retransmission_counts_once),
        cmocka_unit_test(test_s1),
        cmocka_unit_test(test_s2_originator_closed_only),
        cmocka_unit_test(test_s3_responder_closed_only),
        cmocka_unit_test(test_rsto),
        cmocka_unit_test(test_rstr),
        cmocka_unit_test(test_rstos0),
        cmocka_unit_test(test_rstrh_synack_then_reset_flips_roles),
        cmocka_unit_test(test_sh_syn_then_fin),
        cmocka_unit_test(test_shr_synack_then_fin),
        cmocka_unit_test(test_oth_midstream),
        cmocka_unit_test(test_midstream_from_server_port_is_flipped),
        cmocka_unit_test(test_reuse_after_close_starts_new_flow),
        cmocka_unit_test(test_udp_answered_unanswered_and_response_only),
        cmocka_unit_test(test_udp_inactivity_timeout),
        cmocka_unit_test(test_icmp_echo_request_and_reply_pair),
        cmocka_unit_test(test_icmp_unreachable_is_attached_to_the_quoted_flow),
        cmocka_unit_test(test_full_table_evicts_idlest_and_counts),
        cmocka_unit_test(test_fragments_join_their_flow),
        cmocka_unit_test(test_checkpoint_sends_changed_flows_only),
        cmocka_unit_test(test_rows_in_write_order),
        cmocka_unit_test(test_checkpoint_a_little_at_a_time),
        cmocka_unit_test(test_stream_names_reach_the_record),
        cmocka_unit_test(test_naming_wants_early_tcp_packets_until_decided),
        cmocka_unit_test(test_naming_packet_cap),
        cmocka_unit_test(test_time_never_runs_backwards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
