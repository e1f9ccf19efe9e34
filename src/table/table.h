/*
 * table.h - a base Lance table as a MemWAL writer sees it (LSM.md section
 * 1): its latest version, schema (names, Lance field ids, logical types,
 * nullability), unenforced primary key, the `__lance_mem_wal` index entry
 * with its MemWalIndexDetails (sharding spec, maintained indexes, writer
 * config defaults, compaction watermarks; unknown fields kept by protobuf-c)
 * and the shards that exist under `_mem_wal/`. The public API
 * (memwal.h, section "tables") declares mw_table opaque and implements its
 * accessors on this struct (table_api.c); this header is the internal view
 * for the table writer and the CLI (routing spec, shard UUID bytes, fields).
 * mw_table_open, mw_table_close and mw_table_describe_json are declared in
 * memwal.h.
 *
 * Read-only and a snapshot: mw_table_open reads one version and nothing is
 * refreshed afterwards. The routing spec is derived from the first sharding
 * spec's first field, as LanceDB does: transform "unsharded", "bucket"
 * (parameter num_buckets, source = parameter "column" if set, else the
 * field whose id is source_ids[0], nested names joined with '.') or
 * "identity". A table whose spec we cannot route (another transform, a
 * bucket count outside [1, 1024], a missing source field) still opens:
 * spec_ok is false and spec_error says why.
 */
#ifndef MW_TABLE_TABLE_H
#define MW_TABLE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lance/table_manifest.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "table/routing.h"

#define MW_MEM_WAL_INDEX_NAME "__lance_mem_wal"
#define MW_MEM_WAL_DETAILS_TYPE_URL "/lance.table.MemWalIndexDetails"

typedef struct mw_table_field {
  const char *name;         /* borrowed from the manifest */
  char *path;               /* owned: ancestors' names joined with '.' */
  int32_t id, parent_id;    /* parent_id -1 for top-level fields */
  const char *logical_type; /* Lance's logical type ("int64", "string", ...) */
  bool nullable;
  bool primary_key;
  uint32_t pk_position;     /* as recorded (0 when absent) */
} mw_table_field;

typedef struct mw_table {
  uint64_t version;
  mw_lance_table_manifest *manifest;
  size_t n_fields;
  mw_table_field *fields;   /* manifest order (pre-order) */
  size_t n_pk;
  const mw_table_field **pk; /* primary-key fields in key order */

  /* the MemWAL index; mem_wal NULL when the table has none */
  const Lance__Table__IndexMetadataProto *mem_wal_index;
  Lance__Table__MemWalIndexDetailsProto *mem_wal;
  bool spec_ok;
  mw_routing_spec spec;
  char spec_error[256];

  size_t n_shards;          /* folders under _mem_wal/ named by a UUID, sorted */
  uint8_t (*shards)[16];
} mw_table;

/* mw_table_open (memwal.h): MW_ERR_NOT_FOUND when it is not a Lance
 * table; MW_ERR_CORRUPT for bad manifest bytes or a __lance_mem_wal entry
 * whose details are not a MemWalIndexDetails. */

/* The field with this Lance id, or NULL. */
const mw_table_field *mw_table_field_by_id(const mw_table *t, int32_t id);

/* The Arrow C format string of a Lance logical type ("int64" -> "l",
 * "timestamp:us:UTC" -> "tsu:UTC", "fixed_size_list:float:128" -> "+w:128"
 * whose item format goes to item_buf when non-NULL). false for types with
 * no mapping here. */
bool mw_table_arrow_format(char *buf, size_t cap, char *item_buf, size_t item_cap,
                           const char *logical_type);

/* The MemWAL index's maintained index names resolved to index configs
 * (table_writer.c: kind from the base index's type URL, column = its first
 * field, metric from vector index details). Indexes memwal cannot build are
 * left out with a warning through log_fn (NULL = stderr). *out malloc'ed
 * with its strings: free with mw_table_free_indexes. */
mw_status mw_table_resolve_indexes(mw_index_config **out, size_t *n_out, const mw_table *t,
                                   const struct ArrowSchema *schema, mw_log_fn log_fn, void *log_arg,
                                   mw_error *err);
void mw_table_free_indexes(mw_index_config *ix, size_t n);

/* A copy of t's shard ids (*out: free() it; *n_out entries). When `shard`
 * (its UUID text, parsed into `only`) is not NULL it must be one of them:
 * MW_ERR_NOT_FOUND "shard X has no folder under _mem_wal/" otherwise. Used
 * by the merger and gc to walk the shards of a snapshot after closing it. */
mw_status mw_table_shard_ids(uint8_t (**out)[16], size_t *n_out, const mw_table *t, const char *shard,
                             const uint8_t only[16], mw_error *err);

#endif
