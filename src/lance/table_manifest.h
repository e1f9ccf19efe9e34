/*
 * table_manifest.h - reading a Lance table's manifest (FORMATS.md part D):
 * which version is the latest, the manifest file's framing, the manifest
 * protobuf and its index section.
 *
 * Versions live under `_versions/`: V2 names are the 20 decimal digits of
 * u64::MAX - version (version 1 = 18446744073709551614.manifest), V1 names
 * the version itself ("3.manifest"). `_versions/latest_version_hint.json`
 * ({"version":N}) is only a hint: the latest version is the hinted one if it
 * exists and N + 1 does not; otherwise a listing of `_versions/` decides.
 *
 * File framing: the last 16 bytes are i64 LE P, u16 major, u16 minor,
 * "LANC"; at P a u32 LE length L and the Manifest protobuf, which must end
 * before the trailer. Manifest field 6 (index_section) is the position of a
 * second frame (u32 length + IndexSection protobuf) in the same file. Lance
 * 12 writes [IndexSection][Transaction][Manifest][trailer].
 *
 * Every byte is untrusted: each bound is checked and a failure is
 * MW_ERR_CORRUPT naming the object key and the byte offset. The decoded
 * messages are protobuf-c structs, which keep unknown fields (so a later
 * rewrite can carry them).
 */
#ifndef MW_LANCE_TABLE_MANIFEST_H
#define MW_LANCE_TABLE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lance/table_manifest.pb-c.h"
#include "memwal.h"
#include "memwal_sys.h"

typedef struct mw_lance_table_manifest {
  uint64_t version;                        /* from the file name (= pb->version) */
  Lance__Table__TableManifest *pb;         /* fields, schema metadata, ... */
  Lance__Table__IndexSectionProto *index;  /* NULL when the manifest has none */
  uint16_t format_major, format_minor;     /* trailer */
} mw_lance_table_manifest;

/* The key of a version's manifest, V2 naming: "_versions/<20 digits>.manifest"
 * (buf >= 48 bytes). */
void mw_lance_manifest_key(char *buf, size_t cap, uint64_t version);

/* The version a key names when it is a version manifest of the table root,
 * "_versions/<N>.manifest" in V2 (20 digits) or V1 naming; false for any
 * other key. */
bool mw_lance_version_from_key(uint64_t *out, const char *key);

/* The latest version of the table at the store root (rules above).
 * MW_ERR_NOT_FOUND when there is no manifest at all (not a Lance table). */
mw_status mw_lance_table_latest_version(uint64_t *out, mw_objstore *store, mw_error *err);

/* Decodes manifest file bytes. `key` only names the object in errors. */
mw_status mw_lance_table_manifest_decode(mw_lance_table_manifest **out, const uint8_t *data,
                                         size_t len, const char *key, mw_error *err);

/* Reads and decodes version `version` (V2 name, then V1 name). */
mw_status mw_lance_table_manifest_read(mw_lance_table_manifest **out, mw_objstore *store,
                                       uint64_t version, mw_error *err);

void mw_lance_table_manifest_free(mw_lance_table_manifest *m); /* NULL ok */

/* The index entry named `name` (first match) or NULL. */
const Lance__Table__IndexMetadataProto *mw_lance_table_find_index(const mw_lance_table_manifest *m,
                                                                 const char *name);

#endif
