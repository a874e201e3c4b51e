/* scan: byte-search kernels in scalar C, SSE2 and AVX2, dispatched at run
 * time. The vector code uses GCC/Clang `target` attributes so that one
 * translation unit, compiled for the x86-64 baseline, carries all three and
 * the AVX2 ones run only after CPUID said so. */
#include <rivet/core/err.h>
#include <rivet/perf/scan.h>

#include <stdatomic.h>
#include <string.h>

#include "scan-internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define RV_SCAN_X86 1
#include <immintrin.h>
#else
#define RV_SCAN_X86 0
#endif

/* ---- scalar ------------------------------------------------------------ */

static size_t byte_scalar(const uint8_t *p, size_t n, uint8_t c) {
  for (size_t i = 0; i < n; i++)
    if (p[i] == c)
      return i;
  return n;
}

static size_t any_scalar(const uint8_t *p, size_t n, const rv_scan_set *set) {
  for (size_t i = 0; i < n; i++)
    if (set->table[p[i]])
      return i;
  return n;
}

static size_t count_scalar(const uint8_t *p, size_t n, uint8_t c) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += p[i] == c;
  return k;
}

static void struct64_scalar(const uint8_t *b, rv_scan_masks *out) {
  uint64_t sp = 0, q = 0, br = 0, nl = 0;
  for (unsigned i = 0; i < 64; i++) {
    uint64_t bit = (uint64_t)1 << i;
    sp |= b[i] == ' ' ? bit : 0;
    q |= b[i] == '"' ? bit : 0;
    br |= (b[i] == '[' || b[i] == ']') ? bit : 0;
    nl |= b[i] == '\n' ? bit : 0;
  }
  out->space = sp;
  out->quote = q;
  out->bracket = br;
  out->newline = nl;
}

static const rv_scan_ops ops_scalar = {byte_scalar, any_scalar, count_scalar, struct64_scalar,
                                       RV_SCAN_SCALAR};

#if RV_SCAN_X86
/* ---- SSE2 -------------------------------------------------------------- */

/* Unaligned loads (loadu) throughout: callers pass any alignment, and the
 * loop never reads past p + n (the tail goes to the scalar code). */
__attribute__((target("sse2"))) static size_t byte_sse2(const uint8_t *p, size_t n, uint8_t c) {
  const __m128i needle = _mm_set1_epi8((char)c);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle));
    if (m)
      return i + (size_t)__builtin_ctz(m);
  }
  return i + byte_scalar(p + i, n - i, c);
}

__attribute__((target("sse2"))) static size_t any_sse2(const uint8_t *p, size_t n,
                                                       const rv_scan_set *set) {
  __m128i nd[RV_SCAN_SET_MAX];
  for (unsigned k = 0; k < set->n; k++)
    nd[k] = _mm_set1_epi8((char)set->bytes[k]);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m128i acc = _mm_cmpeq_epi8(v, nd[0]);
    for (unsigned k = 1; k < set->n; k++)
      acc = _mm_or_si128(acc, _mm_cmpeq_epi8(v, nd[k]));
    unsigned m = (unsigned)_mm_movemask_epi8(acc);
    if (m)
      return i + (size_t)__builtin_ctz(m);
  }
  return i + any_scalar(p + i, n - i, set);
}

__attribute__((target("sse2"))) static size_t count_sse2(const uint8_t *p, size_t n, uint8_t c) {
  const __m128i needle = _mm_set1_epi8((char)c);
  size_t i = 0, k = 0;
  while (i + 16 <= n) {
    /* Byte counters (0 - 0xff per match) overflow after 255 rounds, so sum
     * them into 64-bit lanes with SAD at least that often. */
    __m128i acc = _mm_setzero_si128();
    size_t rounds = 0;
    for (; i + 16 <= n && rounds < 255; i += 16, rounds++) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, needle));
    }
    __m128i s = _mm_sad_epu8(acc, _mm_setzero_si128());
    k += (size_t)_mm_cvtsi128_si32(s) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
  }
  return k + count_scalar(p + i, n - i, c);
}

