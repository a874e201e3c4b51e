/* trace: W3C traceparent (version 00) and request ids. */
#include <rivet/net/trace.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

static const char hex[] = "0123456789abcdef";

/* Lowercase hex only: the specification forbids uppercase. */
static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

static bool parse_hex(const char *s, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

static bool all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) {
    acc |= p[i];
  }
  return acc == 0;
}

static void put_hex(char *dst, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    dst[2 * i] = hex[p[i] >> 4];
    dst[2 * i + 1] = hex[p[i] & 15];
  }
}

int rv_trace_parse(const char *s, size_t len, rv_trace_ctx *out) {
  if (s == NULL || len < RV_TRACEPARENT_LEN) {
    return RV_EMALFORMED;
  }
  uint8_t version;
  if (!parse_hex(s, &version, 1) || version == 0xff || s[2] != '-' || s[35] != '-' ||
      s[52] != '-') {
    return RV_EMALFORMED;
  }
  if (len > RV_TRACEPARENT_LEN) {
    /* Version 00 is exactly 55 characters; a later version may append
     * fields after a '-', which a version-00 parser ignores. */
    if (version == 0) {
      return RV_EUNSUPPORTED;
    }
    if (s[RV_TRACEPARENT_LEN] != '-') {
      return RV_EMALFORMED;
    }
  }
  rv_trace_ctx c;
  if (!parse_hex(s + 3, c.trace_id, 16) || !parse_hex(s + 36, c.span_id, 8) ||
      !parse_hex(s + 53, &c.flags, 1)) {
    return RV_EMALFORMED;
  }
  if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8)) {
    return RV_EMALFORMED;
  }
  if (version != 0) {
    c.flags &= RV_TRACE_SAMPLED; /* unknown flags of a later version are not kept */
  }
  *out = c;
  return RV_OK;
}

void rv_trace_format(const rv_trace_ctx *ctx, char out[RV_TRACEPARENT_LEN + 1]) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  put_hex(out + 3, ctx->trace_id, 16);
  out[35] = '-';
  put_hex(out + 36, ctx->span_id, 8);
  out[52] = '-';
  put_hex(out + 53, &ctx->flags, 1);
  out[55] = '\0';
}

/* Fill p with n bytes from the system source. */
static int system_random(uint8_t *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      return RV_EIO;
    }
    got += (size_t)r;
  }
  return RV_OK;
}

/* Ids must be unique, not secret (Trace Context asks for random ids so
 * that independent services do not collide; nothing is authorised by
 * one). A per-thread xoshiro256** seeded once from getrandom(2) gives
 * 2^256 - 1 states without a system call per request. A forked child
 * must not repeat its parent's ids: an atfork handler bumps a generation
 * and every thread reseeds when it sees a new one. */
typedef struct id_prng {
  uint64_t s[4];
  unsigned gen;
  bool seeded;
} id_prng;

static _Thread_local id_prng tls_prng;
static atomic_uint fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Relaxed: the child runs this before any other thread exists in it. */
static void on_fork_child(void) { atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed); }
static void install_atfork(void) { (void)pthread_atfork(NULL, NULL, on_fork_child); }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t prng_next(id_prng *g) {
  uint64_t *s = g->s;
  uint64_t r = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return r;
}

static int prng_ready(id_prng *g) {
  (void)pthread_once(&atfork_once, install_atfork);
  unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
  if (g->seeded && g->gen == gen) {
    return RV_OK;
  }
  uint8_t seed[sizeof g->s];
  do {
    int rc = system_random(seed, sizeof seed);
    if (rc != RV_OK) {
      return rc;
    }
  } while (all_zero(seed, sizeof seed)); /* the one state xoshiro cannot leave */
  memcpy(g->s, seed, sizeof seed);
  g->gen = gen;
  g->seeded = true;
  return RV_OK;
}

/* Fill p (n <= 16) with random bytes, never all zero (an all-zero id is
 * invalid; the chance is 2^-64 or less, but a retry costs nothing). */
static int random_id(uint8_t *p, size_t n) {
  id_prng *g = &tls_prng;
  int rc = prng_ready(g);
  if (rc != RV_OK) {
    return rc;
  }
  do {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = prng_next(g);
      size_t k = n - i < 8 ? n - i : 8;
      memcpy(p + i, &v, k);
    }
  } while (all_zero(p, n));
  return RV_OK;
}

int rv_trace_new(rv_trace_ctx *out, uint8_t flags) {
  rv_trace_ctx c;
  int rc = random_id(c.trace_id, sizeof c.trace_id);
  if (rc == RV_OK) {
    rc = random_id(c.span_id, sizeof c.span_id);
  }
  if (rc != RV_OK) {
    return rc;
  }
  c.flags = flags;
  *out = c;
  return RV_OK;
}

int rv_trace_child(const rv_trace_ctx *parent, rv_trace_ctx *out) {
  rv_trace_ctx c = *parent;
  int rc = random_id(c.span_id, sizeof c.span_id);
  if (rc != RV_OK) {
    return rc;
  }
  *out = c;
  return RV_OK;
}

void rv_trace_request_id(const rv_trace_ctx *ctx, char out[RV_TRACE_ID_LEN + 1]) {
  put_hex(out, ctx->trace_id, 16);
  out[32] = '-';
  put_hex(out + 33, ctx->span_id, 8);
  out[RV_TRACE_ID_LEN] = '\0';
}

rv_log_field rv_trace_log_field(const char *id) { return RV_LOG_STR("request_id", id); }

int rv_trace_log(rv_log *log, rv_log_level level, const char *id, const char *msg,
                 const rv_log_field *fields, size_t nfields) {
  rv_log_field all[16];
  if (nfields > 15 || (fields == NULL && nfields > 0)) {
    return RV_EINVAL;
  }
  all[0] = rv_trace_log_field(id);
  if (nfields > 0) {
    memcpy(all + 1, fields, nfields * sizeof *fields);
  }
  return rv_log_write(log, level, msg, all, nfields + 1);
}
