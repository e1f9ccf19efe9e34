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

#endif
