/* c_data.h - helpers over the Arrow C Data Interface structs: parsing format
 * strings into a type descriptor, metadata blobs, owned schema/array building,
 * deep copy, equality, validation and size estimation.
 *
 * The mw_type descriptor is the library's single internal view of an Arrow
 * type; the IPC codec, JSON rendering and Lance writer all switch on it. */
#ifndef MW_ARROW_C_DATA_H
#define MW_ARROW_C_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memwal.h"

typedef enum mw_type_id {
  MW_T_NULL,
  MW_T_BOOL,
  MW_T_INT8, MW_T_UINT8, MW_T_INT16, MW_T_UINT16,
  MW_T_INT32, MW_T_UINT32, MW_T_INT64, MW_T_UINT64,
  MW_T_FLOAT16, MW_T_FLOAT32, MW_T_FLOAT64,
  MW_T_UTF8, MW_T_LARGE_UTF8, MW_T_BINARY, MW_T_LARGE_BINARY,
  MW_T_FIXED_SIZE_BINARY, /* width = byte width */
  MW_T_DECIMAL128,        /* width = precision, scale */
  MW_T_DATE32, MW_T_DATE64,
  MW_T_TIME32, MW_T_TIME64, /* unit */
  MW_T_TIMESTAMP,           /* unit, tz (may be "") */
  MW_T_DURATION,            /* unit */
  MW_T_FIXED_SIZE_LIST,     /* width = list size; 1 child */
  MW_T_LIST, MW_T_LARGE_LIST, /* 1 child */
  MW_T_STRUCT,              /* n children */
  MW_T_MAP                  /* 1 child: struct<key, value>; keys_sorted */
} mw_type_id;

typedef enum mw_time_unit { MW_SECOND = 0, MW_MILLI = 1, MW_MICRO = 2, MW_NANO = 3 } mw_time_unit;

#define MW_TZ_MAX 64

typedef struct mw_type {
  mw_type_id id;
  int32_t width;          /* fixed_size_binary byte width, fixed_size_list size, decimal precision */
  int32_t scale;          /* decimal scale */
  mw_time_unit unit;      /* time32/64, timestamp, duration */
  char tz[MW_TZ_MAX];     /* timestamp zone, "" = none */
  bool keys_sorted;       /* map */
} mw_type;

/* Parses an Arrow C format string ("l", "tsu:UTC", "+w:512", ...).
 * MW_ERR_UNSUPPORTED for valid formats outside the list above (e.g. views,
 * unions, decimal256, dictionaries), MW_ERR_INVALID for malformed ones. */
mw_status mw_type_from_format(mw_type *out, const char *format, mw_error *err);

/* Writes the format string of t into buf (cap >= 96 is always enough). */
void mw_type_to_format(char *buf, size_t cap, const mw_type *t);

/* Human-readable name used in errors and JSON ("int64", "timestamp[us, UTC]",
 * "fixed_size_list[512]", ...). */
void mw_type_name(char *buf, size_t cap, const mw_type *t);

/* Number of buffers the C Data Interface requires for the type (validity
 * included; 0 for null, 1 for struct/fsl, 2 fixed width, 3 var-width). */
int mw_type_n_buffers(const mw_type *t);

/* Bit width of one value in the values buffer for fixed-width types (1 for
 * bool, 128 for decimal128, byte width*8 for fixed_size_binary), else 0. */
int mw_type_fixed_bits(const mw_type *t);

/* ---- metadata blobs: int32 count, then (int32 len, key, int32 len, value) */

typedef struct mw_kv {
  const char *key;   /* not NUL-terminated */
  int32_t key_len;
  const char *value; /* not NUL-terminated */
  int32_t value_len;
} mw_kv;

/* Number of pairs in a blob (0 for NULL). */
int32_t mw_metadata_count(const char *blob);
/* The i-th pair (pointers into blob). Caller ensures i < count. */
mw_kv mw_metadata_at(const char *blob, int32_t i);
/* Finds `key`; returns true and sets *out. */
bool mw_metadata_find(const char *blob, const char *key, mw_kv *out);
/* Total blob size in bytes (0 for NULL). */
size_t mw_metadata_size(const char *blob);
/* Builds a blob from pairs (malloc'ed; NULL when n == 0 or on OOM: check
 * *ok). */
char *mw_metadata_build(const mw_kv *pairs, int32_t n, bool *ok);
/* Copy of `blob` with `key` set to `value` (replacing/adding); value NULL
 * removes the key. malloc'ed (NULL when empty); *ok false on OOM. */
char *mw_metadata_with(const char *blob, const char *key, const char *value, bool *ok);
/* Copy of blob with every pair of `overrides` applied (replace or add). */
char *mw_metadata_merge(const char *blob, const char *overrides, bool *ok);
/* Equal as multisets of pairs in the same order. */
bool mw_metadata_equal(const char *a, const char *b);
/* Checks that a blob is well-formed within `max_len` bytes. */
bool mw_metadata_valid(const char *blob, size_t max_len);

/* ---- owned schemas
 * Builds ArrowSchema trees that own all their strings and children (one
 * release frees everything). */

/* Initialises *out as an owned schema node with the given format/name/
 * metadata (all copied; name/metadata may be NULL), flags and n_children
 * child slots (each child zero-initialised and already allocated: fill them
 * with mw_schema_init too). */
mw_status mw_schema_init(struct ArrowSchema *out, const char *format,
                         const char *name, const char *metadata, int64_t flags,
                         int64_t n_children, mw_error *err);

/* Deep copy of any schema into an owned one. */
mw_status mw_schema_copy(struct ArrowSchema *out, const struct ArrowSchema *src, mw_error *err);
/* The same, with the top node's metadata replaced by `metadata` (a blob,
 * copied; NULL = none). */
mw_status mw_schema_copy_with_metadata(struct ArrowSchema *out, const struct ArrowSchema *src,
                                       const char *metadata, mw_error *err);

/* Structural equality: formats, names, flags (nullability), children, and
 * metadata when `with_metadata`. */
bool mw_schema_equal(const struct ArrowSchema *a, const struct ArrowSchema *b, bool with_metadata);

/* Releases if non-NULL and not released yet. */
void mw_schema_release(struct ArrowSchema *s);
void mw_array_release(struct ArrowArray *a);

/* ---- validation
 * Validates `array` against `schema` recursively: release set, n_buffers and
 * n_children match the type, length/offset/null_count sane, required buffers
 * non-NULL, offsets monotonic and within the data buffer's referenced range
 * (the first and last offsets are checked against each other and each step
 * is non-negative), child lengths large enough. `path` names the column in
 * errors ("vector.item"); pass the column name for top-level columns.
 * MW_ERR_INVALID with "column 'x': ..." on failure. */
mw_status mw_array_validate(const struct ArrowSchema *schema, const struct ArrowArray *array,
                            const char *path, mw_error *err);

/* Validates a record batch: a "+s" array against a "+s" schema, each child
 * column by name. */
mw_status mw_batch_validate(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                            mw_error *err);

/* Bytes referenced by the array's logical slice (what an IPC body of it
 * would hold, unpadded): used for MemTable size estimates and bench MB/s. */
uint64_t mw_array_byte_size(const struct ArrowSchema *schema, const struct ArrowArray *array);

/* Is bit i of a validity bitmap set? (NULL bitmap = all valid) */
static inline bool mw_bit_get(const void *bitmap, int64_t i) {
  return bitmap == NULL || ((((const uint8_t *)bitmap)[i >> 3] >> (i & 7)) & 1);
}

#endif
