/*
 * flow.c - the flow table and its TCP endpoint state machine.
 *
 * Semantics follow Zeek's connection tracking, so that a conn.log exported
 * from flowaudit reads like one Zeek wrote for the same trace:
 *   - a TCP flow's two endpoints move through Zeek's endpoint states
 *     (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED,
 *     RESET) and conn_state is derived from the pair at the end;
 *   - history letters are recorded as Zeek records them: S H A D F R I Q
 *     (and the scaled T and W) upper case for the originator, '^' when the
 *     roles were swapped;
 *   - the originator is the sender of the first packet, except that a flow
 *     whose first packet is not a bare SYN and comes from a likely server
 *     port is flipped (docs/flows.md lists the rule and the ports);
 *   - payload bytes of TCP come from sequence numbers, not from summing
 *     segments, so retransmissions are not counted twice.
 *
 * Memory: every flow is on exactly one inactivity list (by protocol, or the
 * closing list once it has finished), ordered by last activity, so the
 * head of each list is the next to time out and the oldest head is the
 * flow idle longest.  TCP attempts are also on a FIFO ordered by their
 * first SYN, for Zeek's fixed attempt timeout.  A table at max_flows evicts
 * the flow idle longest before creating a new one.
 */
#include "flow.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

enum ep_state {
    EP_INACTIVE,
    EP_SYN_SENT,
    EP_SYN_ACK_SENT,
    EP_PARTIAL,
    EP_ESTABLISHED,
    EP_CLOSED,
    EP_RESET
};

/* History letters recorded at most once per direction (or once per
 * distinct sequence number), as bits of endpoint.hist_seen. */
enum {
    H_SYN = 1 << 0, /* S and H alike: Zeek's HIST_SYN_PKT */
    H_ACK = 1 << 2,
    H_DATA = 1 << 3,
    H_FIN = 1 << 4,
    H_RST = 1 << 5,
    H_INCONSISTENT = 1 << 6,
    H_MULTI = 1 << 7
};

/* Zeek ignores SYN and RST sequence numbers this far from what it expects. */
#define TOO_LARGE_SEQ_DELTA 1048576

struct endpoint {
    uint8_t state, prev_state;
    uint8_t did_close;
    uint8_t hist_seen;
    uint8_t seq_known;                     /* start_seq is set: from a packet, or the peer's ACK */
    uint32_t start_seq, last_seq, ack_seq; /* 32-bit sequence space */
    int64_t last_rel, ack_rel;             /* the same, unwrapped, relative to start_seq */
    uint32_t hist_last_syn, hist_last_fin, hist_last_rst;
    uint32_t fin_cnt;
    uint32_t rxmit_cnt, rxmit_next;       /* 'T' at 1, 10, 100... */
    uint32_t zero_win_cnt, zero_win_next; /* 'W' likewise */
    uint64_t pkts, ip_bytes, payload_bytes;
};

enum flow_list { L_TCP, L_UDP, L_ICMP, L_OTHER, L_CLOSING, L_COUNT };

struct flow;

/* An intrusive doubly linked list: a flow is on several lists at once,
 * each through its own struct link, found at link_off inside the flow. */
struct link {
    struct flow *prev, *next;
};

struct list {
    struct flow *head, *tail;
    size_t link_off;
};

/* Whether a TCP flow's packets go to stream reassembly (streams.h). */
enum naming {
    NAMING_WANTED = 0, /* not yet decided: its first NAMING_PACKETS packets */
    NAMING_READ,       /* named, and still read (a DNS server's answers) */
    NAMING_DONE        /* decided, or past what naming reads */
};

struct flow {
    struct flow *hnext;  /* hash chain */
    struct link idle;    /* on an inactivity list */
    struct link attempt; /* on the attempt FIFO */
    uint8_t list;        /* enum flow_list */
    uint8_t in_attempts;
    uint8_t dirty; /* changed since the last checkpoint */
    uint8_t proto, ip_version;
    uint8_t hist_len;
    uint64_t hash;
    uint64_t seq;
    uint64_t row; /* 0 until its first record */
    struct fa_addr orig_h, resp_h;
    uint16_t orig_p, resp_p;
    int64_t first_ns, last_ns; /* the packets' own timestamps */
    int64_t active_ns;         /* the table's clock at the last packet: what ages the flow */
    int64_t attempt_deadline_ns;
    int64_t syn_ns, synack_ns, ack_ns;
    uint32_t syn_count;
    struct endpoint orig, resp;
    char history[FA_HISTORY_MAX + 1];
    uint8_t has_icmp_error, icmp_error_type, icmp_error_code, icmp_error_v6;
    struct fa_addr icmp_error_from;
    uint8_t app_proto;
    uint8_t naming; /* enum naming */
    uint16_t tls_version;
    char *server_name; /* malloc'ed when a stream named it: few flows have one */
};

/* Ports of the first fragment of a datagram, for its later fragments.
 * A direct-mapped cache: a collision forgets the older datagram, whose
 * remaining fragments are then counted as orphans. */
#define FRAG_SLOTS 4096
#define FRAG_LIFETIME_NS (30LL * 1000000000LL)
struct frag_slot {
    struct fa_addr src, dst;
    uint32_t id;
    uint8_t proto, used, one_way;
    uint16_t sport, dport;
    int64_t ts_ns;
};

struct fa_flow_table {
    struct fa_flow_config cfg;
    uint64_t seed[2]; /* keys the hash, so colliding flows cannot be computed offline */
    fa_flow_sink sink;
    void *sink_ctx;
    struct flow **buckets;
    uint64_t nbuckets; /* power of two */
    struct list lists[L_COUNT];
    struct list attempts; /* TCP attempts, by first SYN: by deadline */
    struct flow *free_flows;
    int64_t now_ns;
    uint64_t rows; /* flows written at least once */
    /* No flow's deadline is earlier than this; it may be earlier than the
     * true next deadline, never later, so expiry work is skipped only when
     * there is certainly none to do. */
    int64_t next_expiry_ns;
    /* A checkpoint round in progress: the list it is in (-1: none) and
     * the next flow it looks at. */
    int ckpt_list;
    struct flow *ckpt_next;
    struct fa_flow_stats stats;
    struct frag_slot frags[FRAG_SLOTS];
};

