/*
 * readahead.h - reads a capture file with libpcap in a thread of its own,
 * a few blocks of packets ahead of the caller, so that libpcap's reading
 * and copying run beside packet processing instead of before it.
 *
 * Between fa_readahead_start() and fa_readahead_stop() the pcap_t belongs
 * to the read-ahead thread alone.  Packets come out in file order; what
 * fa_readahead_next() hands out stays valid until the next call, as with
 * pcap_next_ex().  Memory is bounded: FA_READAHEAD_BLOCKS blocks of
 * FA_READAHEAD_BLOCK_SIZE bytes, a block growing only to hold a single
 * record larger than that.
 */
#ifndef FA_READAHEAD_H
#define FA_READAHEAD_H

#include <pcap/pcap.h>
#include <sys/types.h>

#define FA_READAHEAD_BLOCKS 8
#define FA_READAHEAD_BLOCK_SIZE (1 << 18)

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
 * when unknown (a pipe). */
off_t fa_readahead_offset(const struct fa_readahead *ra);

/* Stops the thread (at once, if the file is not read to its end), frees
 * ra, and gives p back to the caller. */
void fa_readahead_stop(struct fa_readahead *ra);

#endif
