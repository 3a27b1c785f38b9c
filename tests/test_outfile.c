/*
 * test_outfile.c - -o FILE written whole or not at all (outfile.c).
 *
 * Every test works in a folder of its own, made for the run, and looks at
 * what is in it afterwards: FILE's content, its inode, and that no
 * temporary file is left beside it.  What could kill the process (a failed
 * write under RLIMIT_FSIZE, a signal) runs in a forked child.
 */
#define _GNU_SOURCE /* nftw() */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "outfile.h"

static char tmpdir[] = "/tmp/test_outfile.XXXXXX";

/* ---- helpers -------------------------------------------------------------- */

/* A new folder for one test; returns its path (static). */
static const char *new_dir(const char *name)
{
    static char path[512];

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    assert_int_equal(mkdir(path, 0755), 0);
    return path;
}

/* dir/name, in one of a few static buffers. */
static const char *in(const char *dir, const char *name)
{
    static char paths[4][1024];
    static int next;
    char *p = paths[next++ % 4];

    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* The content of path (static), or "(missing)". */
static const char *read_file(const char *path)
{
    static char buf[4096];
    FILE *fp = fopen(path, "r");
    if (!fp)
        return "(missing)";
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* The names in dir, sorted, space-separated (static). */
static const char *names_in(const char *dir)
{
    static char buf[4096];
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) {
            if (buf[0])
                strncat(buf, " ", sizeof buf - strlen(buf) - 1);
            strncat(buf, list[i]->d_name, sizeof buf - strlen(buf) - 1);
        }
        free(list[i]);
    }
    free(list);
    return buf;
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

static void (*handler_of(int sig))(int)
{
    struct sigaction sa;
    assert_int_equal(sigaction(sig, NULL, &sa), 0);
    return sa.sa_handler;
}

/* Runs fn(arg) in a child, which is to _exit(); its stderr goes to msg.
 * Fails the test unless the child exits 0. */
static void run_child(void (*fn)(const char *), const char *arg, char *msg, size_t size)
{
    int err[2];

    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(err[1], STDERR_FILENO);
        close(err[0]);
        /* Die of a fault, rather than in cmocka's handlers. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        fn(arg);
        _exit(3);
    }
    close(err[1]);
    size_t len = 0;
    ssize_t n;
    while (len < size - 1 && (n = read(err[0], msg + len, size - 1 - len)) > 0)
        len += (size_t)n;
    msg[len] = '\0';
    close(err[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("the child died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0)
        fail_msg("the child exited %d; its stderr: %s", WEXITSTATUS(status), msg);
}

/* ---- tests ---------------------------------------------------------------- */

/* An existing file is replaced in one step, keeping its mode (and, as
 * root, its owner): nothing of the new text shows before close, and a
 * writer's failure leaves the old file as it was. */
static void test_replace_whole(void **state)
{
    (void)state;
    const char *dir = new_dir("replace");
    const char *file = in(dir, "report.txt");
    struct fa_outfile o;

    write_file(file, "old\n", 0640);
    if (geteuid() == 0)
        assert_int_equal(chown(file, 65534, 65534), 0);
    ino_t before = inode_of(file);

    /* A writer that fails: FILE stays, the temporary file goes. */
    assert_int_equal(fa_outfile_open(&o, file), 0);
    assert_non_null(o.tmp);
    assert_true(handler_of(SIGTERM) != SIG_DFL);
    assert_int_equal(fputs("half of the new\n", o.fp) >= 0, 1);
    assert_int_equal(fa_outfile_close(&o, -1, "the writer failed (expected)"), -1);
    assert_string_equal(read_file(file), "old\n");
    assert_int_equal(inode_of(file), before);
    assert_string_equal(names_in(dir), "report.txt");
    assert_true(handler_of(SIGTERM) == SIG_DFL);

    /* A writer that succeeds: nothing shows until close, then all. */
    assert_int_equal(fa_outfile_open(&o, file), 0);
    assert_non_null(o.tmp);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fprintf(o.fp, "line %d\n", i) > 0, 1);
    assert_int_equal(fflush(o.fp), 0);
    int unchanged = strcmp(read_file(file), "old\n") == 0;
    assert_int_equal(fa_outfile_close(&o, 0, NULL), 0);
    assert_true(unchanged);
    assert_null(o.tmp);
    assert_true(handler_of(SIGTERM) == SIG_DFL);
    assert_int_not_equal(inode_of(file), before);
    assert_memory_equal(read_file(file), "line 0\nline 1\n", 14);
    assert_string_equal(names_in(dir), "report.txt");
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_size, 8890);
    if (geteuid() == 0) {
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_gid, 65534);
    }
}

