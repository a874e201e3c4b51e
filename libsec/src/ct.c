/* ct: constant-time operations. Freestanding: only memset (in rv_ct_wipe).
 *
 * Every function below runs the same instructions and touches the same
 * addresses whatever the buffer contents or condition values are. Two
 * techniques keep it so:
 * - conditions become all-ones/all-zero masks computed with arithmetic
 *   (no comparison operators on secrets, which compilers may turn into
 *   branches), and results are combined with AND/XOR;
 * - ct_barrier() passes a value through an empty asm statement, so the
 *   optimiser cannot see that it is 0/1 and rebuild a branch from it (the
 *   same trick as BearSSL's and libsodium's). */
#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

#include <string.h>

/* Return x unchanged, but opaque to the optimiser. */
static inline uint32_t ct_barrier(uint32_t x) {
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(x));
#endif
  return x;
}

/* 0 -> 0, anything else -> 0xFFFFFFFF. (x | -x) has its top bit set exactly
 * when x != 0. */
static inline uint32_t ct_mask(uint32_t x) {
  x = ct_barrier(x);
  return (uint32_t)0 - ((x | ((uint32_t)0 - x)) >> 31);
}

/* 1 if the accumulated difference byte (0..255) is 0, else 0: acc - 1
 * underflows (sets bit 8 and up) exactly when acc == 0. */
static inline uint32_t ct_byte_is_zero(uint32_t acc) {
  acc = ct_barrier(acc);
  return ((acc - 1u) >> 8) & 1u;
}

uint32_t rv_ct_eq(const void *a, const void *b, size_t n) {
  const unsigned char *x = a;
  const unsigned char *y = b;
  uint32_t acc = 0;
  for (size_t i = 0; i < n; i++) {
    acc |= (uint32_t)(x[i] ^ y[i]);
  }
  return ct_byte_is_zero(acc);
}

int rv_ct_verify(const void *a, const void *b, size_t n) {
  /* The result is public once computed: branching on it here is fine,
   * but keep it arithmetic anyway so the whole function stays branch-free. */
  uint32_t ok = rv_ct_eq(a, b, n);
  return (int)(~ct_mask(ok) & (uint32_t)RV_EVERIFY);
}

int rv_ct_cmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a;
  const unsigned char *y = b;
  uint32_t gt = 0;
  uint32_t lt = 0;
  /* Walk from the last byte to the first: each differing byte overwrites
   * the result, so the first difference (lowest index) is what remains. */
  for (size_t i = n; i-- > 0;) {
    uint32_t xi = x[i];
    uint32_t yi = y[i];
    uint32_t g = ((yi - xi) >> 8) & 1u; /* y - x underflows iff x > y */
    uint32_t l = ((xi - yi) >> 8) & 1u;
    uint32_t m = ct_mask(g | l);
    gt = (gt & ~m) | (g & m);
    lt = (lt & ~m) | (l & m);
  }
  return (int)gt - (int)lt;
}

uint32_t rv_ct_is_zero(const void *p, size_t n) {
  const unsigned char *x = p;
  uint32_t acc = 0;
  for (size_t i = 0; i < n; i++) {
    acc |= x[i];
  }
  return ct_byte_is_zero(acc);
}

void rv_ct_select(void *out, const void *a, const void *b, size_t n, uint32_t cond) {
  unsigned char *o = out;
  const unsigned char *x = a;
  const unsigned char *y = b;
  unsigned char m = (unsigned char)ct_mask(cond);
  /* Each index is read before it is written, so out may equal a or b. */
  for (size_t i = 0; i < n; i++) {
    unsigned char xi = x[i];
    unsigned char yi = y[i];
    o[i] = (unsigned char)(yi ^ (m & (xi ^ yi)));
  }
}

void rv_ct_copy(void *dst, const void *src, size_t n, uint32_t cond) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  unsigned char m = (unsigned char)ct_mask(cond);
  for (size_t i = 0; i < n; i++) {
    unsigned char di = d[i];
    d[i] = (unsigned char)(di ^ (m & (di ^ s[i])));
  }
}

void rv_ct_swap(void *a, void *b, size_t n, uint32_t cond) {
  unsigned char *x = a;
  unsigned char *y = b;
  unsigned char m = (unsigned char)ct_mask(cond);
  for (size_t i = 0; i < n; i++) {
    unsigned char t = (unsigned char)(m & (x[i] ^ y[i]));
    x[i] = (unsigned char)(x[i] ^ t);
    y[i] = (unsigned char)(y[i] ^ t);
  }
}

uint32_t rv_ct_select_u32(uint32_t cond, uint32_t a, uint32_t b) {
  uint32_t m = ct_mask(cond);
  return b ^ (m & (a ^ b));
}

uint32_t rv_ct_eq_mask_u32(uint32_t a, uint32_t b) { return ~ct_mask(a ^ b); }

uint32_t rv_ct_lt_mask_u32(uint32_t a, uint32_t b) {
  /* Hacker's Delight 2-12: the top bit of this is the borrow of a - b,
   * i.e. a < b unsigned, without a comparison. */
  a = ct_barrier(a);
  uint32_t lt = ((~a & b) | ((~a | b) & (a - b))) >> 31;
  return (uint32_t)0 - lt;
}

void rv_ct_wipe(void *p, size_t n) {
  if (n == 0) {
    return;
  }
  memset(p, 0, n);
#if defined(__GNUC__) || defined(__clang__)
  /* The asm claims to read p's memory, so the memset above is not dead. */
  __asm__ __volatile__("" : : "r"(p) : "memory");
#else
  /* Without GNU asm: stores through a volatile pointer cannot be elided. */
  volatile unsigned char *v = p;
  for (size_t i = 0; i < n; i++) {
    v[i] = 0;
  }
#endif
}
