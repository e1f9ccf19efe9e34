/*
 * objstore_s3.h - internal constructor of the s3:// store (objstore_s3.c).
 */
#ifndef MW_OBJSTORE_S3_H
#define MW_OBJSTORE_S3_H

#include "memwal.h"

/* s3://bucket[/prefix]: `rest` is the URI after "s3://" ("bucket/prefix");
 * `uri` is the whole URI (for messages). opts is complete (never NULL);
 * unset fields come from the environment. */
mw_status mw_objstore_s3_open(mw_objstore **out, const char *uri, const char *rest,
                              const mw_objstore_options *opts, mw_error *err);

/* The ListObjectsV2 response parser on its own (for the fuzz target):
 * calls fn(arg, key relative to store_prefix, size) for each listed key
 * under store_prefix ("" = all) and returns the continuation token of a
 * truncated listing in *out_next (malloc'ed, NULL if none). Hostile input:
 * MW_ERR_CORRUPT with the byte offset. */
#include "memwal_sys.h"
mw_status mw_s3_parse_list_page(char **out_next, const char *store_prefix, const uint8_t *xml,
                                size_t len, mw_objstore_list_fn fn, void *arg, mw_error *err);

#endif
