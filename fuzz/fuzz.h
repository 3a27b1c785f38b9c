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

#endif