__attribute__((target("sse2"))) static uint64_t mask16x4_sse2(const uint8_t *b, __m128i c) {
  uint64_t m = 0;
  for (unsigned j = 0; j < 4; j++) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + (size_t)16 * j));
    m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c)) << (16 * j);
  }
  return m;
}

__attribute__((target("sse2"))) static void struct64_sse2(const uint8_t *b, rv_scan_masks *out) {
  out->space = mask16x4_sse2(b, _mm_set1_epi8(' '));
  out->quote = mask16x4_sse2(b, _mm_set1_epi8('"'));
  out->bracket = mask16x4_sse2(b, _mm_set1_epi8('[')) | mask16x4_sse2(b, _mm_set1_epi8(']'));
  out->newline = mask16x4_sse2(b, _mm_set1_epi8('\n'));
}

static const rv_scan_ops ops_sse2 = {byte_sse2, any_sse2, count_sse2, struct64_sse2, RV_SCAN_SSE2};

/* ---- AVX2 -------------------------------------------------------------- */

__attribute__((target("avx2"))) static size_t byte_avx2(const uint8_t *p, size_t n, uint8_t c) {
  const __m256i needle = _mm256_set1_epi8((char)c);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
    __m256i ea = _mm256_cmpeq_epi8(a, needle), eb = _mm256_cmpeq_epi8(b, needle);
    if (!_mm256_testz_si256(_mm256_or_si256(ea, eb), _mm256_or_si256(ea, eb))) {
      uint64_t m = (uint64_t)(uint32_t)_mm256_movemask_epi8(ea) |
                   (uint64_t)(uint32_t)_mm256_movemask_epi8(eb) << 32;
      return i + (size_t)__builtin_ctzll(m);
    }
  }
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
    uint32_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, needle));
    if (m)
      return i + (size_t)__builtin_ctz(m);
  }
  return i + byte_sse2(p + i, n - i, c);
}

__attribute__((target("avx2"))) static size_t any_avx2(const uint8_t *p, size_t n,
                                                       const rv_scan_set *set) {
  __m256i nd[RV_SCAN_SET_MAX];
  for (unsigned k = 0; k < set->n; k++)
    nd[k] = _mm256_set1_epi8((char)set->bytes[k]);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
    __m256i acc = _mm256_cmpeq_epi8(v, nd[0]);
    for (unsigned k = 1; k < set->n; k++)
      acc = _mm256_or_si256(acc, _mm256_cmpeq_epi8(v, nd[k]));
    uint32_t m = (uint32_t)_mm256_movemask_epi8(acc);
    if (m)
      return i + (size_t)__builtin_ctz(m);
  }
  return i + any_sse2(p + i, n - i, set);
}

__attribute__((target("avx2"))) static size_t count_avx2(const uint8_t *p, size_t n, uint8_t c) {
  const __m256i needle = _mm256_set1_epi8((char)c);
  size_t i = 0, k = 0;
  while (i + 32 <= n) {
    __m256i acc = _mm256_setzero_si256();
    size_t rounds = 0; /* byte lanes overflow after 255 rounds: see count_sse2 */
    for (; i + 32 <= n && rounds < 255; i += 32, rounds++) {
      __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
      acc = _mm256_sub_epi8(acc, _mm256_cmpeq_epi8(v, needle));
    }
    __m256i s = _mm256_sad_epu8(acc, _mm256_setzero_si256());
    k += (size_t)_mm256_extract_epi64(s, 0) + (size_t)_mm256_extract_epi64(s, 1) +
         (size_t)_mm256_extract_epi64(s, 2) + (size_t)_mm256_extract_epi64(s, 3);
  }
  return k + count_sse2(p + i, n - i, c);
}

__attribute__((target("avx2"))) static void struct64_avx2(const uint8_t *b, rv_scan_masks *out) {
  __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)b);
  __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32));
