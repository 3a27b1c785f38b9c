/*
 * dns.c - a DNS message's answer section as A, AAAA and CNAME records.
 *
 * Invariants, kept because this is a fuzz target:
 *   - a byte is read only after a check that its offset is below len;
 *     offsets never pass len, so the checks cannot wrap;
 *   - the message is checked whole (every question and every record of
 *     every section) before any record is reported, by walks of the answer
 *     section that follow the check; so a message that is malformed
 *     anywhere reports nothing;
 *   - a compression pointer must point strictly before the start of the
 *     stretch of name it was read from, so each jump goes to a lower offset
 *     and a name cannot loop; the number of jumps is bounded as well;
 *   - no allocation, no global state.
 */
#include <string.h>

#include "dns.h"

#define DNS_HDR_LEN 12
#define DNS_RR_FIXED 10 /* type, class, TTL, rdlength */
#define DNS_QUESTION_FIXED 4
#define DNS_CLASS_IN 1
#define DNS_FLAG_QR 0x80
#define DNS_OPCODE_MASK 0x78
#define DNS_RCODE_MASK 0x0f
#define DNS_LABEL_PTR 0xc0
#define DNS_MAX_LABEL 63
/* The wire form of a name is at most 255 bytes, its final 0 included. */
#define DNS_MAX_WIRE_NAME 255
/* A name has at most 127 labels; one pointer per label is more than any
 * encoder writes. */
#define DNS_MAX_JUMPS 128

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A name as text, while it is read. */
struct name_text {
    char *out; /* NULL: only check the structure */
    size_t n;
    int shown; /* 0 once a byte could not be shown */
};

/* Appends one label; a byte that text cannot carry unambiguously (not
 * printable, or a dot inside a label) makes the name unshowable. */
