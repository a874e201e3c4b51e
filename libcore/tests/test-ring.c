/* Tests for ring: byte and record APIs, wrap-around at every offset,
 * record boundaries, index overflow, every error code, a signal-handler
 * producer, and producer/consumer stress (run under TSan in suite
 * 'concurrent'). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <rivet/core/err.h>
#include <rivet/core/ring.h>

/* ---- helpers ------------------------------------------------------------- */

/* Byte expected at stream position i: differs for offsets of 1 and of 256. */
static uint8_t pattern(size_t i) { return (uint8_t)(i ^ (i >> 8) ^ (i >> 16) ^ 0x5a); }

static void fill(uint8_t *p, size_t start, size_t n) {
  for (size_t i = 0; i < n; i++) {
    p[i] = pattern(start + i);
  }
}

static uint64_t rng_next(uint64_t *s) {
  /* xorshift64*: small, deterministic, good enough for sizes. */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Move the ring's indices (test-only access to private fields) so the next
 * byte goes to index \p at; the ring must be empty. */
static void set_index(rv_ring *r, size_t at) {
  atomic_store(&r->head, at);
  atomic_store(&r->tail, at);
  r->head_cache = at;
  r->tail_cache = at;
}

/* ---- init and byte API --------------------------------------------------- */

static void test_init(void **state) {
  (void)state;
  uint8_t storage[64];
  rv_ring r;
  rv_ring before;
  memset(&r, 0xee, sizeof r);
  memcpy(&before, &r, sizeof r);
  const size_t bad[] = {0, 1, 3, 6, 63};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(rv_ring_init(&r, storage, bad[i]), RV_EINVAL);
  }
  assert_int_equal(rv_ring_init(&r, NULL, 64), RV_EINVAL);
  assert_memory_equal(&r, &before, sizeof r); /* untouched on error */
  assert_int_equal(rv_ring_init(&r, storage, 2), RV_OK);
  assert_int_equal(rv_ring_capacity(&r), 2);
  assert_int_equal(rv_ring_init(&r, storage, 64), RV_OK);
  assert_int_equal(rv_ring_capacity(&r), 64);
  assert_int_equal(rv_ring_used(&r), 0);
  assert_int_equal(rv_ring_space(&r), 64);
}

static void test_bytes_basic(void **state) {
  (void)state;
  uint8_t storage[16];
  uint8_t in[32];
  uint8_t out[32];
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, sizeof storage), RV_OK);
  fill(in, 0, sizeof in);
  assert_int_equal(rv_ring_read(&r, out, 4), 0); /* empty */
  assert_int_equal(rv_ring_peek(&r, out, 4), 0);
  assert_int_equal(rv_ring_discard(&r, 4), 0);
  assert_int_equal(rv_ring_write(&r, NULL, 0), 0);
  assert_int_equal(rv_ring_write(&r, in, 10), 10);
  assert_int_equal(rv_ring_used(&r), 10);
  assert_int_equal(rv_ring_write(&r, in + 10, 22), 6); /* short write: full */
  assert_int_equal(rv_ring_space(&r), 0);
  assert_int_equal(rv_ring_write(&r, in, 1), 0);
  assert_int_equal(rv_ring_peek(&r, out, 3), 3);
  assert_memory_equal(out, in, 3);
  assert_int_equal(rv_ring_used(&r), 16); /* peek consumed nothing */
  assert_int_equal(rv_ring_discard(&r, 2), 2);
  assert_int_equal(rv_ring_read(&r, out, 32), 14); /* short read */
  assert_memory_equal(out, in + 2, 14);
  assert_int_equal(rv_ring_used(&r), 0);
  assert_int_equal(rv_ring_discard(&r, SIZE_MAX), 0);
  rv_ring_write(&r, in, 5);
  rv_ring_reset(&r);
  assert_int_equal(rv_ring_used(&r), 0);
  assert_int_equal(rv_ring_read(&r, out, 5), 0);
}

/* Every start offset, every length: data that straddles the end comes back
 * intact, through the copying and the zero-copy calls. */