#define RV_M64(x)                                                                                  \
  ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, x)) |                            \
   (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, x)) << 32)
  out->space = RV_M64(_mm256_set1_epi8(' '));
  out->quote = RV_M64(_mm256_set1_epi8('"'));
  out->bracket = RV_M64(_mm256_set1_epi8('[')) | RV_M64(_mm256_set1_epi8(']'));
  out->newline = RV_M64(_mm256_set1_epi8('\n'));
#undef RV_M64
}

static const rv_scan_ops ops_avx2 = {byte_avx2, any_avx2, count_avx2, struct64_avx2, RV_SCAN_AVX2};
#endif /* RV_SCAN_X86 */

/* ---- dispatch ---------------------------------------------------------- */

const rv_scan_ops *rv_scan_ops_for(rv_scan_impl impl) {
  switch (impl) {
  case RV_SCAN_SCALAR:
    return &ops_scalar;
#if RV_SCAN_X86
  case RV_SCAN_SSE2:
    return __builtin_cpu_supports("sse2") ? &ops_sse2 : NULL;
  case RV_SCAN_AVX2:
    return __builtin_cpu_supports("avx2") ? &ops_avx2 : NULL;
#endif
  default:
    return NULL;
  }
}

rv_scan_impl rv_scan_best(void) {
  if (rv_scan_ops_for(RV_SCAN_AVX2))
    return RV_SCAN_AVX2;
  if (rv_scan_ops_for(RV_SCAN_SSE2))
    return RV_SCAN_SSE2;
  return RV_SCAN_SCALAR;
}

/* The tables are static constants, so a relaxed load sees either NULL or a
 * pointer to fully initialised read-only data: no ordering is needed. */
static _Atomic(const rv_scan_ops *) active;

const rv_scan_ops *rv_scan_ops_active(void) {
  const rv_scan_ops *o = atomic_load_explicit(&active, memory_order_relaxed);
  if (!o) {
    o = rv_scan_ops_for(rv_scan_best());
    /* Racing first calls all store the same pointer; relaxed: see above. */
    atomic_store_explicit(&active, o, memory_order_relaxed);
  }
  return o;
}

rv_scan_impl rv_scan_active(void) { return rv_scan_ops_active()->impl; }

int rv_scan_force(rv_scan_impl impl) {
  if ((unsigned)impl > RV_SCAN_AVX2)
    return RV_EINVAL;
  const rv_scan_ops *o = rv_scan_ops_for(impl);
  if (!o)
    return RV_EUNSUPPORTED;
  atomic_store_explicit(&active, o, memory_order_relaxed); /* relaxed: see rv_scan_ops_active */
  return 0;
}

const char *rv_scan_impl_name(rv_scan_impl impl) {
  switch (impl) {
  case RV_SCAN_SCALAR:
    return "scalar";
  case RV_SCAN_SSE2:
    return "sse2";
  case RV_SCAN_AVX2:
    return "avx2";
  default:
    return "unknown";
  }
}

size_t rv_scan_byte(const void *p, size_t n, uint8_t c) {
  return n ? rv_scan_ops_active()->byte((const uint8_t *)p, n, c) : 0;
}

int rv_scan_set_init(rv_scan_set *set, const uint8_t *bytes, size_t n) {
  if (n == 0 || n > RV_SCAN_SET_MAX || !bytes)
    return RV_EINVAL;
  memset(set, 0, sizeof *set);
  for (size_t i = 0; i < RV_SCAN_SET_MAX; i++)
    set->bytes[i] = i < n ? bytes[i] : bytes[0];
  for (size_t i = 0; i < n; i++)
    set->table[bytes[i]] = 1;
  set->n = (uint32_t)n;
  return 0;
}

size_t rv_scan_any(const void *p, size_t n, const rv_scan_set *set) {
  return n ? rv_scan_ops_active()->any((const uint8_t *)p, n, set) : 0;
}

size_t rv_scan_count(const void *p, size_t n, uint8_t c) {
  return n ? rv_scan_ops_active()->count((const uint8_t *)p, n, c) : 0;
}

void rv_scan_struct64(const void *block, rv_scan_masks *out) {
  rv_scan_ops_active()->struct64((const uint8_t *)block, out);
}
