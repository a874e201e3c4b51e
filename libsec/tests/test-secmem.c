/* Tests for secmem. This program compiles secmem.c with fault injection
 * (src/secmem-sys.h): the rv_secmem_fault_* functions below pass each
 * memory system call through to the kernel, or fail the one a test asked
 * for, so every fail-closed path is provoked for real. Faults probe pages
 * in a forked child (a fault kills the child, not the test). */
#define _DEFAULT_SOURCE /* madvise, mlock, syscall: outside strict POSIX */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "secmem-sys.h"
#include <rivet/core/alloc.h>
#include <rivet/core/err.h>
#include <rivet/sec/secmem.h>

#if defined(__SANITIZE_THREAD__)
#define SANITIZE_THREAD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SANITIZE_THREAD 1
#endif
#endif
#ifndef SANITIZE_THREAD
#define SANITIZE_THREAD 0
#endif

/* ---- fault injection ---------------------------------------------------- */

enum { F_MMAP, F_MUNMAP, F_MPROTECT, F_MADVISE, F_MLOCK, F_MUNLOCK, F_FOPEN, F_N };
static long fault_at[F_N]; /* call index (from the last arm()) to fail; -1 none */
static long calls[F_N];

static void disarm(void) {
  for (int i = 0; i < F_N; i++) {
    fault_at[i] = -1;
    calls[i] = 0;
  }
}

static void arm(int which, long at) {
  disarm();
  fault_at[which] = at;
}

static int hit(int which) { return calls[which]++ == fault_at[which]; }

void *rv_secmem_fault_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (hit(F_MMAP)) {
    errno = ENOMEM;
    return MAP_FAILED;
  }
  return mmap(addr, len, prot, flags, fd, off);
}
int rv_secmem_fault_munmap(void *addr, size_t len) {
  (void)hit(F_MUNMAP);
  return munmap(addr, len);
}
int rv_secmem_fault_mprotect(void *addr, size_t len, int prot) {
  if (hit(F_MPROTECT)) {
    errno = ENOMEM;
    return -1;
  }
  return mprotect(addr, len, prot);
}
int rv_secmem_fault_madvise(void *addr, size_t len, int advice) {
  if (hit(F_MADVISE)) {
    errno = EINVAL;
    return -1;
  }
  return madvise(addr, len, advice);
}
int rv_secmem_fault_mlock(const void *addr, size_t len) {
  if (hit(F_MLOCK)) {
    errno = ENOMEM;
    return -1;
  }
  return mlock(addr, len);
}
int rv_secmem_fault_munlock(const void *addr, size_t len) {
  (void)hit(F_MUNLOCK);
  return munlock(addr, len);
}
FILE *rv_secmem_fault_fopen(const char *path, const char *mode) {
  if (hit(F_FOPEN)) {
    errno = EACCES;
    return NULL;
  }
  return fopen(path, mode);
}

/* ---- helpers -------------------------------------------------------------- */

static rv_secmem *make(unsigned flags) {
  rv_secmem *pool = NULL;
  rv_secmem_config cfg = {.flags = flags};
  assert_int_equal(rv_secmem_create(&pool, &cfg), RV_OK);
  return pool;
}

static void *get(rv_secmem *pool, size_t n) {
  void *p = NULL;
  assert_int_equal(rv_secmem_alloc(pool, n, &p), RV_OK);
  assert_non_null(p);
  return p;
}

static void child_segv(int sig) {
  (void)sig;
  _exit(77);
}

