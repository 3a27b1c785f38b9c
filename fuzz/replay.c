/*
 * replay.c - main() for a fuzz target built without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file named, and on every file in
 * every folder named (not recursively, in name order), so regression
 * inputs and seeds replay under gcc, the normal build and the ASan build.
 *
 * Each input is read into a buffer of exactly its size, as libFuzzer
 * gives it, so AddressSanitizer sees a read past its end.  A missing or
 * unreadable argument, or a folder that holds no regular file (a seeds
 * folder that came out empty), is an error: a test that replays nothing
 * passes for the wrong reason.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s; check the path\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *more = realloc(buf, cap *= 2);
            if (!more)
                free(buf);
            buf = more;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "replay: %s: %s; check the file\n", path,
                buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    /* An exact-size copy: the slack of buf would hide an overread. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_folder(const char *dir, size_t *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    int rc = 0, files = 0;

    if (n < 0) {
        fprintf(stderr, "replay: %s: %s; check the path\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (names[i]->d_name[0] != '.' &&
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) < (int)sizeof path &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            files++;
            if (replay_file(path) < 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    if (files == 0) {
        fprintf(stderr, "replay: %s: no regular file in this folder; check that it was filled\n",
                dir);
        return -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (replay_folder(argv[i], &count) < 0)
                rc = 2;
        } else if (replay_file(argv[i]) < 0) {
            rc = 2;
        } else {
            count++;
        }
    }
    printf("replayed %zu inputs\n", count);
    return rc;
}