static void test_bytes_wrap_every_offset(void **state) {
  (void)state;
  enum { CAP = 16 };
  uint8_t storage[CAP];
  uint8_t in[CAP];
  uint8_t out[CAP];
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, CAP), RV_OK);
  for (size_t start = 0; start < CAP; start++) {
    for (size_t len = 1; len <= CAP; len++) {
      set_index(&r, start);
      fill(in, start * 100 + len, len);
      assert_int_equal(rv_ring_write(&r, in, len), len);
      memset(out, 0, sizeof out);
      assert_int_equal(rv_ring_read(&r, out, CAP), len);
      assert_memory_equal(out, in, len);

      /* The same through spans: at most two pieces each way. */
      set_index(&r, start);
      size_t done = 0;
      for (int piece = 0; piece < 2 && done < len; piece++) {
        void *w;
        size_t n = rv_ring_write_span(&r, &w);
        assert_true(n > 0);
        if (n > len - done) {
          n = len - done;
        }
        memcpy(w, in + done, n);
        assert_int_equal(rv_ring_write_commit(&r, n), RV_OK);
        done += n;
      }
      assert_int_equal(done, len);
      done = 0;
      for (int piece = 0; piece < 2 && done < len; piece++) {
        const void *p;
        size_t n = rv_ring_read_span(&r, &p);
        assert_true(n > 0);
        assert_memory_equal(p, in + done, n);
        assert_int_equal(rv_ring_read_commit(&r, n), RV_OK);
        done += n;
      }
      assert_int_equal(done, len);
      assert_int_equal(rv_ring_used(&r), 0);
    }
  }
}

static void test_spans(void **state) {
  (void)state;
  uint8_t storage[8];
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, sizeof storage), RV_OK);
  const void *rp = &r;
  void *wp = &r;
  assert_int_equal(rv_ring_read_span(&r, &rp), 0);
  assert_null(rp);
  assert_int_equal(rv_ring_read_commit(&r, 1), RV_ERANGE);
  assert_int_equal(rv_ring_read_commit(&r, 0), RV_OK);
  set_index(&r, 6);
  assert_int_equal(rv_ring_write_span(&r, &wp), 2); /* up to the end only */
  assert_ptr_equal(wp, storage + 6);
  assert_int_equal(rv_ring_write_commit(&r, 9), RV_ERANGE); /* more than capacity */
  assert_int_equal(rv_ring_used(&r), 0);                    /* nothing published */
  memcpy(wp, "ab", 2);
  assert_int_equal(rv_ring_write_commit(&r, 2), RV_OK);
  assert_int_equal(rv_ring_write_span(&r, &wp), 6); /* the wrapped rest */
  assert_ptr_equal(wp, storage);
  memcpy(wp, "cdefgh", 6);
  assert_int_equal(rv_ring_write_commit(&r, 6), RV_OK);
  assert_int_equal(rv_ring_write_span(&r, &wp), 0);
  assert_null(wp);
  assert_int_equal(rv_ring_write_commit(&r, 1), RV_ERANGE);
  assert_int_equal(rv_ring_read_span(&r, &rp), 2);
  assert_memory_equal(rp, "ab", 2);
  assert_int_equal(rv_ring_read_commit(&r, 9), RV_ERANGE);
  assert_int_equal(rv_ring_read_commit(&r, 3), RV_OK); /* beyond the span is fine */
  assert_int_equal(rv_ring_read_span(&r, &rp), 5);
  assert_memory_equal(rp, "defgh", 5);
  assert_int_equal(rv_ring_read_commit(&r, 5), RV_OK);
  assert_int_equal(rv_ring_used(&r), 0);
}

