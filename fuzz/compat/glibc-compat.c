/*
 * Stand-ins for the three symbols of glibc 2.38 and libstdc++ 13 that the prebuilt Jazzer.js
 * addon (@jazzer.js/fuzzer 4.0.0, fuzzer-linux-*.node) needs, for machines with an older glibc or
 * libstdc++ (Debian 12: glibc 2.36, GCC 12). fuzz/compat/prepare.js compiles this file, clears the
 * version of these symbols in a copy of the addon and preloads the library (LD_PRELOAD) while the
 * fuzzer runs. It is never built on a machine where the prebuilt loads as it is.
 *
 * Compiled with -std=c99 and without _GNU_SOURCE on purpose: glibc 2.38's <stdlib.h> redirects
 * strtol to __isoc23_strtol when C2X features are on, which would make these functions call
 * themselves.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/*
 * C23 (ISO/IEC 9899:2024 §7.24.1.7) adds one thing to strtol and strtoul: with base 0 or 2, a
 * "0b" or "0B" prefix introduces binary digits. glibc 2.38 gives C23 programs __isoc23_strtol and
 * __isoc23_strtoul for that (see its NEWS for 2.38). The prefix is read here; everything else is
 * the C99 function.
 */

/* Where the binary digits start when `s` (after white space and a sign) holds "0b" followed by a
   binary digit and `base` allows it; NULL otherwise. `negative` says whether a '-' came first. */
static const char *binary_digits(const char *s, int base, int *negative) {
  if (base != 0 && base != 2) return NULL;
  while (isspace((unsigned char)*s)) s++;
  *negative = *s == '-';
  if (*s == '+' || *s == '-') s++;
  if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B') && (s[2] == '0' || s[2] == '1')) return s + 2;
  return NULL;
}

long __isoc23_strtol(const char *s, char **end, int base) {
  int negative = 0;
  const char *digits = binary_digits(s, base, &negative);
  if (digits == NULL) return strtol(s, end, base);
  int saved = errno;
  errno = 0;
  unsigned long magnitude = strtoul(digits, end, 2);
  if (errno == ERANGE || magnitude > (unsigned long)LONG_MAX + (negative ? 1UL : 0UL)) {
    errno = ERANGE;
    return negative ? LONG_MIN : LONG_MAX;
  }
  errno = saved;
  return negative ? (long)(0UL - magnitude) : (long)magnitude;
}

unsigned long __isoc23_strtoul(const char *s, char **end, int base) {
  int negative = 0;
  const char *digits = binary_digits(s, base, &negative);
  if (digits == NULL) return strtoul(s, end, base);
  int saved = errno;
  errno = 0;
  unsigned long magnitude = strtoul(digits, end, 2);
  if (errno == ERANGE) return ULONG_MAX;
  errno = saved;
  /* As for decimal input, a '-' negates the result in unsigned arithmetic. */
  return negative ? 0UL - magnitude : magnitude;
}

/*
 * std::ios_base_library_init() (GCC 13, symbol version GLIBCXX_3.4.32): <iostream> in GCC 13 makes
 * every translation unit reference it so that the program depends on a libstdc++ that initialises
 * the standard streams itself. Older libstdc++ (GCC 12) initialises them through its own static
 * ios_base::Init objects, so there is nothing left to do here.
 */
void _ZSt21ios_base_library_initv(void) {}
