/* test-api: links the shared library and uses only the public umbrella
 * header, so an exported symbol missing from the .so fails to link here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/sec.h>

/* jwt through the shared library: issue with each algorithm, verify,
 * read the claims. */
static void test_jwt_surface(void **state) {
  (void)state;
  uint8_t hk[32];
  memset(hk, 7, sizeof hk);
  /* A fixed Ed25519 key pair would need libsodium here; HS256 suffices to
   * reach every exported jwt function. */
  static const char claims[] = "{\"exp\":4102444800,\"sub\":\"u\",\"adm\":false}";
  char tok[512];
  size_t n = 0;
  assert_int_equal(
      rv_jwt_sign(RV_JWT_HS256, "k", hk, sizeof hk, claims, strlen(claims), tok, sizeof tok, &n),
      RV_OK);
  rv_jwt_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE};
  rv_jwt_verifier *v = NULL;
  assert_int_equal(rv_jwt_verifier_create(&v, &cfg), RV_OK);
  assert_int_equal(rv_jwt_verifier_add_key(v, "k", RV_JWT_HS256, hk, sizeof hk), RV_OK);
  rv_jwt_claims *c = NULL;
  rv_diag d = {0};
  assert_int_equal(rv_jwt_verify(v, tok, n, &c, &d), RV_OK);
  const char *s = NULL;
  assert_int_equal(rv_jwt_claims_string(c, "sub", &s, NULL), RV_OK);
  assert_string_equal(s, "u");
  int64_t exp = 0;
  assert_int_equal(rv_jwt_claims_int(c, "exp", &exp), RV_OK);
  int adm = 1;
  assert_int_equal(rv_jwt_claims_bool(c, "adm", &adm), RV_OK);
  assert_int_equal(adm, 0);
  assert_int_equal(rv_jwt_claims_json(c, &s, NULL), RV_OK);
  assert_string_equal(rv_jwt_claims_key(c, NULL), "k");
  rv_jwt_claims_free(c);
  rv_jwt_verifier_destroy(v);
}

static void test_version(void **state) {
  (void)state;
  assert_int_equal(rv_sec_version(), RV_SEC_VERSION_NUMBER);
  assert_string_equal(rv_sec_version_string(), RV_SEC_VERSION_STRING);
}

static void noop(void *ctx, const uint8_t *in, size_t len) {
  (void)ctx;
  (void)in;
  (void)len;
}

static void test_public_surface(void **state) {
  (void)state;
  rv_secmem *pool = NULL;
  rv_secmem_config cfg = {.flags = RV_SECMEM_ALLOW_UNLOCKED};
  assert_int_equal(rv_secmem_create(&pool, &cfg), RV_OK);
  void *p = NULL;
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_OK);
  assert_int_equal(rv_secmem_open(pool, p), RV_OK);
  memset(p, 1, 32);
  assert_int_equal(rv_secmem_close(pool, p), RV_OK);
  size_t n = 0;
  assert_int_equal(rv_secmem_size(pool, p, &n), RV_OK);
  assert_int_equal(n, 32);
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 1);
  assert_int_equal(rv_secmem_audit(pool, NULL), RV_OK);
  char msg[8];
  (void)rv_secmem_last_error(pool, msg, sizeof msg);
  assert_int_equal(rv_secmem_free(pool, p), RV_OK);
  rv_secmem_destroy(pool);

  unsigned char a[4] = {1, 2, 3, 4};
  unsigned char b[4] = {1, 2, 3, 4};
  assert_int_equal(rv_ct_eq(a, b, 4), 1);
  assert_int_equal(rv_ct_verify(a, b, 4), RV_OK);
  assert_int_equal(rv_ct_cmp(a, b, 4), 0);
  assert_int_equal(rv_ct_is_zero(a, 4), 0);
  rv_ct_select(a, a, b, 4, 1);
  rv_ct_copy(a, b, 4, 0);
  rv_ct_swap(a, b, 4, 1);
  assert_int_equal(rv_ct_select_u32(1, 2, 3), 2);
  assert_int_equal(rv_ct_eq_mask_u32(1, 1), 0xffffffffu);
  assert_int_equal(rv_ct_lt_mask_u32(1, 2), 0xffffffffu);
  rv_ct_wipe(a, 4);

  rv_timing_welch w = {{0}, {0}, {0}};
  rv_timing_welch_push(&w, 0, 1.0);
  assert_true(rv_timing_welch_t(&w) == 0.0);
  rv_timing_config tc = {.run = noop, .input_len = 8, .max_measurements = 100, .batch = 100};
  rv_timing_result r;
  assert_int_equal(rv_timing_check(&tc, &r), RV_OK);
  assert_string_equal(rv_timing_verdict_name(r.verdict), "too few measurements");
  assert_true(rv_timing_cycles() != rv_timing_cycles() || 1);
}

