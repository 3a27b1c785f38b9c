/*
 * pcap_loop.c - the ceiling for bench/bench.py: read a capture with
 * libpcap and touch nothing but the packet count and bytes.  flowaudit
 * cannot read a file faster than this loop does.
 */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned long long packets = 0, bytes = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: pcap_loop FILE\n");
        return 2;
    }
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcap_loop: %s\n", err);
        return 2;
    }
    while (pcap_next_ex(p, &h, &data) == 1) {
        packets++;
        bytes += h->caplen + data[0]; /* read the packet, as any consumer must */
    }
    pcap_close(p);
    printf("%llu packets %llu bytes\n", packets, bytes);
    return 0;
}
