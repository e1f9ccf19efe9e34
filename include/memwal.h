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
 *  - Versioned structs, one rule for every options / config struct here and
 *    for the object-store vtable (memwal_sys.h): the struct starts with
 *    `uint32_t struct_size`, which its `*_init` function sets to the size the
 *    caller was compiled with (always call `*_init` first, then change
 *    fields). New fields are only ever appended, so a program built against
 *    an older, smaller version keeps working: the library reads the struct
 *    up to the caller's struct_size and gives the fields beyond it their
 *    defaults. A struct_size smaller than the first version or larger than
 *    this library knows is refused with MW_ERR_INVALID.
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
  MW_ERR_INTERNAL = 13,      /* a bug: please report it */
  MW_ERR_NOT_DURABLE = 14    /* put: the batches WERE taken, but their WAL
                                entry is not known durable: do not put them
                                again (see mw_shard_writer_put) */
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
 *   s3://bucket/prefix                 - S3 or S3-compatible (libcurl, SigV4)
 * Custom stores: see memwal_sys.h.
 */
typedef struct mw_objstore mw_objstore;

/** Options for mw_objstore_open(). Fill with mw_objstore_options_init(). */
typedef struct mw_objstore_options {
  uint32_t struct_size; /* set by _init; lets the struct grow compatibly */
  int fsync;            /* file://: fsync files and folders (default 1) */
  /* s3://bucket/prefix. Strings are copied by mw_objstore_open; NULL (or 0)
   * means "from the environment", the variables Lance/LanceDB read:
   * AWS_ENDPOINT / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION (default
   * us-east-1), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
   * AWS_ALLOW_HTTP, AWS_VIRTUAL_HOSTED_STYLE_REQUEST. No key pair at all =
   * anonymous (unsigned) requests. */
  const char *s3_endpoint;      /* "https://host[:port]"; NULL = AWS */
  const char *s3_region;
  const char *s3_access_key;
  const char *s3_secret_key;
  const char *s3_session_token;
  int s3_allow_http;            /* 1 allow http:// endpoints, -1 refuse, 0 env */
  int s3_virtual_hosted;        /* 1 bucket.host, -1 host/bucket, 0 env/auto
                                   (path-style with an endpoint, else virtual) */
  int s3_max_attempts;          /* per request incl. retries; 0 = env
                                   MW_S3_MAX_ATTEMPTS or 5 */
  int s3_connect_timeout_ms;    /* 0 = 5000 */
  int s3_list_max_keys;         /* ListObjectsV2 page size; 0 = server's */
  /* Overall deadline of one S3 request, retries and backoff included; 0 =
   * env MW_S3_REQUEST_TIMEOUT_MS or 30000 (30 s). A write that is still
   * unanswered at the deadline (or whose earlier attempt may still be
   * applied) returns MW_ERR_TIMEOUT: its outcome is unknown and it may still
   * take effect later (memwal_sys.h); the WAL appender and the manifest
   * store then read the key back and retry the same bytes at the same key
   * before they decide (see there). */
  int s3_request_timeout_ms;
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


/* ------------------------------------------------------------ WAL appender
 *
 * The lowest-level MemWAL writer: claims a writer epoch on a shard (fencing
 * any older writer) and appends batches as numbered WAL entries, each one
 * Arrow IPC stream object `_mem_wal/{shard}/wal/{bitrev64(position)}.arrow`
 * written with put_if_absent. Synchronous: append returns once the entry is
 * durable. Safe to call from several threads (appends are serialised; each
 * gets its own position).
 */
typedef struct mw_wal_appender mw_wal_appender;

typedef struct mw_wal_appender_config {
  uint32_t struct_size;              /* set by _init */
  uint32_t shard_spec_id;            /* written into a new shard's manifest [0] */
  uint64_t first_wal_entry_position; /* first position of a fresh shard [1];
                                        0 (the May 2026 seed's base) is UNSAFE
                                        with Lance >= 7 / LanceDB readers: they
                                        replay from 1 and lose entry 0 */
  uint32_t manifest_scan_batch_size; /* parallel heads when probing [2] */
} mw_wal_appender_config;

/** Fills every field with its default. */
MW_API void mw_wal_appender_config_init(mw_wal_appender_config *cfg);

/** Claims a new writer epoch on shard `shard_id` (lowercase hyphenated UUID)
 *  of the table rooted at `store` and returns an appender for it.
 *  - store: borrowed until mw_wal_appender_close().
 *  - cfg: NULL = defaults; copied.
 *  MW_ERR_FENCED if another writer claimed the shard concurrently,
 *  MW_ERR_INVALID for a sealed shard or a malformed UUID. */
MW_API mw_status mw_wal_appender_open(mw_wal_appender **out, mw_objstore *store,
                                      const char *shard_id,
                                      const mw_wal_appender_config *cfg,
                                      mw_error *err);

/** What one append wrote. */
typedef struct mw_wal_append_result {
  uint64_t position; /* WAL position of the new entry */
  uint64_t batches;  /* batches in it */
  uint64_t rows;     /* rows in it */
  uint64_t bytes;    /* size of the entry object */
} mw_wal_append_result;

/** Appends n_batches (>= 1, each with >= 1 row) of `schema` as ONE entry.
 *  schema and batches are borrowed for the call. The schema metadata of the
 *  written stream gets writer_epoch = our epoch (a writer_epoch the caller
 *  passed is replaced). MW_ERR_FENCED once a newer writer owns the shard;
 *  MW_ERR_INVALID for bad input (nothing written). */
MW_API mw_status mw_wal_appender_append(mw_wal_append_result *out,
                                        mw_wal_appender *appender,
                                        const struct ArrowSchema *schema,
                                        const struct ArrowArray *const *batches,
                                        size_t n_batches, mw_error *err);

/** The epoch this appender claimed. */
MW_API uint64_t mw_wal_appender_epoch(const mw_wal_appender *appender);

/** The position the next append will try first (a hint until the first
 *  append or a seed made it authoritative). */
MW_API uint64_t mw_wal_appender_next_position(const mw_wal_appender *appender);

/** Makes `position` the authoritative next position (after a replay). */
MW_API void mw_wal_appender_seed_next_position(mw_wal_appender *appender,
                                               uint64_t position);

/** Releases the appender (no I/O). NULL is ok. */
MW_API void mw_wal_appender_close(mw_wal_appender *appender);

/* -------------------------------------------------------------- WAL tailer
 *
 * Reads WAL entries of a shard (0-based and 1-based shards, Lance 12 fence
 * entries). Never claims an epoch. One tailer is not thread-safe; use one
 * per thread.
 */
typedef struct mw_wal_tailer mw_wal_tailer;

/** Opens a tailer on shard `shard_id`; store borrowed until close. */
MW_API mw_status mw_wal_tailer_open(mw_wal_tailer **out, mw_objstore *store,
                                    const char *shard_id, mw_error *err);

/** One decoded WAL entry. Owns its schema and batches: release with
 *  mw_wal_entry_release(). */
typedef struct mw_wal_entry {
  uint64_t position;
  uint64_t writer_epoch;
  int is_fence;              /* schema metadata fence_sentinel = "true" */
  struct ArrowSchema schema; /* writer_epoch removed from its metadata */
  struct ArrowArray *batches;
  size_t n_batches;
  uint64_t rows;
} mw_wal_entry;

/** Reads the entry at `position`. MW_ERR_NOT_FOUND if absent (out is then
 *  zeroed); MW_ERR_CORRUPT for undecodable bytes or a missing/malformed
 *  writer_epoch. */
MW_API mw_status mw_wal_tailer_read_entry(mw_wal_entry *out, mw_wal_tailer *tailer,
                                          uint64_t position, mw_error *err);

/** Frees what the entry owns; the struct itself is the caller's. NULL ok. */
MW_API void mw_wal_entry_release(mw_wal_entry *entry);

/** First position holding an entry (from a listing); MW_ERR_NOT_FOUND when
 *  the WAL is empty. */
MW_API mw_status mw_wal_tailer_first_position(uint64_t *out, mw_wal_tailer *tailer,
                                              mw_error *err);

/** The first absent position after the highest consecutive entry, probing
 *  forward from the manifest's hints. */
MW_API mw_status mw_wal_tailer_next_position(uint64_t *out, mw_wal_tailer *tailer,
                                             mw_error *err);

/** Best effort: raise wal_entry_position_last_seen to `position` in a new
 *  manifest version (never lowers it, never changes the epoch). */
MW_API mw_status mw_wal_tailer_update_cursor(mw_wal_tailer *tailer, uint64_t position,
                                             mw_error *err);

/** Releases the tailer. NULL ok. */
MW_API void mw_wal_tailer_close(mw_wal_tailer *tailer);

/* ------------------------------------------- shard manifests (read-only)
 *
 * A read-only look at a shard's latest manifest
 * (`_mem_wal/{shard}/manifest/`, MEMWAL.md section 4), for tools and
 * monitoring: reading never claims an epoch, never writes anything, never
 * fences a live writer. Thread-safe: any number of threads may read, also
 * while writers commit; each call returns one complete manifest version
 * (the latest one it found; a writer may commit a newer one right after).
 */

/** One flushed generation of a shard manifest. */
typedef struct mw_flushed_generation_info {
  uint64_t generation;
  const char *path;           /* folder name under _mem_wal/{shard}/ ("" if absent) */
  int has_stats;              /* 1 when the Lance 12 statistics below were stored */
  uint64_t in_memory_bytes;   /* 0 when not stored */
  uint64_t physical_rows;
  uint64_t primary_key_bytes;
} mw_flushed_generation_info;

/** The fields of a shard manifest a tool needs. Allocated by
 *  mw_shard_manifest_read, immutable, freed (with everything it points to)
 *  by mw_shard_manifest_info_free; the library may add fields at the end
 *  (callers never allocate it). Fields the manifest does not hold are 0. */
typedef struct mw_shard_manifest_info {
  char shard_id[37];                     /* the shard asked for (UUID, lowercase) */
  uint64_t version;                      /* manifest version */
  uint64_t writer_epoch;                 /* epoch of the last writer that claimed the shard */
  uint64_t replay_after_wal_entry_position; /* WAL entries <= this are in generations */
  uint64_t wal_entry_position_last_seen; /* a tailer's / writer's cursor hint */
  uint64_t current_generation;           /* generation number the MemTable gets next */
  uint32_t shard_spec_id;
  int32_t status;                        /* 0 ACTIVE, 1 SEALED, else as stored */
  const mw_flushed_generation_info *flushed_generations; /* flush order */
  size_t n_flushed_generations;
} mw_shard_manifest_info;

/** Reads the latest manifest of shard `shard_id` (lowercase hyphenated
 *  UUID) of the table rooted at `store` (borrowed for the call).
 *  *out: free with mw_shard_manifest_info_free(); NULL on error.
 *  Errors: MW_ERR_INVALID (malformed UUID, NULL argument), MW_ERR_NOT_FOUND
 *  "no manifest for shard X" (no such shard), MW_ERR_CORRUPT (undecodable
 *  manifest, naming the object), MW_ERR_IO (store). */
MW_API mw_status mw_shard_manifest_read(mw_shard_manifest_info **out, mw_objstore *store,
                                        const char *shard_id, mw_error *err);

/** As mw_shard_manifest_read, rendered as one JSON object on one line, with
 *  every field of the manifest (also shard_field_values /
 *  shard_field_string_values / shard_field_entries when present), e.g.
 *  {"version":8,"writer_epoch":4,...,"shard_id":"...","status":"ACTIVE"}.
 *  This is what `memwal inspect` prints. *out_json: free with mw_free(). */
MW_API mw_status mw_shard_manifest_read_json(char **out_json, mw_objstore *store,
                                             const char *shard_id, mw_error *err);

/** Frees what mw_shard_manifest_read returned. NULL is ok. */
MW_API void mw_shard_manifest_info_free(mw_shard_manifest_info *info);

/* ------------------------------------------------------------ shard writer
 *
 * The high-level MemWAL writer of one shard (MEMWAL.md section 6). Two modes:
 *  - MemTable mode (enable_memtable = 1, the default): puts go into an
 *    in-memory MemTable (queryable with mw_shard_writer_scan, optionally
 *    indexed) and to the WAL; frozen MemTables are flushed as Lance datasets;
 *    open replays the unflushed WAL.
 *  - WAL-only mode: puts go to a drainable queue that the WAL flusher writes
 *    as entries; nothing is kept in memory after it is durable.
 * A writer is safe for concurrent mw_shard_writer_put from several threads;
 * its WAL flusher (and MemTable flusher) run on their own threads.
 * A background failure is never dropped: it is returned by the next put or
 * close. After a WAL write whose outcome is unknown, or after being fenced,
 * every later put fails (MW_ERR_POISONED / MW_ERR_FENCED) until reopened.
 *
 * Deletes and the `_tombstone` column (LSM.md section 4). As Lance 12 does,
 * every WAL entry and every flushed generation holds the writer's columns,
 * the non-key ones widened to nullable, then a last column
 * `_tombstone: bool not null` (false for rows put, true for deletes). The
 * writer adds it: the schema given to open need not mention it (if its last
 * column is `_tombstone: bool`, put batches carry the flag themselves).
 * mw_shard_writer_delete writes tombstone rows; the newest row per primary
 * key wins (scans, flushed generations, LanceDB's LSM reader), and a key
 * whose newest row is a tombstone is hidden.
 */
typedef struct mw_shard_writer mw_shard_writer;

/** The name of the delete-marker column of WAL entries and generations. */
#define MW_TOMBSTONE_COLUMN "_tombstone"

/** Log levels of the logging hook. */
typedef enum mw_log_level { MW_LOG_DEBUG = 0, MW_LOG_INFO = 1, MW_LOG_WARN = 2, MW_LOG_ERROR = 3 } mw_log_level;
/** Logging hook: msg is borrowed for the call. Called from any thread. */
typedef void (*mw_log_fn)(void *arg, mw_log_level level, const char *msg);

typedef struct mw_shard_writer_config {
  uint32_t struct_size;                  /* set by _init */
  char shard_id[40];                     /* UUID; "" = a random v4 UUID [""] */
  uint32_t shard_spec_id;                /* [0] */
  int durable_write;                     /* put returns once its WAL entry is durable [1] */
  int sync_indexed_write;                /* indexes updated inside put [1] */
  uint64_t max_wal_buffer_size;          /* WAL flush after this many unflushed bytes [10 MiB] */
  uint64_t max_wal_flush_interval_ms;    /* WAL flush timer; 0 = none [100] */
  uint64_t max_memtable_size;            /* freeze at this estimated size [256 MiB] */
  uint64_t max_memtable_rows;            /* freeze at this many rows [100 000] */
  uint64_t max_memtable_batches;         /* freeze at this many batches [8 000] */
  uint64_t max_unflushed_memtable_bytes; /* backpressure budget [1 GiB] */
  uint64_t backpressure_log_interval_ms; /* log while blocked, every [30 000] */
  uint64_t async_index_buffer_rows;      /* async indexing batch [10 000] */
  uint64_t async_index_interval_ms;      /* async indexing timer [1 000] */
  uint32_t manifest_scan_batch_size;     /* [2] */
  int enable_memtable;                   /* 0 = WAL-only mode [1] */
  uint64_t first_wal_entry_position;     /* first position of a fresh shard [1]; 0 is
                                            UNSAFE with Lance >= 7 / LanceDB readers
                                            (they replay from 1: entry 0 is lost) */
  mw_log_fn log_fn;                      /* NULL = warnings and errors to stderr; called
                                            with no writer lock held, from any thread */
  void *log_arg;
  /* Retry policy of the background WAL and MemTable flushes (fields added
   * after version 1 of this struct). A failed attempt is retried after a
   * backoff doubling from retry_initial_backoff_ms up to
   * retry_max_backoff_ms. After retry_max_attempts failures in a row, or
   * retry_max_elapsed_ms since the first of them (0 = no such limit), the
   * writer GIVES UP: every put (also one blocked by backpressure),
   * flush_memtable and close returns the stored error, while the flusher
   * keeps retrying at the maximum backoff; a success clears the condition.
   * Fenced and unknown outcomes (MW_ERR_POISONED) are never retried. */
  uint32_t retry_max_attempts;           /* [10] */
  uint64_t retry_initial_backoff_ms;     /* [100] */
  uint64_t retry_max_backoff_ms;         /* [5 000] */
  uint64_t retry_max_elapsed_ms;         /* [60 000] */
  /* Indexing (fields added after version 2 of this struct). */
  uint32_t index_threads;                /* threads inserting into an HNSW index during one
                                            indexing pass; 0 = the online cores [0] */
  /* WAL pipelining (field added after version 3 of this struct): how many
   * WAL entries may be written at once (each a flusher thread). Entries
   * still become visible and durable, and puts are acknowledged, strictly
   * in position order; one folder fsync covers every entry published
   * before it. Pays off only where concurrent fsyncs overlap on the
   * device; on a disk that serializes them, more entries in flight means
   * smaller entries and more fsyncs (README "Durable puts against the
   * disk's floor"). 1 = one entry at a time; at most 16; 0 = 1. [1] */
  uint32_t wal_entries_in_flight;
} mw_shard_writer_config;

/** Fills every field with its default (in brackets above). */
MW_API void mw_shard_writer_config_init(mw_shard_writer_config *cfg);

/** In-memory index kinds (LSM.md section 8). */
typedef enum mw_index_kind {
  MW_INDEX_BTREE = 1, /* scalar column: equality and range lookups */
  MW_INDEX_HNSW = 2,  /* fixed_size_list<float32> column: approximate k-NN */
  MW_INDEX_FTS = 3    /* utf8 / large_utf8 column: full-text (BM25) */
} mw_index_kind;

/** Vector distance metrics, as Lance names and computes them (`_distance`):
 *  l2 = squared Euclidean distance; cosine = 1 - cos(a, b) (1 when either
 *  vector is all zeros); dot = 1 - a.b. Smaller is nearer for all three. */
typedef enum mw_metric { MW_METRIC_L2 = 0, MW_METRIC_COSINE = 1, MW_METRIC_DOT = 2 } mw_metric;

/** An in-memory index kept by the MemTable. Versioned (struct_size, see the
 *  top of this file): fill with mw_index_config_init. */
typedef struct mw_index_config {
  uint32_t struct_size;     /* set by _init */
  const char *name;         /* unique per writer; borrowed for the open call */
  const char *column;       /* top-level column name; borrowed for the call */
  mw_index_kind kind;
  /* HNSW only */
  mw_metric metric;         /* [MW_METRIC_L2] */
  uint32_t max_connections; /* M [16]; level 0 keeps 2M */
  uint32_t ef_construction; /* [100] */
} mw_index_config;

/** Sets struct_size, name, column, kind and every other field to its
 *  default (in brackets above). */
MW_API void mw_index_config_init(mw_index_config *cfg, const char *name, const char *column,
                                 mw_index_kind kind);

/** Opens a writer on the table rooted at `store` (borrowed until close):
 *  claims an epoch, writes a fence entry if the shard had an earlier writer,
 *  replays the unflushed WAL (MemTable mode) and starts the background
 *  threads.
 *  - cfg: NULL = defaults; copied.
 *  - schema: the batches' struct ("+s") schema, borrowed (deep-copied).
 *  - indexes: n_indexes configs, borrowed for the call; WAL-only mode
 *    rejects any (MW_ERR_INVALID, before any I/O).
 *  MemTable mode flushes frozen MemTables as Lance datasets, so it checks
 *  before any I/O that Lance can store every column (MW_ERR_UNSUPPORTED
 *  naming the column) and that the schema has a primary key (field metadata
 *  lance-schema:unenforced-primary-key:position; MW_ERR_INVALID otherwise:
 *  generations are deduplicated and indexed by it, and Lance's LSM readers
 *  need that). */
MW_API mw_status mw_shard_writer_open(mw_shard_writer **out, mw_objstore *store,
                                      const mw_shard_writer_config *cfg,
                                      const struct ArrowSchema *schema,
                                      const mw_index_config *indexes, size_t n_indexes,
                                      mw_error *err);

/** Batch positions [start, end) a put was given (positions count batches
 *  over the writer's life, starting at 0 after open). */
typedef struct mw_batch_range {
  uint64_t start;
  uint64_t end;
} mw_batch_range;

/** Writes n_batches (>= 1, each with >= 1 row, each a struct array of the
 *  writer's schema). All batches of one put become visible together. With
 *  durable_write, returns once the WAL entry holding them is durable.
 *  Ownership, one rule:
 *  - MW_OK: the batches were taken (their release is set to NULL).
 *  - MW_ERR_NOT_DURABLE (durable_write only): the batches WERE taken and
 *    the writer writes them, but the wait for their WAL entry failed (the
 *    message says why: a failed attempt that is retried, a poisoned or
 *    closing writer). Do NOT put them into this writer again: that would
 *    write them twice. After MW_ERR_POISONED, reopening the shard shows
 *    whether they are in the WAL; after MW_ERR_FENCED (named in the
 *    message) they were never written and belong to nobody: the newer
 *    writer of the shard may be given them.
 *  - any other status: nothing was taken (the caller keeps the batches) and
 *    nothing of them will ever be written; retrying is safe.
 *  Rejected before anything is taken: invalid batches (MW_ERR_INVALID), and
 *  in MemTable mode values no Lance generation can store (MW_ERR_UNSUPPORTED
 *  naming column and row, e.g. a null item inside a fixed_size_list row).
 *  May block for backpressure; returns the stored error instead once a
 *  background flush gave up under the retry policy (never hangs on a
 *  persistent failure), MW_ERR_CLOSED once close started.
 *  Thread-safe: any number of threads may put at once (durable puts
 *  group-commit into one WAL entry). */
MW_API mw_status mw_shard_writer_put(mw_batch_range *out, mw_shard_writer *writer,
                                     struct ArrowArray *batches, size_t n_batches,
                                     mw_error *err);

/** Deletes the primary keys named by `keys` (one struct array of >= 1
 *  row): writes one tombstone row per key (the key, `_tombstone` = true,
 *  null in every other column) exactly like a put of those rows: same
 *  batch positions (*out), same durability (durable_write), same
 *  visibility and the same OWNERSHIP rule as mw_shard_writer_put (MW_OK and
 *  MW_ERR_NOT_DURABLE: `keys` was taken, its release set to NULL; any other
 *  status: nothing taken). The key columns are read zero-copy.
 *  - keys_schema: the schema of `keys` (borrowed for the call): the key
 *    columns are found by name and must have the writer's key types; other
 *    columns are ignored. NULL = `keys` has exactly the primary-key columns,
 *    in key order, of the writer's key types.
 *  Null keys are rejected (MW_ERR_INVALID naming column and row). MemTable
 *  mode only (MW_ERR_INVALID in WAL-only mode); the writer always has a
 *  primary key there. Deleting a key that does not exist is not an error
 *  (the tombstone hides older rows in generations and the base table).
 *  Thread-safe like put. */
MW_API mw_status mw_shard_writer_delete(mw_batch_range *out, mw_shard_writer *writer,
                                        struct ArrowArray *keys, const struct ArrowSchema *keys_schema,
                                        mw_error *err);

/** Writes everything pending to the WAL and waits for it (also in
 *  non-durable mode). */
MW_API mw_status mw_shard_writer_flush_wal(mw_shard_writer *writer, mw_error *err);

/** Flushes pending WAL data, stops the background threads and frees the
 *  writer (always, even when returning an error: the status reports the
 *  first error the writer had not yet returned). NULL is ok. Frozen
 *  MemTables not yet flushed stay in the WAL only (the next open replays
 *  them); the active MemTable is not flushed (see close_ex).
 *  Concurrency contract: close may be called while other threads are
 *  inside put / flush_wal / flush_memtable / scan / the stats and manifest
 *  accessors of this writer. Those calls complete (a durable put whose
 *  batches close's final WAL flush makes durable returns MW_OK) or return
 *  MW_ERR_CLOSED (e.g. a put blocked by backpressure; such a put took
 *  nothing), and close frees the writer only after the last of them
 *  returned. Starting a call once close has been called, calling close
 *  twice, or using the writer after close returned is the caller's bug
 *  (a second close that sees the first returns MW_ERR_CLOSED). */
MW_API mw_status mw_shard_writer_close(mw_shard_writer *writer, mw_error *err);

/** MemTable mode: freezes the active MemTable (if it holds rows) and waits
 *  until every frozen MemTable is flushed as a generation folder and
 *  committed to the shard manifest. Returns the first error that happens
 *  while waiting (a failed WAL write or generation flush: the writer retries
 *  it in the background; fenced / poisoned: sticky). WAL-only mode:
 *  MW_ERR_INVALID. */
MW_API mw_status mw_shard_writer_flush_memtable(mw_shard_writer *writer, mw_error *err);

/** mw_shard_writer_close, first freezing and flushing the active MemTable
 *  (mw_shard_writer_flush_memtable) when flush_memtable != 0 in MemTable
 *  mode. Always frees the writer; returns the first error. */
MW_API mw_status mw_shard_writer_close_ex(mw_shard_writer *writer, int flush_memtable, mw_error *err);

typedef struct mw_wal_stats {
  uint64_t next_wal_entry_position; /* the position the next WAL entry gets */
  uint64_t pending_batches;         /* put but not yet in the WAL */
  uint64_t pending_bytes;
} mw_wal_stats;

MW_API mw_status mw_shard_writer_wal_stats(mw_wal_stats *out, mw_shard_writer *writer,
                                           mw_error *err);

typedef struct mw_memtable_stats {
  uint64_t row_count;      /* active MemTable */
  uint64_t batch_count;
  uint64_t estimated_size; /* bytes */
  uint64_t generation;
  uint64_t frozen_count;   /* frozen MemTables not yet flushed */
  uint64_t frozen_bytes;
} mw_memtable_stats;

/** MemTable mode only (else MW_ERR_INVALID "MemTable accessor not available
 *  when enable_memtable = false (WAL-only mode)"). */
MW_API mw_status mw_shard_writer_memtable_stats(mw_memtable_stats *out, mw_shard_writer *writer,
                                                mw_error *err);

/** Comparison of a scan filter. */
typedef enum mw_filter_op {
  MW_FILTER_EQ = 0,
  MW_FILTER_LT,
  MW_FILTER_LE,
  MW_FILTER_GT,
  MW_FILTER_GE,
  MW_FILTER_NE /* filter expressions only (mw_expr); mw_scan_filter refuses it */
} mw_filter_op;

/** A simple filter `column OP value` for mw_shard_writer_scan. `value` is a
 *  length-1 array of the column's type with its schema (both borrowed for
 *  the call). The writer's scan compares it row by row against the newest
 *  row of each key (an index on the column is not consulted there, since an
 *  older row it finds must not resurrect a replaced or deleted key). */
typedef struct mw_scan_filter {
  const char *column;
  mw_filter_op op;
  const struct ArrowSchema *value_schema;
  const struct ArrowArray *value;
} mw_scan_filter;

/** The live MemTable rows as a stream of struct batches: for each primary
 *  key only its NEWEST row across the frozen MemTables not yet flushed and
 *  the active one, and no key whose newest row is a delete (tombstone).
 *  Rows come in insertion order (older MemTables first). Flushed
 *  generations and the base table are not read.
 *  - columns: n_columns names to project (NULL/0 = the schema given to
 *    open; `_tombstone` may be asked for by name), borrowed.
 *  - filter: NULL = all rows; borrowed for the call. It applies to the
 *    newest row of each key (an older row that matches is not returned).
 *  The stream is a snapshot: later puts do not appear in it; it may outlive
 *  the writer. MemTable mode only. */
MW_API mw_status mw_shard_writer_scan(struct ArrowArrayStream *out, mw_shard_writer *writer,
                                      const char *const *columns, size_t n_columns,
                                      const mw_scan_filter *filter, mw_error *err);

/* ------------------------------------------------------ filter expressions
 *
 * A small SQL-like filter language for queries:
 *   expr    := or
 *   or      := and ("OR" and)*
 *   and     := not ("AND" not)*
 *   not     := "NOT" not | pred
 *   pred    := "(" expr ")" | operand [cmp operand | [NOT] IN "(" literal, ... ")"
 *              | IS [NOT] NULL]
 *   cmp     := = | != | <> | < | <= | > | >=
 *   operand := column | literal
 *   literal := integer | float | 'string' ('' escapes a quote) | TRUE | FALSE | NULL
 *              | NAN | INF (float keywords; "-" may precede a number: -5, - INF)
 *   column  := identifier | "quoted name" | `quoted name`
 * Keywords are case-insensitive. Semantics are SQL's three-valued logic: a
 * comparison with a null cell (or a NULL literal) is unknown, NOT unknown is
 * unknown, and a row is returned only when the filter is TRUE. Comparisons
 * need compatible types: a number literal against an integer or floating
 * point column (compared exactly, as numbers), a string against utf8 /
 * large_utf8 (bytewise), TRUE/FALSE against bool; anything else is refused
 * when the filter is bound to a schema (MW_ERR_INVALID naming the column).
 * NaN equals NaN and sorts after +inf (as the BTree index orders it).
 *
 * The same trees can be built directly as C structs (borrowed by the
 * calls that take them), or parsed from text. */
typedef enum mw_expr_kind {
  MW_EXPR_COLUMN = 1,  /* name */
  MW_EXPR_INT,         /* i */
  MW_EXPR_FLOAT,       /* f */
  MW_EXPR_STRING,      /* s, s_len bytes (UTF-8, not NUL-terminated) */
  MW_EXPR_BOOL,        /* i: 0 or 1 */
  MW_EXPR_NULL,        /* the NULL literal */
  MW_EXPR_CMP,         /* args[0] op args[1] */
  MW_EXPR_IN,          /* args[0] IN (args[1..n_args-1]), literals only */
  MW_EXPR_IS_NULL,     /* args[0] IS NULL */
  MW_EXPR_IS_NOT_NULL, /* args[0] IS NOT NULL */
  MW_EXPR_AND,         /* all of args (n_args >= 1) */
  MW_EXPR_OR,          /* any of args (n_args >= 1) */
  MW_EXPR_NOT          /* NOT args[0] */
} mw_expr_kind;

typedef struct mw_expr {
  mw_expr_kind kind;
  mw_filter_op op;   /* MW_EXPR_CMP */
  const char *name;  /* MW_EXPR_COLUMN: a top-level column */
  int64_t i;         /* MW_EXPR_INT, MW_EXPR_BOOL */
  double f;          /* MW_EXPR_FLOAT */
  const char *s;     /* MW_EXPR_STRING */
  size_t s_len;
  const struct mw_expr *const *args;
  size_t n_args;
} mw_expr;

/** Parses a filter. *out is one allocation owned by the caller (free with
 *  mw_expr_free). Syntax errors: MW_ERR_INVALID with the byte offset and
 *  what was expected (also for integers outside int64, floats overflowing
 *  to infinity, and nesting or trees deeper than 64 levels). Column names are not checked here (that happens when
 *  a query binds the filter to a schema). Thread-safe. */
MW_API mw_status mw_expr_parse(mw_expr **out, const char *text, mw_error *err);

/** Frees a tree returned by mw_expr_parse. NULL is ok. */
MW_API void mw_expr_free(mw_expr *e);

/** The filter as text that mw_expr_parse reads back to an equal tree
 *  (every comparison, AND and OR parenthesised; an AND / OR of one argument
 *  prints as that argument). MW_ERR_INVALID for a malformed C tree (or one
 *  deeper than 64 levels, or a string literal holding a NUL byte).
 *  *out freed with mw_free(). Thread-safe. */
MW_API mw_status mw_expr_to_string(char **out, const mw_expr *e, mw_error *err);

/* ----------------------------------------------------------- MemTable query
 *
 * One query over the rows a writer holds in memory (the frozen MemTables not
 * yet flushed and the active one; flushed generations and the base table are
 * not read): for each primary key only its NEWEST row, and no key whose
 * newest row is a delete. Exactly one of four kinds, chosen by the fields
 * set (more than one -> MW_ERR_INVALID):
 *  - point lookup: `keys` (an array of primary-key values): the live row
 *    of each key found, in the order of `keys` (a key asked twice comes
 *    twice; a key not found or deleted contributes nothing);
 *  - filtered scan (none of the others): rows in insertion order;
 *  - vector k-NN: `nearest_column` + `vector`: the k nearest rows, nearest
 *    first (ties by insertion order), with a float32 `_distance` column
 *    appended (Lance's name and values). An HNSW index on the column with
 *    the query's metric answers approximately (search beam `ef`); with a
 *    filter, without such an index, or with ef = MW_EF_EXACT the search is
 *    exact (brute force over the rows that pass the filter). ef = 0, the
 *    default, is the cheapest search that keeps recall@10 >= 0.95 on the
 *    MemTable's own data: each index measures it on held-out vectors (on a
 *    background thread started by the first default query that finds the
 *    index at 2,048 rows or more, and again each time it has doubled:
 *    ~30 ms of CPU at 20,000 x 128, ~0.1-0.2 s at 100,000 x 128; queries
 *    meanwhile use the previous plan, the exact search before the first)
 *    and picks a beam, or the exact search when the recall needs a beam as
 *    costly (as on uniform random vectors; README, "The default search");
 *  - full-text: `fts_column` + `fts_text`: a match query (a row matches if
 *    it holds ANY of the text's tokens, Lance's default tokenizer), the k
 *    best first (ties by insertion order), with a float32 `_score` column
 *    (BM25 exactly as LSM.md section 7 states; N, the document frequencies
 *    and the average length are summed over every indexed row of the
 *    MemTables queried, older versions of a key included, as Lance's LSM
 *    search sums them over its sources). The column needs an FTS index
 *    (MW_ERR_INVALID otherwise).
 * `filter` applies to the newest row of each key in every kind; `columns`
 * projects (the `_distance` / `_score` column is always last); `limit`
 * caps the rows returned (0 = no cap; k-NN returns min(k, limit)).
 * Visibility: a query sees exactly the rows whose indexes are complete
 * (sync_indexed_write = 1: every put that returned; 0: a prefix of the
 * rows, as the background indexer covers them), never a row half indexed;
 * with durable_write only rows whose WAL entry is durable. */
typedef struct mw_query {
  uint32_t struct_size;              /* set by _init */
  const mw_expr *filter;             /* NULL = every row [NULL] */
  const char *const *columns;        /* projection; NULL = all [NULL] */
  size_t n_columns;
  uint64_t limit;                    /* 0 = no cap [0] */
  /* point lookup */
  const struct ArrowSchema *keys_schema; /* the key column's type [NULL] */
  const struct ArrowArray *keys;         /* [NULL] */
  /* vector k-NN */
  const char *nearest_column;        /* [NULL] */
  const float *vector;               /* dim floats [NULL] */
  uint32_t dim;
  uint32_t k;                        /* rows of a k-NN or full-text query [10] */
  uint32_t ef;                       /* HNSW beam; 0 = default (calibrated for recall@10 >= 0.95, above) [0] */
  mw_metric metric;                  /* [MW_METRIC_L2] */
  /* full-text */
  const char *fts_column;            /* [NULL] */
  const char *fts_text;              /* NUL-terminated [NULL] */
} mw_query;

/** ef value forcing an exact (brute-force) k-NN search. */
#define MW_EF_EXACT UINT32_MAX

/** Fills every field with its default (in brackets above). */
MW_API void mw_query_init(mw_query *q);

/** Runs one query (see mw_query) against the writer's MemTables. *out is a
 *  snapshot stream owned by the caller (it may outlive the writer; release
 *  it when done); everything in q is borrowed for the call. Thread-safe:
 *  may run concurrently with puts, flushes and other queries; not after
 *  close started (MW_ERR_CLOSED). MemTable mode only. Errors: MW_ERR_INVALID
 *  for a bad query (unknown column, filter type mismatch, vector of the
 *  wrong dimension, FTS column without an FTS index, two kinds at once). */
MW_API mw_status mw_shard_writer_query(struct ArrowArrayStream *out, mw_shard_writer *writer,
                                       const mw_query *q, mw_error *err);

/** The claimed writer epoch. */
MW_API uint64_t mw_shard_writer_epoch(const mw_shard_writer *writer);

/** The shard UUID (36 chars), valid until close. */
MW_API const char *mw_shard_writer_shard_id(const mw_shard_writer *writer);

/** The latest shard manifest as one JSON object (read from storage);
 *  *out_json is freed with mw_free(). */
MW_API mw_status mw_shard_writer_manifest_json(char **out_json, mw_shard_writer *writer,
                                               mw_error *err);

typedef struct mw_write_stats {
  uint64_t put_count, put_rows, put_nanos;
  uint64_t wal_flush_count, wal_flush_bytes, wal_flush_nanos;
  uint64_t memtable_flush_count, memtable_flush_rows, memtable_flush_nanos;
  uint64_t backpressure_waits, backpressure_nanos;
  uint64_t replayed_entries, replayed_rows;
  uint64_t lance_v2_0_generations; /* generations written as Lance 2.0 because a
                                      value was too large for a 2.1 page */
  uint64_t background_failures;    /* failed WAL / generation flush attempts */
  uint64_t background_give_ups;    /* times the retry policy gave up */
} mw_write_stats;

/** Counters since open (or the last reset). reset != 0 zeroes them after
 *  reading. MW_ERR_CLOSED once close started. */
MW_API mw_status mw_shard_writer_write_stats(mw_write_stats *out, mw_shard_writer *writer, int reset,
                                             mw_error *err);

/* ------------------------------------------------------------------ tables
 * A base Lance table (LSM.md section 1) as a MemWAL writer sees it: its
 * latest version, schema, unenforced primary key and the `__lance_mem_wal`
 * index that configures sharding, maintained indexes and writer defaults.
 * The table lives at the root of an object store (mw_objstore_open on the
 * table's URI, e.g. ".../db/items.lance"). */

/** An opened table: a read-only snapshot of one version (nothing is
 *  refreshed afterwards; open again to see later versions). Every accessor
 *  may be called from any thread, concurrently; mw_table_close must not run
 *  concurrently with them. */
typedef struct mw_table mw_table;

/** Opens the latest version of the table at the root of `store` (borrowed
 *  for the call only) and lists its shard folders (`_mem_wal/<uuid>/`).
 *  Every byte read is treated as untrusted. MW_ERR_NOT_FOUND when there is
 *  no Lance table there; MW_ERR_CORRUPT for manifest bytes that do not
 *  decode or a schema that is not a tree. A table whose sharding spec we
 *  cannot route still opens (see mw_table_sharding_spec). *out is owned by
 *  the caller: mw_table_close. */
MW_API mw_status mw_table_open(mw_table **out, mw_objstore *store, mw_error *err);

/** Frees the snapshot. NULL ok. */
MW_API void mw_table_close(mw_table *t);

/** The table version this snapshot read. */
MW_API uint64_t mw_table_version(const mw_table *t);

/** Exports the table's fields as an Arrow C Data schema ("+s", owned by the
 *  caller: call out->release). Every field carries the metadata Lance keeps
 *  for it plus "lance:field_id" = its Lance field id (decimal); each
 *  primary-key field carries "lance-schema:unenforced-primary-key:position"
 *  = its 1-based key position (as LanceDB's setUnenforcedPrimaryKey writes
 *  it). The table's schema metadata is the top-level metadata.
 *  MW_ERR_UNSUPPORTED naming the column for a Lance logical type with no
 *  Arrow mapping here (dictionary, extension types). */
MW_API mw_status mw_table_schema(struct ArrowSchema *out, const mw_table *t, mw_error *err);

/** Number of primary-key columns (0 = the table has no primary key). */
MW_API size_t mw_table_primary_key_count(const mw_table *t);
/** The i-th primary-key column (dotted path for nested fields), in key
 *  order; NULL when i is out of range. Borrowed until mw_table_close. */
MW_API const char *mw_table_primary_key(const mw_table *t, size_t i);

/** The sharding spec of the table's MemWAL index, in the text form
 *  `memwal route --spec` takes: "unsharded", "bucket:COL:N" or
 *  "identity:COL". MW_ERR_NOT_FOUND when the table has no MemWAL index.
 *  Otherwise MW_OK and *out_routable = 1 with the spec text in buf, or
 *  *out_routable = 0 with the reason we cannot route it in buf (another
 *  transform, a bucket count outside [1, 1024], a missing source column).
 *  MW_ERR_INVALID when cap is too small (cap >= 512 is always enough). */
MW_API mw_status mw_table_sharding_spec(char *buf, size_t cap, int *out_routable, const mw_table *t,
                                        mw_error *err);

/** Number of index names the MemWAL index asks writers to maintain (0 when
 *  there is no MemWAL index). */
MW_API size_t mw_table_maintained_index_count(const mw_table *t);
/** The i-th maintained index name; NULL when out of range. Borrowed until
 *  mw_table_close. */
MW_API const char *mw_table_maintained_index(const mw_table *t, size_t i);

/** Number of writer config defaults (the MemWAL index's
 *  writer_config_defaults map; 0 without a MemWAL index). */
MW_API size_t mw_table_writer_default_count(const mw_table *t);
/** The i-th writer default as key and value (both borrowed until
 *  mw_table_close). MW_ERR_INVALID when i is out of range. */
MW_API mw_status mw_table_writer_default(const char **out_key, const char **out_value,
                                         const mw_table *t, size_t i, mw_error *err);

/** Applies the table's writer config defaults onto *cfg (which the caller
 *  filled with mw_shard_writer_config_init first; set explicit settings
 *  after this call so they win). Keys and what they set: durable_write
 *  ("true"/"false"), max_wal_buffer_size, max_wal_flush_interval_ms,
 *  max_memtable_size, max_memtable_rows, max_memtable_batches,
 *  max_unflushed_memtable_bytes, backpressure_log_interval_ms,
 *  manifest_scan_batch_size, enable_memtable, max_wal_persist_retries
 *  (-> retry_max_attempts), wal_persist_retry_base_delay_ms
 *  (-> retry_initial_backoff_ms). Other keys (stats_log_interval_ms,
 *  hnsw.*) are ignored. A value that is not a decimal integer / boolean is
 *  MW_ERR_INVALID naming the key, and *cfg is left unchanged. */
MW_API mw_status mw_table_apply_writer_defaults(mw_shard_writer_config *cfg, const mw_table *t,
                                                mw_error *err);

/** Number of shard folders found under `_mem_wal/` at open. */
MW_API size_t mw_table_shard_count(const mw_table *t);
/** The i-th shard UUID (sorted by bytes) as 36-character text into out
 *  (the size of mw_shard_writer_config.shard_id). MW_ERR_INVALID when i is
 *  out of range. */
MW_API mw_status mw_table_shard_id(char out[40], const mw_table *t, size_t i, mw_error *err);

/** The snapshot as one JSON object (no newline): uri (when non-NULL),
 *  version, writer, fields (path, Lance id, parent id, logical type,
 *  nullability), primary_key, spec (text, null without a MemWAL index,
 *  {"error": ...} when not routable), mem_wal (every MemWalIndexDetails
 *  field) and shards. *out is freed with mw_free(). */
MW_API mw_status mw_table_describe_json(char **out, const mw_table *t, const char *uri,
                                        mw_error *err);

/** Creates an empty Lance table (version 1, no fragments) at the root of
 *  `store` (borrowed for the call), as LanceDB's createEmptyTable +
 *  setUnenforcedPrimaryKey leave it: the fields of `schema` (a "+s" schema,
 *  borrowed) with Lance field ids (depth first from 0), its field and
 *  schema metadata, and the primary key `pk_names` (n_pk top-level,
 *  non-nullable columns, in key order) flagged in the fields with
 *  "lance-schema:unenforced-primary-key:position" metadata. pk_names NULL:
 *  the key comes from the schema's field metadata ("...:position" = N, or
 *  "lance-schema:unenforced-primary-key" = "true" in field order); no key is
 *  allowed. A column named `_tombstone` is refused (MW_ERR_INVALID: the
 *  MemWAL adds it to WAL entries and generations). Written:
 *  _transactions/0-<uuid>.txn, the manifest (V2 name,
 *  put-if-absent), then _versions/latest_version_hint.json.
 *  MW_ERR_ALREADY_EXISTS when the store already holds a table;
 *  MW_ERR_INVALID / MW_ERR_UNSUPPORTED for a schema or key Lance cannot
 *  store. Safe against a concurrent create of the same table: the manifest's
 *  put-if-absent decides and the loser gets MW_ERR_ALREADY_EXISTS. */
MW_API mw_status mw_table_create(mw_objstore *store, const struct ArrowSchema *schema,
                                 const char *const *pk_names, size_t n_pk, mw_error *err);

/** One writer config default (both strings borrowed for the call). */
typedef struct mw_table_kv {
  const char *key;
  const char *value;
} mw_table_kv;

/** Installs or replaces the table's MemWAL index exactly as LanceDB's
 *  setLsmWriteSpec writes it (LSM.md section 1), as a new table version:
 *  spec_text "unsharded" | "bucket:COL:N" (N in [1, 1024]) |
 *  "identity:COL" (COL a top-level column: bucket int8..int64, uint8..
 *  uint64, date32, time, timestamp, utf8, large_utf8, bool, float32/64 as
 *  Lance 12 hashes them, although LanceDB 0.39's own setLsmWriteSpec only
 *  offers int32, int64, utf8 and large_utf8; identity: integers, utf8,
 *  large_utf8, bool); `maintained` n_maintained index names
 *  of the table (each must name an existing index); `defaults`
 *  n_defaults writer config defaults (distinct keys; stored sorted by key).
 *  All borrowed for the call. A replaced index's unknown fields and its
 *  other MemWalIndexDetails fields (snapshots, compacted sstables, index
 *  catch-up) are kept; the spec id is always 1
 *  (Lance 12 writers refuse shards stamped with another id than the
 *  index's, and LanceDB stamps 1). The commit
 *  writes _transactions/<read version>-<uuid>.txn, the manifest
 *  (put-if-absent; every other manifest field, index entry and unknown
 *  field is kept) and the version hint; when another writer commits the
 *  same version first it retries on the new version (3 attempts, then
 *  MW_ERR_CONFLICT). Safe against concurrent writers of the same table
 *  (any thread, any process). Other errors: MW_ERR_NOT_FOUND (no table),
 *  MW_ERR_INVALID (spec text, column, index names, defaults),
 *  MW_ERR_UNSUPPORTED (key type), MW_ERR_CORRUPT (the latest version does
 *  not decode, or holds fields that would not survive a rewrite: nothing is
 *  committed). Unlike LanceDB 0.39, which refuses to change a spec once
 *  set, this replaces it; shards written under the old spec stay where
 *  they are (re-routing them is the caller's business). */
MW_API mw_status mw_table_set_lsm_spec(mw_objstore *store, const char *spec_text,
                                       const char *const *maintained, size_t n_maintained,
                                       const mw_table_kv *defaults, size_t n_defaults,
                                       mw_error *err);
/* ------------------------------------------------------------ table writer
 *
 * Writes a Lance table through its MemWAL: rows are routed to shards by the
 * table's sharding spec (the `__lance_mem_wal` index of the base table:
 * unsharded, bucket(column, n) or identity(column)) exactly as LanceDB
 * routes them (same shard UUIDs, same bucket hash), and each shard is
 * written by its own ShardWriter, opened lazily (claiming the shard) and
 * closed when idle. Unlike LanceDB, input need not be pre-sharded and any
 * number of shards may be written at once.
 */
typedef struct mw_table_writer mw_table_writer;

typedef struct mw_table_writer_config {
  uint32_t struct_size;         /* set by _init */
  mw_shard_writer_config shard; /* every shard writer's config (shard_id and
                                   shard_spec_id are set per shard); fields
                                   left at their defaults take the table's
                                   writer_config_defaults */
  uint64_t idle_close_ms;       /* close a shard writer unused this long [60 000; 0 = never] */
  uint32_t max_open_shards;     /* close the least recently used beyond [1024; 0 = no limit] */
} mw_table_writer_config;

/** Fills every field with its default (the shard config as
 *  mw_shard_writer_config_init, first WAL position 1). */
MW_API void mw_table_writer_config_init(mw_table_writer_config *cfg);

/** Opens a writer on the Lance table rooted at `store` (borrowed until
 *  close): reads its latest version. `schema` (borrowed, deep-copied) must
 *  name the table's top-level columns in the table's order with the same
 *  Lance types; the primary-key markers are taken from the table.
 *  MW_ERR_NOT_FOUND when there is no table, MW_ERR_INVALID when it has no
 *  MemWAL spec or no primary key or the schema does not match,
 *  MW_ERR_UNSUPPORTED for a spec that cannot be routed. cfg: NULL =
 *  defaults; copied. */
MW_API mw_status mw_table_writer_open(mw_table_writer **out, mw_objstore *store,
                                      const mw_table_writer_config *cfg,
                                      const struct ArrowSchema *schema, mw_error *err);

/** Routes the rows of n batches to their shards and puts them. With
 *  durable_write, returns once every shard entry it touched is durable.
 *  Ownership: MW_OK / MW_ERR_NOT_DURABLE: the batches were taken (released
 *  or moved); any other error: they are left to the caller, and the
 *  message names the shard that failed (rows of other shards may already be
 *  written: puts are upserts by primary key, so putting the batches again
 *  is safe). Thread-safe. */
MW_API mw_status mw_table_writer_put(mw_table_writer *writer, struct ArrowArray *batches, size_t n,
                                     mw_error *err);

/** Deletes the primary keys named by `keys` (one struct batch of >= 1 row):
 *  each key's tombstone goes to the shard its key routes to (deletes route
 *  by the key columns, so the spec's column must be one of them), as
 *  mw_shard_writer_delete writes it. keys_schema: the batch's schema (key
 *  columns found by name, others ignored); NULL = the batch is exactly the
 *  table's key columns in key order. Durability and ownership as
 *  mw_table_writer_put. MemTable mode only. */
MW_API mw_status mw_table_writer_delete(mw_table_writer *writer, struct ArrowArray *keys,
                                        const struct ArrowSchema *keys_schema, mw_error *err);

/** mw_shard_writer_flush_wal on every open shard writer; the first error,
 *  naming its shard. */
MW_API mw_status mw_table_writer_flush_wal(mw_table_writer *writer, mw_error *err);

/** mw_shard_writer_flush_memtable on every open shard writer (MemTable
 *  mode): their rows become generations. */
MW_API mw_status mw_table_writer_flush_memtables(mw_table_writer *writer, mw_error *err);

/** Closes every shard writer (first flushing its MemTable as a generation
 *  when flush_memtables != 0) and frees the writer (always). Returns the
 *  first error, naming its shard. NULL is ok. Calls in flight when close
 *  starts (put, delete, flushes) complete first; later ones return
 *  MW_ERR_CLOSED until close frees the writer; starting a call after close
 *  returned is the caller's bug. */
MW_API mw_status mw_table_writer_close(mw_table_writer *writer, int flush_memtables, mw_error *err);

/** The routing spec in text form ("bucket:id:16"), valid until close. */
MW_API const char *mw_table_writer_spec(const mw_table_writer *writer);

/** Counters as one JSON object: spec, table_version, puts, rows, and per
 *  shard written to: shard (UUID), bucket (bucket specs), rows, puts.
 *  *out_json: free with mw_free(). */
MW_API mw_status mw_table_writer_stats_json(char **out_json, mw_table_writer *writer, mw_error *err);

/* ---------------------------------------------------------------- merging
 *
 * Folding flushed generations into the base table (LSM.md section 11):
 * per shard, generations above the table's watermark
 * (compacted_sstables[shard]) are merged oldest first with merge-insert
 * semantics by primary key (newer rows replace older rows of the key; a
 * tombstone deletes the key's base rows and inserts nothing), one Lance
 * commit per generation which also advances the watermark. The
 * generation's data file becomes a base fragment unchanged ("zero copy");
 * superseded base rows get deletion files. Every failure leaves the table
 * as it was at the last commit (plus unreferenced files); running the merge
 * again finishes the job.
 */

/** A progress report: stage "merging" (before a generation), "committed"
 *  (table_version and the counts set) or "skipped" (another merger already
 *  merged it). Pointers are valid during the callback only. */
typedef struct mw_table_merge_progress {
  const char *shard;          /* shard UUID */
  uint64_t generation;
  const char *stage;
  uint64_t table_version;     /* the version the merge committed */
  uint64_t rows_added;        /* generation rows that became base rows */
  uint64_t base_rows_deleted; /* base rows superseded or deleted */
  uint64_t tombstones;        /* keys the generation deleted */
} mw_table_merge_progress;

typedef void (*mw_table_merge_progress_fn)(void *ctx, const mw_table_merge_progress *p);

typedef struct mw_table_merge_options {
  uint32_t struct_size;               /* set by _init */
  const char *shard;                  /* merge only this shard (UUID text); NULL = every shard */
  uint64_t up_to;                     /* merge generations <= up_to; 0 = every flushed one */
  mw_table_merge_progress_fn progress; /* optional, called on the calling thread */
  void *progress_ctx;
  uint32_t max_attempts;              /* commits tried per generation when others commit first [8] */
} mw_table_merge_options;

/** Fills every field with its default. */
MW_API void mw_table_merge_options_init(mw_table_merge_options *opts);

/** Merges the flushed generations of the Lance table rooted at `store`
 *  (borrowed for the call) into its base table. opts: NULL = defaults;
 *  read during the call only. *out_json (optional; free with mw_free):
 *  a summary {table_version_before, table_version, generations_merged,
 *  generations_skipped, rows_added, tombstones, base_rows_deleted,
 *  bytes_copied, seconds, merged: [{shard, generation, version,
 *  generation_rows, rows_added, tombstones, base_rows_deleted,
 *  fragments_removed, bytes_copied, attempts}],
 *  skipped: [{shard, generation, skipped}]}.
 *  Preconditions: a MemWAL spec and a primary key (MW_ERR_INVALID
 *  otherwise). Tables with stable row ids, unknown feature flags, overlay
 *  files or data in other base paths are refused with MW_ERR_UNSUPPORTED
 *  before anything is written. A generation another merger merged first is
 *  skipped; when other writers keep committing first, MW_ERR_CONFLICT after
 *  max_attempts. On any error the generations merged before it stay
 *  merged; the message names the shard and generation. Thread-safe with
 *  respect to other mergers and writers (they may run concurrently, even
 *  in other processes). */
MW_API mw_status mw_table_merge(char **out_json, mw_objstore *store, const mw_table_merge_options *opts,
                                mw_error *err);

/* ------------------------------------------------------ garbage collection
 *
 * Conservative removal of what merging made unnecessary (LSM.md section 11
 * "garbage rules"; the rules are in src/table/gc.c's opening comment and
 * README's merge/gc section):
 *  - a generation folder goes only when, in EVERY base table version still
 *    in _versions/ (the latest included), its generation is <= the
 *    compaction watermark of its shard lowered to index_catchup[index] for
 *    every FTS / vector index and every maintained index of that version;
 *    the shard manifest's sstables list is left as it is (it belongs to the
 *    writer); every reader skips generations <= the watermark;
 *  - a WAL entry at a position <= replay_after_wal_entry_position and below
 *    the newest entry is replaced by a placeholder (an empty-schema entry
 *    with no batch, like a fence entry, with the original writer_epoch and
 *    memwal_gc_placeholder = "true") so that a stale writer appending there
 *    still collides and learns it is fenced; it is deleted only below the
 *    lowest position any writer epoch of the shard can still append at
 *    (derived from the shard manifest history and the entries' epochs).
 */

/** One decision: action "remove" (a generation folder or a WAL entry was /
 *  would be deleted), "replace" (a WAL entry's bytes were / would be
 *  replaced by a placeholder) or "keep" (a generation folder stays; reason
 *  says why). path: relative to the table root. Valid during the call. */
typedef struct mw_table_gc_item {
  const char *action;
  const char *path;
  const char *reason;
} mw_table_gc_item;

typedef void (*mw_table_gc_report_fn)(void *ctx, const mw_table_gc_item *item);

typedef struct mw_table_gc_options {
  uint32_t struct_size;          /* set by _init */
  const char *shard;             /* only this shard (UUID text); NULL = every shard */
  int dry_run;                   /* non-zero: decide and report, change nothing */
  int skip_wal;                  /* non-zero: leave WAL entries alone */
  mw_table_gc_report_fn report;  /* optional, called on the calling thread */
  void *report_ctx;
} mw_table_gc_options;

/** Fills every field with its default. */
MW_API void mw_table_gc_options_init(mw_table_gc_options *opts);

/** Removes the generation folders and WAL entries of the table rooted at
 *  `store` (borrowed for the call) that no reader and no writer can still
 *  need, and on a file:// store the temp files (".tmp-*") of writes
 *  interrupted by a crash or kill that are at least an hour old (under
 *  `_mem_wal/<shard>/` when opts->shard is set, else anywhere under the
 *  table), reporting each decision through opts->report. opts: NULL =
 *  defaults; read during the call only. *out_json (optional; free with
 *  mw_free): {dry_run, table_version, generations_removed,
 *  wal_entries_removed, wal_entries_replaced, bytes_freed,
 *  temp_files_removed, temp_bytes_freed, kept: [{shard, generation,
 *  reason}]} (with dry_run the counts are what would go).
 *  Preconditions: a MemWAL spec (MW_ERR_INVALID otherwise). Every decision
 *  is re-checked against a fresh read of the table just before anything is
 *  deleted; deletes are idempotent, and an error or crash part-way leaves
 *  a readable table (a half-deleted folder is one at or below every
 *  watermark, which no reader opens); running it again finishes. Safe to
 *  run concurrently with writers and mergers, also in other processes
 *  (not with a LanceDB restore() of an old version, which lowers the
 *  watermark: see README). */
MW_API mw_status mw_table_gc(char **out_json, mw_objstore *store, const mw_table_gc_options *opts,
                             mw_error *err);

#ifdef __cplusplus
}
#endif

#endif /* MEMWAL_H */