/* The free-running indices wrap around SIZE_MAX without losing a byte. */
static void test_index_overflow(void **state) {
  (void)state;
  uint8_t storage[32];
  uint8_t in[20];
  uint8_t out[20];
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, sizeof storage), RV_OK);
  set_index(&r, SIZE_MAX - 7);
  for (size_t round = 0; round < 8; round++) {
    fill(in, round, sizeof in);
    assert_int_equal(rv_ring_write(&r, in, sizeof in), sizeof in);
    assert_int_equal(rv_ring_used(&r), sizeof in);
    assert_int_equal(rv_ring_space(&r), 32 - sizeof in);
    assert_int_equal(rv_ring_read(&r, out, sizeof out), sizeof out);
    assert_memory_equal(in, out, sizeof in);
  }
  set_index(&r, SIZE_MAX - 2);
  assert_int_equal(rv_ring_rec_push(&r, "record", 6), RV_OK);
  size_t len = 0;
  char buf[8];
  assert_int_equal(rv_ring_rec_pop(&r, buf, sizeof buf, &len), RV_OK);
  assert_int_equal(len, 6);
  assert_memory_equal(buf, "record", 6);
}

/* ---- record API ---------------------------------------------------------- */

static void test_records_basic(void **state) {
  (void)state;
  uint8_t storage[32];
  char buf[32];
  size_t len = 99;
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, sizeof storage), RV_OK);
  assert_int_equal(rv_ring_rec_max(&r), 28);
  assert_int_equal(rv_ring_rec_pop(&r, buf, sizeof buf, &len), RV_EEMPTY);
  assert_int_equal(len, 99);
  assert_int_equal(rv_ring_rec_next(&r, &len), RV_EEMPTY);
  assert_int_equal(rv_ring_rec_drop(&r), RV_EEMPTY);
  rv_slice v[2];
  assert_int_equal(rv_ring_rec_view(&r, v), RV_EEMPTY);

  assert_int_equal(rv_ring_rec_push(&r, "hello", 5), RV_OK);
  assert_int_equal(rv_ring_rec_push(&r, NULL, 0), RV_OK); /* empty record */
  assert_int_equal(rv_ring_rec_push(&r, "0123456789ab", 12), RV_OK);
  assert_int_equal(rv_ring_used(&r), 5 + 0 + 12 + 3 * RV_RING_REC_HEADER);
  /* 3 bytes left: a record of 0 bytes needs 4. Nothing is written. */
  assert_int_equal(rv_ring_rec_push(&r, NULL, 0), RV_EFULL);
  assert_int_equal(rv_ring_rec_push(&r, "x", 1), RV_EFULL);
  assert_int_equal(rv_ring_used(&r), 29);
  assert_int_equal(rv_ring_rec_push(&r, NULL, 3), RV_EINVAL);
  assert_int_equal(rv_ring_rec_push(&r, buf, 29), RV_ELIMIT); /* never fits */
  assert_int_equal(rv_ring_rec_push(&r, buf, SIZE_MAX), RV_ELIMIT);

  assert_int_equal(rv_ring_rec_next(&r, &len), RV_OK);
  assert_int_equal(len, 5);
  assert_int_equal(rv_ring_rec_pop(&r, buf, 4, &len), RV_ERANGE); /* too small */
  assert_int_equal(len, 5);
  assert_int_equal(rv_ring_rec_pop(&r, NULL, 0, &len), RV_ERANGE);
  assert_int_equal(rv_ring_rec_peek(&r, buf, 5, &len), RV_OK);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(rv_ring_rec_pop(&r, buf, 5, &len), RV_OK);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(rv_ring_rec_pop(&r, NULL, 0, &len), RV_OK);
  assert_int_equal(len, 0);
  assert_int_equal(rv_ring_rec_view(&r, v), RV_OK);
  assert_int_equal(v[0].len + v[1].len, 12);
  assert_memory_equal(v[0].ptr, "0123456789ab", v[0].len);
  assert_int_equal(rv_ring_rec_drop(&r), RV_OK);
  assert_int_equal(rv_ring_used(&r), 0);
  assert_int_equal(rv_ring_rec_drop(&r), RV_EEMPTY);

  /* A full-size record fits in an empty ring. */
  memset(buf, 'm', sizeof buf);
  assert_int_equal(rv_ring_rec_push(&r, buf, 28), RV_OK);
  assert_int_equal(rv_ring_space(&r), 0);
  assert_int_equal(rv_ring_rec_pop(&r, buf, sizeof buf, &len), RV_OK);
  assert_int_equal(len, 28);
}

/* A record at every start offset, of every length: header split across the
 * end (1, 2, 3 bytes before it), payload starting at 0, record ending
 * exactly at the end. Checked through pop, peek and the two-piece view. */