static void name_label(struct name_text *t, const uint8_t *label, size_t n)
{
    if (t->out == NULL || !t->shown)
        return;
    if (t->n > 0)
        t->out[t->n++] = '.';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = label[i];
        if (c < 0x21 || c > 0x7e || c == '.') {
            t->shown = 0;
            return;
        }
        t->out[t->n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
}

/*
 * Reads the name at *pos.  Returns 0 with *pos just past the name as it
 * sits there (a pointer counts its 2 bytes), or -1 when it is malformed.
 * With t->out set, writes the text form (at most 253 characters, so it
 * fits FA_DNS_NAME_LEN) and clears t->shown if it cannot be shown.
 */
static int dns_name(const uint8_t *m, size_t len, size_t *pos, struct name_text *t)
{
    size_t p = *pos, stretch = *pos, after = 0, wire = 1;
    unsigned jumps = 0;

    for (;;) {
        if (p >= len)
            return -1;
        size_t c = m[p];
        if ((c & DNS_LABEL_PTR) == DNS_LABEL_PTR) {
            if (len - p < 2)
                return -1;
            size_t target = (c & ~(size_t)DNS_LABEL_PTR) << 8 | m[p + 1];
            if (after == 0)
                after = p + 2;
            if (target >= stretch || target < DNS_HDR_LEN || ++jumps > DNS_MAX_JUMPS)
                return -1;
            p = stretch = target;
            continue;
        }
        if (c > DNS_MAX_LABEL)
            return -1; /* 0x40 and 0x80: extended label types, never deployed */
        if (c == 0)
            break;
        wire += c + 1;
        if (wire > DNS_MAX_WIRE_NAME || c >= len - p)
            return -1;
        name_label(t, m + p + 1, c);
        p += c + 1;
    }
    *pos = after != 0 ? after : p + 1;
    if (t->out != NULL)
        t->out[t->n] = '\0';
    return 0;
}

static int skip_name(const uint8_t *m, size_t len, size_t *pos)
{
    struct name_text t = {NULL, 0, 1};
    return dns_name(m, len, pos, &t);
}

/* The fixed part and data of one resource record, once its name is read. */
struct rr {
    size_t name; /* offset of the owner name */
    uint16_t type, class;
    uint32_t ttl;
    size_t rdata, rdlen;
};

static int read_rr(const uint8_t *m, size_t len, size_t *pos, struct rr *rr)
{
    rr->name = *pos;
    if (skip_name(m, len, pos) != 0 || len - *pos < DNS_RR_FIXED)
        return -1;
    const uint8_t *f = m + *pos;
    rr->type = be16(f);
    rr->class = be16(f + 2);
    rr->ttl = be32(f + 4);
    rr->rdlen = be16(f + 8);
    rr->rdata = *pos + DNS_RR_FIXED;
    if (rr->rdlen > len - rr->rdata)
        return -1;
    *pos = rr->rdata + rr->rdlen;
    return 0;
}

/* The data of an answer that would be reported must have its type's form. */
static int check_answer(const uint8_t *m, const struct rr *rr)
{
    size_t end = rr->rdata;

    if (rr->class != DNS_CLASS_IN)
        return 0;
    switch (rr->type) {
    case FA_DNS_TYPE_A:
        return rr->rdlen == 4 ? 0 : -1;
    case FA_DNS_TYPE_AAAA:
        return rr->rdlen == 16 ? 0 : -1;
    case FA_DNS_TYPE_CNAME:
        /* The name may point back into the message, but not past its data. */
        if (skip_name(m, rr->rdata + rr->rdlen, &end) != 0)
            return -1;
        return end == rr->rdata + rr->rdlen ? 0 : -1;
    default:
        return 0;
    }
}

/* The check: every question and record of the message.  *answers is the
 * offset of the answer section, *types the FA_DNS_MASK() bits of its class
 * IN A, AAAA and CNAME records. */
static int check_message(const uint8_t *m, size_t len, size_t *answers, uint32_t *types)
{
    size_t qd = be16(m + 4), an = be16(m + 6);
    size_t records = an + be16(m + 8) + be16(m + 10);
    size_t pos = DNS_HDR_LEN;
    struct rr rr;

    for (size_t i = 0; i < qd; i++) {
        if (skip_name(m, len, &pos) != 0 || len - pos < DNS_QUESTION_FIXED)
            return -1;
        pos += DNS_QUESTION_FIXED;
    }
    *answers = pos;
    *types = 0;
    for (size_t i = 0; i < records; i++) {
        if (read_rr(m, len, &pos, &rr) != 0)
            return -1;
        if (i >= an)
            continue;
        if (check_answer(m, &rr) != 0)
            return -1;
        if (rr.class == DNS_CLASS_IN && rr.type < 32)
            *types |= FA_DNS_MASK(rr.type) & FA_DNS_MASK_ALL;
    }
    return 0;
}

/* Fills r from a checked class IN A, AAAA or CNAME answer; returns 0 when
 * it is to be reported.  Only what dns.h promises is written: the bytes of
 * name and target after their NUL are left as they were. */
static int make_record(const uint8_t *m, size_t len, const struct rr *rr, struct fa_dns_record *r)
{
    size_t pos = rr->name;
    struct name_text t = {r->name, 0, 1};

    if (dns_name(m, len, &pos, &t) != 0 || !t.shown)
        return -1;
    r->type = rr->type;
    r->ttl = rr->ttl > 0x7fffffffu ? 0 : rr->ttl;
    memset(&r->addr, 0, sizeof r->addr);
    r->target[0] = '\0';
    if (rr->type == FA_DNS_TYPE_A) {
        fa_addr_from_ipv4(&r->addr, m + rr->rdata);
    } else if (rr->type == FA_DNS_TYPE_AAAA) {
        memcpy(r->addr.b, m + rr->rdata, 16);
    } else {
        struct name_text target = {r->target, 0, 1};
        pos = rr->rdata;
        if (dns_name(m, len, &pos, &target) != 0 || !target.shown)
            return -1;
    }
    return 0;
}

int fa_dns_check(const uint8_t *msg, size_t len, struct fa_dns_msg *m)
{
    if (msg == NULL || len < DNS_HDR_LEN)
        return -1;
    if ((msg[2] & DNS_FLAG_QR) == 0 || (msg[2] & DNS_OPCODE_MASK) != 0 ||
        (msg[3] & DNS_RCODE_MASK) != 0)
        return 0;
    if (check_message(msg, len, &m->answers, &m->types) != 0)
        return -1;
    m->msg = msg;
    m->len = len;
    m->an = be16(msg + 6);
    return 1;
}

int fa_dns_report(const struct fa_dns_msg *m, uint32_t types, fa_dns_record_fn fn, void *ctx)
{
    size_t pos = m->answers;
    struct rr rr;
    struct fa_dns_record r;
    int reported = 0;

    types &= m->types;
    for (unsigned i = 0; i < m->an && types != 0; i++) {
        read_rr(m->msg, m->len, &pos, &rr); /* cannot fail: checked */
        if (rr.class != DNS_CLASS_IN || rr.type >= 32 || !(types & FA_DNS_MASK(rr.type)))
            continue;
        if (make_record(m->msg, m->len, &rr, &r) != 0)
            continue;
        if (fn != NULL)
            fn(ctx, &r);
        reported++;
    }
    return reported;
}

int fa_dns_parse(const uint8_t *msg, size_t len, fa_dns_record_fn fn, void *ctx)
{
    struct fa_dns_msg m;
    int rc = fa_dns_check(msg, len, &m);

    return rc <= 0 ? rc : fa_dns_report(&m, FA_DNS_MASK_ALL, fn, ctx);
}
