/* Tests for arena: bumping, alignment, chunks, fixed buffers, rewind,
 * reset, the allocator view, and every allocation failure (failing
 * allocator looped over N). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <rivet/core/arena.h>
#include <rivet/core/err.h>
#include <rivet/core/vec.h>

/* Dereference a pointer the test expects to exist (keeps -Wnull-dereference quiet). */
#define must(p) (assert_non_null(p), (p) ? (p) : (abort(), (p)))

static jmp_buf panic_jmp;
static const char *panic_msg;

static _Noreturn void catch_panic(const char *msg) {
  panic_msg = msg;
  longjmp(panic_jmp, 1);
}

static size_t live(const rv_arena *a) {
  rv_arena_stats st;
  rv_arena_stats_get(a, &st);
  return st.chunks;
}

static void test_init_errors(void **state) {
  (void)state;
  rv_arena a;
  unsigned char buf[64];
  assert_int_equal(rv_arena_init(NULL, NULL, 0), RV_EINVAL);
  assert_int_equal(rv_arena_init(&a, NULL, RV_ARENA_CHUNK_MIN - 1), RV_EINVAL);
  assert_int_equal(rv_arena_init(&a, NULL, 1), RV_EINVAL);
  assert_int_equal(rv_arena_init_buffer(NULL, buf, sizeof buf), RV_EINVAL);
  assert_int_equal(rv_arena_init_buffer(&a, NULL, sizeof buf), RV_EINVAL);
  assert_int_equal(rv_arena_init_buffer(&a, buf, 0), RV_EINVAL);
  assert_int_equal(rv_arena_init(&a, NULL, RV_ARENA_CHUNK_MIN), RV_OK);
  rv_arena_free(&a);
  assert_int_equal(rv_arena_init(&a, NULL, 0), RV_OK);
  rv_arena_stats st;
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.used, 0); /* lazy: nothing allocated yet */
  assert_int_equal(st.capacity, 0);
  assert_int_equal(st.chunks, 0);
  rv_arena_free(&a);
  rv_arena_free(NULL); /* no-op */
}

static void test_alignment_and_contents(void **state) {
  (void)state;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, NULL, 1024), RV_OK);
  unsigned char *blocks[64];
  size_t sizes[64];
  for (size_t i = 0; i < 64; i++) {
    size_t align = (size_t)1 << (i % 13); /* 1 .. 4096 */
    sizes[i] = 1 + (i * 37) % 300;
    blocks[i] = rv_arena_alloc(&a, sizes[i], align);
    assert_non_null(blocks[i]);
    assert_int_equal((uintptr_t)blocks[i] % align, 0);
    memset(blocks[i], (int)i, sizes[i]);
  }
  /* align 0 means maximal alignment. */
  void *p = rv_arena_alloc(&a, 3, 0);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % RV_ALLOC_ALIGN_MAX, 0);
  for (size_t i = 0; i < 64; i++) {
    for (size_t j = 0; j < sizes[i]; j++) {
      assert_int_equal(blocks[i][j], (unsigned char)i); /* no block overlaps another */
    }
  }
  rv_arena_free(&a);
}

static void test_bad_requests(void **state) {
  (void)state;
  rv_alloc_failing f;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, rv_alloc_failing_init(&f, NULL, SIZE_MAX), 512), RV_OK);
  assert_non_null(rv_arena_alloc(&a, 8, 8));
  rv_arena_stats before;
  rv_arena_stats_get(&a, &before);
  assert_null(rv_arena_alloc(&a, 0, 8));             /* zero size */
  assert_null(rv_arena_alloc(&a, 8, 3));             /* align not a power of two */
  assert_null(rv_arena_alloc(&a, 8, 48));            /* nor this */
  assert_null(rv_arena_alloc(&a, SIZE_MAX - 4, 16)); /* size + align + header overflows */
  f.fail_at = f.calls;                               /* the allocator refuses the next chunk */
  assert_null(rv_arena_alloc(&a, 1000, 16));
  assert_null(rv_arena_alloc_array(&a, SIZE_MAX / 2, 3, 0)); /* n * size overflows */
  assert_null(rv_arena_alloc_array(&a, 0, 8, 0));
  assert_null(rv_arena_memdup(&a, "x", SIZE_MAX)); /* n + 1 overflows */
  rv_arena_stats after;
  rv_arena_stats_get(&a, &after);
  assert_memory_equal(&before, &after, sizeof before); /* failures changed nothing */
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
}