/* Does touching addr fault? Asked in a forked child. */
static int faults(volatile unsigned char *addr, int write) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGSEGV, child_segv);
    signal(SIGBUS, child_segv);
    if (write) {
      addr[0] = 1;
    } else {
      (void)addr[0];
    }
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    return 0;
  }
  return (WIFEXITED(st) && WEXITSTATUS(st) == 77) || (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static unsigned char *page_of(void *p) {
  unsigned char *c = p;
  return c - ((uintptr_t)c & (page_size() - 1));
}

/* ---- tests -------------------------------------------------------------- */

static void test_alloc_free(void **state) {
  (void)state;
  rv_secmem *pool = make(0);
  const size_t sizes[] = {1, 15, 16, 32, 33, 100, 1000, 2016, 2017, 5000, 100000};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  unsigned char *p[NS];
  for (size_t i = 0; i < NS; i++) {
    p[i] = get(pool, sizes[i]);
    assert_int_equal((uintptr_t)p[i] % RV_SECMEM_ALIGN, 0);
    for (size_t k = 0; k < sizes[i]; k++) {
      assert_int_equal(p[i][k], 0); /* zero-filled */
    }
    memset(p[i], (int)(i + 1), sizes[i]);
    size_t n = 0;
    assert_int_equal(rv_secmem_size(pool, p[i], &n), RV_OK);
    assert_int_equal(n, sizes[i]);
  }
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, NS);
  assert_true(st.locked_bytes > 0);
  assert_int_equal(st.unlocked_bytes, 0);
  assert_int_equal(st.guard_pages, 2 * st.slabs);
  rv_secmem_audit_report r;
  assert_int_equal(rv_secmem_audit(pool, &r), RV_OK);
  assert_int_equal(r.secrets, NS);
  assert_int_equal(r.guard_pages, 2 * st.slabs);
  assert_int_equal(r.guard_bad, 0);
  for (size_t i = 0; i < NS; i++) {
    for (size_t k = 0; k < sizes[i]; k++) {
      assert_int_equal(p[i][k], (unsigned char)(i + 1)); /* no secret clobbered another */
    }
    assert_int_equal(rv_secmem_free(pool, p[i]), RV_OK);
  }
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 0);
  assert_int_equal(st.live_bytes, 0);
  /* Freed memory is wiped: the same slot comes back, all zero. */
  unsigned char *a = get(pool, 32);
  memset(a, 0xee, 32);
  assert_int_equal(rv_secmem_free(pool, a), RV_OK);
  const volatile unsigned char *still = a; /* shared slab: still mapped */
  for (size_t k = 0; k < 32; k++) {
    assert_int_equal(still[k], 0);
  }
  unsigned char *b = get(pool, 32);
  assert_ptr_equal(a, b);
  assert_int_equal(rv_secmem_free(pool, b), RV_OK);
  assert_int_equal(rv_secmem_free(pool, NULL), RV_OK);
  rv_secmem_destroy(pool);
  rv_secmem_destroy(NULL);
}

static void test_bad_arguments(void **state) {
  (void)state;
  rv_secmem *pool = NULL;
  rv_secmem_config cfg = {.flags = 1u << 20};
  assert_int_equal(rv_secmem_create(NULL, NULL), RV_EINVAL);
  assert_int_equal(rv_secmem_create(&pool, &cfg), RV_EINVAL);
  cfg.flags = 0;
  cfg.slab_pages = 5000;
  assert_int_equal(rv_secmem_create(&pool, &cfg), RV_EINVAL);
  assert_null(pool);
  pool = make(0);
  void *p = NULL;
  assert_int_equal(rv_secmem_alloc(NULL, 8, &p), RV_EINVAL);
  assert_int_equal(rv_secmem_alloc(pool, 8, NULL), RV_EINVAL);
  assert_int_equal(rv_secmem_alloc(pool, 0, &p), RV_EINVAL);
  assert_int_equal(rv_secmem_alloc(pool, SIZE_MAX, &p), RV_EOVERFLOW);
  assert_int_equal(rv_secmem_alloc(pool, SIZE_MAX / 2 + 1, &p), RV_EOVERFLOW);
  assert_int_equal(rv_secmem_alloc(pool, SIZE_MAX / 2 - 8, &p), RV_ENOMEM); /* mmap refuses */
  assert_null(p);
  unsigned char *s = get(pool, 40);
  unsigned char local[64];
  assert_int_equal(rv_secmem_free(pool, local), RV_EINVAL); /* not ours */
  assert_int_equal(rv_secmem_free(pool, s + 1), RV_EINVAL); /* interior */
  assert_int_equal(rv_secmem_free(NULL, s), RV_EINVAL);
  size_t n;
  assert_int_equal(rv_secmem_size(pool, local, &n), RV_EINVAL);
  assert_int_equal(rv_secmem_size(pool, s, NULL), RV_EINVAL);
  assert_int_equal(rv_secmem_size(NULL, s, &n), RV_EINVAL);
  assert_int_equal(rv_secmem_open(NULL, s), RV_EINVAL);
  assert_int_equal(rv_secmem_open(pool, local), RV_EINVAL);
  assert_int_equal(rv_secmem_close(NULL, s), RV_EINVAL);
  assert_int_equal(rv_secmem_close(pool, local), RV_EINVAL);
  assert_int_equal(rv_secmem_close(pool, s), RV_ESTATE); /* not open */
  for (int i = 0; i < 255; i++) {
    assert_int_equal(rv_secmem_open(pool, s), RV_OK);
  }
  assert_int_equal(rv_secmem_open(pool, s), RV_ELIMIT);
  for (int i = 0; i < 255; i++) {
    assert_int_equal(rv_secmem_close(pool, s), RV_OK);
  }
  assert_int_equal(rv_secmem_free(pool, s), RV_OK);
  assert_int_equal(rv_secmem_free(pool, s), RV_ESTATE); /* double free */
  assert_int_equal(rv_secmem_open(pool, s), RV_EINVAL);
  assert_int_equal(rv_secmem_size(pool, s, &n), RV_EINVAL);
  /* A large secret's slab is gone after free: its pointer is unknown. */
  unsigned char *big = get(pool, 9000);
  assert_int_equal(rv_secmem_free(pool, big), RV_OK);
  assert_int_equal(rv_secmem_free(pool, big), RV_EINVAL);
  rv_secmem_destroy(pool);
}

