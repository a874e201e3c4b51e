/* kv-server: an in-memory key-value store speaking the kv protocol
 * (README.md) over rivet frames, on the libnet event loop and TCP server.
 *
 *   kv-server --protocol 1|2 [-h host] [-p port] [-n max_entries] [-q]
 *
 * `--protocol` picks the table the server implements (schema-v1.c or
 * schema-v2.c): the highest version it negotiates, the message types it
 * knows and the fields of each. Everything below is driven by that table,
 * so `--protocol 1` behaves as a server built before version 2 existed.
 *
 * Per connection: a stream decoder cuts frames out of the bytes (framing
 * errors close the connection, docs/protocol.md section 6); the first frame
 * must be HELLO; every later frame is a request answered by one RESPONSE,
 * in order, including requests that are malformed or of an unknown type
 * (reported in the response, then skipped). SIGTERM/SIGINT: graceful
 * shutdown. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rivet/core/map.h>
#include <rivet/net/server.h>

#include "kv.h"

#define KV_MAX_KEY 256u
#define SCAN_MAX 100u

/* One stored record, in one allocation: the struct, then key, value and
 * the unknown fields of the PUT (raw, in the order received). */
typedef struct entry {
  uint8_t *key;
  uint8_t *value;
  uint8_t *extra;
  size_t klen, vlen, xlen;
  uint64_t ttl_ms;     /* 0: none (or not a field this server knows) */
  uint64_t expires_ms; /* monotonic deadline, 0: never */
  uint64_t version;    /* store write counter at the last write */
} entry;

typedef struct session {
  rv_frame_decoder dec;
  unsigned id;
  uint8_t version; /* negotiated frame version, 0 before HELLO */
  bool closing;
  uint8_t buf[RV_FRAME_BUFFER_SIZE(KV_MAX_PAYLOAD)];
} session;

static const kv_proto *g_proto;
static rv_map *g_store;
static uint64_t g_writes;
static size_t g_max_entries = 10000;
static unsigned g_next_id;
static bool g_quiet;
static uint8_t g_out[RV_FRAME_BUFFER_SIZE(KV_MAX_PAYLOAD)];