static void test_chunks_and_stats(void **state) {
  (void)state;
  rv_alloc_failing f;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, rv_alloc_failing_init(&f, NULL, SIZE_MAX), 256), RV_OK);
  for (int i = 0; i < 100; i++) {
    assert_non_null(rv_arena_alloc(&a, 16, 16));
  }
  rv_arena_stats st;
  rv_arena_stats_get(&a, &st);
  assert_true(st.chunks > 1);
  assert_int_equal(st.chunks, f.live_blocks);
  assert_true(st.used >= 1600 && st.used <= st.capacity);
  /* A block larger than a chunk gets a chunk of its own. */
  unsigned char *big = rv_arena_alloc(&a, 10000, 64);
  assert_non_null(big);
  assert_int_equal((uintptr_t)big % 64, 0);
  memset(big, 1, 10000);
  rv_arena_stats st2;
  rv_arena_stats_get(&a, &st2);
  assert_int_equal(st2.chunks, st.chunks + 1);
  assert_true(st2.capacity >= st.capacity + 10000);
  assert_true(st2.used >= st.used + 10000);
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
  assert_int_equal(f.live_bytes, 0);
  /* Usable again after free, with the same settings. */
  assert_non_null(rv_arena_alloc(&a, 16, 0));
  assert_int_equal(f.live_blocks, 1);
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
}

static void test_fixed_buffer(void **state) {
  (void)state;
  _Alignas(16) unsigned char buf[257];
  rv_arena a;
  /* An odd start: blocks must still be aligned inside the buffer. */
  assert_int_equal(rv_arena_init_buffer(&a, buf + 1, 256), RV_OK);
  rv_arena_stats st;
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.capacity, 256);
  assert_int_equal(st.chunks, 1);
  unsigned char *p = rv_arena_alloc(&a, 100, 8);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % 8, 0);
  assert_true(p >= buf + 1 && p + 100 <= buf + 257);
  /* Fill up byte by byte: exactly the rest fits, then NULL, cleanly. */
  size_t n = 0;
  while (rv_arena_alloc(&a, 1, 1)) {
    n++;
  }
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.used, 256);
  assert_int_equal(n, 256 - (size_t)(p + 100 - (buf + 1)));
  assert_null(rv_arena_alloc(&a, 1, 1));
  assert_null(rv_arena_memdup(&a, "", 0));
  assert_null(rv_arena_alloc(&a, 1000, 1)); /* bigger than the buffer */
  /* Rewind and reset work on a fixed arena too. */
  rv_arena_reset(&a);
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.used, 0);
  assert_non_null(rv_arena_alloc(&a, 256 - 16, 1));
  rv_arena_mark m = rv_arena_checkpoint(&a);
  assert_non_null(rv_arena_alloc(&a, 16, 1));
  assert_null(rv_arena_alloc(&a, 1, 1));
  rv_arena_rewind(&a, m);
  assert_non_null(rv_arena_alloc(&a, 16, 1));
  rv_arena_free(&a); /* the buffer is ours again, and the arena empty */
  memset(buf, 0, sizeof buf);
  assert_non_null(rv_arena_alloc(&a, 256, 1));
  rv_arena_free(&a);
}