static void test_canaries(void **state) {
  (void)state;
  rv_secmem *pool = make(0);
  char msg[200];
  /* One byte past the end. */
  unsigned char *a = get(pool, 20);
  unsigned char *b = get(pool, 20);
  a[20] = 0x41;
  rv_secmem_audit_report r;
  assert_int_equal(rv_secmem_audit(pool, &r), RV_EVERIFY);
  assert_int_equal(r.canary_bad, 1);
  assert_int_equal(r.secrets, 2);
  assert_int_equal(rv_secmem_free(pool, a), RV_EVERIFY);
  assert_true(rv_secmem_last_error(pool, msg, sizeof msg) > 0);
  assert_non_null(strstr(msg, "canary"));
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.retired, 1);
  assert_int_equal(st.live, 1);
  /* The retired slot is never handed out again. */
  unsigned char *c = get(pool, 20);
  assert_ptr_not_equal(c, a);
  /* One byte before the start. */
  b[-1] = 0x42;
  assert_int_equal(rv_secmem_free(pool, b), RV_EVERIFY);
  assert_int_equal(rv_secmem_free(pool, c), RV_OK);
  /* Large secrets have canaries too. */
  unsigned char *big = get(pool, 10000);
  big[10000] = 1;
  assert_int_equal(rv_secmem_free(pool, big), RV_EVERIFY);
  assert_int_equal(rv_secmem_audit(pool, NULL), RV_OK);
  rv_secmem_destroy(pool);
}

static void test_guard_pages(void **state) {
  (void)state;
  rv_secmem *pool = make(0);
  unsigned char *first = get(pool, 32); /* first slot of a fresh slab */
  unsigned char *lead_guard = page_of(first) - page_size();
  assert_false(faults(first, 1));
  assert_true(faults(lead_guard + page_size() - 1, 0)); /* just below the slab */
  unsigned char *big = get(pool, 3 * page_size());
  size_t data_pages =
      (3 * page_size() + (size_t)2 * RV_SECMEM_CANARY + page_size() - 1) / page_size();
  assert_true(faults(page_of(big) + data_pages * page_size(), 1)); /* just above */
  assert_true(faults(page_of(big) - 1, 0));
  /* The audit sees a guard page that is not PROT_NONE. */
  assert_int_equal(mprotect(lead_guard, page_size(), PROT_READ), 0);
  rv_secmem_audit_report r;
  assert_int_equal(rv_secmem_audit(pool, &r), RV_EVERIFY);
  assert_int_equal(r.guard_bad, 1);
  assert_int_equal(mprotect(lead_guard, page_size(), PROT_NONE), 0);
  assert_int_equal(rv_secmem_audit(pool, &r), RV_OK);
  assert_int_equal(r.guard_pages, 4);
  arm(F_FOPEN, 0);
  assert_int_equal(rv_secmem_audit(pool, &r), RV_EIO);
  disarm();
  assert_int_equal(rv_secmem_free(pool, big), RV_OK);
  assert_int_equal(rv_secmem_free(pool, first), RV_OK);
  rv_secmem_destroy(pool);
}

