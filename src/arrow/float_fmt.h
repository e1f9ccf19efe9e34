/* float_fmt.h - shortest round-trip decimal text of IEEE floats (binary16,
 * binary32, binary64), as rendered in JSON rows (json.h).
 *
 * The text is exactly what C's "%.{P}g" prints for the smallest precision P
 * (searched the way json.c always did: see float_fmt.c) whose output reads
 * back (strtod / strtof / half rounding) as the same value:
 *   0.1f -> "0.1", 100.0 -> "1e+02", 123456.0f -> "123456", 1e-05 -> "1e-05",
 *   -0.0 -> "-0", 3.4028235e38f -> "3.4028235e+38", 5e-324 -> "5e-324";
 * non-finite values give NaN / Infinity / -Infinity (the caller quotes them).
 *
 * Each call writes at most MW_FLOAT_FMT_MAX bytes to dst, with no trailing
 * NUL, and returns the count. No allocation, no stdio, thread-safe (the
 * tables of powers of 5 are computed once, under pthread_once). */
#ifndef MW_ARROW_FLOAT_FMT_H
#define MW_ARROW_FLOAT_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Longest output: "-2.2250738585072014e-308" is 24 bytes. */
#define MW_FLOAT_FMT_MAX 32

size_t mw_float_fmt_f64(char *dst, double v);
size_t mw_float_fmt_f32(char *dst, float v);
size_t mw_float_fmt_f16(char *dst, uint16_t bits);

#endif
