/*
 * outfile.h - the file a report or an export is written to (-o FILE).
 *
 * A FILE that does not exist yet, or that is a regular file with no other
 * hard link which the caller owns (or the caller is root) and may write,
 * is written under a temporary name beside it and renamed over it only
 * once every byte is out: a full disk or any other failed write leaves no
 * partial file, and an older FILE of the same name stays as it was.
 * Anything else is written in place, as a plain open (the shell's >)
 * would, and fails where that would fail: a device or pipe, a symbolic
 * link, a file with other hard links, another user's file, a file the
 * caller may not write or whose group a new file of the caller's cannot
 * have, or a FILE whose folder takes no new file or whose name leaves no
 * room for the temporary name's suffix.  A FILE written in place is never
 * removed.  NULL or "-" is standard output.
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
    int armed;        /* a SIGINT or SIGTERM removes tmp (see outfile.c) */
};

/* Opens path for writing.  Returns 0, or -1 after one line on stderr. */
int fa_outfile_open(struct fa_outfile *o, const char *path);

/* Finishes the output of a writer that returned rc (0, or -1 with its
 * message in err) and releases o.  With rc 0 and no failed write, a
 * temporary file is synced and renamed over FILE; else it is removed and
 * FILE stays as it was.  A FILE written in place, or standard output,
 * keeps what was written either way: after a failure, possibly a part of
 * it.
 *
 * Returns rc, or -1 when a write failed or the temporary file could not
 * be put in place, after at most two lines on stderr: err, unless a write
 * had failed by then (the writer's failure is then that write's), and
 * the write or rename error, naming the file. */
int fa_outfile_close(struct fa_outfile *o, int rc, const char *err);

#endif