/* ------------------------------------------------------------------ */
/* Ports that make the sender of a first packet look like the server.
 * Zeek's default analyzers register these; flowaudit adds the ports of
 * the platform it audits (database, platform services, message queue). */

static const uint16_t likely_tcp_ports[] = {
    21,   22,   25,   53,   80,   81,   88,   110,  135,   139,   143,   389,   443,  445,
    502,  563,  585,  587,  614,  631,  636,  750,  989,   990,   992,   993,   995,  1080,
    1433, 1521, 1883, 2811, 3128, 3268, 3306, 3389, 5222,  5223,  5269,  5432,  5671, 5672,
    6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 12000, 12001, 12002, 12102, 20000};
static const uint16_t likely_udp_ports[] = {53,   67,   69,   88,   123,  137,  138,  161,  162,
                                            443,  500,  514,  750,  1434, 1812, 2123, 2152, 3389,
                                            3544, 4500, 4789, 5060, 5072, 5353, 5355, 6081, 20000};

static int port_in(const uint16_t *ports, size_t n, uint16_t p)
{
    for (size_t i = 0; i < n; i++)
        if (ports[i] == p)
            return 1;
    return 0;
}

static int likely_server_port(uint8_t proto, uint16_t port)
{
    if (proto == FA_PROTO_TCP)
        return port_in(likely_tcp_ports, sizeof likely_tcp_ports / sizeof *likely_tcp_ports, port);
    return port_in(likely_udp_ports, sizeof likely_udp_ports / sizeof *likely_udp_ports, port);
}

/* ------------------------------------------------------------------ */
/* ICMP: Zeek keys a flow on the message type and its counterpart, so an
 * echo request and its reply meet in one flow, while one-way messages
 * (errors) carry their code where the counterpart would be. */

/* Request and reply types that meet in one flow; every other type is
 * one-way.  From Zeek's ICMP4_counterpart and ICMP6_counterpart. */
static const uint8_t icmp4_pairs[][2] = {{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}};
static const uint8_t icmp6_pairs[][2] = {{128, 129}, {133, 134}, {135, 136},
                                         {130, 131}, {139, 140}, {144, 145}};

/* The type an ICMP message is keyed against: its reply or request, or
 * for a one-way message its code. */
static uint16_t icmp_counterpart(int v6, uint8_t type, uint8_t code, int *one_way)
{
    const uint8_t(*pairs)[2] = v6 ? icmp6_pairs : icmp4_pairs;
    size_t n =
        v6 ? sizeof icmp6_pairs / sizeof *icmp6_pairs : sizeof icmp4_pairs / sizeof *icmp4_pairs;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i][0] == type || pairs[i][1] == type) {
            *one_way = 0;
            return pairs[i][0] == type ? pairs[i][1] : pairs[i][0];
        }
    }
    *one_way = 1;
    return code;
}

/* ------------------------------------------------------------------ */
/* Keys and hashing.  A flow is found from either direction, so the hash
 * combines the two (address, port) ends commutatively. */

struct key {
    uint8_t proto;
    const struct fa_addr *src, *dst;
    uint16_t sport, dport;
};

static uint64_t key_hash(const struct fa_flow_table *t, const struct key *k)
{
    return fa_mix64(fa_hash_end(t->seed, k->src, k->sport) +
                    fa_hash_end(t->seed, k->dst, k->dport) + k->proto);
}

/* 1 when the key names f with src as originator, -1 with src as
 * responder, 0 when it is another flow. */
static int key_match(const struct flow *f, const struct key *k)
{
    if (f->proto != k->proto)
        return 0;
    if (f->orig_p == k->sport && f->resp_p == k->dport && fa_addr_eq(&f->orig_h, k->src) &&
        fa_addr_eq(&f->resp_h, k->dst))
        return 1;
    if (f->orig_p == k->dport && f->resp_p == k->sport && fa_addr_eq(&f->orig_h, k->dst) &&
        fa_addr_eq(&f->resp_h, k->src))
        return -1;
    return 0;
}

/* forward_only: a one-way ICMP message (type 3 code 3, say) from B to A
 * is not the reply to one from A to B, though its key reads the same. */
static struct flow *lookup(struct fa_flow_table *t, const struct key *k, uint64_t h,
                           int forward_only, int *dir)
{
    for (struct flow *f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext) {
        if (f->hash != h)
            continue;
        int m = key_match(f, k);
        if (m > 0 || (m < 0 && !forward_only)) {
            *dir = m;
            return f;
        }
    }
    return NULL;
}

static void hash_insert(struct fa_flow_table *t, struct flow *f)
{
    struct flow **b = &t->buckets[f->hash & (t->nbuckets - 1)];
    f->hnext = *b;
    *b = f;
}

static void hash_remove(struct fa_flow_table *t, struct flow *f)
{
    struct flow **p = &t->buckets[f->hash & (t->nbuckets - 1)];
    while (*p != f)
        p = &(*p)->hnext;
    *p = f->hnext;
}

/* Doubles the bucket array; a failed allocation keeps the old one, which
 * still works, only with longer chains. */