static int count_cb(void *ctx, const char *name, const rv_keystore_info *info) {
  (void)name;
  (void)info;
  ++*(int *)ctx;
  return 0;
}

static int use_cb(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  (void)key;
  *(size_t *)ctx = info->len;
  return 0;
}

static void test_keystore_surface(void **state) {
  (void)state;
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED};
  assert_int_equal(rv_keystore_create(&ks, &cfg), RV_OK);
  uint8_t k[32] = {9};
  assert_int_equal(rv_keystore_add(ks, "sym", RV_KEYSTORE_SYMMETRIC, k, sizeof k), RV_OK);
  assert_int_equal(rv_keystore_generate(ks, "ed", RV_KEYSTORE_ED25519, 0), RV_OK);
  assert_int_equal(rv_keystore_rotate(ks, "ed"), RV_OK);
  rv_keystore_info info;
  assert_int_equal(rv_keystore_info_get(ks, "ed", &info), RV_OK);
  assert_int_equal(info.version, 2);
  int n = 0;
  assert_int_equal(rv_keystore_list(ks, count_cb, &n), RV_OK);
  assert_int_equal(n, 2);
  assert_int_equal(rv_keystore_count(ks), 2);
  size_t len = 0;
  assert_int_equal(rv_keystore_use(ks, "sym", use_cb, &len), RV_OK);
  assert_int_equal(len, 32);
  uint8_t sig[RV_KEYSTORE_SIGNATURE_BYTES];
  uint8_t pk[RV_KEYSTORE_ED25519_PUBLIC_BYTES];
  assert_int_equal(rv_keystore_sign(ks, "ed", "m", 1, sig), RV_OK);
  assert_int_equal(rv_keystore_verify(ks, "ed", "m", 1, sig), RV_OK);
  assert_int_equal(rv_keystore_public_key(ks, "ed", pk), RV_OK);
  uint8_t box[1 + RV_KEYSTORE_SEAL_OVERHEAD];
  uint8_t out[1];
  size_t blen = 0;
  size_t olen = 0;
  assert_int_equal(rv_keystore_seal(ks, "sym", NULL, 0, "x", 1, box, sizeof box, &blen), RV_OK);
  assert_int_equal(rv_keystore_open(ks, "sym", NULL, 0, box, blen, out, 1, &olen), RV_OK);
  char path[] = "/tmp/rv-ks-api-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  (void)close(fd);
  rv_keystore_cred cred = {.key = k};
  assert_int_equal(rv_keystore_save(ks, path, &cred, NULL), RV_OK);
  assert_int_equal(rv_keystore_remove(ks, "sym"), RV_OK);
  assert_int_equal(rv_keystore_load(ks, path, &cred, NULL), RV_OK);
  assert_int_equal(rv_keystore_count(ks), 2);
  rv_diag d = {0};
  assert_int_equal(rv_keystore_load_buffer(ks, k, 1, &cred, &d), RV_ETRUNCATED);
  (void)unlink(path);
  rv_keystore_destroy(ks);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jwt_surface),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_public_surface),
      cmocka_unit_test(test_keystore_surface),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
