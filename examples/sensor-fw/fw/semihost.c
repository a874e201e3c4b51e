/* semihost: SYS_WRITE0 and SYS_EXIT_EXTENDED through `bkpt 0xAB`. */
#include "semihost.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost_call(int op, const void *arg) {
  /* The semihosting ABI: operation in r0, argument in r1, result in r0. */
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void sh_puts(const char *s) { (void)semihost_call(SYS_WRITE0, s); }

char *sh_fmt_str(char *p, const char *s) {
  while (*s) {
    *p++ = *s++;
  }
  *p = '\0';
  return p;
}

char *sh_fmt_int(char *p, int32_t v) {
  char tmp[12];
  int n = 0;
  /* Work on the magnitude as unsigned so that INT32_MIN is fine. */
  uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10u);
    u /= 10u;
  } while (u);
  if (v < 0) {
    *p++ = '-';
  }
  while (n) {
    *p++ = tmp[--n];
  }
  *p = '\0';
  return p;
}

_Noreturn void sh_exit(int status) {
  const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  (void)semihost_call(SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}
