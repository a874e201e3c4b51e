/* ct-poison: valgrind/memcheck "secret poisoning" of the ct functions.
 *
 * Secrets are marked undefined with VALGRIND_MAKE_MEM_UNDEFINED. Memcheck
 * then reports every conditional jump and every memory index computed from
 * them ("depends on uninitialised value"), which is exactly what constant-
 * time code must not have. Results are declassified with
 * VALGRIND_MAKE_MEM_DEFINED before they are used, as a caller would.
 *
 * Built twice: normally, where valgrind must report nothing, and with
 * RV_POISON_LEAKY, which also runs an early-exit compare on the same
 * poisoned secrets and must be reported (the test expects that run to
 * fail), proving the check can catch a leak. Outside valgrind the client
 * requests do nothing and the program just runs. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include <rivet/sec/ct.h>

#define N 64

static void secret(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
static void public_(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_DEFINED(p, n); }

#ifdef RV_POISON_LEAKY
/* The classic mistake: stop at the first difference. */
__attribute__((noinline)) static int leaky_eq(const unsigned char *a, const unsigned char *b,
                                              size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i]) {
      return 0;
    }
  }
  return 1;
}
#endif

int main(void) {
  unsigned char key[N];
  unsigned char guess[N];
  unsigned char out[N];
  unsigned char other[N];
  for (size_t i = 0; i < N; i++) {
    key[i] = (unsigned char)(i * 7 + 3);
    guess[i] = key[i];
    other[i] = (unsigned char)(255 - i);
  }
  guess[N - 1] ^= 1;
  secret(key, N);
  uint32_t cond = 1;
  secret(&cond, sizeof cond);

  uint32_t eq = rv_ct_eq(key, guess, N);
  int vr = rv_ct_verify(key, guess, N);
  int cmp = rv_ct_cmp(key, guess, N);
  uint32_t z = rv_ct_is_zero(key, N);
  rv_ct_select(out, key, other, N, cond);
  rv_ct_copy(other, key, N, cond);
  rv_ct_swap(out, other, N, cond);
  uint32_t sel = rv_ct_select_u32(cond, 5, 9);
  uint32_t m1 = rv_ct_eq_mask_u32(key[0], guess[0]);
  uint32_t m2 = rv_ct_lt_mask_u32(key[1], guess[1]);
  rv_ct_wipe(key, N);

  /* Declassify the results (a caller acts on them) and check them. */
  public_(&eq, sizeof eq);
  public_(&vr, sizeof vr);
  public_(&cmp, sizeof cmp);
  public_(&z, sizeof z);
  public_(&sel, sizeof sel);
  public_(&m1, sizeof m1);
  public_(&m2, sizeof m2);
  public_(out, N);
  int bad = eq != 0 || vr == 0 || cmp != -1 || z != 0 || sel != 5 || m1 != 0xffffffffu || m2 != 0;
  for (size_t i = 0; i < N; i++) {
    bad |= key[i] != 0; /* wiped, hence defined again */
  }
#ifdef RV_POISON_LEAKY
  unsigned char k2[N];
  memcpy(k2, guess, N);
  secret(k2, N);
  int l = leaky_eq(k2, guess, N); /* memcheck must report the branch */
  public_(&l, sizeof l);
  bad |= l != 1;
#endif
  if (bad) {
    fprintf(stderr, "ct-poison: wrong results\n");
    return 1;
  }
  printf("ct-poison: ok\n");
  return 0;
}
