/*
 * outfile.c - write -o FILE whole or not at all (see outfile.h).
 *
 * Invariants:
 *   - FILE, when it does not exist or is a regular file with no other hard
 *     link that the caller owns (or the caller is root) and may write, and
 *     its folder takes a new file named FILE.XXXXXX, either holds
 *     everything written, or is exactly as it was before: the text goes to
 *     FILE.XXXXXX in the same folder (so the rename cannot cross file
 *     systems) with FILE's owner, group and mode (a new file's mode when
 *     there is none), is synced, and rename() replaces FILE in one step;
 *   - anything else (a device, a pipe, a symbolic link, a file with other
 *     hard links, another user's file, a file the caller may not write, a
 *     group the caller cannot give, a folder that takes no new file, a name
 *     too long for the suffix) is written in place, as a plain open would,
 *     so that FILE stays what it was and the open fails where that would;
 *   - the temporary file is removed by close when the output is not kept,
 *     and by a SIGINT or SIGTERM that would otherwise end the program (its
 *     name is copied to a static buffer that on_stop() unlinks; the
 *     handler is installed only while a temporary file exists, and only
 *     where the signal's action is the default);
 *   - the stream writes through write_fd(), which keeps the first write
 *     error: stdio discards a buffer it failed to write, and errno is
 *     anybody's by the time the caller looks (SQLite's own calls set it),
 *     so without it a full disk would read "Input/output error".
 *     write_fd() returns 0 on error, as fopencookie(3) requires: glibc
 *     takes -1 for SIZE_MAX bytes written.
 */
#define _GNU_SOURCE /* fopencookie(), mkostemp() */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
            errno = o->err;
            return 0;
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

/* ---- removing the temporary file on SIGINT or SIGTERM ---- */

static const int stop_signals[] = {SIGINT, SIGTERM};
static struct sigaction stop_prev[2];
static int stop_installed[2];
static char stop_path[PATH_MAX];
static volatile sig_atomic_t stop_armed;

static void on_stop(int sig)
{
    if (stop_armed)
        unlink(stop_path);
    signal(sig, SIG_DFL);
    raise(sig); /* delivered, with its default action, once this returns */
}

/* Has on_stop() remove tmp, unless another temporary file has it already
 * or the program handles the signals itself.  Called with the signals
 * blocked.  Returns whether it will. */
static int arm(const char *tmp)
{
    if (stop_armed || strlen(tmp) >= sizeof stop_path)
        return 0;
    strcpy(stop_path, tmp);
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 2; i++) {
        stop_installed[i] = sigaction(stop_signals[i], NULL, &stop_prev[i]) == 0 &&
                            stop_prev[i].sa_handler == SIG_DFL &&
                            sigaction(stop_signals[i], &sa, NULL) == 0;
    }
    stop_armed = 1;
    return 1;
}

/* Called once the temporary file is renamed or removed (a signal in
 * between unlinks a name that is gone, which is harmless). */
static void disarm(struct fa_outfile *o)
{
    if (!o->armed)
        return;
    stop_armed = 0;
    for (int i = 0; i < 2; i++)
        if (stop_installed[i])
            sigaction(stop_signals[i], &stop_prev[i], NULL);
    o->armed = 0;
}

/* Removes the temporary file, if any is left, then disarms. */
static void discard_tmp(struct fa_outfile *o)
{
    if (o->tmp)
        unlink(o->tmp);
    disarm(o);
    free(o->tmp);
    o->tmp = NULL;
}

/* ---- opening ---- */

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

/* Whether a new file renamed over FILE (st, when it exists) would be what
 * a plain open writes: FILE is missing, or a regular file with no other
 * hard link that the caller owns (or the caller is root) and may write. */
static int replaceable(const char *path, const struct stat *st)
{
    if (!st)
        return 1;
    if (!S_ISREG(st->st_mode) || st->st_nlink > 1)
        return 0;
    if (st->st_uid != geteuid() && geteuid() != 0)
        return 0;
    return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

/* Whether FILE is written in place after a failure to make the temporary
 * file stand in for it: its folder takes no new file, the name is too
 * long for the suffix, the group cannot be given. */
static int fall_back(int err)
{
    return err == EACCES || err == EPERM || err == EROFS || err == ENAMETOOLONG;
}

/* A new temporary file beside FILE, with the owner, group and mode of the
 * FILE (st) it is to replace; -1 with errno set, and no file left. */
static int open_tmp(struct fa_outfile *o, const struct stat *st)
{
    size_t n = strlen(o->path) + sizeof ".XXXXXX";
    if (!(o->tmp = malloc(n))) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(o->tmp, n, "%s.XXXXXX", o->path);
    /* No SIGINT or SIGTERM between creating the file and arming. */
    sigset_t stop, old;
    sigemptyset(&stop);
    for (int i = 0; i < 2; i++)
        sigaddset(&stop, stop_signals[i]);
    sigprocmask(SIG_BLOCK, &stop, &old);
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd >= 0)
        o->armed = arm(o->tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        int err = errno;
        free(o->tmp);
        o->tmp = NULL;
        errno = err;
        return -1;
    }
    /* chown before chmod: chown clears the set-user and set-group-ID
     * bits. */
    int rc = st ? fchown(fd, st->st_uid, st->st_gid) : 0;
    if (rc == 0)
        rc = fchmod(fd, st ? st->st_mode & 07777 : new_file_mode());
    if (rc < 0) {
        int err = errno;
        close(fd);
        discard_tmp(o);
        errno = err;
        return -1;
    }
    return fd;
}

/* The descriptor to write: standard output; a temporary file beside FILE
 * when FILE may be replaced; else FILE itself. */
static int open_fd(struct fa_outfile *o, const char *path)
{
    struct stat st;

    if (!path || strcmp(path, "-") == 0) {
        fflush(stdout);
        return STDOUT_FILENO;
    }
    o->path = path;
    int exists = lstat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        return open_in_place(path);
    if (!replaceable(path, exists ? &st : NULL))
        return open_in_place(path);
    int fd = open_tmp(o, exists ? &st : NULL);
    if (fd < 0 && fall_back(errno))
        return open_in_place(path);
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
        if (o->fd > STDOUT_FILENO)
            close(o->fd);
        discard_tmp(o);
        return -1;
    }
    return 0;
}

/* ---- closing ---- */

int fa_outfile_close(struct fa_outfile *o, int rc, const char *err)
{
    /* A failed write makes the writer fail: the write's error, naming the
     * file, is the one to give. */
    if (rc < 0 && !o->err && !ferror(o->fp) && err)
        fprintf(stderr, "flowaudit: %s\n", err);
    if ((fflush(o->fp) != 0 || ferror(o->fp)) && !o->err)
        o->err = EIO;
    /* On disk before the rename, so that a crash leaves the old FILE or
     * the whole new one. */
    if (o->tmp && rc == 0 && !o->err && fsync(o->fd) != 0)
        o->err = errno;
    fclose(o->fp);
    o->fp = NULL;
    if (o->fd > STDOUT_FILENO && close(o->fd) != 0 && !o->err)
        o->err = errno;
    int werr = o->err;
    if (o->tmp && rc == 0 && !werr) {
        if (rename(o->tmp, o->path) == 0) {
            free(o->tmp);
            o->tmp = NULL;
        } else {
            werr = errno;
        }
    }
    discard_tmp(o); /* what was not renamed */
    if (werr) {
        report_error(o->path, werr);
        return -1;
    }
    return rc;
}
