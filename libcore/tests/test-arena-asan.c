/* Proves that AddressSanitizer catches a touch of memory the arena has taken
 * back (rewound, reset, popped, or never handed out). Built and registered
 * only in ASan builds (see meson.build): elsewhere nothing could catch it.
 *
 * Each case runs in a forked child whose stderr is captured. A bad access
 * must kill the child with an ASan "use-after-poison" report; the control
 * case (a touch of live memory) must exit cleanly, which shows the harness
 * can tell the two apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rivet/core/arena.h>

/* The compiler must not drop the access: go through a volatile pointer. */
static void touch(void *p) {
  volatile unsigned char *v = p;
  v[0] = 1;
}

static void *rewound(rv_arena *a) {
  rv_arena_mark m = rv_arena_checkpoint(a);
  void *p = rv_arena_alloc(a, 32, 8);
  rv_arena_rewind(a, m);
  return p;
}

static void *rewound_chunk_tail(rv_arena *a) {
  /* The mark's chunk is left behind by a big block; rewinding releases
   * that block's chunk and poisons the rest of the mark's chunk. */
  rv_arena_mark m = rv_arena_checkpoint(a);
  unsigned char *p = rv_arena_alloc(a, 16, 8);
  (void)rv_arena_alloc(a, 100000, 8);
  rv_arena_rewind(a, m);
  return p;
}

static void *reset_block(rv_arena *a) {
  void *p = rv_arena_alloc(a, 32, 8);
  rv_arena_reset(a);
  return p;
}

static void *retained_block(rv_arena *a) {
  for (int i = 0; i < 100; i++) {
    (void)rv_arena_alloc(a, 1000, 8); /* several chunks */
  }
  void *p = rv_arena_alloc(a, 32, 8);
  rv_arena_reset_retain(a);
  return p;
}

static void *popped(rv_arena *a) {
  const rv_alloc *al = rv_arena_allocator(a);
  void *p = rv_alloc_get(al, 32, 8);
  rv_alloc_free(al, p, 32);
  return p;
}

static void *past_the_end(rv_arena *a) {
  unsigned char *p = rv_arena_alloc(a, 32, 8);
  return p + 40; /* inside the chunk, never handed out */
}

static void *live_block(rv_arena *a) {
  (void)rewound(a);
  return rv_arena_alloc(a, 32, 8);
}

/* Run make(a) in a child, touch what it returns; give back the exit status
 * and the child's stderr. */
static int run_child(void *(*make)(rv_arena *), char *err, size_t errsize) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    rv_arena a;
    if (rv_arena_init(&a, NULL, 4096) != 0) {
      _exit(3);
    }
    (void)rv_arena_alloc(&a, 24, 8); /* the first chunk exists */
    touch(make(&a));
    rv_arena_free(&a);
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while ((r = read(fds[0], err + n, errsize - 1 - n)) > 0) {
    n += (size_t)r;
    if (n == errsize - 1) {
      break;
    }
  }
  err[n] = '\0';
  close(fds[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void expect_caught(void *(*make)(rv_arena *), const char *what) {
  static char err[16384];
  int status = run_child(make, err, sizeof err);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    fail_msg("%s: the access was not reported", what);
  }
  if (!strstr(err, "use-after-poison")) {
    fail_msg("%s: the child failed without an ASan use-after-poison report:\n%s", what, err);
  }
}

static void test_rewound(void **state) {
  (void)state;
  expect_caught(rewound, "rewound block");
  expect_caught(rewound_chunk_tail, "rewound chunk tail");
}

static void test_reset(void **state) {
  (void)state;
  expect_caught(reset_block, "reset block");
  expect_caught(retained_block, "block of a retained chunk");
}

static void test_popped_and_unallocated(void **state) {
  (void)state;
  expect_caught(popped, "block popped through the allocator view");
  expect_caught(past_the_end, "memory never handed out");
}

static void test_control_live_block(void **state) {
  (void)state;
  static char err[16384];
  int status = run_child(live_block, err, sizeof err);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) != 0) {
    fail_msg("touching a live block was reported:\n%s", err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rewound),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_popped_and_unallocated),
      cmocka_unit_test(test_control_live_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