/* A missing FILE is created whole, with a new file's mode. */
static void test_new_file(void **state)
{
    (void)state;
    const char *dir = new_dir("new");
    const char *file = in(dir, "conn.log");
    struct fa_outfile o;

    mode_t mask = umask(022);
    assert_int_equal(fa_outfile_open(&o, file), 0);
    assert_non_null(o.tmp);
    assert_string_equal(read_file(file), "(missing)");
    fputs("new\n", o.fp);
    assert_int_equal(fa_outfile_close(&o, 0, NULL), 0);
    umask(mask);
    assert_string_equal(read_file(file), "new\n");
    assert_string_equal(names_in(dir), "conn.log");
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
}

/* The child of test_failed_write: one large fwrite() of a buffer that
 * ends at an unmapped page (glibc overran it when the cookie's write
 * returned -1), under a file size limit that the write passes.  Exits 0
 * when close reports the error, 1 otherwise; dies on an overrun. */
static void failed_write_child(const char *file)
{
    const size_t size = 1 << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + size, page, PROT_NONE) != 0)
        _exit(2);
    memset(map, 'x', size);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 65536, .rlim_max = 65536};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(2);
    struct fa_outfile o;
    if (fa_outfile_open(&o, file) != 0)
        _exit(2);
    fputs("a first line\n", o.fp);
    size_t n = fwrite(map, 1, size, o.fp);
    int rc = n == size ? 0 : -1;
    _exit(fa_outfile_close(&o, rc, "the writer's own message") == -1 && n < size ? 0 : 1);
}

/* A write that fails (the file size limit) is reported by close, naming
 * the file, instead of the writer's own message; it leaves the old FILE
 * and no temporary file. */
static void test_failed_write(void **state)
{
    (void)state;
    const char *dir = new_dir("failed");
    const char *file = in(dir, "conn.log");
    char msg[1024], want[1024];

    write_file(file, "old\n", 0644);
    run_child(failed_write_child, file, msg, sizeof msg);
    snprintf(want, sizeof want, "flowaudit: %s: cannot write: %s\n", file, strerror(EFBIG));
    assert_string_equal(msg, want);
    assert_string_equal(read_file(file), "old\n");
    assert_string_equal(names_in(dir), "conn.log");
}

static void own_failure_child(const char *file)
{
    struct fa_outfile o;
    if (fa_outfile_open(&o, file) != 0)
        _exit(2);
    fputs("a part\n", o.fp);
    _exit(fa_outfile_close(&o, -1, "the writer's own failure") == -1 ? 0 : 1);
}

/* Writes more than RLIMIT_FSIZE through a symbolic link (in place), with
 * no check of its own: close is to fail, reporting the error. */
static void in_place_failure_child(const char *file)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 4096, .rlim_max = 4096};
    struct fa_outfile o;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || fa_outfile_open(&o, file) != 0 || o.tmp)
        _exit(2);
    for (int i = 0; i < 1000; i++)
        fputs("a line of the report\n", o.fp);
    _exit(fa_outfile_close(&o, 0, NULL) == -1 ? 0 : 1);
}

/* What close says: the writer's own failure, when no write failed (the
 * temporary file is removed); a write error where FILE is written in
 * place, though the writer did not look. */
static void test_close_reports(void **state)
{
    (void)state;
    const char *dir = new_dir("reports");
    const char *file = in(dir, "report.txt");
    const char *link = in(dir, "link.txt");
    char msg[1024], want[1024];

    run_child(own_failure_child, file, msg, sizeof msg);
    assert_string_equal(msg, "flowaudit: the writer's own failure\n");
    assert_string_equal(names_in(dir), "");

    assert_int_equal(symlink("report.txt", link), 0);
    run_child(in_place_failure_child, link, msg, sizeof msg);
    snprintf(want, sizeof want, "flowaudit: %s: cannot write: %s\n", link, strerror(EFBIG));
    assert_string_equal(msg, want);
    assert_string_equal(names_in(dir), "link.txt report.txt");
}