static void test_rewind(void **state) {
  (void)state;
  rv_alloc_failing f;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, rv_alloc_failing_init(&f, NULL, SIZE_MAX), 512), RV_OK);
  rv_arena_mark empty = rv_arena_checkpoint(&a);
  char *keep = rv_arena_memdup(&a, "keep me", 7);
  assert_non_null(keep);
  rv_arena_stats before;
  rv_arena_stats_get(&a, &before);
  rv_arena_mark m = rv_arena_checkpoint(&a);
  /* Same chunk, then across several new chunks. */
  void *first_after = rv_arena_alloc(&a, 8, 1);
  assert_non_null(first_after);
  for (int i = 0; i < 50; i++) {
    assert_non_null(rv_arena_alloc(&a, 100, 8));
  }
  assert_true(f.live_blocks > before.chunks);
  rv_arena_rewind(&a, m);
  rv_arena_stats after;
  rv_arena_stats_get(&a, &after);
  assert_memory_equal(&before, &after, sizeof before); /* later chunks released */
  assert_int_equal(f.live_blocks, before.chunks);
  assert_string_equal(keep, "keep me");
  /* The space after the mark is reused. */
  assert_ptr_equal(rv_arena_alloc(&a, 8, 1), first_after);
  /* A mark in the same chunk, no chunk released. */
  rv_arena_mark m2 = rv_arena_checkpoint(&a);
  assert_non_null(rv_arena_alloc(&a, 8, 1));
  rv_arena_rewind(&a, m2);
  rv_arena_rewind(&a, m2); /* rewinding twice to the same mark is fine */
  /* The mark of a fresh arena takes everything back. */
  rv_arena_rewind(&a, empty);
  assert_int_equal(live(&a), 0);
  assert_int_equal(f.live_blocks, 0);
  assert_non_null(rv_arena_alloc(&a, 8, 1));
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
}

static void test_rewind_bad_mark_panics(void **state) {
  (void)state;
  rv_arena a;
  rv_arena b;
  assert_int_equal(rv_arena_init(&a, NULL, 256), RV_OK);
  assert_int_equal(rv_arena_init(&b, NULL, 256), RV_OK);
  assert_non_null(rv_arena_alloc(&a, 8, 0));
  assert_non_null(rv_arena_alloc(&b, 8, 0));
  rv_arena_mark foreign = rv_arena_checkpoint(&b);
  rv_panic_fn old = rv_set_panic_handler(catch_panic);
  panic_msg = NULL;
  if (setjmp(panic_jmp) == 0) {
    rv_arena_rewind(&a, foreign); /* a chunk that a does not hold */
    fail_msg("rewind to a foreign mark returned");
  }
  assert_true(panic_msg && strstr(panic_msg, "rv_arena_rewind"));
  /* The right chunk but a position outside it. */
  rv_arena_mark bad = rv_arena_checkpoint(&a);
  static unsigned char elsewhere[8];
  bad.cur = elsewhere;
  panic_msg = NULL;
  if (setjmp(panic_jmp) == 0) {
    rv_arena_rewind(&a, bad);
    fail_msg("rewind to a mark outside its chunk returned");
  }
  assert_non_null(panic_msg);
  rv_set_panic_handler(old);
  assert_non_null(rv_arena_alloc(&a, 8, 0)); /* a is intact */
  rv_arena_free(&a);
  rv_arena_free(&b);
}