static void test_noaccess(void **state) {
  (void)state;
  rv_secmem *pool = make(RV_SECMEM_NOACCESS);
  unsigned char *a = get(pool, 32);
  unsigned char *b = get(pool, 32); /* same page */
  unsigned char *big = get(pool, 6000);
  assert_true(faults(a, 0)); /* closed after alloc */
  assert_true(faults(big, 0));
  assert_int_equal(rv_secmem_open(pool, a), RV_OK);
  memset(a, 7, 32);
  assert_false(faults(b, 0)); /* the page is open while any secret on it is */
  assert_int_equal(rv_secmem_open(pool, b), RV_OK);
  assert_int_equal(rv_secmem_close(pool, a), RV_OK);
  assert_false(faults(a, 0));
  assert_int_equal(rv_secmem_close(pool, b), RV_OK);
  assert_true(faults(a, 0));
  assert_int_equal(rv_secmem_open(pool, big), RV_OK);
  memset(big, 9, 6000);
  assert_int_equal(rv_secmem_close(pool, big), RV_OK);
  assert_true(faults(big + 5999, 1));
  rv_secmem_audit_report r;
  assert_int_equal(rv_secmem_audit(pool, &r), RV_OK); /* opens closed pages to check */
  assert_int_equal(r.secrets, 3);
  assert_true(faults(a, 0));
  assert_int_equal(rv_secmem_open(pool, a), RV_OK);
  assert_int_equal(a[31], 7);
  /* Free works on open and closed secrets and leaves pages closed. */
  assert_int_equal(rv_secmem_free(pool, a), RV_OK);
  assert_true(faults(b, 0));
  assert_int_equal(rv_secmem_free(pool, b), RV_OK);
  assert_int_equal(rv_secmem_free(pool, big), RV_OK);

  /* mprotect failures in every place a NOACCESS pool calls it. */
  a = get(pool, 32);
  arm(F_MPROTECT, 0);
  assert_int_equal(rv_secmem_open(pool, a), RV_ENOMEM);
  arm(F_MPROTECT, 0);
  assert_int_equal(rv_secmem_free(pool, a), RV_ENOMEM); /* not released */
  disarm();
  assert_int_equal(rv_secmem_open(pool, a), RV_OK);
  arm(F_MPROTECT, 0);
  assert_int_equal(rv_secmem_close(pool, a), RV_ENOMEM); /* closed, page still open */
  disarm();
  assert_false(faults(a, 0));
  assert_int_equal(rv_secmem_close(pool, a), RV_ESTATE);
  assert_int_equal(rv_secmem_open(pool, a), RV_OK); /* a later close repairs it */
  assert_int_equal(rv_secmem_close(pool, a), RV_OK);
  assert_true(faults(a, 0));
  arm(F_MPROTECT, 0);
  assert_int_equal(rv_secmem_audit(pool, NULL), RV_ENOMEM);
  arm(F_MPROTECT, 1);
  assert_int_equal(rv_secmem_audit(pool, NULL), RV_ENOMEM);
  disarm();
  assert_false(faults(a, 0));                           /* the failed re-close left it open */
  assert_int_equal(rv_secmem_audit(pool, NULL), RV_OK); /* and the next audit closes it */
  assert_true(faults(a, 0));
  assert_int_equal(rv_secmem_close(pool, a), RV_ESTATE);
  arm(F_MPROTECT, 1); /* the wipe happened; only re-closing failed */
  assert_int_equal(rv_secmem_free(pool, a), RV_ENOMEM);
  disarm();
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 0);
  void *p = NULL;
  arm(F_MPROTECT, 0); /* opening the page to write canaries */
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_ENOMEM);
  arm(F_MPROTECT, 1); /* closing it again */
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_ENOMEM);
  /* A new large slab calls mprotect 4 times: open data, close it, open
   * to write the canaries, close again. Fail each of the last three. */
  for (long k = 1; k <= 3; k++) {
    arm(F_MPROTECT, k);
    assert_int_equal(rv_secmem_alloc(pool, 8000, &p), RV_ENOMEM);
  }
  disarm();
  assert_null(p);
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 0);
  rv_secmem_destroy(pool);
}

