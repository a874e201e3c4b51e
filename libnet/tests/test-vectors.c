/* Golden vectors: byte-exact frames of version 0.1.0 in tests/vectors/.
 * Every later version must decode them to the same values, and encoding the
 * same values must give the same bytes.
 *
 *   test-net-vectors DIR            check every vector in DIR
 *   test-net-vectors --write DIR    (re)write them; only for a deliberate,
 *                                   documented format change */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivet/net/frame.h>

#include "test-frame-schemas.h"

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s: check failed: %s (line %d)\n", name, #cond, __LINE__);                  \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

static void build_hello(rv_frame_writer *w) {
  rv_frame_begin(w, 1, RV_FRAME_TYPE_HELLO, 0);
  rv_frame_put_uint(w, 1, 1);
  rv_frame_put_uint(w, 2, 3);
  rv_frame_put_bytes(w, 3, "dev-0001", 8);
}

static void build_hello_ack(rv_frame_writer *w) {
  rv_frame_begin(w, 1, RV_FRAME_TYPE_HELLO_ACK, 0);
  rv_frame_put_uint(w, 1, 2);
}

static void build_reading(rv_frame_writer *w, int version) {
  rv_frame_begin(w, (uint8_t)version, MSG_READING, RV_FRAME_F_ACK_REQ);
  rv_frame_put_uint(w, 1, 300);
  rv_frame_put_sint(w, 2, -21500);
  rv_frame_put_bytes(w, 3,
                     "m\xc2\xb0"
                     "C",
                     4);
  rv_frame_put_uint(w, 4, 1);
  rv_frame_put_fixed64(w, 5, 1795000000123456789ull);
  rv_frame_put_uint(w, 6, 1);
  rv_frame_put_uint(w, 6, 128);
  rv_frame_begin_nested(w, 7);
  rv_frame_put_fixed32(w, 1, 0x00c0ffee);
  rv_frame_put_bytes(w, 2, "north", 5);
  rv_frame_end_nested(w);
  if (version >= 2) {
    rv_frame_put_uint(w, 8, 87);
    rv_frame_put_bytes(w, 9, "\x00\xff", 2);
  }
}
static void build_reading_v1(rv_frame_writer *w) { build_reading(w, 1); }
static void build_reading_v2(rv_frame_writer *w) { build_reading(w, 2); }

static void build_encrypted(rv_frame_writer *w) {
  static const uint8_t box[24] = {0x01, 0x02, 0x03, 0x04, 0xa0, 0xa1, 0xa2, 0xa3,
                                  0xf0, 0xf1, 0xf2, 0xf3, 0x10, 0x20, 0x30, 0x40};
  rv_frame_begin(w, 2, MSG_READING, RV_FRAME_F_ENCRYPTED);
  rv_frame_put_raw(w, rv_slice_make(box, sizeof box)); /* opaque: not TLV */
}

static int check_hello(const char *name, const rv_frame *f) {
  rv_frame_value v[4];
  rv_frame_msg m;
  uint64_t u;
  rv_slice s;
  CHECK(f->type == RV_FRAME_TYPE_HELLO && f->version == 1);
  CHECK(rv_frame_msg_decode(&m, &rv_frame_hello_schema, f->payload, v, 4, NULL, NULL) == 0);
  CHECK(rv_frame_msg_get_u64(&m, 1, &u) == 0 && u == 1);
  CHECK(rv_frame_msg_get_u64(&m, 2, &u) == 0 && u == 3);
  CHECK(rv_frame_msg_get_bytes(&m, 3, &s) == 0 && rv_slice_eq(s, rv_slice_cstr("dev-0001")));
  return 0;
}

static int check_hello_ack(const char *name, const rv_frame *f) {
  rv_frame_value v[4];
  rv_frame_msg m;
  uint64_t u;
  CHECK(f->type == RV_FRAME_TYPE_HELLO_ACK);
  CHECK(rv_frame_msg_decode(&m, &rv_frame_hello_ack_schema, f->payload, v, 4, NULL, NULL) == 0);
  CHECK(rv_frame_msg_get_u64(&m, 1, &u) == 0 && u == 2);
  CHECK(rv_frame_msg_get_u64(&m, 2, &u) == RV_ENOTFOUND);
  return 0;
}

static int check_reading_common(const char *name, const rv_frame_msg *m) {
  uint64_t u;
  int64_t i;
  rv_slice s;
  CHECK(rv_frame_msg_get_u64(m, 1, &u) == 0 && u == 300);
  CHECK(rv_frame_msg_get_i64(m, 2, &i) == 0 && i == -21500);
  CHECK(rv_frame_msg_get_bytes(m, 3, &s) == 0 && rv_slice_eq(s, rv_slice_cstr("m\xc2\xb0"
                                                                              "C")));
  CHECK(rv_frame_msg_get_u64(m, 4, &u) == 0 && u == 1);
  CHECK(rv_frame_msg_get_u64(m, 5, &u) == 0 && u == 1795000000123456789ull);
  const rv_frame_value *t = rv_frame_msg_next(m, 6, NULL);
  CHECK(t && t->u == 1);
  t = rv_frame_msg_next(m, 6, t);
  CHECK(t && t->u == 128 && !rv_frame_msg_next(m, 6, t));
  CHECK(rv_frame_msg_get_bytes(m, 7, &s) == 0);
  rv_frame_value v[4];
  rv_frame_msg pm;
  CHECK(rv_frame_msg_decode(&pm, &point_schema, s, v, 4, NULL, NULL) == 0);
  CHECK(rv_frame_msg_get_u64(&pm, 1, &u) == 0 && u == 0x00c0ffee);
  return 0;
}