/* A file the caller may not write is refused, as a plain open refuses it,
 * and left as it was. */
static void test_read_only(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        print_message("running as root, which may write a read-only file: not checked\n");
        skip();
    }
    const char *dir = new_dir("readonly");
    const char *file = in(dir, "report.txt");
    struct fa_outfile o;

    write_file(file, "old\n", 0444);
    assert_int_equal(open(file, O_WRONLY | O_TRUNC), -1);
    assert_int_equal(errno, EACCES);
    int rc = fa_outfile_open(&o, file);
    if (rc == 0) /* not left open for the tests after this one */
        fa_outfile_close(&o, -1, NULL);
    assert_int_equal(rc, -1);
    assert_string_equal(read_file(file), "old\n");
    assert_string_equal(names_in(dir), "report.txt");
}

/* A symbolic link is written through: it stays a link, its target gets
 * the text in place. */
static void test_symlink(void **state)
{
    (void)state;
    const char *dir = new_dir("symlink");
    const char *target = in(dir, "target.txt");
    const char *link = in(dir, "link.txt");
    struct fa_outfile o;

    write_file(target, "old\n", 0600);
    ino_t before = inode_of(target);
    assert_int_equal(symlink("target.txt", link), 0);
    assert_int_equal(fa_outfile_open(&o, link), 0);
    int in_place = !o.tmp;
    fputs("through the link\n", o.fp);
    assert_int_equal(fa_outfile_close(&o, 0, NULL), 0);
    assert_true(in_place);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_string_equal(read_file(target), "through the link\n");
    assert_int_equal(inode_of(target), before);
    assert_string_equal(names_in(dir), "link.txt target.txt");
}

/* A name too long for the temporary name's suffix (NAME_MAX 255) is
 * written in place, existing or not. */
static void test_long_name(void **state)
{
    (void)state;
    const char *dir = new_dir("long");
    char name[251];
    struct fa_outfile o;

    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    const char *file = in(dir, name);

    assert_int_equal(fa_outfile_open(&o, file), 0);
    int in_place = !o.tmp;
    fputs("created\n", o.fp);
    assert_int_equal(fa_outfile_close(&o, 0, NULL), 0);
    assert_true(in_place);
    assert_string_equal(read_file(file), "created\n");

    ino_t before = inode_of(file);
    assert_int_equal(fa_outfile_open(&o, file), 0);
    in_place = !o.tmp;
    fputs("rewritten\n", o.fp);
    assert_int_equal(fa_outfile_close(&o, 0, NULL), 0);
    assert_true(in_place);
    assert_string_equal(read_file(file), "rewritten\n");
    assert_int_equal(inode_of(file), before);
    assert_string_equal(names_in(dir), name);
}

/* SIGINT or SIGTERM during a long write removes the temporary file and
 * ends the program by that signal; FILE stays as it was. */
static void test_signal(void **state)
{
    (void)state;
    static const int sigs[] = {SIGINT, SIGTERM};
    const char *dir = new_dir("signal");
    const char *file = in(dir, "conn.log");

    for (int i = 0; i < 2; i++) {
        write_file(file, "old\n", 0644);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            signal(sigs[i], SIG_DFL);
            struct fa_outfile o;
            if (fa_outfile_open(&o, file) != 0 || !o.tmp)
                _exit(2);
            for (int k = 0; k < 10000; k++)
                fprintf(o.fp, "line %d\n", k);
            fflush(o.fp);
            if (access(o.tmp, F_OK) != 0)
                _exit(3);
            raise(sigs[i]);
            _exit(4);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("signal %d: the child exited %d", sigs[i], WEXITSTATUS(status));
        assert_int_equal(WTERMSIG(status), sigs[i]);
        assert_string_equal(read_file(file), "old\n");
        assert_string_equal(names_in(dir), "conn.log");
    }
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_whole), cmocka_unit_test(test_new_file),
        cmocka_unit_test(test_failed_write),  cmocka_unit_test(test_close_reports),
        cmocka_unit_test(test_read_only),     cmocka_unit_test(test_symlink),
        cmocka_unit_test(test_long_name),     cmocka_unit_test(test_signal),
    };
    int rc;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
