/*
 * json.c - a streaming JSON writer (see json.h for what it guarantees).
 *
 * jansson would build whole documents in memory and prints reals through
 * a float format; this writes each value as it comes and prints times
 * from integers, so output is reproducible to the byte.
 */
#include "json.h"

#include <assert.h>
#include <inttypes.h>

void fa_json_init(struct fa_json *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
}

const char *fa_secs_str(int64_t us, char *buf)
{
    uint64_t mag = us < 0 ? -(uint64_t)us : (uint64_t)us;

    snprintf(buf, FA_SECS_STRLEN, "%s%" PRIu64 ".%06" PRIu64, us < 0 ? "-" : "", mag / 1000000,
             mag % 1000000);
    return buf;
}

int fa_utf8_decode(const char *str, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t c, min;
    int n;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2, c = s[0] & 0x1f, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3, c = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    /* A continuation byte is never NUL, so this stops at the string's end. */
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static void put_code_point(FILE *out, uint32_t c)
{
    if (c < 0x10000) {
        fprintf(out, "\\u%04x", (unsigned)c);
        return;
    }
    c -= 0x10000;
    fprintf(out, "\\u%04x\\u%04x", (unsigned)(0xd800 + (c >> 10)),
            (unsigned)(0xdc00 + (c & 0x3ff)));
}

static void put_string(FILE *out, const char *s)
{
    putc('"', out);
    while (*s) {
        unsigned char c = (unsigned char)*s;
        uint32_t cp;
        int n;

        if (c == '"' || c == '\\') {
            putc('\\', out);
            putc(c, out);
            s++;
        } else if (c >= 0x20 && c < 0x7f) {
            putc(c, out);
            s++;
        } else if ((n = fa_utf8_decode(s, &cp)) > 0) {
            put_code_point(out, cp);
            s += n;
        } else {
            /* A control character, DEL, or a byte of no valid sequence. */
            put_code_point(out, c);
            s++;
        }
    }
    putc('"', out);
}

/* The separator before a value, and its key inside an object. */
static void begin_value(struct fa_json *j, const char *key)
{
    if (j->depth > 0) {
        int top = j->depth - 1;

        assert(!j->open[top].object == !key);
        if (j->open[top].nonempty)
            fputs(j->open[top].lines ? ",\n" : ",", j->out);
        j->open[top].nonempty = 1;
        if (key) {
            put_string(j->out, key);
            putc(':', j->out);
        }
    }
}

static void begin_container(struct fa_json *j, const char *key, int object, int lines)
{
    assert(j->depth < FA_JSON_MAX_DEPTH);
    begin_value(j, key);
    putc(object ? '{' : '[', j->out);
    if (lines)
        putc('\n', j->out);
    j->open[j->depth].object = (unsigned char)object;
    j->open[j->depth].lines = (unsigned char)(lines != 0);
    j->open[j->depth].nonempty = 0;
    j->depth++;
}

void fa_json_begin_object(struct fa_json *j, const char *key, int lines)
{
    begin_container(j, key, 1, lines);
}

void fa_json_begin_array(struct fa_json *j, const char *key, int lines)
{
    begin_container(j, key, 0, lines);
}

void fa_json_end(struct fa_json *j)
{
    assert(j->depth > 0);
    j->depth--;
    if (j->open[j->depth].lines && j->open[j->depth].nonempty)
        putc('\n', j->out);
    putc(j->open[j->depth].object ? '}' : ']', j->out);
}

void fa_json_str(struct fa_json *j, const char *key, const char *value)
{
    begin_value(j, key);
    if (value)
        put_string(j->out, value);
    else
        fputs("null", j->out);
}

void fa_json_uint(struct fa_json *j, const char *key, uint64_t value)
{
    begin_value(j, key);
    fprintf(j->out, "%" PRIu64, value);
}

void fa_json_int(struct fa_json *j, const char *key, int64_t value)
{
    begin_value(j, key);
    fprintf(j->out, "%" PRId64, value);
}

void fa_json_bool(struct fa_json *j, const char *key, int value)
{
    begin_value(j, key);
    fputs(value ? "true" : "false", j->out);
}

void fa_json_null(struct fa_json *j, const char *key)
{
    begin_value(j, key);
    fputs("null", j->out);
}

void fa_json_secs(struct fa_json *j, const char *key, int64_t us)
{
    char buf[FA_SECS_STRLEN];

    begin_value(j, key);
    fputs(fa_secs_str(us, buf), j->out);
}