static void test_records_every_boundary(void **state) {
  (void)state;
  enum { CAP = 16 };
  uint8_t storage[CAP];
  uint8_t in[CAP];
  uint8_t out[CAP];
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, CAP), RV_OK);
  for (size_t start = 0; start < CAP; start++) {
    for (size_t len = 0; len <= rv_ring_rec_max(&r); len++) {
      set_index(&r, start);
      fill(in, start + len * 17, len);
      assert_int_equal(rv_ring_rec_push(&r, in, len), RV_OK);
      size_t got = 99;
      assert_int_equal(rv_ring_rec_peek(&r, out, sizeof out, &got), RV_OK);
      assert_int_equal(got, len);
      assert_memory_equal(out, in, len);
      rv_slice v[2];
      assert_int_equal(rv_ring_rec_view(&r, v), RV_OK);
      assert_int_equal(v[0].len + v[1].len, len);
      size_t payload_off = (start + RV_RING_REC_HEADER) % CAP;
      assert_int_equal(v[1].len, payload_off + len > CAP ? payload_off + len - CAP : 0);
      if (len) {
        assert_memory_equal(v[0].ptr, in, v[0].len);
      }
      if (v[1].len) {
        assert_ptr_equal(v[1].ptr, storage);
        assert_memory_equal(v[1].ptr, in + v[0].len, v[1].len);
      }
      memset(out, 0, sizeof out);
      assert_int_equal(rv_ring_rec_pop(&r, out, len, &got), RV_OK);
      assert_int_equal(got, len);
      assert_memory_equal(out, in, len);
      assert_int_equal(rv_ring_used(&r), 0);
    }
  }
}

static void test_records_pushv(void **state) {
  (void)state;
  uint8_t storage[64];
  char buf[64];
  size_t len;
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, sizeof storage), RV_OK);
  set_index(&r, 50);
  rv_slice parts[3] = {rv_slice_make("head:", 5), rv_slice_make(NULL, 0),
                       rv_slice_make("payload", 7)};
  assert_int_equal(rv_ring_rec_pushv(&r, parts, 3), RV_OK);
  assert_int_equal(rv_ring_rec_pushv(&r, NULL, 0), RV_OK); /* empty record */
  assert_int_equal(rv_ring_rec_pop(&r, buf, sizeof buf, &len), RV_OK);
  assert_int_equal(len, 12);
  assert_memory_equal(buf, "head:payload", 12);
  assert_int_equal(rv_ring_rec_pop(&r, buf, sizeof buf, &len), RV_OK);
  assert_int_equal(len, 0);
  assert_int_equal(rv_ring_rec_pushv(&r, NULL, 1), RV_EINVAL);
  rv_slice bad[2] = {rv_slice_make("a", 1), {NULL, 4}};
  assert_int_equal(rv_ring_rec_pushv(&r, bad, 2), RV_EINVAL);
  rv_slice huge[2] = {rv_slice_make(buf, SIZE_MAX), rv_slice_make(buf, 2)};
  assert_int_equal(rv_ring_rec_pushv(&r, huge, 2), RV_ELIMIT); /* sum overflows */
  rv_slice big[2] = {rv_slice_make(buf, 30), rv_slice_make(buf, 31)};
  assert_int_equal(rv_ring_rec_pushv(&r, big, 2), RV_ELIMIT); /* 61 > 60 */
  assert_int_equal(rv_ring_used(&r), 0);
}

static void test_records_tiny_ring(void **state) {
  (void)state;
  uint8_t storage[4];
  size_t len;
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, 2), RV_OK);
  assert_int_equal(rv_ring_rec_max(&r), 0);
  assert_int_equal(rv_ring_rec_push(&r, NULL, 0), RV_ELIMIT); /* no room for a header */
  assert_int_equal(rv_ring_init(&r, storage, 4), RV_OK);
  assert_int_equal(rv_ring_rec_max(&r), 0);
  assert_int_equal(rv_ring_rec_push(&r, NULL, 0), RV_OK); /* header only */
  assert_int_equal(rv_ring_rec_push(&r, NULL, 0), RV_EFULL);
  assert_int_equal(rv_ring_rec_push(&r, "a", 1), RV_ELIMIT);
  assert_int_equal(rv_ring_rec_pop(&r, NULL, 0, &len), RV_OK);
  assert_int_equal(len, 0);
}

