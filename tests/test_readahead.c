/*
 * test_readahead.c - the read-ahead thread hands out exactly the packets
 * pcap_next_ex() reads, in order, across block boundaries, with records
 * of the largest size, each with what the prepare step left beside it,
 * and ends as libpcap does on a file cut mid-record; a packet longer than
 * FA_READAHEAD_MAX_CAPLEN is cut to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "readahead.h"

#define SNAPLEN 262144

static void put32(FILE *f, uint32_t v)
{
    fwrite(&v, 4, 1, f);
}

/* A classic pcap (host order) of n packets, sizes varying up to the snap
 * length; with cut, the last record is cut short. */
static char *write_capture(int n, int cut)
{
    static char path[] = "/tmp/test_readahead_XXXXXX";
    char *p = strdup(path);
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    put32(f, 0xa1b2c3d4);
    put32(f, 0x00040002);
    put32(f, 0);
    put32(f, 0);
    put32(f, SNAPLEN);
    put32(f, 1); /* Ethernet */
    static uint8_t data[SNAPLEN];
    for (int i = 0; i < n; i++) {
        uint32_t len = i % 97 == 0 ? SNAPLEN : (uint32_t)(60 + (i * 7919) % 1500);
        for (uint32_t j = 0; j < len; j++)
            data[j] = (uint8_t)(i + j);
        put32(f, (uint32_t)i);
        put32(f, (uint32_t)(i * 10) % 1000000);
        put32(f, len);
        put32(f, len + 4);
        fwrite(data, 1, cut && i == n - 1 ? len / 2 : len, f);
    }
    fclose(f);
    return p;
}

/* What the prepare step leaves beside each packet: enough to tell that it
 * ran on this packet's own bytes, where the caller finds them. */
struct summary {
    uint32_t caplen;
    uint32_t sum;
    const u_char *data;
};

static uint32_t sum_of(const u_char *d, uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s = s * 31 + d[i];
    return s;
}

static void summarize(void *ctx, const struct pcap_pkthdr *h, const u_char *data, void *extra)
{
    (void)ctx;
    struct summary *s = extra;
    s->caplen = h->caplen;
    s->sum = sum_of(data, h->caplen);
    s->data = data;
}

/* Reads path both ways and compares every packet and the final status. */
static void compare(const char *path, int *packets, int *status)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *direct = pcap_open_offline(path, err);
    pcap_t *ahead_p = pcap_open_offline(path, err);
    assert_non_null(direct);
    assert_non_null(ahead_p);
    struct fa_readahead *ra =
        fa_readahead_start(ahead_p, sizeof(struct summary), summarize, NULL, err);
    assert_non_null(ra);

    int n = 0, rc_direct, rc_ahead;
    for (;;) {
        struct pcap_pkthdr *h1, *h2;
        const u_char *d1, *d2;
        rc_direct = pcap_next_ex(direct, &h1, &d1);
        void *extra;
        rc_ahead = fa_readahead_next(ra, &h2, &d2, &extra);
        assert_int_equal(rc_direct, rc_ahead);
        if (rc_direct != 1)
            break;
        assert_int_equal(h1->caplen, h2->caplen);
        assert_int_equal(h1->len, h2->len);
        assert_int_equal(h1->ts.tv_sec, h2->ts.tv_sec);
        assert_int_equal(h1->ts.tv_usec, h2->ts.tv_usec);
        assert_memory_equal(d1, d2, h1->caplen);
        const struct summary *sm = extra;
        assert_int_equal(sm->caplen, h1->caplen);
        assert_int_equal(sm->sum, sum_of(d1, h1->caplen));
        assert_ptr_equal(sm->data, d2);
        n++;
    }
    /* Once at the end, it stays there. */
    struct pcap_pkthdr *h;
    const u_char *d;
    void *extra;
    assert_int_equal(fa_readahead_next(ra, &h, &d, &extra), rc_ahead);
    fa_readahead_stop(ra);
    pcap_close(direct);
    pcap_close(ahead_p);
    *packets = n;
    *status = rc_ahead;
}

static void test_whole_file(void **state)
{
    (void)state;
    char *path = write_capture(1000, 0);
    int n, rc;
    compare(path, &n, &rc);
    assert_int_equal(n, 1000);
    assert_int_equal(rc, PCAP_ERROR_BREAK);
    unlink(path);
    free(path);
}

static void test_cut_file(void **state)
{
    (void)state;
    char *path = write_capture(300, 1);
    int n, rc;
    compare(path, &n, &rc);
    assert_int_equal(n, 299);
    assert_int_equal(rc, PCAP_ERROR);
    unlink(path);
    free(path);
}

/* Stopped before the end: the thread is waiting for room, or reading. */
static void test_stop_early(void **state)
{
    (void)state;
    char *path = write_capture(2000, 0);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    assert_non_null(p);
    struct fa_readahead *ra = fa_readahead_start(p, 0, NULL, NULL, err);
    assert_non_null(ra);
    struct pcap_pkthdr *h;
    const u_char *d;
    void *extra;
    for (int i = 0; i < 10; i++)
        assert_int_equal(fa_readahead_next(ra, &h, &d, &extra), 1);
    fa_readahead_stop(ra);
    /* The handle is the caller's again, past the packets handed out (each
     * is stamped with its index) and not at the end: the ring holds far
     * less than the file. */
    assert_int_equal(pcap_next_ex(p, &h, &d), 1);
    long next = h->ts.tv_sec;
    assert_true(next >= 10 && next < 2000);
    assert_int_equal(pcap_next_ex(p, &h, &d), 1);
    assert_int_equal(h->ts.tv_sec, next + 1);
    pcap_close(p);
    unlink(path);
    free(path);
}

/* D-Bus captures allow packets of up to 128 MiB: one is kept up to
 * FA_READAHEAD_MAX_CAPLEN bytes, and its length on the wire stays. */
static void test_long_packet_cut(void **state)
{
    (void)state;
    char path[] = "/tmp/test_readahead_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    const uint32_t big = FA_READAHEAD_MAX_CAPLEN * 2 + 3;
    uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 1u << 27, 231 /* D-Bus */};
    fwrite(hdr, 4, 6, f);
    uint8_t *data = malloc(big);
    assert_non_null(data);
    for (uint32_t j = 0; j < big; j++)
        data[j] = (uint8_t)(j * 7);
    for (int i = 0; i < 3; i++) {
        uint32_t len = i == 1 ? big : 100;
        uint32_t rec[4] = {(uint32_t)i, 0, len, len};
        fwrite(rec, 4, 4, f);
        fwrite(data, 1, len, f);
    }
    fclose(f);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    assert_non_null(p);
    struct fa_readahead *ra = fa_readahead_start(p, 0, NULL, NULL, err);
    assert_non_null(ra);
    struct pcap_pkthdr *h;
    const u_char *d;
    void *extra;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fa_readahead_next(ra, &h, &d, &extra), 1);
        uint32_t len = i == 1 ? big : 100;
        uint32_t kept = i == 1 ? FA_READAHEAD_MAX_CAPLEN : 100;
        assert_int_equal(h->len, len);
        assert_int_equal(h->caplen, kept);
        assert_memory_equal(d, data, kept);
    }
    assert_int_equal(fa_readahead_next(ra, &h, &d, &extra), PCAP_ERROR_BREAK);
    fa_readahead_stop(ra);
    pcap_close(p);
    free(data);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_file),
        cmocka_unit_test(test_cut_file),
        cmocka_unit_test(test_stop_early),
        cmocka_unit_test(test_long_packet_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
