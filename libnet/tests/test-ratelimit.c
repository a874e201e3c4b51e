/* test-ratelimit: GCRA with an injected clock, the key bound and its sweep,
 * the HTTP headers, allocation failures, and threads on one key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <rivet/net/ratelimit.h>

#define MS 1000000ull
#define SEC 1000000000ull

static uint64_t fake_now(void *ctx) { return *(const uint64_t *)ctx; }

static rv_ratelimit *make(uint64_t limit, uint64_t period, size_t keys, uint64_t *clock,
                          const rv_alloc *a) {
  rv_ratelimit_config c = {0};
  c.limit = limit;
  c.period_ns = period;
  c.max_keys = keys;
  c.clock = fake_now;
  c.clock_ctx = clock;
  c.alloc = a;
  rv_ratelimit *rl = NULL;
  assert_int_equal(rv_ratelimit_create(&rl, &c), RV_OK);
  return rl;
}

static rv_ratelimit_result check(rv_ratelimit *rl, const char *key) {
  rv_ratelimit_result r;
  assert_int_equal(rv_ratelimit_check(rl, key, strlen(key), &r), RV_OK);
  return r;
}

static void test_gcra(void **state) {
  (void)state;
  uint64_t now = 1000 * SEC;
  rv_ratelimit *rl = make(5, SEC, 16, &now, NULL);
  for (uint64_t i = 0; i < 5; i++) {
    rv_ratelimit_result r = check(rl, "a");
    assert_true(r.allowed);
    assert_int_equal(r.limit, 5);
    assert_int_equal(r.remaining, 4 - i);
    assert_int_equal(r.reset_s, 1);
    assert_int_equal(r.retry_after_s, 0);
  }
  rv_ratelimit_result r = check(rl, "a");
  assert_false(r.allowed);
  assert_int_equal(r.remaining, 0);
  assert_int_equal(r.retry_after_s, 1);
  assert_int_equal(r.reset_s, 1);
  assert_true(check(rl, "b").allowed); /* keys are independent */
  now += 199 * MS;
  assert_false(check(rl, "a").allowed); /* a refusal does not advance the TAT */
  now += 1 * MS;
  r = check(rl, "a");
  assert_true(r.allowed); /* one emission interval later: one more */
  assert_int_equal(r.remaining, 0);
  assert_false(check(rl, "a").allowed);
  now += 10 * SEC; /* fully replenished: a whole burst again */
  for (int i = 0; i < 5; i++) {
    assert_true(check(rl, "a").allowed);
  }
  assert_false(check(rl, "a").allowed);
  rv_ratelimit_destroy(rl);

  /* Slow rates give whole-second Retry-After values, rounded up. */
  now = 0;
  rl = make(10, 60 * SEC, 4, &now, NULL);
  for (int i = 0; i < 10; i++) {
    assert_true(check(rl, "k").allowed);
  }
  r = check(rl, "k");
  assert_false(r.allowed);
  assert_int_equal(r.retry_after_s, 6);
  assert_int_equal(r.reset_s, 60);
  now += 3 * SEC + 1;
  r = check(rl, "k");
  assert_int_equal(r.retry_after_s, 3);
  assert_int_equal(r.reset_s, 57);
  rv_ratelimit_result e;
  assert_int_equal(rv_ratelimit_check(rl, NULL, 0, &e), RV_OK); /* the empty key */
  assert_true(e.allowed);
  rv_ratelimit_destroy(rl);
}

static void test_key_bound(void **state) {
  (void)state;
  uint64_t now = 0;
  rv_ratelimit *rl = make(2, 2 * SEC, 2, &now, NULL);
  check(rl, "a");
  check(rl, "b");
  assert_int_equal(rv_ratelimit_keys(rl), 2);
  rv_ratelimit_result r;
  assert_int_equal(rv_ratelimit_check(rl, "c", 1, &r), RV_EFULL);
  assert_true(check(rl, "a").allowed); /* known keys still work */
  now += 1 * SEC;                      /* b's TAT (1 s) has passed; a's (2 s) has not */
  assert_true(check(rl, "c").allowed);
  assert_int_equal(rv_ratelimit_keys(rl), 2);
  /* a kept its state through the sweep: one more, then refused. */
  assert_int_equal(check(rl, "a").remaining, 0);
  assert_false(check(rl, "a").allowed);
  rv_ratelimit_destroy(rl);
  rv_ratelimit_destroy(NULL);
}