static void grow_buckets(struct fa_flow_table *t)
{
    uint64_t n = t->nbuckets * 2;
    struct flow **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (uint64_t i = 0; i < t->nbuckets; i++) {
        struct flow *f = t->buckets[i];
        while (f) {
            struct flow *next = f->hnext;
            f->hnext = nb[f->hash & (n - 1)];
            nb[f->hash & (n - 1)] = f;
            f = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

/* ------------------------------------------------------------------ */
/* Inactivity lists and the attempt FIFO. */

static struct link *link_of(const struct list *l, struct flow *f)
{
    return (struct link *)((char *)f + l->link_off);
}

static void list_push(struct list *l, struct flow *f)
{
    struct link *k = link_of(l, f);
    k->next = NULL;
    k->prev = l->tail;
    if (l->tail)
        link_of(l, l->tail)->next = f;
    else
        l->head = f;
    l->tail = f;
}

static void list_remove(struct list *l, struct flow *f)
{
    struct link *k = link_of(l, f);
    if (k->prev)
        link_of(l, k->prev)->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        link_of(l, k->next)->prev = k->prev;
    else
        l->tail = k->prev;
    k->prev = k->next = NULL;
}

static void list_unlink(struct fa_flow_table *t, struct flow *f)
{
    /* A checkpoint round walking the lists resumes after f. */
    if (f == t->ckpt_next)
        t->ckpt_next = f->idle.next;
    list_remove(&t->lists[f->list], f);
}

static int64_t list_timeout(const struct fa_flow_table *t, enum flow_list which)
{
    switch (which) {
    case L_TCP:
        return t->cfg.tcp_timeout_ns;
    case L_UDP:
        return t->cfg.udp_timeout_ns;
    case L_ICMP:
        return t->cfg.icmp_timeout_ns;
    case L_OTHER:
        return t->cfg.other_timeout_ns;
    default:
        return t->cfg.close_linger_ns;
    }
}

static void note_deadline(struct fa_flow_table *t, int64_t deadline)
{
    if (deadline < t->next_expiry_ns)
        t->next_expiry_ns = deadline;
}

static void list_append(struct fa_flow_table *t, struct flow *f, enum flow_list which)
{
    note_deadline(t, f->active_ns + list_timeout(t, which));
    f->list = (uint8_t)which;
    list_push(&t->lists[which], f);
}

/* Moves f to the tail of the list it belongs on now. */
static void list_touch(struct fa_flow_table *t, struct flow *f, enum flow_list which)
{
    if (t->lists[f->list].tail == f && f->list == which)
        return;
    list_unlink(t, f);
    list_append(t, f, which);
}

static enum flow_list base_list(uint8_t proto)
{
    switch (proto) {
    case FA_PROTO_TCP:
        return L_TCP;
    case FA_PROTO_UDP:
        return L_UDP;
    case FA_PROTO_ICMP:
    case FA_PROTO_ICMPV6:
        return L_ICMP;
    default:
        return L_OTHER;
    }
}

static void attempts_append(struct fa_flow_table *t, struct flow *f)
{
    note_deadline(t, f->attempt_deadline_ns);
    f->in_attempts = 1;
    list_push(&t->attempts, f);
}

static void attempts_remove(struct fa_flow_table *t, struct flow *f)
{
    list_remove(&t->attempts, f);
    f->in_attempts = 0;
}

/* ------------------------------------------------------------------ */
/* History. */

static void add_history(struct flow *f, char c)
{
    if (f->hist_len < FA_HISTORY_MAX) {
        f->history[f->hist_len++] = c;
        f->history[f->hist_len] = '\0';
    }
}

static char dir_letter(int is_orig, char c)
{
    return is_orig ? c : (char)(c - 'A' + 'a');
}

/* Records c the first time the bit is seen; returns 1 when it was seen
 * before (Zeek's CheckHistory). */
static int check_history(struct flow *f, struct endpoint *e, int is_orig, uint8_t bit, char c)
{
    if (e->hist_seen & bit)
        return 1;
    e->hist_seen |= bit;
    add_history(f, dir_letter(is_orig, c));
    return 0;
}

/* Letters that repeat on a logarithmic scale: at the 1st, 10th, 100th... */
static void scaled_history(struct flow *f, uint32_t *cnt, uint32_t *next, int is_orig, char c)
{
    ++*cnt;
    if (*next == 0)
        *next = 1;
    if (*cnt == *next) {
        add_history(f, dir_letter(is_orig, c));
        *next *= 10;
    }
}

static void tcp_history(struct flow *f, struct endpoint *e, int is_orig, const struct fa_packet *p)
{
    uint8_t fl = p->tcp_flags;
    int syn = !!(fl & FA_TCP_SYN), fin = !!(fl & FA_TCP_FIN), rst = !!(fl & FA_TCP_RST);
    int bits = syn + fin + rst;

    if (bits > 1) {
        if (fin && rst)
            check_history(f, e, is_orig, H_INCONSISTENT, 'I');
        else
            check_history(f, e, is_orig, H_MULTI, 'Q');
    } else if (bits == 1) {
        if (syn) {
            int ack = !!(fl & FA_TCP_ACK);
            if (check_history(f, e, is_orig, H_SYN, ack ? 'H' : 'S') &&
                p->tcp_seq != e->hist_last_syn)
                add_history(f, dir_letter(is_orig, ack ? 'H' : 'S'));
            e->hist_last_syn = p->tcp_seq;
        }
        if (fin) {
            /* A FIN's sequence number is at the end of its data. */
            uint32_t end = p->tcp_seq + p->payload_len;
            if (check_history(f, e, is_orig, H_FIN, 'F') && end != e->hist_last_fin)
                add_history(f, dir_letter(is_orig, 'F'));
            e->hist_last_fin = end;
        }
        if (rst) {
            if (check_history(f, e, is_orig, H_RST, 'R') && p->tcp_seq != e->hist_last_rst)
                add_history(f, dir_letter(is_orig, 'R'));
            e->hist_last_rst = p->tcp_seq;
        }
    } else if (p->payload_len) {
        check_history(f, e, is_orig, H_DATA, 'D');
    } else if (fl & FA_TCP_ACK) {
        check_history(f, e, is_orig, H_ACK, 'A');
    }
}

/* ------------------------------------------------------------------ */
/* TCP endpoint state machine, after Zeek's TCPSessionAdapter. */

static void set_state(struct endpoint *e, uint8_t s)
{
    e->prev_state = e->state;
    e->state = s;
}

static void init_seq(struct endpoint *e, uint32_t start, uint32_t last)
{
    e->seq_known = 1;
    e->start_seq = start;
    e->ack_seq = start;
    e->ack_rel = 0;
    e->last_seq = last;
    e->last_rel = (int32_t)(last - start);
}

/* Sets up sequence numbering on an endpoint's first packet, or again when
 * a SYN restarts it. */
static void init_endpoint(struct endpoint *e, uint8_t fl, uint32_t seq, uint32_t seq_end)
{
    int syn = fl & FA_TCP_SYN;
    switch (e->state) {
    case EP_INACTIVE:
        if (syn)
            init_seq(e, seq, seq_end);
        else /* as though a SYN had been seen, so numbering stays consistent */
            init_seq(e, seq - 1, seq);
        break;
    case EP_SYN_SENT:
    case EP_SYN_ACK_SENT:
        if (syn && seq != e->start_seq)
            init_seq(e, seq, seq_end);
        break;
    case EP_ESTABLISHED:
    case EP_PARTIAL:
        if (syn)
            init_seq(e, seq, seq_end);
        break;
    case EP_RESET:
        if (syn && e->prev_state == EP_INACTIVE)
            init_seq(e, seq, seq_end);
        break;
    default:
        break;
    }
}

/* The peer's numbering, from this packet's acknowledgment, when the peer
 * has not been heard yet (Zeek's init_peer): without it a SYN seen after
 * its SYN-ACK would look like a new connection. */
static void init_peer(struct endpoint *peer, uint8_t fl, uint32_t ack)
{
    if ((fl & FA_TCP_ACK) && !peer->seq_known)
        init_seq(peer, ack - 1, ack - 1);
}

static void update_last_seq(struct flow *f, struct endpoint *e, int is_orig, uint32_t seq_end,
                            uint8_t fl, uint32_t len)
{
    if (e->state == EP_RESET)
        return; /* numbers after a reset are not trusted */
    int32_t delta = (int32_t)(seq_end - e->last_seq);
    if ((fl & (FA_TCP_SYN | FA_TCP_RST)) &&
        (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA))
        return; /* not trusted */
    if (((fl & FA_TCP_FIN) && e->last_seq == e->start_seq + 1) || delta > 0) {
        e->last_rel += delta;
        e->last_seq = seq_end;
    } else if (len > 0) {
        scaled_history(f, &e->rxmit_cnt, &e->rxmit_next, is_orig, 'T');
    }
}

static void update_ack_seq(struct endpoint *peer, uint32_t ack, uint8_t fl)
{
    int32_t delta = (int32_t)(ack - peer->ack_seq);
    /* An RST's acknowledgment number can be bogus. */
    if ((fl & FA_TCP_ACK) && delta > 0 && !(fl & FA_TCP_RST)) {
        peer->ack_rel += delta;
        peer->ack_seq = ack;
    }
}

static void update_window(struct flow *f, struct endpoint *e, struct endpoint *peer, int is_orig,
                          const struct fa_packet *p)
{
    /* A zero window is news unless it comes with or after a reset, or
     * after the peer has closed. */
    if (p->tcp_window == 0 && !(p->tcp_flags & FA_TCP_RST) && peer->state != EP_CLOSED &&
        e->state != EP_RESET)
        scaled_history(f, &e->zero_win_cnt, &e->zero_win_next, is_orig, 'W');
}

static void swap_roles(struct flow *f)
{
    struct endpoint e = f->orig;
    f->orig = f->resp;
    f->resp = e;
    struct fa_addr a = f->orig_h;
    f->orig_h = f->resp_h;
    f->resp_h = a;
    uint16_t port = f->orig_p;
    f->orig_p = f->resp_p;
    f->resp_p = port;
    add_history(f, '^');
}

static void close_endpoint(struct endpoint *e, uint8_t state)
{
    set_state(e, state);
    e->did_close = 1;
}

/* One step of the endpoint state machine.  May swap the flow's roles; the
 * caller re-reads which endpoint is which afterwards. */
static void tcp_state_machine(struct flow *f, int *is_orig, const struct fa_packet *p)
{
    struct endpoint *e = *is_orig ? &f->orig : &f->resp;
    struct endpoint *peer = *is_orig ? &f->resp : &f->orig;
    uint8_t fl = p->tcp_flags;
    int syn = fl & FA_TCP_SYN, ack = fl & FA_TCP_ACK, fin = fl & FA_TCP_FIN, rst = fl & FA_TCP_RST;

    switch (e->state) {
    case EP_INACTIVE:
        if (syn) {
            if (*is_orig) {
                set_state(e, ack ? EP_SYN_ACK_SENT : EP_SYN_SENT);
            } else {
                if (!ack && peer->state == EP_SYN_ACK_SENT) {
                    /* SYN and SYN-ACK seen in the wrong order: the SYN's
                     * sender is the real originator. */
                    swap_roles(f);
                    *is_orig = 1;
                    e = &f->orig;
                    peer = &f->resp;
                    set_state(peer, EP_ESTABLISHED);
                }
                if (peer->state == EP_SYN_SENT)
                    set_state(peer, EP_ESTABLISHED);
                set_state(e, EP_ESTABLISHED);
            }
        }
        if (fin)
            close_endpoint(e, EP_CLOSED);
        if (rst)
            close_endpoint(e, EP_RESET);
        if (e->state == EP_INACTIVE) {
            if (!*is_orig && p->payload_len == 0 && f->orig.state == EP_SYN_SENT) {
                /* an ACK of the SYN before the SYN-ACK: not a partial flow */
            } else if (ack && peer->state == EP_ESTABLISHED) {
                /* the SYN was missed but the SYN-ACK was not */
                set_state(e, EP_ESTABLISHED);
            } else if (!*is_orig && ack && peer->state == EP_SYN_ACK_SENT) {
                /* The flow began with a SYN-ACK and now the other side
                 * acknowledges it: a scan would not, so the SYN-ACK's
                 * sender is the responder. */
                swap_roles(f);
                *is_orig = 1;
                e = &f->orig;
                peer = &f->resp;
                set_state(peer, EP_ESTABLISHED);
                set_state(e, EP_ESTABLISHED);
            } else {
                set_state(e, EP_PARTIAL);
            }
        }
        break;

    case EP_SYN_SENT:
    case EP_SYN_ACK_SENT:
        if (fin)
            close_endpoint(e, EP_CLOSED);
        if (rst)
            close_endpoint(e, EP_RESET);
        break;

    case EP_PARTIAL:
    case EP_ESTABLISHED:
        if (syn && e->state == EP_PARTIAL && peer->state == EP_INACTIVE && !ack)
            set_state(e, EP_SYN_SENT);
        if (fin && !rst) {
            close_endpoint(e, EP_CLOSED);
            /* A FIN then a RST from the peer was a normal close after all. */
            if (peer->state == EP_RESET && peer->prev_state == EP_CLOSED)
                set_state(peer, EP_CLOSED);
        }
        if (rst)
            close_endpoint(e, EP_RESET);
        break;

    case EP_CLOSED:
        /* After a FIN exchange a RST changes nothing. */
        if (rst && peer->state != EP_CLOSED)
            close_endpoint(e, EP_RESET);
        break;

    case EP_RESET:
    default:
        break;
    }
}

/* Zeek's IsReuse: does this SYN start a new connection on the 5-tuple? */
static int tcp_is_reuse(const struct flow *f, const struct fa_packet *p)
{
    uint8_t fl = p->tcp_flags;
    const struct endpoint *conn_orig = &f->orig;

    if (!(fl & FA_TCP_SYN))
        return 0;
    if (fl & FA_TCP_ACK) {
        if (f->orig.state != EP_INACTIVE)
            return 0;
        conn_orig = &f->resp;
    }
    if (!(f->orig.did_close || f->resp.did_close)) {
        if (p->tcp_seq == conn_orig->start_seq)
            return 0;
        if (!(fl & FA_TCP_ACK) && conn_orig->state == EP_SYN_ACK_SENT &&
            f->resp.state == EP_INACTIVE && p->tcp_seq == f->resp.start_seq)
            return 0;
    }
    return 1;
}

static int tcp_attempting(const struct flow *f)
{
    return (f->orig.state == EP_SYN_SENT || f->orig.state == EP_SYN_ACK_SENT) &&
           f->resp.state == EP_INACTIVE;
}

/* Zeek expires a flow that has closed in some way after it has been quiet
 * for the linger time. */
static int tcp_finished(const struct flow *f)
{
    const struct endpoint *o = &f->orig, *r = &f->resp;
    if (!o->did_close && !r->did_close)
        return 0;
    return (o->did_close && r->did_close) || o->state == EP_RESET || r->state == EP_RESET ||
           o->state == EP_INACTIVE || r->state == EP_INACTIVE;
}

static void tcp_timing(struct flow *f, int is_orig, const struct fa_packet *p, int64_t ts)
{
    uint8_t fl = p->tcp_flags & (FA_TCP_SYN | FA_TCP_ACK | FA_TCP_RST | FA_TCP_FIN);
    if (is_orig && fl == FA_TCP_SYN) {
        f->syn_count++;
        if (f->synack_ns < 0)
            f->syn_ns = ts; /* the SYN that was answered is the last one before the answer */
    } else if (!is_orig && fl == (FA_TCP_SYN | FA_TCP_ACK)) {
        if (f->synack_ns < 0 && f->syn_ns >= 0)
            f->synack_ns = ts;
    } else if (is_orig && (fl & FA_TCP_ACK) && !(fl & FA_TCP_SYN)) {
        if (f->ack_ns < 0 && f->synack_ns >= 0)
            f->ack_ns = ts;
    }
}

static void tcp_packet(struct fa_flow_table *t, struct flow *f, int is_orig,
                       const struct fa_packet *p, int64_t ts)
{
    struct endpoint *e = is_orig ? &f->orig : &f->resp;
    struct endpoint *peer = is_orig ? &f->resp : &f->orig;
    uint8_t fl = p->tcp_flags;
    /* An RST's payload (a diagnostic, if any) takes no sequence space. */
    uint32_t len = (fl & FA_TCP_RST) ? 0 : p->payload_len;
    uint32_t seq_end = p->tcp_seq + len + !!(fl & FA_TCP_SYN) + !!(fl & FA_TCP_FIN);

    tcp_timing(f, is_orig, p, ts);
    init_endpoint(e, fl, p->tcp_seq, seq_end);
    init_peer(peer, fl, p->tcp_ack);
    update_window(f, e, peer, is_orig, p);
    if (fl & FA_TCP_FIN)
        e->fin_cnt++;
    update_last_seq(f, e, is_orig, seq_end, fl, len);

    int was_inactive_orig = f->orig.state == EP_INACTIVE;
    tcp_state_machine(f, &is_orig, p);
    e = is_orig ? &f->orig : &f->resp;
    peer = is_orig ? &f->resp : &f->orig;

    update_ack_seq(peer, p->tcp_ack, fl);
    tcp_history(f, e, is_orig, p);

    if (was_inactive_orig && tcp_attempting(f) && !f->in_attempts) {
        f->attempt_deadline_ns = t->now_ns + t->cfg.attempt_timeout_ns;
        attempts_append(t, f);
    }
}

static uint64_t tcp_size(const struct endpoint *e)
{
    /* A side that sent nothing sent no bytes, whatever was acknowledged. */
    if (e->pkts == 0)
        return 0;
    int64_t size = e->last_rel > e->ack_rel ? e->last_rel : e->ack_rel;
    if (size > 0)
        --size; /* the SYN's sequence number */
    if (e->fin_cnt > 0 && size > 0)
        --size;
    return size > 0 ? (uint64_t)size : 0;
}

static const char *tcp_conn_state(const struct flow *f)
{
    const struct endpoint *o = &f->orig, *r = &f->resp;
    int o_inactive = o->state == EP_INACTIVE || o->state == EP_PARTIAL;
    int r_inactive = r->state == EP_INACTIVE || r->state == EP_PARTIAL;

    if (r->state == EP_RESET) {
        if (o->state == EP_SYN_SENT || o->state == EP_SYN_ACK_SENT ||
            (o->state == EP_RESET && tcp_size(o) == 0 && tcp_size(r) == 0))
            return "REJ";
        return o_inactive ? "RSTRH" : "RSTR";
    }
    if (o->state == EP_RESET) {
        if (r_inactive) {
            /* Zeek: history ^?S[^HAFGIQ]*R */
            const char *h = f->history;
            if (*h == '^')
                h++;
            if (*h == 'S') {
                h++;
                while (*h && !strchr("HAFGIQR", *h))
                    h++;
                if (*h == 'R')
                    return "RSTOS0";
            }
            return "OTH";
        }
        return "RSTO";
    }
    if (r->state == EP_CLOSED && o->state == EP_CLOSED)
        return "SF";
    if (o->state == EP_CLOSED)
        return r_inactive ? "SH" : "S2";
    if (r->state == EP_CLOSED)
        return o_inactive ? "SHR" : "S3";
    if (o->state == EP_SYN_SENT && r->state == EP_INACTIVE)
        return "S0";
    if (o->state == EP_ESTABLISHED && r->state == EP_ESTABLISHED)
        return "S1";
    return "OTH";
}

static const char *udp_conn_state(const struct flow *f)
{
    if (f->orig.pkts)
        return f->resp.pkts ? "SF" : "S0";
    return f->resp.pkts ? "SHR" : "OTH";
}

/* ------------------------------------------------------------------ */
/* Records. */

/* Packets out of time order would give a handshake a negative length. */
static int64_t nonnegative(int64_t ns)
{
    return ns > 0 ? ns : 0;
}

static void make_record(struct fa_flow_table *t, struct flow *f, enum fa_flow_end end,
                        struct fa_flow_record *r)
{
    memset(r, 0, sizeof *r);
    r->seq = f->seq;
    if (f->row == 0)
        f->row = ++t->rows;
    r->row = f->row;
    r->ip_version = f->ip_version;
    r->proto = f->proto;
    r->orig_h = f->orig_h;
    r->resp_h = f->resp_h;
    r->orig_p = f->orig_p;
    r->resp_p = f->resp_p;
    r->first_ns = f->first_ns;
    r->last_ns = f->last_ns;
    r->orig_pkts = f->orig.pkts;
    r->resp_pkts = f->resp.pkts;
    r->orig_ip_bytes = f->orig.ip_bytes;
    r->resp_ip_bytes = f->resp.ip_bytes;
    if (f->proto == FA_PROTO_TCP) {
        r->orig_bytes = tcp_size(&f->orig);
        r->resp_bytes = tcp_size(&f->resp);
        snprintf(r->conn_state, sizeof r->conn_state, "%s", tcp_conn_state(f));
    } else {
        r->orig_bytes = f->orig.payload_bytes;
        r->resp_bytes = f->resp.payload_bytes;
        snprintf(r->conn_state, sizeof r->conn_state, "%s",
                 f->proto == FA_PROTO_UDP ? udp_conn_state(f) : "OTH");
    }
    memcpy(r->history, f->history, sizeof r->history);
    r->syn_count = f->syn_count;
    r->syn_to_synack_ns = f->synack_ns >= 0 ? nonnegative(f->synack_ns - f->syn_ns) : -1;
    r->synack_to_ack_ns = f->ack_ns >= 0 ? nonnegative(f->ack_ns - f->synack_ns) : -1;
    r->has_icmp_error = f->has_icmp_error;
    r->icmp_error_type = f->icmp_error_type;
    r->icmp_error_code = f->icmp_error_code;
    r->icmp_error_v6 = f->icmp_error_v6;
    r->icmp_error_from = f->icmp_error_from;
    r->app_proto = f->app_proto;
    r->tls_version = f->tls_version;
    if (f->server_name)
        snprintf(r->server_name, sizeof r->server_name, "%s", f->server_name);
    r->end = end;
}

/* Writes f's final record and frees it. */
static void end_flow(struct fa_flow_table *t, struct flow *f, enum fa_flow_end end)
{
    struct fa_flow_record rec;
    make_record(t, f, end, &rec);
    t->sink(t->sink_ctx, &rec, 1);
    if (f->in_attempts)
        attempts_remove(t, f);
    hash_remove(t, f);
    list_unlink(t, f);
    free(f->server_name);
    f->server_name = NULL;
    t->stats.active--;
    f->hnext = t->free_flows;
    t->free_flows = f;
}

/* The flow idle longest: the oldest of the list heads. */
static struct flow *idlest(struct fa_flow_table *t)
{
    struct flow *best = NULL;
    for (int i = 0; i < L_COUNT; i++) {
        struct flow *h = t->lists[i].head;
        if (h && (!best || h->active_ns < best->active_ns))
            best = h;
    }
    return best;
}

static struct flow *new_flow(struct fa_flow_table *t, const struct key *k, uint64_t h,
                             const struct fa_packet *p, int64_t ts)
{
    if (t->stats.active >= t->cfg.max_flows) {
        struct flow *victim = idlest(t);
        if (victim) {
            t->stats.evicted++;
            end_flow(t, victim, FA_END_EVICTED);
        }
    }
    struct flow *f = t->free_flows;
    if (f)
        t->free_flows = f->hnext;
    else if (!(f = malloc(sizeof *f)))
        return NULL;
    memset(f, 0, sizeof *f);
    f->hash = h;
    f->proto = k->proto;
    f->ip_version = p->ip_version;
    f->orig_h = *k->src;
    f->resp_h = *k->dst;
    f->orig_p = k->sport;
    f->resp_p = k->dport;
    f->first_ns = f->last_ns = ts;
    f->active_ns = t->now_ns;
    f->syn_ns = f->synack_ns = f->ack_ns = -1;
    f->seq = ++t->stats.flows;
    t->stats.active++;
    if (t->stats.active > t->nbuckets)
        grow_buckets(t);
    hash_insert(t, f);
    list_append(t, f, base_list(k->proto));
    return f;
}

/* Broadcast and multicast go from a client to a group, never back from
 * a server, whatever the ports say. */
static int addr_is_group(const struct fa_addr *a)
{
    static const uint8_t v4_broadcast[4] = {255, 255, 255, 255};
    if (fa_addr_is_v4(a))
        return (a->b[12] & 0xf0) == 0xe0 || memcmp(a->b + 12, v4_broadcast, 4) == 0;
    return a->b[0] == 0xff;
}

/* The first packet of a flow that is not a bare SYN may come from the
 * server: Zeek's rule, by likely server ports. */
static int should_flip(const struct fa_packet *p)
{
    if (addr_is_group(&p->dst))
        return 0;
    if (p->proto == FA_PROTO_TCP) {
        uint8_t fl = p->tcp_flags;
        if ((fl & FA_TCP_SYN) && !(fl & FA_TCP_ACK))
            return 0;
    } else if (p->proto != FA_PROTO_UDP) {
        return 0;
    }
    if (!likely_server_port(p->proto, p->sport))
        return 0;
    if (!likely_server_port(p->proto, p->dport))
        return 1;
    if (p->proto == FA_PROTO_UDP || (p->tcp_flags & FA_TCP_SYN))
        return 0; /* UDP: Zeek's rule; TCP: a SYN-ACK between two server ports may be a scan */
    return p->sport < p->dport;
}

/* ------------------------------------------------------------------ */
/* Fragments. */

/* What keys a packet's flow besides protocol and addresses. */
struct flow_key_ports {
    uint16_t sport, dport;
    int one_way; /* a one-way ICMP message: matched in its own direction only */
};

static void key_ports(const struct fa_packet *p, struct flow_key_ports *kp)
{
    kp->sport = kp->dport = 0;
    kp->one_way = 0;
    if (p->has_ports) {
        kp->sport = p->sport;
        kp->dport = p->dport;
    } else if (p->has_icmp) {
        kp->sport = p->icmp_type;
        kp->dport =
            icmp_counterpart(p->proto == FA_PROTO_ICMPV6, p->icmp_type, p->icmp_code, &kp->one_way);
    }
}

static struct frag_slot *frag_slot(struct fa_flow_table *t, const struct fa_packet *p)
{
    struct key k = {p->proto, &p->src, &p->dst, 0, 0};
    uint64_t h = fa_mix64(key_hash(t, &k) ^ p->frag_id);
    return &t->frags[h & (FRAG_SLOTS - 1)];
}

static void frag_remember(struct fa_flow_table *t, const struct fa_packet *p,
                          const struct flow_key_ports *kp, int64_t ts)
{
    struct frag_slot *s = frag_slot(t, p);
    s->src = p->src;
    s->dst = p->dst;
    s->id = p->frag_id;
    s->proto = p->proto;
    s->sport = kp->sport;
    s->dport = kp->dport;
    s->one_way = (uint8_t)kp->one_way;
    s->ts_ns = ts;
    s->used = 1;
}

static const struct frag_slot *frag_find(struct fa_flow_table *t, const struct fa_packet *p,
                                         int64_t ts)
{
    const struct frag_slot *s = frag_slot(t, p);
    if (s->used && s->id == p->frag_id && s->proto == p->proto && fa_addr_eq(&s->src, &p->src) &&
        fa_addr_eq(&s->dst, &p->dst) && ts - s->ts_ns <= FRAG_LIFETIME_NS)
        return s;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Public interface. */

void fa_flow_config_defaults(struct fa_flow_config *cfg)
{
    const int64_t s = 1000000000LL;
    cfg->max_flows = 1000000;
    cfg->attempt_timeout_ns = 5 * s;
    cfg->tcp_timeout_ns = 300 * s;
    cfg->udp_timeout_ns = 60 * s;
    cfg->icmp_timeout_ns = 60 * s;
    cfg->other_timeout_ns = 60 * s;
    cfg->close_linger_ns = 5 * s;
}

struct fa_flow_table *fa_flow_table_new(const struct fa_flow_config *cfg, fa_flow_sink sink,
                                        void *sink_ctx, char *errbuf)
{
    if (cfg->max_flows == 0) {
        snprintf(errbuf, FA_ERRBUF_SIZE, "the flow table needs room for at least one flow");
        return NULL;
    }
    struct fa_flow_table *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(errbuf, FA_ERRBUF_SIZE, "out of memory for the flow table");
        return NULL;
    }
    t->cfg = *cfg;
    fa_hash_seed(t->seed);
    t->sink = sink;
    t->sink_ctx = sink_ctx;
    t->nbuckets = 4096;
    t->next_expiry_ns = INT64_MAX;
    t->ckpt_list = -1;
    for (int i = 0; i < L_COUNT; i++)
        t->lists[i].link_off = offsetof(struct flow, idle);
    t->attempts.link_off = offsetof(struct flow, attempt);
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        snprintf(errbuf, FA_ERRBUF_SIZE, "out of memory for the flow table");
        return NULL;
    }
    return t;
}

static void free_all(struct fa_flow_table *t)
{
    struct flow *f;
    for (int i = 0; i < L_COUNT; i++) {
        while ((f = t->lists[i].head)) {
            t->lists[i].head = f->idle.next;
            free(f->server_name);
            free(f);
        }
    }
    while ((f = t->free_flows)) {
        t->free_flows = f->hnext;
        free(f);
    }
}

void fa_flow_table_free(struct fa_flow_table *t)
{
    if (!t)
        return;
    free_all(t);
    free(t->buckets);
    free(t);
}

void fa_flow_expire(struct fa_flow_table *t, int64_t now)
{
    if (now < t->next_expiry_ns)
        return;
    while (t->attempts.head && t->attempts.head->attempt_deadline_ns <= now) {
        struct flow *f = t->attempts.head;
        attempts_remove(t, f);
        if (tcp_attempting(f))
            end_flow(t, f, FA_END_TIMEOUT);
    }
    for (int i = 0; i < L_COUNT; i++) {
        int64_t timeout = list_timeout(t, (enum flow_list)i);
        struct flow *f;
        while ((f = t->lists[i].head) && f->active_ns + timeout <= now)
            end_flow(t, f, i == L_CLOSING ? FA_END_CLOSED : FA_END_TIMEOUT);
    }
    t->next_expiry_ns = INT64_MAX;
    if (t->attempts.head)
        note_deadline(t, t->attempts.head->attempt_deadline_ns);
    for (int i = 0; i < L_COUNT; i++)
        if (t->lists[i].head)
            note_deadline(t, t->lists[i].head->active_ns + list_timeout(t, (enum flow_list)i));
}

/* Finds or creates the flow of p; *is_orig says which side sent it. */
static struct flow *flow_for(struct fa_flow_table *t, const struct fa_packet *p,
                             const struct flow_key_ports *kp, int64_t ts, int *is_orig)
{
    struct key k = {p->proto, &p->src, &p->dst, kp->sport, kp->dport};
    uint64_t h = key_hash(t, &k);
    int dir = 0;
    struct flow *f = lookup(t, &k, h, kp->one_way, &dir);

    if (f && p->proto == FA_PROTO_TCP && p->has_ports && tcp_is_reuse(f, p)) {
        end_flow(t, f, FA_END_REUSED);
        f = NULL;
    }
    if (f) {
        *is_orig = dir > 0;
        return f;
    }
    f = new_flow(t, &k, h, p, ts);
    if (!f)
        return NULL;
    *is_orig = 1;
    if (p->has_ports && should_flip(p)) {
        swap_roles(f);
        *is_orig = 0;
    }
    return f;
}

/* An ICMP error names the flow whose packet it quotes. */
static void attach_icmp_error(struct fa_flow_table *t, const struct fa_packet *p)
{
    const struct fa_tuple *q = &p->quoted;
    if (!q->has_ports)
        return;
    struct key k = {q->proto, &q->src, &q->dst, q->sport, q->dport};
    int dir;
    struct flow *f = lookup(t, &k, key_hash(t, &k), 0, &dir);
    if (!f)
        return;
    f->has_icmp_error = 1;
    f->icmp_error_type = p->icmp_type;
    f->icmp_error_code = p->icmp_code;
    f->icmp_error_v6 = p->proto == FA_PROTO_ICMPV6;
    f->icmp_error_from = p->src;
    f->dirty = 1;
}

/* A stream's name is in its first bytes: past this many packets there is
 * nothing left to learn, whatever the reassembly made of them; except
 * from a stream named but still read (a DNS server's answers), which the
 * reassembly's own byte limit ends. */
#define NAMING_PACKETS 256

/* 1 while the flow's packets should go to stream reassembly: TCP, begun
 * with a SYN (reassembly starts there), not yet decided. */
static int wants_naming(struct flow *f)
{
    if (f->proto != FA_PROTO_TCP || f->naming == NAMING_DONE || f->syn_count == 0)
        return 0;
    if (f->naming == NAMING_WANTED && f->orig.pkts + f->resp.pkts > NAMING_PACKETS) {
        f->naming = NAMING_DONE;
        return 0;
    }
    return 1;
}

int fa_flow_packet(struct fa_flow_table *t, const struct fa_packet *p, int64_t ts)
{
    /* Files of one capture may overlap in time: flows age on the table's
     * clock, which never runs backwards, while records keep the packets'
     * own timestamps. */
    if (ts > t->now_ns)
        t->now_ns = ts;
    int64_t now = t->now_ns;
    t->stats.packets++;
    fa_flow_expire(t, now);

    struct flow_key_ports kp;
    if (p->is_fragment && p->frag_offset > 0) {
        /* A later fragment has no transport header: its datagram's first
         * fragment said which flow it belongs to. */
        const struct frag_slot *s = frag_find(t, p, now);
        if (!s) {
            t->stats.orphan_fragments++;
            return 0;
        }
        kp = (struct flow_key_ports){s->sport, s->dport, s->one_way};
    } else {
        key_ports(p, &kp);
        if (p->is_fragment)
            frag_remember(t, p, &kp, now);
        if (p->has_quoted)
            attach_icmp_error(t, p);
    }

    int is_orig;
    struct flow *f = flow_for(t, p, &kp, ts, &is_orig);
    if (!f)
        return 0;
    /* As Zeek, a flow closed on both sides stops aging: stray ACKs after
     * the FINs neither lengthen it nor keep it in memory. */
    int both_closed = f->orig.did_close && f->resp.did_close;
    if (!both_closed) {
        f->active_ns = now;
        if (ts > f->last_ns)
            f->last_ns = ts;
    }
    if (ts < f->first_ns)
        f->first_ns = ts;
    f->dirty = 1;
    struct endpoint *e = is_orig ? &f->orig : &f->resp;
    e->pkts++;
    e->ip_bytes += p->ip_len;

    enum flow_list list = base_list(f->proto);
    if (f->proto == FA_PROTO_TCP) {
        /* A later fragment carries no TCP header: counted, not interpreted. */
        if (p->has_ports && !(p->is_fragment && p->frag_offset > 0))
            tcp_packet(t, f, is_orig, p, ts);
        if (tcp_finished(f))
            list = L_CLOSING;
        if (both_closed)
            return wants_naming(f); /* its place in the closing list is already right */
    } else {
        e->payload_bytes += p->payload_len;
        if (f->proto == FA_PROTO_UDP)
            check_history(f, e, is_orig, H_DATA, 'D');
    }
    list_touch(t, f, list);
    return wants_naming(f);
}

void fa_flow_set_app(struct fa_flow_table *t, const struct fa_tuple *tuple, uint8_t app_proto,
                     uint16_t tls_version, const char *server_name, int final)
{
    struct key k = {tuple->proto, &tuple->src, &tuple->dst, tuple->sport, tuple->dport};
    int dir;
    struct flow *f = lookup(t, &k, key_hash(t, &k), 0, &dir);
    if (!f)
        return;
    f->naming = final ? NAMING_DONE : NAMING_READ;
    if (!app_proto)
        return;
    f->app_proto = app_proto;
    f->tls_version = tls_version;
    if (server_name && server_name[0] && !f->server_name)
        f->server_name = strdup(server_name); /* out of memory: the flow goes unnamed */
    f->dirty = 1;
}

size_t fa_flow_checkpoint(struct fa_flow_table *t, size_t max)
{
    struct fa_flow_record rec;
    size_t sent = 0;

    if (t->ckpt_list < 0) {
        t->ckpt_list = 0;
        t->ckpt_next = t->lists[0].head;
    }
    while (sent < max) {
        struct flow *f = t->ckpt_next;
        if (!f) {
            if (++t->ckpt_list == L_COUNT) {
                t->ckpt_list = -1; /* the round is over */
                break;
            }
            t->ckpt_next = t->lists[t->ckpt_list].head;
            continue;
        }
        t->ckpt_next = f->idle.next;
        if (!f->dirty)
            continue;
        make_record(t, f, FA_END_ACTIVE, &rec);
        t->sink(t->sink_ctx, &rec, 0);
        f->dirty = 0;
        sent++;
    }
    return sent;
}

void fa_flow_flush(struct fa_flow_table *t)
{
    /* Oldest first, so records come out roughly in time order. */
    struct flow *f;
    while ((f = idlest(t)))
        end_flow(t, f, FA_END_CAPTURE_END);
}

const struct fa_flow_stats *fa_flow_table_stats(const struct fa_flow_table *t)
{
    return &t->stats;
}