/* Bytes that the record API did not write are reported, never over-read. */
static void test_records_malformed(void **state) {
  (void)state;
  uint8_t storage[16];
  char buf[16];
  size_t len = 77;
  rv_slice v[2];
  rv_ring r;
  assert_int_equal(rv_ring_init(&r, storage, sizeof storage), RV_OK);
  for (size_t n = 1; n < RV_RING_REC_HEADER; n++) { /* less than a header */
    rv_ring_reset(&r);
    assert_int_equal(rv_ring_write(&r, "\0\0\0", n), n);
    assert_int_equal(rv_ring_rec_next(&r, &len), RV_EMALFORMED);
    assert_int_equal(rv_ring_rec_pop(&r, buf, sizeof buf, &len), RV_EMALFORMED);
    assert_int_equal(rv_ring_rec_view(&r, v), RV_EMALFORMED);
    assert_int_equal(rv_ring_rec_drop(&r), RV_EMALFORMED);
  }
  rv_ring_reset(&r);
  uint32_t hdr = 9; /* promises 9 bytes, only 5 follow */
  assert_int_equal(rv_ring_write(&r, &hdr, sizeof hdr), 4);
  assert_int_equal(rv_ring_write(&r, "abcde", 5), 5);
  assert_int_equal(rv_ring_rec_peek(&r, buf, sizeof buf, &len), RV_EMALFORMED);
  assert_int_equal(rv_ring_rec_drop(&r), RV_EMALFORMED);
  hdr = UINT32_MAX;
  rv_ring_reset(&r);
  assert_int_equal(rv_ring_write(&r, &hdr, sizeof hdr), 4);
  assert_int_equal(rv_ring_rec_next(&r, &len), RV_EMALFORMED);
  assert_int_equal(len, 77); /* untouched on error */
  assert_int_equal(rv_ring_used(&r), 4);
}

/* ---- an interrupt-style producer ----------------------------------------- */

/* SIGALRM plays the interrupt: the handler pushes records, the "main loop"
 * pops them. Only the ring is shared; the handler calls nothing else. */
static rv_ring sig_ring;
static uint8_t sig_storage[64];
static volatile sig_atomic_t sig_next; /* next sequence number to push */
static volatile sig_atomic_t sig_dropped;

static void on_alarm(int sig) {
  (void)sig;
  uint32_t seq = (uint32_t)sig_next;
  uint8_t rec[12];
  memcpy(rec, &seq, sizeof seq);
  fill(rec + 4, seq, 8);
  if (rv_ring_rec_push(&sig_ring, rec, 4 + seq % 9) == RV_OK) {
    sig_next = sig_next + 1;
  } else {
    sig_dropped = sig_dropped + 1; /* full: the next interrupt retries it */
  }
}

