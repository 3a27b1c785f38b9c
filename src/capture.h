/*
 * capture.h - one run: packets from libpcap (files, standard input or a
 * live interface) through the decoder and the flow table into the store.
 *
 * Everything a run needs is in its options; a run keeps no global state
 * except the stop request that SIGINT and SIGTERM set during a live
 * capture.
 */
#ifndef FA_CAPTURE_H
#define FA_CAPTURE_H

#include <stdint.h>

#include "flow.h"

struct fa_capture_opts {
    const char *const *files; /* read: capture files; "-", at most once, is standard input */
    int nfiles;
    const char *iface;  /* capture: the interface */
    const char *filter; /* BPF expression, or NULL */
    const char *db_path;
    int verify_checksums;
    int quiet;            /* no progress on stderr */
    uint64_t count;       /* capture: stop after this many packets; 0 = no limit */
    int64_t duration_s;   /* capture: stop after this many seconds; 0 = no limit */
    const char *user;     /* capture: drop root to this user once the handle is open */
    int64_t checkpoint_s; /* capture: start writing every live flow this often */
    int names;            /* learn protocols and server names from the streams */
    size_t name_bytes;    /* bytes looked at per stream direction */
    struct fa_flow_config flow;
};

void fa_capture_opts_defaults(struct fa_capture_opts *o);

/* Runs `read` or `capture` (iface set).  Returns the process exit status:
 * 0 when done, 2 after an error, which has been printed on stderr.  The
 * run's id goes to *run_id when run_id is not NULL (0 if none began). */
int fa_capture_run(const struct fa_capture_opts *o, int64_t *run_id);

#endif
