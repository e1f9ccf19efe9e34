/*
 * uuid.h - UUIDs as 16 bytes <-> the lowercase hyphenated text form
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" used in shard folder names,
 * random version-4 UUIDs (getrandom(2)) and name-based version-5 UUIDs
 * (SHA-1, RFC 4122 section 4.3; LanceDB derives shard ids this way).
 */
#ifndef MW_COMMON_UUID_H
#define MW_COMMON_UUID_H

#include <stddef.h>
#include <stdint.h>

#include "memwal.h"

#define MW_UUID_STR_LEN 36 /* without NUL */

/* Parses exactly 36 characters (8-4-4-4-12 hex digits; upper case hex is
 * accepted, nothing else). MW_ERR_INVALID naming the text otherwise. */
mw_status mw_uuid_parse(uint8_t out[16], const char *text, mw_error *err);

/* Writes the lowercase hyphenated form + NUL (MW_UUID_STR_LEN + 1 bytes). */
void mw_uuid_format(char out[MW_UUID_STR_LEN + 1], const uint8_t uuid[16]);

/* Random UUID v4 (RFC 4122 variant). MW_ERR_IO if getrandom fails. */
mw_status mw_uuid_v4(uint8_t out[16], mw_error *err);

/* Name-based UUID v5: the first 16 bytes of SHA-1(namespace || name) with
 * the version nibble set to 5 and the RFC 4122 variant bits. MW_ERR_NOMEM
 * if libcrypto cannot allocate its digest context. */
mw_status mw_uuid_v5(uint8_t out[16], const uint8_t ns[16], const void *name, size_t name_len,
                     mw_error *err);

#endif
