/*
 * fuzz_streams.c - fuzzes stream reassembly (streams.h): libnids for IPv4
 * and streams.c's own in-order reassembly for IPv6, with the naming and
 * the DNS-over-TCP answers on top.
 *
 * Input: the framing of fuzz_flow.c (fuzz_next_frame in fuzz.h): a link
 * control byte, then [u16 length][u8 time step][frame] records.  Every
 * decoded packet goes to fa_streams_packet, whatever its protocol
 * (capture.c gives it only the TCP packets the flow table still wants),
 * under a limit of 512 bytes a direction so that the limit is reached,
 * with a DNS callback set as capture.c sets it; fa_streams_free ends the streams still open.
 * libnids keeps global state: one fa_streams exists at a time, created and freed for each input.
 *
 * Checked beyond memory safety: each report names a TCP stream with an
 * app and a name appproto.h could give (fuzz_app.h), only a DNS stream is
 * reported before it is decided, a DNS message handed over fits in the
 * limit, and a reported DNS stream carries no name.
 */
#include "dns.h"
#include "fuzz_app.h"
#include "streams.h"

#define LIMIT 512

static void on_named(void *ctx, const struct fa_tuple *t, const struct fa_app_info *info, int final)
{
    (void)ctx;
    FUZZ_CHECK(t->proto == FA_PROTO_TCP && t->has_ports);
    FUZZ_CHECK(final || info->app == FA_APP_DNS); /* only a DNS stream is named early */
    fuzz_app_check_info(info, 0);
    if (info->app == FA_APP_DNS)
        FUZZ_CHECK(info->server_name[0] == '\0');
}

static void on_dns(void *ctx, const uint8_t *msg, size_t len, int64_t ts_ns)
{
    (void)ctx;
    (void)ts_ns;
    FUZZ_CHECK(len > 0 && len + 2 <= LIMIT);
    uint8_t *copy = fuzz_exact_copy(msg, len);
    fa_dns_parse(copy, len, NULL, NULL);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errbuf[FA_STREAMS_ERRBUF_SIZE];

    if (size < 1)
        return 0;
    int dlt = fuzz_links[(data[0] & 0x3f) % FUZZ_NLINKS];
    struct fa_streams *s = fa_streams_new(LIMIT, 0, on_named, NULL, errbuf);
    FUZZ_CHECK(s != NULL);
    fa_streams_on_dns(s, on_dns, NULL);

    int64_t now = FUZZ_START_NS;
    size_t off = 1;
    const uint8_t *frame;
    uint32_t len;
    while (fuzz_next_frame(data, size, &off, &now, &frame, &len)) {
        struct fa_packet pkt;
        uint8_t *copy = fuzz_exact_copy(frame, len);
        if (fa_decode(dlt, copy, len, len, 0, &pkt) == FA_DECODE_OK)
            fa_streams_packet(s, &pkt, now);
        free(copy);
    }
    fa_streams_free(s);
    return 0;
}