static void test_reset_and_retain(void **state) {
  (void)state;
  rv_alloc_failing f;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, rv_alloc_failing_init(&f, NULL, SIZE_MAX), 512), RV_OK);
  rv_arena_reset(&a); /* on an empty arena: nothing to do */
  rv_arena_reset_retain(&a);
  for (int i = 0; i < 40; i++) {
    assert_non_null(rv_arena_alloc(&a, 64, 16));
  }
  size_t chunks = f.live_blocks;
  assert_true(chunks > 2);
  /* retain: every chunk kept; the next round allocates nothing new. */
  rv_arena_reset_retain(&a);
  rv_arena_stats st;
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.used, 0);
  assert_int_equal(st.chunks, chunks);
  size_t calls = f.calls;
  for (int i = 0; i < 40; i++) {
    assert_non_null(rv_arena_alloc(&a, 64, 16));
  }
  assert_int_equal(f.calls, calls);
  assert_int_equal(f.live_blocks, chunks);
  /* A block too big for the spare at hand gets a fresh chunk. */
  rv_arena_reset_retain(&a);
  assert_non_null(rv_arena_alloc(&a, 400, 16)); /* fits the first chunk */
  assert_non_null(rv_arena_alloc(&a, 4000, 16));
  assert_int_equal(f.calls, calls + 1);
  /* reset: keep only the oldest chunk, spares included in what goes. */
  rv_arena_reset(&a);
  assert_int_equal(f.live_blocks, 1);
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.chunks, 1);
  assert_int_equal(st.used, 0);
  assert_non_null(rv_arena_alloc(&a, 64, 16));
  assert_int_equal(f.live_blocks, 1);
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
  /* Spares alone (everything rewound away after a retain) are freed too. */
  for (int i = 0; i < 40; i++) {
    assert_non_null(rv_arena_alloc(&a, 64, 16));
  }
  rv_arena_reset_retain(&a);
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
}

static void test_memdup_strdup(void **state) {
  (void)state;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, NULL, 0), RV_OK);
  const unsigned char bin[4] = {1, 0, 2, 3};
  unsigned char *d = rv_arena_memdup(&a, bin, 4);
  assert_non_null(d);
  assert_memory_equal(d, bin, 4);
  assert_int_equal(d[4], 0);
  char *e = rv_arena_memdup(&a, NULL, 0);
  assert_non_null(e);
  assert_string_equal(e, "");
  char *s = rv_arena_strdup(&a, "token");
  assert_non_null(s);
  assert_string_equal(s, "token");
  rv_arena_free(&a);
}

static void test_allocator_view(void **state) {
  (void)state;
  rv_alloc_failing f;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, rv_alloc_failing_init(&f, NULL, SIZE_MAX), 1024), RV_OK);
  const rv_alloc *al = rv_arena_allocator(&a);
  assert_ptr_equal(al, rv_arena_allocator(&a));
  unsigned char *p = rv_alloc_get(al, 16, 16);
  assert_non_null(p);
  memset(p, 7, 16);
  /* The last block grows and shrinks in place. */
  unsigned char *q = rv_alloc_resize(al, p, 16, 200, 16);
  assert_ptr_equal(q, p);
  q = rv_alloc_resize(al, q, 200, 32, 16);
  assert_ptr_equal(q, p);
  unsigned char *r = rv_alloc_get(al, 16, 16);
  assert_ptr_equal(r, p + 32); /* the shrink gave the space back */
  /* A block that is not the last one: shrink stays, growth copies. */
  assert_ptr_equal(rv_alloc_resize(al, p, 32, 8, 16), p);
  unsigned char *moved = rv_alloc_resize(al, p, 8, 64, 16);
  assert_non_null(moved);
  assert_ptr_not_equal(moved, p);
  assert_int_equal(moved[0], 7);
  assert_int_equal(moved[7], 7);
  /* Growth of the last block beyond its chunk moves it to a new chunk. */
  unsigned char *huge = rv_alloc_resize(al, moved, 64, 5000, 16);
  assert_non_null(huge);
  assert_ptr_not_equal(huge, moved);
  assert_int_equal(huge[0], 7);
  /* Free pops the last block; a middle block's free does nothing. */
  rv_alloc_free(al, huge, 5000);
  unsigned char *again = rv_alloc_get(al, 5000, 16);
  assert_ptr_equal(again, huge);
  rv_alloc_free(al, r, 16);
  assert_ptr_not_equal(rv_alloc_get(al, 16, 16), r);
  rv_arena_free(&a);
  assert_int_equal(f.live_blocks, 0);
}

