/*
 * outfile.c - write -o FILE whole or not at all (see outfile.h).
 *
 * Invariants:
 *   - FILE, when it is a regular file with no other hard link or does not
 *     exist, and its folder takes a new file, either holds everything
 *     written, or is exactly as it was before: the text goes to
 *     FILE.XXXXXX in the same folder (so the rename cannot cross file
 *     systems) with FILE's mode and owner (a new file's mode when there is
 *     none), is synced, and rename() replaces FILE in one step;
 *   - anything else (a device, a pipe, a symbolic link, a file with other
 *     hard links, a folder that takes no new file) is written in place,
 *     as a plain open would, so that FILE stays what it was;
 *   - the stream writes through write_fd(), which keeps the first write
 *     error: stdio discards a buffer it failed to write, and errno is
 *     anybody's by the time the caller looks (SQLite's own calls set it),
 *     so without it a full disk would read "Input/output error".
 */
#define _GNU_SOURCE /* fopencookie() */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t write_fd(void *cookie, const char *buf, size_t size)
{
    struct fa_outfile *o = cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(o->fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!o->err)
                o->err = n < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)n;
    }
    return (ssize_t)size;
}

static void report_error(const char *path, int err)
{
    fprintf(stderr, "flowaudit: %s: cannot write: %s%s\n", path ? path : "standard output",
            strerror(err), err == ENOSPC || err == EDQUOT ? "; free space on its disk" : "");
}

/* The mode open() would give a new file: 0666 less the umask. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* Writes FILE itself, as a plain open would (no temporary file). */
static int open_in_place(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
}

/* The descriptor to write: standard output; FILE itself when replacing it
 * would change what FILE is (a device or pipe, a symbolic link, a file
 * with other hard links) or when its folder takes no new file; else a new
 * temporary file beside it, with the mode (and, for root, the owner) of
 * the FILE it is to replace. */
static int open_fd(struct fa_outfile *o, const char *path)
{
    struct stat st;

    if (!path || strcmp(path, "-") == 0) {
        fflush(stdout);
        return STDOUT_FILENO;
    }
    o->path = path;
    int exists = lstat(path, &st) == 0;
    if (exists && (!S_ISREG(st.st_mode) || st.st_nlink > 1))
        return open_in_place(path);
    size_t n = strlen(path) + sizeof ".XXXXXX";
    if (!(o->tmp = malloc(n))) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(o->tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
        free(o->tmp);
        o->tmp = NULL;
        return open_in_place(path);
    }
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, exists ? st.st_mode & 07777 : new_file_mode());
    if (rc == 0 && exists && geteuid() == 0)
        rc = fchown(fd, st.st_uid, st.st_gid);
    if (rc < 0) {
        int err = errno;
        close(fd);
        unlink(o->tmp);
        errno = err;
        return -1;
    }
    return fd;
}

int fa_outfile_open(struct fa_outfile *o, const char *path)
{
    static const cookie_io_functions_t io = {.write = write_fd};

    memset(o, 0, sizeof *o);
    o->fd = open_fd(o, path);
    if (o->fd >= 0 && !(o->fp = fopencookie(o, "w", io)))
        errno = ENOMEM;
    if (!o->fp) {
        report_error(o->path, errno);
        if (o->fd > STDOUT_FILENO) {
            close(o->fd);
            if (o->tmp)
                unlink(o->tmp);
        }
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    return 0;
}

int fa_outfile_failed(const struct fa_outfile *o)
{
    return o->err != 0 || ferror(o->fp);
}

int fa_outfile_close(struct fa_outfile *o, int ok)
{
    if (fflush(o->fp) != 0 && !o->err)
        o->err = EIO;
    /* On disk before the rename, so that a crash leaves the old FILE or
     * the whole new one. */
    if (o->tmp && ok && !o->err && fsync(o->fd) != 0)
        o->err = errno;
    fclose(o->fp);
    if (o->fd > STDOUT_FILENO && close(o->fd) != 0 && !o->err)
        o->err = errno;
    int err = o->err;
    if (o->tmp) {
        if (ok && !err && rename(o->tmp, o->path) != 0)
            err = errno;
        if (!ok || err)
            unlink(o->tmp);
        free(o->tmp);
    }
    o->fp = NULL;
    o->tmp = NULL;
    if (err && ok) {
        report_error(o->path, err);
        return -1;
    }
    return ok ? 0 : -1;
}
