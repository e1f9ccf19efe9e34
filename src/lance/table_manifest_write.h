/*
 * table_manifest_write.h - writing a Lance table version (FORMATS.md part
 * D) the way Lance 12 commits one: the manifest file
 *   [IndexSection frame]? [Transaction frame] [Manifest frame] [trailer]
 * (a frame = u32 LE length + protobuf; Manifest.index_section and
 * Manifest.transaction_section hold the frames' positions; trailer = i64 LE
 * position of the Manifest frame, u16 0, u16 2, "LANC"), a copy of the
 * Transaction at `_transactions/<read_version>-<uuid>.txn`, and the hint
 * `_versions/latest_version_hint.json`.
 *
 * The messages are protobuf-c structs (table_manifest.proto), so a manifest
 * that was read, changed and written back keeps every field we do not
 * declare (fragments, config, feature flags, ...) as unknown fields.
 */
#ifndef MW_LANCE_TABLE_MANIFEST_WRITE_H
#define MW_LANCE_TABLE_MANIFEST_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "lance/table_manifest.pb-c.h"
#include "memwal.h"
#include "memwal_sys.h"

/* Encodes the manifest file. m->index_section / m->transaction_section
 * are set here (m is otherwise unchanged); index may be NULL (no index
 * section). *out is malloc'ed. */
mw_status mw_lance_table_manifest_encode(uint8_t **out, size_t *out_len, Lance__Table__TableManifest *m,
                                         const Lance__Table__IndexSectionProto *index,
                                         const Lance__Table__TransactionProto *txn, mw_error *err);

/* Commits `version`: writes `_transactions/<txn_file>` (the packed txn),
 * then the manifest bytes at the version's V2 key with put-if-absent, then
 * the hint (overwritten; advisory). MW_ERR_ALREADY_EXISTS (untouched
 * message) when another writer committed the version first; the orphaned
 * transaction file is then deleted best-effort. */
mw_status mw_lance_table_commit(mw_objstore *store, uint64_t version, const uint8_t *manifest, size_t len,
                                const char *txn_file, const Lance__Table__TransactionProto *txn,
                                mw_error *err);

#endif
