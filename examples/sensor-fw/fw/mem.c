/* mem: the four functions GCC may call even in freestanding code, so the
 * firmware needs no libc. Word-at-a-time when both pointers are aligned
 * (the ring's records are), bytes otherwise. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0) {
    /* Both 4-aligned: the casts are aligned, and uint32_t accesses of
     * memory of any type are how memcpy is allowed to work (it is the
     * implementation). */
    uint32_t *dw = (uint32_t *)(void *)d;
    const uint32_t *sw = (const uint32_t *)(const void *)s;
    for (; n >= 4; n -= 4) {
      *dw++ = *sw++;
    }
    d = (unsigned char *)dw;
    s = (const unsigned char *)sw;
  }
  while (n--) {
    *d++ = *s++;
  }
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d == s || n == 0) {
    return dst;
  }
  if ((uintptr_t)d < (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) {
    while (n--) {
      *d++ = *s++;
    }
  } else {
    while (n--) {
      d[n] = s[n];
    }
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) {
    *d++ = (unsigned char)c;
  }
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) {
      return x[i] < y[i] ? -1 : 1;
    }
  }
  return 0;
}
