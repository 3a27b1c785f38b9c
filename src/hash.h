/*
 * hash.h - keyed hashing for the tables that packets from the network fill
 * (flows, stream reassembly, DNS names).
 *
 * Every table draws its own secret key, so a sender cannot compute
 * addresses that collide in it and turn lookups into long walks.
 */
#ifndef FA_HASH_H
#define FA_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* A fresh secret key: getrandom(), or without it (an old kernel) the
 * clock and an address, weaker but still unknown to a sender. */
void fa_hash_seed(uint64_t key[2]);

/* A 64-bit finalizer: every input bit reaches every output bit. */
static inline uint64_t fa_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* One (address, port) end under key.  A flow hashes as the sum of its two
 * ends, so both directions of it hash alike. */
uint64_t fa_hash_end(const uint64_t key[2], const struct fa_addr *a, uint16_t port);

/* A byte string of any length (a DNS name) under key: SipHash-2-4.  Dearer
 * than fa_hash_end() for an address, but the one to use where the sender
 * chooses the length and every byte. */
uint64_t fa_hash_bytes(const uint64_t key[2], const void *data, size_t len);

#endif