static void test_fail_closed(void **state) {
  (void)state;
  char msg[400];
  void *p = NULL;
  rv_secmem *pool = make(0);
  rv_secmem_stats st;
  arm(F_MMAP, 0);
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_ENOMEM);
  arm(F_MPROTECT, 0);
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_ENOMEM);
  (void)rv_secmem_last_error(pool, msg, sizeof msg);
  assert_non_null(strstr(msg, "vm.max_map_count"));
  arm(F_MADVISE, 0);
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_EUNSUPPORTED);
  (void)rv_secmem_last_error(pool, msg, sizeof msg);
  assert_non_null(strstr(msg, "RV_SECMEM_ALLOW_DUMPABLE"));
  arm(F_MLOCK, 0);
  assert_int_equal(rv_secmem_alloc(pool, 32, &p), RV_EPERM);
  (void)rv_secmem_last_error(pool, msg, sizeof msg);
  assert_non_null(strstr(msg, "RLIMIT_MEMLOCK"));
  assert_non_null(strstr(msg, "ulimit -l"));
  assert_non_null(strstr(msg, "RV_SECMEM_ALLOW_UNLOCKED"));
  assert_int_equal(calls[F_MUNMAP], 1); /* the slab was unmapped again */
  arm(F_MLOCK, 0);
  assert_int_equal(rv_secmem_alloc(pool, 50000, &p), RV_EPERM); /* large, same rule */
  disarm();
  assert_null(p);
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.slabs, 0);
  assert_int_equal(st.mapped_bytes, 0);
  /* Truncated message copies. */
  char tiny[5];
  size_t full = rv_secmem_last_error(pool, tiny, sizeof tiny);
  assert_true(full > 4);
  assert_int_equal(strlen(tiny), 4);
  assert_int_equal(rv_secmem_last_error(pool, NULL, 0), full);
  rv_secmem_destroy(pool);

  /* Policies the caller chose explicitly. */
  pool = make(RV_SECMEM_ALLOW_UNLOCKED | RV_SECMEM_ALLOW_DUMPABLE);
  arm(F_MLOCK, 0);
  fault_at[F_MADVISE] = 0;
  p = get(pool, 32);
  disarm();
  rv_secmem_stats_get(pool, &st);
  assert_true(st.unlocked_bytes > 0);
  assert_true(st.dumpable_bytes > 0);
  assert_int_equal(st.locked_bytes, 0);
  assert_int_equal(rv_secmem_free(pool, p), RV_OK);
  rv_secmem_destroy(pool);

  /* max_bytes caps what a pool maps. */
  rv_secmem_config cfg = {.max_bytes = 18 * page_size(), .slab_pages = 16};
  assert_int_equal(rv_secmem_create(&pool, &cfg), RV_OK);
  p = get(pool, 32);
  void *q = NULL;
  assert_int_equal(rv_secmem_alloc(pool, 200, &q), RV_ELIMIT); /* another class */
  assert_int_equal(rv_secmem_alloc(pool, 1u << 30, &q), RV_ELIMIT);
  (void)rv_secmem_last_error(pool, msg, sizeof msg);
  assert_non_null(strstr(msg, "max_bytes"));
  assert_int_equal(rv_secmem_free(pool, p), RV_OK);
  rv_secmem_destroy(pool);
}

/* A real RLIMIT_MEMLOCK failure, without injection: in a child, give up
 * CAP_IPC_LOCK (which lifts the limit), lower the limit, allocate. */
static void test_real_memlock_limit(void **state) {
  (void)state;
#if RV_HAVE_ASAN || SANITIZE_THREAD
  /* The sanitizers replace mlock with a no-op that succeeds. */
  skip();
#endif
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) == 0) {
      d[0].effective &= ~(1u << CAP_IPC_LOCK);
      d[0].permitted &= ~(1u << CAP_IPC_LOCK);
      (void)syscall(SYS_capset, &h, d);
    }
    struct rlimit rl = {(rlim_t)64 * 1024, (rlim_t)64 * 1024};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
      _exit(2);
    }
    rv_secmem *pool = NULL;
    rv_secmem_config cfg = {.slab_pages = 64}; /* 256 KiB slabs > 64 KiB limit */
    if (rv_secmem_create(&pool, &cfg) != RV_OK) {
      _exit(3);
    }
    void *p = NULL;
    int rc = rv_secmem_alloc(pool, 32, &p);
    char msg[400];
    (void)rv_secmem_last_error(pool, msg, sizeof msg);
    fprintf(stderr, "child: %s\n", msg);
    _exit(rc == RV_EPERM && strstr(msg, "RLIMIT_MEMLOCK is 64 KiB") ? 0 : 4);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_failing_allocator(void **state) {
  (void)state;
  for (size_t n = 0;; n++) {
    rv_alloc_failing f;
    rv_secmem_config cfg = {.alloc = rv_alloc_failing_init(&f, NULL, n)};
    rv_secmem *pool = NULL;
    int rc = rv_secmem_create(&pool, &cfg);
    void *p[40] = {0};
    size_t got = 0;
    for (size_t i = 0; rc == RV_OK && i < 40; i++) {
      /* 40 large secrets need 40 slab records: the slab array grows. */
      rc = rv_secmem_alloc(pool, i % 2 ? 3000 : 16 << (i % 6), &p[i]);
      got += rc == RV_OK;
    }
    if (pool != NULL) {
      for (size_t i = 0; i < got; i++) {
        assert_int_equal(rv_secmem_free(pool, p[i]), RV_OK);
      }
      rv_secmem_destroy(pool);
    }
    assert_int_equal(f.live_blocks, 0);
    if (rc == RV_OK) {
      assert_true(n > 5);
      break;
    }
    assert_int_equal(rc, RV_ENOMEM);
  }
}

