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
