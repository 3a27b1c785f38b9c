/*
 * fuzz_http.c - fuzzes the HTTP recogniser of appproto.h.
 *
 * Input: the first bytes one side of a TCP stream sent; its seeds are requests and responses from
 * captures of port 80. appproto.h has one entry point per direction, which tries every recogniser
 * in turn, so this target calls fa_app_inspect (the client's bytes) and fa_app_inspect_response
 * (the server's) as streams.c does, through fuzz_app.h, which says what is checked.  What makes it
 * the HTTP target is its seed corpus (fuzz/seeds.py) and its dictionary
 * (fuzz/dict/http.dict), which keep the fuzzer inside HTTP.
 */
#include "fuzz_app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_app_stream(data, size);
    return 0;
}