/* 100,000 live 32-byte secrets, every guard page verified PROT_NONE by the
 * kernel (or, where locked memory runs out, a clean RV_EPERM). */
static void test_many_live(void **state) {
  (void)state;
  enum { N = 100000 };
  rv_secmem *pool = make(0);
  void **p = calloc(N, sizeof *p);
  assert_non_null(p);
  size_t got = 0;
  int rc = RV_OK;
  while (got < N && (rc = rv_secmem_alloc(pool, 32, &p[got])) == RV_OK) {
    memset(p[got], (int)(got & 0xff), 32);
    got++;
  }
  if (rc != RV_OK) {
    char msg[400];
    (void)rv_secmem_last_error(pool, msg, sizeof msg);
    print_message("stopped at %zu live secrets: %s\n", got, msg);
    assert_int_equal(rc, RV_EPERM);
    assert_non_null(strstr(msg, "RLIMIT_MEMLOCK"));
  }
  rv_secmem_audit_report r;
  assert_int_equal(rv_secmem_audit(pool, &r), RV_OK);
  assert_int_equal(r.secrets, got);
  assert_int_equal(r.guard_bad, 0);
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(r.guard_pages, st.guard_pages);
  print_message("%zu live secrets in %zu slabs, %zu guard pages verified PROT_NONE\n", got,
                st.slabs, r.guard_pages);
  for (size_t i = 0; i < got; i++) {
    assert_int_equal(((unsigned char *)p[i])[31], (unsigned char)(i & 0xff));
    assert_int_equal(rv_secmem_free(pool, p[i]), RV_OK);
  }
  free(p);
  rv_secmem_destroy(pool);
}

struct worker {
  rv_secmem *pool;
  unsigned id;
  int bad;
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  unsigned char *mine[16] = {0};
  for (unsigned round = 0; round < 4000; round++) {
    unsigned k = round % 16;
    if (mine[k] != NULL) {
      size_t n = 0;
      w->bad |= rv_secmem_size(w->pool, mine[k], &n) != RV_OK || n != 24 + k;
      w->bad |= mine[k][n - 1] != (unsigned char)(w->id + k);
      w->bad |= rv_secmem_free(w->pool, mine[k]) != RV_OK;
      mine[k] = NULL;
    }
    void *p = NULL;
    if (rv_secmem_alloc(w->pool, 24 + k, &p) != RV_OK) {
      w->bad = 1;
      break;
    }
    mine[k] = p;
    memset(p, (int)(w->id + k), 24 + k);
  }
  for (unsigned k = 0; k < 16; k++) {
    w->bad |= rv_secmem_free(w->pool, mine[k]) != RV_OK;
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  rv_secmem *pool = make(0);
  pthread_t t[4];
  struct worker w[4];
  for (unsigned i = 0; i < 4; i++) {
    w[i] = (struct worker){pool, i * 40, 0};
    assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  }
  for (unsigned i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[i].bad, 0);
  }
  rv_secmem_stats st;
  rv_secmem_stats_get(pool, &st);
  assert_int_equal(st.live, 0);
  assert_int_equal(rv_secmem_audit(pool, NULL), RV_OK);
  rv_secmem_destroy(pool);
}

int main(void) {
  disarm();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_free),         cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_canaries),           cmocka_unit_test(test_guard_pages),
      cmocka_unit_test(test_noaccess),           cmocka_unit_test(test_fail_closed),
      cmocka_unit_test(test_real_memlock_limit), cmocka_unit_test(test_failing_allocator),
      cmocka_unit_test(test_many_live),          cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
