/*
 * outfile.h - the file a report or an export is written to (-o FILE).
 *
 * A regular file is written under a temporary name beside it and renamed
 * over FILE only once every byte is out: a full disk or any other failed
 * write leaves no partial file, and an older FILE of the same name stays
 * as it was.  What replacing would change (a device, a pipe, a symbolic
 * link, a file with other hard links) or what cannot be replaced (a folder
 * that takes no new file) is written in place, and never removed.  NULL or
 * "-" is standard output.
 */
#ifndef FA_OUTFILE_H
#define FA_OUTFILE_H

#include <stdio.h>

struct fa_outfile {
    FILE *fp;         /* write here */
    const char *path; /* as given; NULL for standard output */
    char *tmp;        /* the temporary name, while one is open */
    int fd;           /* what fp writes to */
    int err;          /* the first write's errno, 0 while all is well */
};

/* Opens path for writing.  Returns 0, or -1 after one line on stderr. */
int fa_outfile_open(struct fa_outfile *o, const char *path);

/* Finishes the file: with ok, flushes it and puts it in place; without,
 * discards what was written.  Returns 0, or -1 after one line on stderr
 * naming the file when it could not be written. */
int fa_outfile_close(struct fa_outfile *o, int ok);

/* Whether a write to the file failed (it is then reported by close). */
int fa_outfile_failed(const struct fa_outfile *o);

#endif
