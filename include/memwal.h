/*
 * memwal.h - the public API of libmemwal, a C11 implementation of the Lance
 * MemTable & WAL ("MemWAL") shard writer.
 *
 * Conventions (every function follows them):
 *  - Functions that can fail return an mw_status (MW_OK = 0) and take an
 *    optional `mw_error *err` as their LAST argument; when err is non-NULL it
 *    receives the code and a message that says what failed and where.
 *  - Out-parameters come first.
 *  - Ownership is stated on every function: "moved" structs are bitwise
 *    copied and their source's release set to NULL on success; "borrowed"
 *    pointers must stay valid for the duration stated.
 *  - Destructors (`*_free`, `*_close`) accept NULL.
 *  - Arrow data crosses the boundary as Arrow C Data Interface structs
 *    (https://arrow.apache.org/docs/format/CDataInterface.html).
 */
#ifndef MEMWAL_H
#define MEMWAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MW_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MW_API __attribute__((visibility("default")))
#else
#define MW_API
#endif

/* ---------------------------------------------------------------- version */

#define MEMWAL_VERSION_MAJOR 0
#define MEMWAL_VERSION_MINOR 1
#define MEMWAL_VERSION_PATCH 0
#define MEMWAL_VERSION_STRING "0.1.0"
/* Single number for compile-time comparisons: major*10000 + minor*100 + patch. */
#define MEMWAL_VERSION_NUMBER \
  (MEMWAL_VERSION_MAJOR * 10000 + MEMWAL_VERSION_MINOR * 100 + MEMWAL_VERSION_PATCH)

/** The library's version string ("MAJOR.MINOR.PATCH"), static storage. */
MW_API const char *mw_version(void);

/* ----------------------------------------------------------------- errors */

typedef enum mw_status {
  MW_OK = 0,
  MW_ERR_INVALID = 1,        /* invalid input or argument (caller's mistake) */
  MW_ERR_NOT_FOUND = 2,      /* object / entry / manifest does not exist */
  MW_ERR_ALREADY_EXISTS = 3, /* put_if_absent: the object exists already */
  MW_ERR_IO = 4,             /* storage or OS error */
  MW_ERR_CORRUPT = 5,        /* bytes from storage failed verification */
  MW_ERR_UNSUPPORTED = 6,    /* valid input this version cannot handle */
  MW_ERR_NOMEM = 7,          /* allocation failed */
  MW_ERR_FENCED = 8,         /* a newer writer epoch owns the shard */
  MW_ERR_CONFLICT = 9,       /* lost a race too many times (retry later) */
  MW_ERR_CLOSED = 10,        /* handle closed or stopping */
  MW_ERR_POISONED = 11,      /* an earlier write's outcome is unknown: reopen */
  MW_ERR_TIMEOUT = 12,       /* an operation did not complete in time */
  MW_ERR_INTERNAL = 13       /* a bug: please report it */
} mw_status;

#define MW_ERROR_MESSAGE_SIZE 512

/** Error details. Zero-initialise (or pass NULL if you only want the code). */
typedef struct mw_error {
  mw_status code;
  char message[MW_ERROR_MESSAGE_SIZE]; /* NUL-terminated, may be truncated */
} mw_error;

/** Short constant name of a status ("ok", "invalid input", ...). */
MW_API const char *mw_status_str(mw_status status);

/** Frees memory the library allocated and handed to the caller (byte buffers,
 *  arrays of structs) where a function says "free with mw_free". NULL is ok. */
MW_API void mw_free(void *ptr);

/* ------------------------------------------- Arrow C Data Interface (ABI) */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema *);
  /* Opaque producer-specific data */
  void *private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray *);
  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  /* Callbacks providing stream functionality */
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);

  /* Release callback */
  void (*release)(struct ArrowArrayStream *);

  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* ------------------------------------------------------- Arrow IPC streams
 *
 * WAL entries are Arrow IPC *streams*. These functions expose the library's
 * own codec so that callers can prepare input files and read WAL entries
 * without another Arrow library.
 */

/** Encodes one Arrow IPC stream: a Schema message, each batch as a
 *  RecordBatch message, then the end-of-stream marker.
 *  - out_data/out_len: receive a buffer allocated by the library; free it
 *    with mw_free().
 *  - schema: borrowed for the call; must be a struct ("+s") schema whose
 *    children are the columns.
 *  - batches: borrowed for the call; each a struct array matching schema
 *    (sliced arrays with offset != 0 are honoured). n_batches may be 0.
 *  - extra_metadata: optional (NULL = none), borrowed; an Arrow metadata blob
 *    (C Data Interface encoding) whose pairs replace or add to the schema's
 *    own metadata in the written stream (e.g. "writer_epoch").
 *  Every batch is validated (buffer counts, lengths, offsets monotonic and in
 *  range); a failure names the column and returns MW_ERR_INVALID. */
MW_API mw_status mw_ipc_encode(void **out_data, size_t *out_len,
                               const struct ArrowSchema *schema,
                               const struct ArrowArray *const *batches,
                               size_t n_batches, const char *extra_metadata,
                               mw_error *err);

/** Decodes an Arrow IPC stream (framing with or without the 0xFFFFFFFF
 *  continuation marker, with or without end-of-stream, LZ4_FRAME / ZSTD
 *  compressed bodies).
 *  - out_schema: receives a schema that owns its memory (release it).
 *  - out_batches/out_n_batches: receive an array of n struct arrays, each
 *    owning its memory (release each, then mw_free(the array)). *out_batches
 *    may be NULL when n is 0.
 *  - data/len: borrowed for the call only (the result does not point into it).
 *  The input is treated as hostile: any malformation gives MW_ERR_CORRUPT
 *  with the byte offset in the message; dictionary-encoded fields give
 *  MW_ERR_UNSUPPORTED. On failure nothing is allocated. */
MW_API mw_status mw_ipc_decode(struct ArrowSchema *out_schema,
                               struct ArrowArray **out_batches,
                               size_t *out_n_batches, const void *data,
                               size_t len, mw_error *err);

/* ------------------------------------------------------------ object stores
 *
 * An object store maps '/'-separated keys to immutable byte objects. The
 * built-in stores are chosen by URI:
 *   file:///abs/path or a plain path  - local filesystem (durable: fsync)
 *   memory://name                      - process-local; same name = same store
 * Custom stores: see memwal_sys.h.
 */
typedef struct mw_objstore mw_objstore;

/** Options for mw_objstore_open(). Fill with mw_objstore_options_init(). */
typedef struct mw_objstore_options {
  uint32_t struct_size; /* set by _init; lets the struct grow compatibly */
  int fsync;            /* file://: fsync files and folders (default 1) */
} mw_objstore_options;

/** Fills every option with its default. */
MW_API void mw_objstore_options_init(mw_objstore_options *opts);

/** Opens the store for a URI. opts may be NULL (defaults). The store is
 *  rooted at the URI: keys are relative to it. Close with mw_objstore_close().
 *  A file:// root folder is created if missing. */
MW_API mw_status mw_objstore_open(mw_objstore **out, const char *uri,
                                  const mw_objstore_options *opts,
                                  mw_error *err);

/** Releases a store (and for a custom store, calls its destroy). NULL ok. */
MW_API void mw_objstore_close(mw_objstore *store);

#ifdef __cplusplus
}
#endif

#endif /* MEMWAL_H */