static void test_signal_producer(void **state) {
  (void)state;
  enum { WANT = 200 };
  assert_int_equal(rv_ring_init(&sig_ring, sig_storage, sizeof sig_storage), RV_OK);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  struct sigaction old;
  assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
  struct itimerval it = {{0, 200}, {0, 200}}; /* every 200 us */
  assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
  uint32_t expect = 0;
  double deadline = now_s() + 5.0;
  while (expect < WANT && now_s() < deadline) {
    uint8_t rec[16];
    size_t len;
    int rc = rv_ring_rec_pop(&sig_ring, rec, sizeof rec, &len);
    if (rc == RV_EEMPTY) {
      sched_yield();
      continue;
    }
    assert_int_equal(rc, RV_OK);
    uint32_t seq;
    memcpy(&seq, rec, sizeof seq);
    if (seq != expect || len != 4 + seq % 9) {
      fail_msg("signal producer: got record %u (len %zu), want %u", seq, len, expect);
    }
    uint8_t want[8];
    fill(want, seq, 8);
    assert_memory_equal(rec + 4, want, len - 4);
    expect++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
  assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
  /* The deadline only guards against a machine too loaded to deliver
   * signals; on any working system all records arrive well before it. */
  assert_int_equal(expect, WANT);
}

/* ---- producer/consumer stress -------------------------------------------- */

#define STRESS_SEED 0x9e3779b97f4a7c15ULL
#define STRESS_SECONDS 2.0

struct stress {
  rv_ring ring;
  uint64_t seed;
  size_t total;        /* bytes or records the producer tries to send */
  size_t max_rec;      /* largest record length */
  int use_spans;       /* byte mode: zero-copy calls instead of copies */
  double deadline;     /* the producer stops early after this */
  _Atomic size_t sent; /* how many the producer really sent (set at its end) */
  _Atomic int done;
  _Atomic int error; /* nonzero: the producer saw this unexpected code */
};

static void *byte_producer(void *arg) {
  struct stress *s = arg;
  uint64_t rng = s->seed;
  uint8_t chunk[97];
  size_t pos = 0;
  while (pos < s->total && now_s() < s->deadline) {
    size_t want = 1 + (size_t)(rng_next(&rng) % sizeof chunk);
    if (want > s->total - pos) {
      want = s->total - pos;
    }
    size_t n;
    if (s->use_spans) {
      void *span;
      n = rv_ring_write_span(&s->ring, &span);
      if (n > want) {
        n = want;
      }
      fill(span, pos, n);
      int rc = rv_ring_write_commit(&s->ring, n);
      if (rc != RV_OK) { /* cmocka asserts only on the main thread */
        atomic_store(&s->error, rc);
        break;
      }
    } else {
      fill(chunk, pos, want);
      n = rv_ring_write(&s->ring, chunk, want);
    }
    pos += n;
    if (n < want) {
      sched_yield();
    }
  }
  atomic_store(&s->sent, pos);
  atomic_store(&s->done, 1);
  return NULL;
}

static void *rec_producer(void *arg) {
  struct stress *s = arg;
  uint64_t rng = s->seed;
  uint8_t rec[256];
  size_t seq = 0;
  size_t len = 0;
  int have = 0;
  while (seq < s->total && now_s() < s->deadline) {
    if (!have) {
      len = (size_t)(rng_next(&rng) % (s->max_rec + 1));
      fill(rec, seq * 1000, len);
      have = 1;
    }
    int rc =
        (seq % 3 == 0 && len >= 2)
            ? rv_ring_rec_pushv(
                  &s->ring, (rv_slice[]){rv_slice_make(rec, 1), rv_slice_make(rec + 1, len - 1)}, 2)
            : rv_ring_rec_push(&s->ring, rec, len);
    if (rc == RV_EFULL) {
      sched_yield();
      continue;
    }
    if (rc != RV_OK) { /* cmocka asserts only on the main thread */
      atomic_store(&s->error, rc);
      break;
    }
    seq++;
    have = 0;
  }
  atomic_store(&s->sent, seq);
  atomic_store(&s->done, 1);
  return NULL;
}

static void run_byte_stress(size_t cap, int use_spans) {
  static uint8_t storage[1024];
  struct stress s;
  memset(&s, 0, sizeof s);
  assert_true(cap <= sizeof storage);
  assert_int_equal(rv_ring_init(&s.ring, storage, cap), RV_OK);
  s.seed = STRESS_SEED ^ cap;
  s.total = (size_t)2 << 20;
  s.use_spans = use_spans;
  s.deadline = now_s() + STRESS_SECONDS;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, byte_producer, &s), 0);
  uint64_t rng = s.seed * 3;
  uint8_t buf[131];
  size_t pos = 0;
  for (;;) {
    int finished = atomic_load(&s.done); /* read before the ring: then empty means over */
    size_t n;
    const void *span = NULL;
    if (use_spans) {
      n = rv_ring_read_span(&s.ring, &span);
    } else {
      n = rv_ring_read(&s.ring, buf, 1 + (size_t)(rng_next(&rng) % sizeof buf));
    }
    const uint8_t *p = use_spans ? span : buf;
    for (size_t i = 0; i < n; i++) {
      if (p[i] != pattern(pos + i)) {
        fail_msg("byte stress (cap %zu, spans %d, seed %#llx): byte %zu is %u, want %u", cap,
                 use_spans, (unsigned long long)s.seed, pos + i, p[i], pattern(pos + i));
      }
    }
    if (use_spans && n) {
      assert_int_equal(rv_ring_read_commit(&s.ring, n), RV_OK);
    }
    pos += n;
    if (n == 0) {
      if (finished) {
        break;
      }
      sched_yield();
    }
  }
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(atomic_load(&s.error), 0);
  assert_int_equal(pos, atomic_load(&s.sent));
  assert_true(pos > 0);
}