static void logf_(const session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const session *s, const char *fmt, ...) {
  if (g_quiet) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kv-server: conn %u: ", s->id);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A RESPONSE carrying only a status (and an error text). */
static void reply_status(rv_conn *c, const session *s, uint64_t status, const char *error) {
  rv_frame_writer w;
  rv_slice f;
  rv_frame_writer_init(&w, g_out, sizeof g_out);
  rv_frame_begin(&w, s->version, KV_T_RESPONSE, 0);
  rv_frame_put_uint(&w, KV_F_RESP_STATUS, status);
  if (error != NULL) {
    rv_frame_put_bytes(&w, KV_F_RESP_ERROR, error, strlen(error));
  }
  if (rv_frame_end(&w, &f) == 0) { /* a status and a short text always fit */
    (void)rv_conn_write(c, f.ptr, f.len);
  }
}

/* Send the frame in \p w. Records are capped (KV_MAX_RECORD) so that every
 * answer fits; should one not, the client still gets exactly one answer. */
static void send_frame(rv_conn *c, const session *s, rv_frame_writer *w) {
  rv_slice f;
  int rc = rv_frame_end(w, &f);
  if (rc != 0) {
    logf_(s, "cannot encode the response: %s", rv_strerror(rc));
    reply_status(c, s, KV_FULL, "response too large");
    return;
  }
  (void)rv_conn_write(c, f.ptr, f.len);
}

/* Write \p e as a nested Record: known fields in number order, then the
 * fields this server did not know, byte for byte (docs/protocol.md rule 3). */
static void put_record(rv_frame_writer *w, uint32_t number, const entry *e) {
  rv_frame_begin_nested(w, number);
  rv_frame_put_bytes(w, KV_F_REC_KEY, e->key, e->klen);
  rv_frame_put_bytes(w, KV_F_REC_VALUE, e->value, e->vlen);
  if (e->ttl_ms != 0) {
    rv_frame_put_uint(w, KV_F_REC_TTL, e->ttl_ms);
  }
  rv_frame_put_raw(w, (rv_slice){e->extra, e->xlen});
  rv_frame_end_nested(w);
}

static bool put_version(rv_frame_writer *w, uint64_t version) {
  if (!kv_knows(g_proto->types[KV_T_RESPONSE], KV_F_RESP_VER)) {
    return false;
  }
  rv_frame_put_uint(w, KV_F_RESP_VER, version);
  return true;
}

static void drop(entry *e) {
  void *old = NULL;
  (void)rv_map_remove(g_store, e->key, e->klen, &old);
  free(e);
}

/* The live entry for \p key, dropping it if its TTL has passed. */
static entry *lookup(rv_slice key) {
  void *v = NULL;
  if (rv_map_get(g_store, key.ptr, key.len, &v) != 0) {
    return NULL;
  }
  entry *e = v;
  if (e->expires_ms != 0 && now_ms() >= e->expires_ms) {
    drop(e);
    return NULL;
  }
  return e;
}

static void do_get(rv_conn *c, const session *s, const rv_frame_msg *m) {
  rv_slice key;
  (void)rv_frame_msg_get_bytes(m, KV_F_GET_KEY, &key); /* required: the decoder checked */
  const entry *e = lookup(key);
  if (e == NULL) {
    reply_status(c, s, KV_NOT_FOUND, NULL);
    return;
  }
  rv_frame_writer w;
  rv_frame_writer_init(&w, g_out, sizeof g_out);
  rv_frame_begin(&w, s->version, KV_T_RESPONSE, 0);
  rv_frame_put_uint(&w, KV_F_RESP_STATUS, KV_OK);
  put_record(&w, KV_F_RESP_RECORD, e);
  (void)put_version(&w, e->version);
  send_frame(c, s, &w);
}

static void do_put(rv_conn *c, const session *s, const rv_frame_msg *m, rv_slice payload) {
  rv_slice key;
  rv_slice value = {NULL, 0};
  uint64_t ttl = 0;
  (void)rv_frame_msg_get_bytes(m, KV_F_REC_KEY, &key);
  (void)rv_frame_msg_get_bytes(m, KV_F_REC_VALUE, &value);
  /* Only a field the table declares is read: a v1 server does not know
   * ttl_ms, so rv_frame_msg_get_u64() reports it absent and the field's
   * bytes travel on with the unknown ones below. */
  (void)rv_frame_msg_get_u64(m, KV_F_REC_TTL, &ttl);
  if (key.len == 0 || key.len > KV_MAX_KEY) {
    reply_status(c, s, KV_MALFORMED, "key must be 1 to 256 bytes");
    return;
  }
  if (payload.len > KV_MAX_RECORD) {
    reply_status(c, s, KV_MALFORMED, "record over 16320 bytes");
    return;
  }
  size_t xlen = 0;
  for (size_t i = 0; i < m->count; i++) {
    if (m->values[i].desc == NULL) {
      xlen += m->values[i].raw.len; /* bounded by the payload length */
    }
  }
  void *oldv = NULL;
  bool exists = rv_map_get(g_store, key.ptr, key.len, &oldv) == 0;
  if (!exists && rv_map_len(g_store) >= g_max_entries) {
    reply_status(c, s, KV_FULL, "store is full");
    return;
  }
  /* Room for one more key first, so the insert below cannot fail once the
   * old entry is gone. */
  if (rv_map_reserve(g_store, rv_map_len(g_store) + 1) != 0) {
    reply_status(c, s, KV_FULL, "out of memory");
    return;
  }
  /* key + value + unknown fields all lie in one payload of at most
   * KV_MAX_PAYLOAD bytes, so this sum cannot overflow. */
  entry *e = malloc(sizeof *e + key.len + value.len + xlen);
  if (e == NULL) {
    reply_status(c, s, KV_FULL, "out of memory");
    return;
  }
  e->key = (uint8_t *)(e + 1);
  e->value = e->key + key.len;
  e->extra = e->value + value.len;
  e->klen = key.len;
  e->vlen = value.len;
  e->xlen = xlen;
  memcpy(e->key, key.ptr, key.len);
  if (value.len > 0) {
    memcpy(e->value, value.ptr, value.len);
  }
  size_t at = 0;
  for (size_t i = 0; i < m->count; i++) {
    const rv_frame_value *v = &m->values[i];
    if (v->desc == NULL) {
      memcpy(e->extra + at, v->raw.ptr, v->raw.len);
      at += v->raw.len;
    }
  }
  e->ttl_ms = ttl;
  e->expires_ms = ttl != 0 ? now_ms() + ttl : 0;
  e->version = ++g_writes;
  /* The map borrows the key bytes, which live in the entry: replace the
   * old entry's mapping before freeing it. */
  if (exists) {
    (void)rv_map_remove(g_store, key.ptr, key.len, &oldv);
    free(oldv);
  }
  if (rv_map_insert(g_store, e->key, e->klen, e) != 0) { /* reserved: cannot fail */
    free(e);
    reply_status(c, s, KV_FULL, "out of memory");
    return;
  }
  rv_frame_writer w;
  rv_frame_writer_init(&w, g_out, sizeof g_out);
  rv_frame_begin(&w, s->version, KV_T_RESPONSE, 0);
  rv_frame_put_uint(&w, KV_F_RESP_STATUS, KV_OK);
  (void)put_version(&w, e->version);
  send_frame(c, s, &w);
}

static void do_delete(rv_conn *c, const session *s, const rv_frame_msg *m) {
  rv_slice key;
  (void)rv_frame_msg_get_bytes(m, KV_F_GET_KEY, &key);
  entry *e = lookup(key);
  if (e == NULL) {
    reply_status(c, s, KV_NOT_FOUND, NULL);
    return;
  }
  drop(e);
  rv_frame_writer w;
  rv_frame_writer_init(&w, g_out, sizeof g_out);
  rv_frame_begin(&w, s->version, KV_T_RESPONSE, 0);
  rv_frame_put_uint(&w, KV_F_RESP_STATUS, KV_OK);
  (void)put_version(&w, ++g_writes);
  send_frame(c, s, &w);
}

static int by_key(const void *a, const void *b) {
  const entry *x = *(const entry *const *)a;
  const entry *y = *(const entry *const *)b;
  size_t n = x->klen < y->klen ? x->klen : y->klen;
  int r = memcmp(x->key, y->key, n);
  return r != 0 ? r : (x->klen > y->klen) - (x->klen < y->klen);
}

/* SCAN (v2): live records whose key starts with the prefix, in key order,
 * at most `limit` (and SCAN_MAX) and as many as fit in one frame. */
static void do_scan(rv_conn *c, const session *s, const rv_frame_msg *m) {
  rv_slice prefix = {NULL, 0};
  uint64_t limit = 0;
  (void)rv_frame_msg_get_bytes(m, KV_F_SCAN_PREFIX, &prefix);
  (void)rv_frame_msg_get_u64(m, KV_F_SCAN_LIMIT, &limit);
  if (limit == 0 || limit > SCAN_MAX) {
    limit = SCAN_MAX;
  }
  size_t n = 0;
  entry **hits = calloc(rv_map_len(g_store) + 1, sizeof(entry *)); /* calloc checks the product */
  if (hits == NULL) {
    reply_status(c, s, KV_FULL, "out of memory");
    return;
  }
  uint64_t now = now_ms();
  rv_map_iter it;
  rv_map_entry me;
  rv_map_iter_init(&it, g_store);
  while (rv_map_next(&it, &me)) {
    entry *e = *me.value;
    bool live = e->expires_ms == 0 || now < e->expires_ms;
    if (live && e->klen >= prefix.len &&
        (prefix.len == 0 || memcmp(e->key, prefix.ptr, prefix.len) == 0)) {
      hits[n++] = e;
    }
  }
  qsort(hits, n, sizeof(entry *), by_key);
  rv_frame_writer w;
  rv_frame_writer_init(&w, g_out, sizeof g_out);
  rv_frame_begin(&w, s->version, KV_T_RESPONSE, 0);
  rv_frame_put_uint(&w, KV_F_RESP_STATUS, KV_OK);
  (void)put_version(&w, g_writes);
  size_t room = KV_MAX_PAYLOAD - 32; /* status and version take < 32 bytes */
  for (size_t i = 0; i < n && i < limit; i++) {
    /* A record costs its bytes plus at most 4 tags, 4 lengths/varints
     * (<= 5 bytes each, payloads are < 16 KiB) and its nesting header. */
    size_t cost = hits[i]->klen + hits[i]->vlen + hits[i]->xlen + 48;
    if (cost > room) {
      break;
    }
    room -= cost;
    put_record(&w, KV_F_RESP_ENTRY, hits[i]);
  }
  free(hits);
  send_frame(c, s, &w);
}

static void negotiate(rv_conn *c, session *s, const rv_frame *f) {
  rv_frame_value vals[8];
  rv_frame_msg m;
  rv_diag d = {0};
  uint64_t lo = 0;
  uint64_t hi = 0;
  uint8_t chosen = 0;
  if (f->type != RV_FRAME_TYPE_HELLO) {
    logf_(s, "first frame is type %u, not HELLO: closing", f->type);
    goto close;
  }
  if (rv_frame_msg_decode(&m, &rv_frame_hello_schema, f->payload, vals, 8, NULL, &d) != 0) {
    logf_(s, "bad HELLO (%s at byte %zu): closing", d.msg, d.offset);
    goto close;
  }
  (void)rv_frame_msg_get_u64(&m, 1, &lo);
  (void)rv_frame_msg_get_u64(&m, 2, &hi);
  rv_frame_writer w;
  rv_frame_writer_init(&w, g_out, sizeof g_out);
  /* HELLO_ACK goes out as frame version 1, like HELLO: the peer has not
   * learnt the chosen version yet. */
  rv_frame_begin(&w, 1, RV_FRAME_TYPE_HELLO_ACK, 0);
  if (rv_frame_negotiate(1, g_proto->version, lo, hi, &chosen) != 0) {
    logf_(s, "client speaks %llu..%llu, we speak 1..%u: no common version, closing",
          (unsigned long long)lo, (unsigned long long)hi, g_proto->version);
    rv_frame_put_uint(&w, 2, RV_FRAME_HELLO_UNSUPPORTED);
    rv_frame_put_uint(&w, 3, 1);
    rv_frame_put_uint(&w, 4, g_proto->version);
    send_frame(c, s, &w);
    goto close;
  }
  rv_frame_put_uint(&w, 1, chosen);
  send_frame(c, s, &w);
  rv_slice node = {NULL, 0};
  (void)rv_frame_msg_get_bytes(&m, 3, &node);
  logf_(s, "HELLO from '%.*s' speaking %llu..%llu: protocol v%u", (int)node.len,
        node.len > 0 ? (const char *)node.ptr : "", (unsigned long long)lo, (unsigned long long)hi,
        chosen);
  s->version = chosen;
  /* From now on every frame must carry the chosen version (section 6: a
   * peer must not change version); the decoder holds no bytes here (it
   * stopped at the end of HELLO), so re-initialising it loses nothing. */
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_payload = KV_MAX_PAYLOAD;
  lim.min_version = chosen;
  lim.max_version = chosen;
  (void)rv_frame_decoder_init(&s->dec, s->buf, sizeof s->buf, &lim);
  return;
close:
  s->closing = true;
  rv_conn_close(c);
}

static void request(rv_conn *c, session *s, const rv_frame *f) {
  const rv_frame_schema *schema = kv_schema_for(g_proto, f->type, s->version);
  if (schema == NULL || f->type == KV_T_RESPONSE) {
    /* Section 6: an unknown message type is reported and skipped. */
    char why[64];
    snprintf(why, sizeof why, "unknown message type %u", f->type);
    logf_(s, "%s on a v%u connection: skipped", why, s->version);
    reply_status(c, s, KV_UNSUPPORTED, why);
    return;
  }
  if ((f->flags & RV_FRAME_F_ENCRYPTED) != 0) {
    logf_(s, "encrypted frame: skipped (no secure channel here)");
    reply_status(c, s, KV_UNSUPPORTED, "encrypted frames are not supported");
    return;
  }
  rv_frame_value vals[KV_MAX_VALUES];
  rv_frame_msg m;
  rv_diag d = {0};
  int rc = rv_frame_msg_decode(&m, schema, f->payload, vals, KV_MAX_VALUES, NULL, &d);
  if (rc != 0) {
    /* Section 6: a malformed payload is reported and skipped; framing is
     * intact, so the connection lives. */
    char why[160];
    snprintf(why, sizeof why, "%s: %s at byte %zu", schema->name, d.msg, d.offset);
    logf_(s, "malformed request (%s): skipped", why);
    reply_status(c, s, KV_MALFORMED, why);
    return;
  }
  switch (f->type) {
  case KV_T_GET:
    do_get(c, s, &m);
    break;
  case KV_T_PUT:
    do_put(c, s, &m, f->payload);
    break;
  case KV_T_DELETE:
    do_delete(c, s, &m);
    break;
  default: /* the only other type a table may give a schema for */
    do_scan(c, s, &m);
    break;
  }
}

static void on_open(rv_conn *c, void *user) {
  (void)user;
  session *s = malloc(sizeof *s);
  if (s == NULL) {
    rv_conn_abort(c, RV_ENOMEM);
    return;
  }
  s->id = ++g_next_id;
  s->version = 0;
  s->closing = false;
  /* Until HELLO, only frame version 1 is valid. */
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_payload = KV_MAX_PAYLOAD;
  lim.min_version = 1;
  lim.max_version = 1;
  (void)rv_frame_decoder_init(&s->dec, s->buf, sizeof s->buf, &lim);
  rv_conn_set_user(c, s);
}

static size_t on_data(rv_conn *c, const uint8_t *data, size_t len, void *user) {
  (void)user;
  session *s = rv_conn_user(c);
  size_t off = 0;
  while (s != NULL && !s->closing && off < len) {
    size_t used = 0;
    rv_frame f;
    rv_diag d = {0};
    int rc = rv_frame_decoder_feed(&s->dec, data + off, len - off, &used, &f, &d);
    off += used;
    if (rc == RV_EAGAIN) {
      break;
    }
    if (rc != 0) {
      /* Framing is lost: section 6 says close. */
      logf_(s, "bad frame (%s: %s): closing", rv_strerror(rc), d.msg != NULL ? d.msg : "");
      s->closing = true;
      rv_conn_close(c);
      break;
    }
    if (s->version == 0) {
      negotiate(c, s, &f);
    } else {
      request(c, s, &f);
    }
  }
  return len; /* the decoder keeps any partial frame itself */
}

static void on_close(rv_conn *c, int reason, void *user) {
  (void)user;
  session *s = rv_conn_user(c);
  if (s != NULL) {
    if (reason != 0) {
      logf_(s, "closed: %s", rv_strerror(reason));
    }
    rv_conn_set_user(c, NULL);
    free(s);
  }
}

static void on_shutdown(rv_server *srv, void *user) {
  (void)srv;
  rv_loop_stop(user);
}

static void on_signal(rv_loop *l, int signo, void *user) {
  (void)l;
  (void)signo;
  (void)rv_server_shutdown(user, 2000);
}

static void usage(const char *argv0) {
  fprintf(stderr, "usage: %s --protocol 1|2 [-h host] [-p port] [-n max_entries] [-q]\n", argv0);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"protocol", required_argument, NULL, 'P'}, {"host", required_argument, NULL, 'h'},
      {"port", required_argument, NULL, 'p'},     {"max-entries", required_argument, NULL, 'n'},
      {"quiet", no_argument, NULL, 'q'},          {NULL, 0, NULL, 0}};
  rv_server_config cfg;
  rv_server_config_default(&cfg);
  cfg.port = 7171;
  cfg.read_chunk = 4096;
  cfg.pool_blocks = 64;
  int opt;
  while ((opt = getopt_long(argc, argv, "P:h:p:n:q", opts, NULL)) != -1) {
    switch (opt) {
    case 'P':
      g_proto = kv_proto_get((unsigned)strtoul(optarg, NULL, 10));
      break;
    case 'h':
      cfg.host = optarg;
      break;
    case 'p':
      cfg.port = (uint16_t)strtoul(optarg, NULL, 10);
      break;
    case 'n':
      g_max_entries = (size_t)strtoull(optarg, NULL, 10);
      break;
    case 'q':
      g_quiet = true;
      break;
    default:
      usage(argv[0]);
      return 2;
    }
  }
  if (g_proto == NULL || optind != argc) {
    usage(argv[0]);
    return 2;
  }
  int status = 1;
  rv_loop *l = NULL;
  rv_server *srv = NULL;
  rv_map_config mc = {0};
  mc.keys = RV_MAP_KEYS_BORROW; /* keys live in the entries */
  int rc = rv_map_create(&g_store, &mc);
  if (rc == 0) {
    rc = rv_loop_new(&l, NULL);
  }
  if (rc != 0) {
    fprintf(stderr, "kv-server: %s\n", rv_strerror(rc));
    goto fail;
  }
  cfg.cb.on_open = on_open;
  cfg.cb.on_data = on_data;
  cfg.cb.on_close = on_close;
  cfg.cb.on_shutdown = on_shutdown;
  cfg.user = l;
  rc = rv_server_new(&srv, l, &cfg, NULL);
  if (rc != 0) {
    fprintf(stderr, "kv-server: listen %s:%u: %s\n", cfg.host ? cfg.host : "*", cfg.port,
            rv_strerror(rc));
    goto fail;
  }
  (void)rv_loop_signal_start(l, SIGTERM, on_signal, srv);
  (void)rv_loop_signal_start(l, SIGINT, on_signal, srv);
  fprintf(stderr, "kv-server: protocol v%u, listening on %s:%u\n", g_proto->version,
          cfg.host ? cfg.host : "0.0.0.0", rv_server_port(srv));
  status = rv_loop_run(l) == 0 ? 0 : 1;
  if (!g_quiet) {
    fprintf(stderr, "kv-server: bye\n");
  }
fail:
  rv_server_free(srv);
  rv_loop_free(l);
  if (g_store != NULL) {
    rv_map_iter it;
    rv_map_entry me;
    rv_map_iter_init(&it, g_store);
    while (rv_map_next(&it, &me)) {
      free(*me.value);
    }
    rv_map_destroy(g_store);
  }
  return status;
}
