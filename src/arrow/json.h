/* json.h - renders Arrow schemas and record-batch rows as JSON (the output of
 * `memwal ipc-cat`, and what tests compare).
 *
 * Schema line (one object, no newline added by the renderer):
 *   {"schema": {"fields": [{"name": N, "type": T, "nullable": B,
 *                           "metadata": {K: V, ...}}, ...],
 *               "metadata": {K: V, ...}}}
 * metadata objects list the pairs in stored order ({} when there are none).
 *
 * Type strings (stable; tests depend on them): the flat name from
 * mw_type_name() ("int64", "utf8", "timestamp[us, UTC]",
 * "fixed_size_list[512]", ...), and for nested types the children in angle
 * brackets, each as "NAME: TYPE", a child that is not nullable gets the
 * suffix " not null":
 *   list<item: int32>          large_list<item: utf8 not null>
 *   fixed_size_list[512]<item: float32>
 *   struct<a: int32, b: utf8>  struct<>
 *   map<entries: struct<key: utf8 not null, value: int64>>
 *
 * Row values (one JSON object per row, keyed by column name, in column order):
 *   null (any type, including a null struct/list/map)  -> null
 *   bool -> true/false; integers -> exact numbers (uint64 too);
 *   float16/32/64 -> the shortest decimal that reads back to the same value
 *     in that precision; NaN / +-inf -> "NaN", "Infinity", "-Infinity";
 *   utf8/large_utf8 -> strings (", \ escaped, control chars as \u00XX, each
 *     byte of an invalid UTF-8 sequence as \ufffd: output is always valid);
 *   binary/large_binary/fixed_size_binary -> lowercase hex strings;
 *   date/time/timestamp/duration -> the stored integer;
 *   decimal128 -> string with the scale applied ("-123.45", "0.01", "42";
 *     negative scale multiplies: 42 scale -2 -> "4200");
 *   list/large_list/fixed_size_list -> arrays; struct -> object keyed by the
 *     child names; map -> array of [key, value] pairs.
 * Array offsets are honoured at every level.
 *
 * The renderer trusts its input's structure: arrays must be valid for their
 * schema (e.g. checked by mw_array_validate or produced by mw_ipc_decode).
 * Errors: MW_ERR_UNSUPPORTED (dictionary / unknown formats), MW_ERR_INVALID
 * (nesting deeper than MW_JSON_MAX_DEPTH), MW_ERR_NOMEM. */
#ifndef MW_ARROW_JSON_H
#define MW_ARROW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "memwal.h"

#define MW_JSON_MAX_DEPTH 64

/* Appends the schema line for a struct ("+s") schema. */
mw_status mw_json_schema(mw_buf *out, const struct ArrowSchema *schema, mw_error *err);

/* Appends the type string of a field (see above). */
mw_status mw_json_type(mw_buf *out, const struct ArrowSchema *field, mw_error *err);

/* Appends element i (logical index, 0 <= i < array->length) of any array. */
mw_status mw_json_value(mw_buf *out, const struct ArrowSchema *schema,
                        const struct ArrowArray *array, int64_t i, mw_error *err);

/* Appends row i of a struct batch as an object. A top-level null row (a
 * struct batch with a validity bitmap) renders as null. */
mw_status mw_json_row(mw_buf *out, const struct ArrowSchema *schema,
                      const struct ArrowArray *batch, int64_t i, mw_error *err);

/* Appends every row of a batch, each followed by '\n'. */
mw_status mw_json_rows(mw_buf *out, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, mw_error *err);

/* Checks that any batch of this (struct) schema renders without error:
 * every type supported, nesting within MW_JSON_MAX_DEPTH. After MW_OK the
 * row functions can only fail for lack of memory, so a caller may write rows
 * out as it renders them. (Stricter than rendering, which only trips over
 * the types of values it meets: e.g. a dictionary child of always-empty
 * lists.) */
mw_status mw_json_check(const struct ArrowSchema *schema, mw_error *err);

/* Appends a JSON string literal of n bytes of (possibly invalid) UTF-8. */
void mw_json_string(mw_buf *out, const char *s, size_t n);

/* Shortest round-trip decimal text of a float of each precision, into buf
 * (cap >= 32); non-finite values give NaN / Infinity / -Infinity (unquoted). */
void mw_json_format_f64(char *buf, size_t cap, double v);
void mw_json_format_f32(char *buf, size_t cap, float v);
void mw_json_format_f16(char *buf, size_t cap, uint16_t bits);

/* IEEE half <-> float conversions (round to nearest even). */
double mw_half_to_double(uint16_t bits);
uint16_t mw_double_to_half(double v);

#endif
