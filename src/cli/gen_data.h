/* gen_data.h - deterministic generated rows for the main job and the
 * benchmarks, in the benchmark schema of Lance's own mem_wal benches:
 *   id: int64 not null (primary key, Lance's field metadata marker)
 *   vector: fixed_size_list<float32>[dim] not null
 *   text: utf8 (~70 bytes)
 * Each batch is one allocation released by its release callback. */
#ifndef MW_CLI_GEN_DATA_H
#define MW_CLI_GEN_DATA_H

#include <stdint.h>

#include "memwal.h"

/* The schema (owned: release it). */
mw_status mw_gen_schema(struct ArrowSchema *out, int32_t dim, mw_error *err);

/* A batch of `rows` rows with ids first_id .. first_id + rows - 1. */
mw_status mw_gen_batch(struct ArrowArray *out, int64_t first_id, int64_t rows, int32_t dim,
                       mw_error *err);

#endif
