/*
 * hash.c - keyed hashing shared by the tables that network input fills.
 */
#include "hash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

void fa_hash_seed(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof *key, 0) == (ssize_t)(2 * sizeof *key))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    key[0] = fa_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30));
    key[1] = fa_mix64((uint64_t)(uintptr_t)key ^ key[0]);
}

/* One multiply per word under the key, then a full mix: cheap enough for
 * every packet's lookup, and unknown to whoever chooses the addresses. */
uint64_t fa_hash_end(const uint64_t key[2], const struct fa_addr *a, uint16_t port)
{
    uint64_t lo, hi;
    memcpy(&lo, a->b, 8);
    memcpy(&hi, a->b + 8, 8);
    return fa_mix64((lo ^ key[0]) * 0x9e3779b97f4a7c15ULL ^
                    (hi ^ key[1] ^ port) * 0xc2b2ae3d27d4eb4fULL);
}

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

/* SipHash-2-4 (Aumasson and Bernstein): a keyed function made for hash
 * tables fed by an adversary.  Words are read in host order; the values
 * never leave the process, so they need not match other hosts' (on a
 * little-endian host they are the reference values). */
uint64_t fa_hash_bytes(const uint64_t key[2], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
    uint64_t m, last = (uint64_t)len << 56;
    size_t whole = len - len % 8;

    for (size_t i = 0; i < whole; i += 8) {
        memcpy(&m, in + i, 8);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)in[whole + i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