static void test_invalid(void **state) {
  (void)state;
  rv_ratelimit_config c = {.limit = 1, .period_ns = 1, .max_keys = 1};
  rv_ratelimit *rl;
  assert_int_equal(rv_ratelimit_create(NULL, &c), RV_EINVAL);
  assert_int_equal(rv_ratelimit_create(&rl, NULL), RV_EINVAL);
  c.limit = 0;
  assert_int_equal(rv_ratelimit_create(&rl, &c), RV_EINVAL);
  c.limit = 2; /* period shorter than limit ns */
  assert_int_equal(rv_ratelimit_create(&rl, &c), RV_EINVAL);
  c.limit = 1;
  c.max_keys = 0;
  assert_int_equal(rv_ratelimit_create(&rl, &c), RV_EINVAL);
  c.max_keys = 1;
  assert_int_equal(rv_ratelimit_create(&rl, &c), RV_OK); /* the real clock */
  rv_ratelimit_result r;
  assert_int_equal(rv_ratelimit_check(rl, NULL, 1, &r), RV_EINVAL);
  assert_int_equal(rv_ratelimit_check(rl, "k", 1, NULL), RV_EINVAL);
  assert_int_equal(rv_ratelimit_check(NULL, "k", 1, &r), RV_EINVAL);
  assert_int_equal(rv_ratelimit_check(rl, "k", 1, &r), RV_OK);
  assert_true(r.allowed);
  rv_ratelimit_destroy(rl);
}

static void test_headers(void **state) {
  (void)state;
  rv_buf b;
  rv_buf_init(&b, NULL);
  rv_http_response resp;
  rv_ratelimit_result r = {
      .allowed = false, .limit = 10, .remaining = 0, .reset_s = 60, .retry_after_s = 6};
  assert_int_equal(rv_http_response_begin(&resp, &b, 429), RV_OK);
  assert_int_equal(rv_ratelimit_write_headers(&resp, &r), RV_OK);
  assert_int_equal(rv_http_response_end(&resp, rv_slice_cstr("")), RV_OK);
  const char *want = "HTTP/1.1 429 Too Many Requests\r\nRateLimit-Limit: 10\r\n"
                     "RateLimit-Remaining: 0\r\nRateLimit-Reset: 60\r\nRetry-After: 6\r\n"
                     "Content-Length: 0\r\n\r\n";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  rv_buf_resize(&b, 0);
  r.allowed = true;
  r.remaining = 3;
  assert_int_equal(rv_http_response_begin(&resp, &b, 200), RV_OK);
  assert_int_equal(rv_ratelimit_write_headers(&resp, &r), RV_OK);
  rv_buf_push(&b, 0);
  assert_null(strstr((const char *)b.data, "Retry-After"));
  assert_non_null(strstr((const char *)b.data, "RateLimit-Remaining: 3\r\n"));
  rv_http_response ended = {0};
  assert_int_equal(rv_ratelimit_write_headers(&ended, &r), RV_ESTATE);
  rv_buf_free(&b);
}

static void test_enomem(void **state) {
  (void)state;
  bool done = false;
  for (size_t n = 0; !done; n++) {
    assert_true(n < 1000);
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    uint64_t now = 0;
    rv_ratelimit_config c = {.limit = 1,
                             .period_ns = SEC,
                             .max_keys = 64,
                             .clock = fake_now,
                             .clock_ctx = &now,
                             .alloc = a};
    rv_ratelimit *rl;
    int rc = rv_ratelimit_create(&rl, &c);
    if (rc != RV_OK) {
      assert_int_equal(rc, RV_ENOMEM);
      assert_int_equal(f.live_blocks, 0);
      continue;
    }
    char key[8];
    int i;
    for (i = 0; i < 40; i++) {
      rv_ratelimit_result r;
      key[0] = (char)('A' + i);
      rc = rv_ratelimit_check(rl, key, 1, &r);
      if (rc != RV_OK) {
        assert_int_equal(rc, RV_ENOMEM);
        assert_int_equal(rv_ratelimit_keys(rl), (size_t)i); /* nothing half-added */
        break;
      }
    }
    done = i == 40;
    rv_ratelimit_destroy(rl);
    assert_int_equal(f.live_blocks, 0);
  }
}

/* Threads on one key with the clock stopped: exactly `limit` get through. */
typedef struct shared {
  rv_ratelimit *rl;
  atomic_int allowed;
} shared;

static void *hammer(void *arg) {
  shared *s = arg;
  for (int i = 0; i < 2000; i++) {
    rv_ratelimit_result r;
    if (rv_ratelimit_check(s->rl, "hot", 3, &r) == RV_OK && r.allowed) {
      atomic_fetch_add(&s->allowed, 1);
    }
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  uint64_t now = 5 * SEC;
  shared s = {make(100, SEC, 8, &now, NULL), 0};
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
  }
  assert_int_equal(atomic_load(&s.allowed), 100);
  rv_ratelimit_destroy(s.rl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gcra),    cmocka_unit_test(test_key_bound),
      cmocka_unit_test(test_invalid), cmocka_unit_test(test_headers),
      cmocka_unit_test(test_enomem),  cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