static void test_vec_on_arena(void **state) {
  (void)state;
  _Alignas(16) unsigned char buf[4096];
  rv_arena a;
  assert_int_equal(rv_arena_init_buffer(&a, buf, sizeof buf), RV_OK);
  rv_vec v;
  RV_VEC_INIT(&v, uint32_t, rv_arena_allocator(&a));
  for (uint32_t i = 0; i < 500; i++) {
    assert_int_equal(RV_VEC_PUSH(&v, uint32_t, i), RV_OK);
  }
  /* The vector is the only block: it grew in place from the start. */
  assert_ptr_equal(v.data, buf);
  /* Once the buffer is full, growth fails cleanly and nothing is lost. */
  int rc = RV_OK;
  uint32_t i = 500;
  while (rc == RV_OK) {
    rc = RV_VEC_PUSH(&v, uint32_t, i);
    i += rc == RV_OK;
  }
  assert_int_equal(rc, RV_ENOMEM);
  assert_int_equal(v.len, i);
  for (uint32_t k = 0; k < i; k++) {
    assert_int_equal(*must(RV_VEC_AT(&v, uint32_t, k)), k);
  }
  rv_vec_free(&v); /* pops the block: the arena is empty again */
  rv_arena_stats st;
  rv_arena_stats_get(&a, &st);
  assert_int_equal(st.used, 0);
  rv_arena_free(&a);
}

/* One scripted workload; with the N-th allocation failing, every call must
 * fail cleanly and rv_arena_free() must return every chunk. */
static void workload(rv_arena *a) {
  for (int i = 0; i < 20; i++) {
    (void)rv_arena_alloc(a, 40 + (size_t)i * 13, 8);
  }
  rv_arena_mark m = rv_arena_checkpoint(a);
  (void)rv_arena_alloc(a, 2000, 64); /* its own chunk */
  (void)rv_arena_memdup(a, "abc", 3);
  rv_arena_rewind(a, m);
  rv_arena_reset_retain(a);
  for (int i = 0; i < 30; i++) {
    (void)rv_arena_alloc_array(a, 10, 8, 0);
  }
  const rv_alloc *al = rv_arena_allocator(a);
  void *p = rv_alloc_get(al, 10, 0);
  void *q = p ? rv_alloc_resize(al, p, 10, 900, 0) : NULL;
  if (q) {
    rv_alloc_free(al, q, 900);
  }
  rv_arena_reset(a);
  (void)rv_arena_alloc(a, 300, 0);
}

static void test_failing_allocator_loop(void **state) {
  (void)state;
  size_t n = 0;
  for (;; n++) {
    rv_alloc_failing f;
    rv_arena a;
    assert_int_equal(rv_arena_init(&a, rv_alloc_failing_init(&f, NULL, n), 256), RV_OK);
    workload(&a);
    rv_arena_free(&a);
    if (f.live_blocks != 0) {
      fail_msg("failing at allocation %zu leaked %zu chunks", n, f.live_blocks);
    }
    if (f.failures == 0) {
      break; /* the workload no longer reaches allocation n */
    }
  }
  assert_true(n > 5);
}

static void test_exported_symbols(void **state) {
  (void)state;
  /* The inline functions also exist as exported symbols. */
  void *(*alloc_fn)(rv_arena *, size_t, size_t) = rv_arena_alloc;
  rv_arena a;
  assert_int_equal(rv_arena_init(&a, NULL, 0), RV_OK);
  assert_non_null(alloc_fn(&a, 8, 8));
  assert_non_null(rv_arena_alloc_slow(&a, 8, 8));
  assert_null(rv_arena_alloc_slow(&a, 0, 8));
  rv_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_errors),
      cmocka_unit_test(test_alignment_and_contents),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_chunks_and_stats),
      cmocka_unit_test(test_fixed_buffer),
      cmocka_unit_test(test_rewind),
      cmocka_unit_test(test_rewind_bad_mark_panics),
      cmocka_unit_test(test_reset_and_retain),
      cmocka_unit_test(test_memdup_strdup),
      cmocka_unit_test(test_allocator_view),
      cmocka_unit_test(test_vec_on_arena),
      cmocka_unit_test(test_failing_allocator_loop),
      cmocka_unit_test(test_exported_symbols),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
