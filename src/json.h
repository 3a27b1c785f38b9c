/*
 * json.h - write JSON to a FILE*, one value at a time, nothing held in
 * memory: the writer only remembers, for each open object or array,
 * whether it holds a value yet.
 *
 * Invariants of what it writes:
 *   - always valid JSON, and pure ASCII, whatever bytes a string holds:
 *     '"' and '\' are escaped with a backslash; control characters, DEL
 *     and everything outside ASCII become \uXXXX.  A valid UTF-8 sequence
 *     becomes its code point (a surrogate pair above U+FFFF), so it reads
 *     back as the same text; a byte that is not part of valid UTF-8
 *     becomes \u00XX, the code point of the same number, so nothing is
 *     lost and nothing is invalid;
 *   - numbers are printed from integers: times are microseconds written
 *     as seconds with exactly 6 decimals (fa_secs_str()), so the same
 *     data always prints the same bytes;
 *   - compact: no blank between tokens.  A container opened with lines
 *     set puts each of its values on a line of its own:
 *     "[\n" v1 ",\n" v2 "\n]", and "[\n]" when empty.
 *
 * Inside an object every value takes a key; elsewhere (in an array, or
 * the top value) the key is NULL.
 */
#ifndef FA_JSON_H
#define FA_JSON_H

#include <stdint.h>
#include <stdio.h>

/* Deeper nesting is a programming error (asserted). */
#define FA_JSON_MAX_DEPTH 16

/* Room for any int64 microseconds as seconds, with a sign and 6 decimals. */
#define FA_SECS_STRLEN 32

struct fa_json {
    FILE *out;
    int depth; /* containers open */
    struct {
        /* flags, not counts: a count would wrap and drop a comma */
        unsigned char object, lines, nonempty;
    } open[FA_JSON_MAX_DEPTH];
};

void fa_json_init(struct fa_json *j, FILE *out);

void fa_json_begin_object(struct fa_json *j, const char *key, int lines);
void fa_json_begin_array(struct fa_json *j, const char *key, int lines);
/* Closes the container opened last. */
void fa_json_end(struct fa_json *j);

/* value NULL writes null. */
void fa_json_str(struct fa_json *j, const char *key, const char *value);
void fa_json_uint(struct fa_json *j, const char *key, uint64_t value);
void fa_json_int(struct fa_json *j, const char *key, int64_t value);
void fa_json_bool(struct fa_json *j, const char *key, int value);
void fa_json_null(struct fa_json *j, const char *key);
/* Microseconds as seconds with 6 decimals: 1700000000.250000. */
void fa_json_secs(struct fa_json *j, const char *key, int64_t us);

/* us as the seconds fa_json_secs() writes, into buf (FA_SECS_STRLEN). */
const char *fa_secs_str(int64_t us, char *buf);

/* The length (2 to 4) of the valid UTF-8 sequence of a code point beyond
 * ASCII starting at s, with the code point in *cp; 0 when s does not
 * start one (ASCII, a stray or overlong byte, a surrogate, beyond
 * U+10FFFF, or a sequence cut by the string's end). */
int fa_utf8_decode(const char *s, uint32_t *cp);

#endif
