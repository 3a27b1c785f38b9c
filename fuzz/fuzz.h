/*
 * fuzz.h - what the fuzz targets share: the check that stops a run when a
 * documented promise of the code under test is broken, and the link types
 * the decoder supports, in the order the first input byte picks them.
 *
 * Every target defines LLVMFuzzerTestOneInput only; under libFuzzer that
 * is the whole target, and without it replay.c supplies main().  Nothing
 * here keeps state between inputs.
 */
#ifndef FA_FUZZ_H
#define FA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): a release build may define NDEBUG, and a broken promise
 * must stop the replay tests too. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The link types of decode.h; a frame input's first byte picks one modulo
 * FUZZ_NLINKS.  fuzz/seeds.py writes its seeds with the same order: keep
 * the two in step. */
static const int fuzz_links[] = {
    FA_DLT_NULL,       FA_DLT_EN10MB, FA_DLT_PPP,        FA_DLT_RAW,          FA_DLT_RAW_BSD,
    FA_DLT_PPP_SERIAL, FA_DLT_C_HDLC, FA_DLT_LOOP,       FA_DLT_LINKTYPE_RAW, FA_DLT_LINUX_SLL,
    FA_DLT_IPV4,       FA_DLT_IPV6,   FA_DLT_LINUX_SLL2,
};
#define FUZZ_NLINKS (sizeof fuzz_links / sizeof fuzz_links[0])

/* The framing of fuzz_flow.c and fuzz_streams.c: after a link control
 * byte, records of [u16 length, big-endian][u8 time step][frame].  A last
 * frame shorter than its length takes what is left.  A time step t below
 * 255 moves *now_ns t*t*10 ms forward (up to 650 s, past every timeout);
 * 255 moves it 1 s back.  Returns 0 when no record is left. */
static inline int fuzz_next_frame(const uint8_t *data, size_t size, size_t *off, int64_t *now_ns,
                                  const uint8_t **frame, uint32_t *len)
{
    if (size - *off < 3)
        return 0;
    size_t n = (size_t)data[*off] << 8 | data[*off + 1];
    uint8_t step = data[*off + 2];
    *off += 3;
    if (n > size - *off)
        n = size - *off;
    *now_ns += step == 255 ? -1000000000LL : (int64_t)step * step * 10000000LL;
    *frame = data + *off;
    *len = (uint32_t)n;
    *off += n;
    return 1;
}

/* A frame in a buffer of exactly its length, so that AddressSanitizer
 * catches a read past it, which the rest of the input would hide. */
static inline uint8_t *fuzz_exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, p, n);
    return copy;
}

/* 2024-05-14 08:30 UTC, where the samples start. */
#define FUZZ_START_NS (1715675400LL * 1000000000LL)

#endif
