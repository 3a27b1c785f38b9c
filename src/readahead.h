/*
 * readahead.h - reads a capture file with libpcap in a thread of its own,
 * a few blocks of packets ahead of the caller, so that libpcap's reading
 * and copying run beside packet processing instead of before it.
 *
 * Between fa_readahead_start() and fa_readahead_stop() the pcap_t belongs
 * to the read-ahead thread alone.  Packets come out in file order; what
 * fa_readahead_next() hands out stays valid until the next call, as with
 * pcap_next_ex().  Memory is bounded: FA_READAHEAD_BLOCKS blocks of
 * FA_READAHEAD_BLOCK_SIZE bytes.  So a packet is kept only up to
 * FA_READAHEAD_MAX_CAPLEN bytes, libpcap's largest snap length for every
 * link type flowaudit decodes (a few it does not decode allow up to 128
 * MiB); its caplen says so, its len stays as it was.
 */
#ifndef FA_READAHEAD_H
#define FA_READAHEAD_H

#include <pcap/pcap.h>
#include <sys/types.h>

#define FA_READAHEAD_BLOCKS 4
#define FA_READAHEAD_BLOCK_SIZE (1 << 19)
#define FA_READAHEAD_MAX_CAPLEN 262144

struct fa_readahead;

/* Work done on each packet in the read-ahead thread, as soon as it is
 * copied: data is the copy, which stays where it is until the caller is
 * done with the packet, so what prepare leaves in its `extra` bytes may
 * point into it.  It must touch nothing the caller's thread uses. */
typedef void (*fa_readahead_prepare)(void *ctx, const struct pcap_pkthdr *h, const u_char *data,
                                     void *extra);

/* Starts reading p, keeping `extra` bytes (aligned as malloc() aligns)
 * beside each packet for prepare, which may be NULL; NULL with errbuf
 * (PCAP_ERRBUF_SIZE) if the thread or its buffers cannot be had. */
struct fa_readahead *fa_readahead_start(pcap_t *p, size_t extra, fa_readahead_prepare prepare,
                                        void *ctx, char *errbuf);

/* The next packet: 1 with *h, *data and *extra set; PCAP_ERROR_BREAK at
 * the end of the file; PCAP_ERROR when libpcap stopped on an error, whose
 * text fa_readahead_stop() leaves in pcap_geterr(p). */
int fa_readahead_next(struct fa_readahead *ra, struct pcap_pkthdr **h, const u_char **data,
                      void **extra);

/* How far into the file the block being handed out ends, for progress; -1
 * before the first packet, or when the stream cannot tell. */
off_t fa_readahead_offset(const struct fa_readahead *ra);

/* Stops the thread, frees ra, and gives p back to the caller.  If the file
 * was not read to its end, the thread first finishes the block it is
 * filling; what it read ahead is dropped, so p is then past the last
 * packet handed out. */
void fa_readahead_stop(struct fa_readahead *ra);

#endif