static void test_stress_bytes(void **state) {
  (void)state;
  run_byte_stress(64, 0);
  run_byte_stress(1024, 0);
  run_byte_stress(64, 1);
}

static void run_rec_stress(size_t cap, size_t max_rec) {
  static uint8_t storage[512];
  struct stress s;
  memset(&s, 0, sizeof s);
  assert_int_equal(rv_ring_init(&s.ring, storage, cap), RV_OK);
  s.seed = STRESS_SEED ^ (cap * 31 + max_rec);
  s.total = 40000;
  s.max_rec = max_rec;
  s.deadline = now_s() + STRESS_SECONDS;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, rec_producer, &s), 0);
  uint64_t replay = s.seed; /* the producer's lengths, replayed */
  uint64_t mine = s.seed * 7;
  uint8_t buf[256];
  uint8_t want[256];
  size_t seq = 0;
  for (;;) {
    int finished = atomic_load(&s.done);
    size_t len = 0;
    int rc;
    int how = (int)(rng_next(&mine) % 3);
    rv_slice v[2];
    if (how == 0) {
      rc = rv_ring_rec_pop(&s.ring, buf, sizeof buf, &len);
    } else if (how == 1) {
      rc = rv_ring_rec_view(&s.ring, v);
      if (rc == RV_OK) {
        len = v[0].len + v[1].len;
        memcpy(buf, v[0].ptr, v[0].len);
        if (v[1].len) {
          memcpy(buf + v[0].len, v[1].ptr, v[1].len);
        }
        assert_int_equal(rv_ring_rec_drop(&s.ring), RV_OK);
      }
    } else {
      rc = rv_ring_rec_peek(&s.ring, buf, sizeof buf, &len);
      if (rc == RV_OK) {
        assert_int_equal(rv_ring_rec_drop(&s.ring), RV_OK);
      }
    }
    if (rc == RV_EEMPTY) {
      if (finished) {
        break;
      }
      sched_yield();
      continue;
    }
    assert_int_equal(rc, RV_OK);
    size_t want_len = (size_t)(rng_next(&replay) % (max_rec + 1));
    fill(want, seq * 1000, want_len);
    if (len != want_len || memcmp(buf, want, len) != 0) {
      fail_msg("record stress (cap %zu, seed %#llx): record %zu has length %zu, want %zu%s", cap,
               (unsigned long long)s.seed, seq, len, want_len,
               len == want_len ? " (content differs)" : "");
    }
    seq++;
  }
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(atomic_load(&s.error), 0);
  assert_int_equal(seq, atomic_load(&s.sent));
  assert_true(seq > 0);
}

static void test_stress_records(void **state) {
  (void)state;
  run_rec_stress(64, 40);   /* many wraps, header often split */
  run_rec_stress(256, 252); /* records up to the maximum */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init),
      cmocka_unit_test(test_bytes_basic),
      cmocka_unit_test(test_bytes_wrap_every_offset),
      cmocka_unit_test(test_spans),
      cmocka_unit_test(test_index_overflow),
      cmocka_unit_test(test_records_basic),
      cmocka_unit_test(test_records_every_boundary),
      cmocka_unit_test(test_records_pushv),
      cmocka_unit_test(test_records_tiny_ring),
      cmocka_unit_test(test_records_malformed),
      cmocka_unit_test(test_signal_producer),
      cmocka_unit_test(test_stress_bytes),
      cmocka_unit_test(test_stress_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