static int check_reading_v1(const char *name, const rv_frame *f) {
  rv_frame_value v[16];
  rv_frame_msg m;
  CHECK(f->version == 1 && f->type == MSG_READING && f->flags == RV_FRAME_F_ACK_REQ);
  CHECK(rv_frame_msg_decode(&m, &reading_v1, f->payload, v, 16, NULL, NULL) == 0);
  CHECK(m.count == 8 && m.unknown == 0);
  return check_reading_common(name, &m);
}

static int check_reading_v2(const char *name, const rv_frame *f) {
  rv_frame_value v[16];
  rv_frame_msg m;
  uint64_t u;
  CHECK(f->version == 2);
  /* an old (v1) receiver: the new fields are kept as unknown */
  CHECK(rv_frame_msg_decode(&m, &reading_v1, f->payload, v, 16, NULL, NULL) == 0);
  CHECK(m.unknown == 2);
  if (check_reading_common(name, &m)) {
    return 1;
  }
  /* a new receiver sees them */
  CHECK(rv_frame_msg_decode(&m, &reading_v2, f->payload, v, 16, NULL, NULL) == 0);
  CHECK(m.unknown == 0 && rv_frame_msg_get_u64(&m, 8, &u) == 0 && u == 87);
  return 0;
}

static int check_encrypted(const char *name, const rv_frame *f) {
  CHECK(f->flags == RV_FRAME_F_ENCRYPTED && f->payload.len == 24);
  CHECK(f->payload.ptr[0] == 0x01 && f->payload.ptr[23] == 0x00);
  return 0;
}

static const struct vector {
  const char *file;
  void (*build)(rv_frame_writer *w);
  int (*check)(const char *name, const rv_frame *f);
} vectors[] = {
    {"hello.bin", build_hello, check_hello},
    {"hello-ack.bin", build_hello_ack, check_hello_ack},
    {"reading-v1.bin", build_reading_v1, check_reading_v1},
    {"reading-v2.bin", build_reading_v2, check_reading_v2},
    {"encrypted.bin", build_encrypted, check_encrypted},
};

static int run(const char *dir, int write) {
  int failed = 0;
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const struct vector *vec = &vectors[i];
    const char *name = vec->file;
    char path[4096];
    uint8_t enc[512], file[1024];
    rv_frame_writer w;
    rv_slice out;
    (void)snprintf(path, sizeof path, "%s/%s", dir, vec->file);
    rv_frame_writer_init(&w, enc, sizeof enc);
    vec->build(&w);
    if (rv_frame_end(&w, &out) != 0) {
      fprintf(stderr, "%s: encoding failed\n", name);
      return 1;
    }
    FILE *fp = fopen(path, write ? "wb" : "rb");
    if (!fp) {
      perror(path);
      return 1;
    }
    if (write) {
      failed |= fwrite(out.ptr, 1, out.len, fp) != out.len;
      failed |= fclose(fp) != 0;
      continue;
    }
    size_t n = fread(file, 1, sizeof file, fp);
    (void)fclose(fp);
    rv_frame f;
    rv_diag d = {0};
    int rc = rv_frame_decode(file, n, NULL, &f, &d);
    if (rc != 0) {
      fprintf(stderr, "%s: does not decode: %s at %zu\n", name, d.msg, d.offset);
      failed = 1;
      continue;
    }
    failed |= vec->check(name, &f);
    if (n != out.len || memcmp(file, out.ptr, n) != 0) {
      fprintf(stderr, "%s: encoding the same values gives different bytes\n", name);
      failed = 1;
    }
    /* decode + re-encode (as a v1 relay would) is byte-exact */
    if (!(f.flags & RV_FRAME_F_ENCRYPTED) && f.type == MSG_READING) {
      rv_frame_value v[16];
      rv_frame_msg m;
      rv_frame_writer_init(&w, enc, sizeof enc);
      rv_frame_begin(&w, f.version, f.type, f.flags);
      if (rv_frame_msg_decode(&m, &reading_v1, f.payload, v, 16, NULL, NULL) == 0) {
        rv_frame_msg_encode(&w, &m);
      }
      if (rv_frame_end(&w, &out) != 0 || out.len != n || memcmp(out.ptr, file, n) != 0) {
        fprintf(stderr, "%s: relay re-encoding is not byte-exact\n", name);
        failed = 1;
      }
    }
    printf("%-16s %3zu bytes  %s\n", name, n, failed ? "FAIL" : "ok");
  }
  return failed;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write") == 0) {
    return run(argv[2], 1);
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s [--write] VECTOR_DIR\n", argv[0]);
    return 2;
  }
  return run(argv[1], 0);
}
