/*
 * fuzz_decode.c - fuzzes the frame decoder (decode.h).
 *
 * Input: [u8 control][frame].  The control byte's low 6 bits pick the link
 * type from fuzz_links (modulo their number), bit 6 asks for checksum
 * verification and bit 7 says the wire held 1000 bytes more than were
 * captured (a frame cut by the snap length).  The rest is the frame.
 *
 * Checked beyond memory safety: a decoded packet's pointers and captured
 * lengths stay inside the frame and never exceed their wire lengths, the
 * result has a name, and decoding the same frame twice gives the same
 * packet.
 */
#include <string.h>

#include "fuzz.h"

static const uint8_t *touch(const uint8_t *p, uint32_t n, const uint8_t *lo, const uint8_t *hi)
{
    FUZZ_CHECK(p >= lo && p <= hi && n <= (size_t)(hi - p));
    /* Reading every byte lets AddressSanitizer vouch for the range. */
    volatile uint8_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum ^= p[i];
    (void)sum;
    return p;
}

static void check_packet(const struct fa_packet *pkt, const uint8_t *frame, uint32_t caplen)
{
    const uint8_t *end = frame + caplen;
    char buf[FA_ADDR_STRLEN];

    FUZZ_CHECK(pkt->ip_version == 4 || pkt->ip_version == 6);
    FUZZ_CHECK(pkt->ip != NULL);
    touch(pkt->ip, pkt->ip_caplen, frame, end);
    FUZZ_CHECK(pkt->ip_caplen <= pkt->ip_len);
    FUZZ_CHECK(pkt->payload_caplen <= pkt->payload_len);
    if (pkt->payload)
        touch(pkt->payload, pkt->payload_caplen, pkt->ip, pkt->ip + pkt->ip_caplen);
    else
        FUZZ_CHECK(pkt->payload_caplen == 0);
    if (!pkt->has_ports)
        FUZZ_CHECK(pkt->sport == 0 && pkt->dport == 0);
    if (pkt->is_fragment && pkt->frag_offset > 0)
        FUZZ_CHECK(!pkt->has_ports);
    fa_addr_str(&pkt->src, buf);
    fa_addr_str(&pkt->dst, buf);
    if (pkt->has_quoted) {
        fa_addr_str(&pkt->quoted.src, buf);
        fa_addr_str(&pkt->quoted.dst, buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fa_packet pkt, again;

    if (size < 1 || size - 1 > UINT32_MAX - 1000)
        return 0;
    int dlt = fuzz_links[(data[0] & 0x3f) % FUZZ_NLINKS];
    unsigned flags = data[0] & 0x40 ? FA_DECODE_VERIFY_CHECKSUMS : 0;
    const uint8_t *frame = data + 1;
    uint32_t caplen = (uint32_t)(size - 1);
    uint32_t wirelen = caplen + (data[0] & 0x80 ? 1000 : 0);

    FUZZ_CHECK(fa_decode_link_supported(dlt));
    enum fa_decode_result r = fa_decode(dlt, frame, caplen, wirelen, flags, &pkt);
    FUZZ_CHECK(r < FA_DECODE_NREASONS);
    FUZZ_CHECK(strcmp(fa_decode_reason_name(r), "unknown") != 0);
    FUZZ_CHECK(r != FA_DECODE_UNSUPPORTED_LINK);
    if (r != FA_DECODE_OK)
        return 0;
    check_packet(&pkt, frame, caplen);
    FUZZ_CHECK(fa_decode(dlt, frame, caplen, wirelen, flags, &again) == r);
    FUZZ_CHECK(memcmp(&pkt, &again, sizeof pkt) == 0);
    return 0;
}
