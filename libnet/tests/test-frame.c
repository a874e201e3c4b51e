/* Tests for frame: round trips, streaming in every piece size, every error
 * of the decoders and the writer, unknown-field preservation, negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <rivet/net/frame.h>

#include "test-frame-schemas.h"

/* The puts of a "reading" message; v2 adds fields 8 and 9. */
static void put_reading(rv_frame_writer *w, const char *unit, bool v2) {
  rv_frame_begin(w, v2 ? 2 : 1, MSG_READING, RV_FRAME_F_ACK_REQ);
  rv_frame_put_uint(w, 1, 42);    /* sensor */
  rv_frame_put_sint(w, 2, -1234); /* value */
  rv_frame_put_bytes(w, 3, unit, strlen(unit));
  rv_frame_put_bool_for_test(w, 4, true); /* valid */
  rv_frame_put_fixed64(w, 5, 0x0102030405060708ull);
  rv_frame_put_uint(w, 6, 7); /* tags: repeated */
  rv_frame_put_uint(w, 6, 300);
  rv_frame_begin_nested(w, 7);
  rv_frame_put_fixed32(w, 1, 0xdeadbeef);
  rv_frame_put_bytes(w, 2, "nested", 6);
  rv_frame_end_nested(w);
  if (v2) {
    rv_frame_put_uint(w, 8, 99);
    rv_frame_put_bytes(w, 9, "new", 3);
  }
}

static size_t encode_reading(uint8_t *buf, size_t cap, const char *unit, bool v2) {
  rv_frame_writer w;
  rv_slice out;
  rv_frame_writer_init(&w, buf, cap);
  put_reading(&w, unit, v2);
  assert_int_equal(rv_frame_end(&w, &out), RV_OK);
  assert_ptr_equal(out.ptr, buf);
  return out.len;
}

static void check_reading(const rv_frame_msg *m) {
  uint64_t u;
  int64_t i;
  rv_slice s;
  assert_int_equal(rv_frame_msg_get_u64(m, 1, &u), RV_OK);
  assert_int_equal(u, 42);
  assert_int_equal(rv_frame_msg_get_i64(m, 2, &i), RV_OK);
  assert_int_equal(i, -1234);
  assert_int_equal(rv_frame_msg_get_bytes(m, 3, &s), RV_OK);
  assert_true(rv_slice_eq(s, rv_slice_cstr("°C")));
  assert_int_equal(rv_frame_msg_get_u64(m, 4, &u), RV_OK);
  assert_int_equal(u, 1);
  assert_int_equal(rv_frame_msg_get_u64(m, 5, &u), RV_OK);
  assert_int_equal(u, 0x0102030405060708ull);
  const rv_frame_value *t = rv_frame_msg_next(m, 6, NULL);
  assert_non_null(t);
  assert_int_equal(t->u, 7);
  t = rv_frame_msg_next(m, 6, t);
  assert_non_null(t);
  assert_int_equal(t->u, 300);
  assert_null(rv_frame_msg_next(m, 6, t));
  /* the nested message decodes with its own schema */
  assert_int_equal(rv_frame_msg_get_bytes(m, 7, &s), RV_OK);
  rv_frame_value inner[4];
  rv_frame_msg im;
  assert_int_equal(rv_frame_msg_decode(&im, &point_schema, s, inner, 4, NULL, NULL), RV_OK);
  assert_int_equal(rv_frame_msg_get_u64(&im, 1, &u), RV_OK);
  assert_int_equal(u, 0xdeadbeef);
  /* wrong-type getters say not found */
  assert_int_equal(rv_frame_msg_get_i64(m, 1, &i), RV_ENOTFOUND);
  assert_int_equal(rv_frame_msg_get_u64(m, 2, &u), RV_ENOTFOUND);
  assert_int_equal(rv_frame_msg_get_bytes(m, 1, &s), RV_ENOTFOUND);
  assert_int_equal(rv_frame_msg_get_u64(m, 77, &u), RV_ENOTFOUND);
}

static void test_roundtrip(void **state) {
  (void)state;
  uint8_t buf[256];
  size_t n = encode_reading(buf, sizeof buf, "°C", false);
  rv_frame f;
  assert_int_equal(rv_frame_decode(buf, n, NULL, &f, NULL), RV_OK);
  assert_int_equal(f.version, 1);
  assert_int_equal(f.type, MSG_READING);
  assert_int_equal(f.flags, RV_FRAME_F_ACK_REQ);
  rv_frame_value vals[16];
  rv_frame_msg m;
  assert_int_equal(rv_frame_msg_decode(&m, &reading_v1, f.payload, vals, 16, NULL, NULL), RV_OK);
  assert_int_equal(m.count, 8);
  assert_int_equal(m.unknown, 0);
  check_reading(&m);
}

/* Every way of cutting the input into pieces gives the same frames. */
static void test_stream_pieces(void **state) {
  (void)state;
  uint8_t stream[768];
  size_t n1 = encode_reading(stream, sizeof stream, "°C", false);
  size_t n2 = encode_reading(stream + n1, sizeof stream - n1, "hPa", true);
  size_t total = n1 + n2;
  uint8_t store[RV_FRAME_BUFFER_SIZE(1024)];
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_payload = 1024;
  for (size_t piece = 1; piece <= total; piece++) {
    rv_frame_decoder d;
    assert_int_equal(rv_frame_decoder_init(&d, store, sizeof store, &lim), RV_OK);
    size_t off = 0, frames = 0;
    while (off < total) {
      size_t len = total - off < piece ? total - off : piece;
      size_t used;
      rv_frame f;
      int rc = rv_frame_decoder_feed(&d, stream + off, len, &used, &f, NULL);
      assert_true(used <= len);
      off += used;
      if (rc == RV_OK) {
        assert_int_equal(f.type, MSG_READING);
        assert_int_equal(f.version, frames == 0 ? 1 : 2);
        frames++;
      } else {
        assert_int_equal(rc, RV_EAGAIN);
        assert_int_equal(used, len);
      }
    }
    assert_int_equal(frames, 2);
  }
}

static void test_zero_copy(void **state) {
  (void)state;
  uint8_t in[256];
  size_t n = encode_reading(in, sizeof in, "x", false);
  uint8_t store[RV_FRAME_BUFFER_SIZE(64 * 1024)];
  rv_frame_decoder d;
  assert_int_equal(rv_frame_decoder_init(&d, store, sizeof store, NULL), RV_OK);
  size_t used;
  rv_frame f;
  assert_int_equal(rv_frame_decoder_feed(&d, in, n, &used, &f, NULL), RV_OK);
  assert_int_equal(used, n);
  assert_ptr_equal(f.payload.ptr, in + RV_FRAME_HEADER_SIZE); /* a view, no copy */
}

static int decode_one(uint8_t *buf, size_t n, rv_diag *d) {
  rv_frame f;
  return rv_frame_decode(buf, n, NULL, &f, d);
}

static void test_header_errors(void **state) {
  (void)state;
  uint8_t buf[256];
  size_t n = encode_reading(buf, sizeof buf, "x", false);
  rv_diag d = {0};
  uint8_t bad[256];

  memcpy(bad, buf, n);
  bad[0] = 'X';
  assert_int_equal(decode_one(bad, n, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 0);

  rv_frame_limits lim = rv_frame_limits_default();
  lim.min_version = 2;
  rv_frame f;
  assert_int_equal(rv_frame_decode(buf, n, &lim, &f, &d), RV_EUNSUPPORTED);

  memcpy(bad, buf, n);
  bad[3] = 0; /* type 0 */
  assert_int_equal(decode_one(bad, n, &d), RV_EMALFORMED);

  memcpy(bad, buf, n);
  bad[4] = 0x02; /* unknown critical flag */
  assert_int_equal(decode_one(bad, n, &d), RV_EUNSUPPORTED);

  memcpy(bad, buf, n);
  bad[7] = 0x10; /* payload of 1 MiB: over the 64 KiB default limit */
  assert_int_equal(decode_one(bad, n, &d), RV_ELIMIT);

  assert_int_equal(decode_one(buf, n - 1, &d), RV_ETRUNCATED);
  assert_int_equal(decode_one(buf, 5, &d), RV_ETRUNCATED);
  memcpy(bad, buf, n);
  bad[n] = 0;
  assert_int_equal(decode_one(bad, n + 1, &d), RV_EMALFORMED);

  lim = rv_frame_limits_default();
  lim.min_version = 0;
  assert_int_equal(rv_frame_decode(buf, n, &lim, &f, &d), RV_EINVAL);
}

/* An unknown ancillary flag is ignored; any single flipped bit anywhere
 * in a frame is caught (by a header check or the checksum). */
static void test_flags_and_bitflips(void **state) {
  (void)state;
  uint8_t buf[256];
  size_t n = encode_reading(buf, sizeof buf, "x", false);
  uint8_t copy[256];
  rv_frame_writer w;
  rv_frame_writer_init(&w, copy, sizeof copy);
  rv_frame_begin(&w, 1, MSG_READING, 0x80); /* unknown ancillary */
  rv_frame_put_uint(&w, 1, 5);
  rv_slice out;
  assert_int_equal(rv_frame_end(&w, &out), RV_OK);
  rv_frame f;
  assert_int_equal(rv_frame_decode(out.ptr, out.len, NULL, &f, NULL), RV_OK);
  assert_int_equal(f.flags, 0x80);
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, buf, n);
      copy[i] ^= (uint8_t)(1u << bit);
      int rc = decode_one(copy, n, NULL);
      if (i == 4 && bit >= 5) {
        /* ancillary flag bits other than ACK are covered by the checksum */
        assert_int_equal(rc, RV_EVERIFY);
      } else {
        assert_int_not_equal(rc, RV_OK);
      }
    }
  }
}

static void test_decoder_sticky_error(void **state) {
  (void)state;
  uint8_t buf[256];
  size_t n = encode_reading(buf, sizeof buf, "x", false);
  buf[n - 1] ^= 1; /* checksum */
  uint8_t store[RV_FRAME_BUFFER_SIZE(64 * 1024)];
  rv_frame_decoder d;
  rv_diag diag = {0};
  assert_int_equal(rv_frame_decoder_init(&d, store, sizeof store, NULL), RV_OK);
  size_t used;
  rv_frame f;
  for (size_t i = 0; i + 1 < n; i++) { /* byte by byte through the buffered path */
    assert_int_equal(rv_frame_decoder_feed(&d, buf + i, 1, &used, &f, NULL), RV_EAGAIN);
  }
  assert_int_equal(rv_frame_decoder_feed(&d, buf + n - 1, 1, &used, &f, &diag), RV_EVERIFY);
  assert_string_equal(diag.msg, "checksum mismatch");
  buf[n - 1] ^= 1;
  assert_int_equal(rv_frame_decoder_feed(&d, buf, n, &used, &f, NULL), RV_EVERIFY); /* sticky */
  rv_frame_decoder_reset(&d);
  assert_int_equal(rv_frame_decoder_feed(&d, buf, n, &used, &f, NULL), RV_OK);
  /* bad header in the buffered path fails as soon as the header is in */
  rv_frame_decoder_reset(&d);
  uint8_t junk[8] = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T'};
  assert_int_equal(rv_frame_decoder_feed(&d, junk, 3, &used, &f, NULL), RV_EAGAIN);
  assert_int_equal(rv_frame_decoder_feed(&d, junk + 3, 5, &used, &f, NULL), RV_EMALFORMED);
  /* init errors */
  rv_frame_limits lim = rv_frame_limits_default();
  assert_int_equal(rv_frame_decoder_init(&d, store, 100, &lim), RV_EINVAL);
  assert_int_equal(rv_frame_decoder_init(&d, NULL, sizeof store, &lim), RV_EINVAL);
  lim.max_payload = RV_FRAME_PAYLOAD_MAX + 1;
  assert_int_equal(rv_frame_decoder_init(&d, store, sizeof store, &lim), RV_EINVAL);
}

/* Decode a hand-made payload against the reading schema. */
static int msg(const uint8_t *p, size_t n, rv_diag *d) {
  rv_frame_value vals[8];
  rv_frame_msg m;
  return rv_frame_msg_decode(&m, &reading_v1, rv_slice_make(p, n), vals, 8, NULL, d);
}

static void test_msg_errors(void **state) {
  (void)state;
  rv_diag d = {0};
  /* required fields are 1 (sensor) and 2 (value): 0x08 0x01 0x10 0x02 */
  const uint8_t ok[] = {0x08, 0x01, 0x10, 0x02};
  assert_int_equal(msg(ok, sizeof ok, &d), RV_OK);
  const uint8_t missing[] = {0x08, 0x01};
  assert_int_equal(msg(missing, sizeof missing, &d), RV_EMALFORMED);
  assert_string_equal(d.msg, "a required field is missing");
  const uint8_t field0[] = {0x00, 0x01};
  assert_int_equal(msg(field0, sizeof field0, &d), RV_EMALFORMED);
  const uint8_t wire3[] = {0x0b, 0x01};
  assert_int_equal(msg(wire3, sizeof wire3, &d), RV_EMALFORMED);
  assert_string_equal(d.msg, "unknown wire type");
  const uint8_t mismatch[] = {0x0d, 1, 2, 3, 4, 0x10, 0x02}; /* field 1 as fixed32 */
  assert_int_equal(msg(mismatch, sizeof mismatch, &d), RV_EMALFORMED);
  assert_string_equal(d.msg, "wire type does not match the schema");
  const uint8_t overlong[] = {0x08, 0x81, 0x00, 0x10, 0x02};
  assert_int_equal(msg(overlong, sizeof overlong, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 1);
  const uint8_t toobig[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  assert_int_equal(msg(toobig, sizeof toobig, &d), RV_EMALFORMED);
  const uint8_t cut[] = {0x08, 0x80};
  assert_int_equal(msg(cut, sizeof cut, &d), RV_EMALFORMED);
  const uint8_t pastend[] = {0x08, 0x01, 0x10, 0x02, 0x1a, 0x05, 'a'};
  assert_int_equal(msg(pastend, sizeof pastend, &d), RV_EMALFORMED);
  assert_string_equal(d.msg, "length past the end");
  const uint8_t badutf8[] = {0x08, 0x01, 0x10, 0x02, 0x1a, 0x02, 0xc0, 0x80};
  assert_int_equal(msg(badutf8, sizeof badutf8, &d), RV_EMALFORMED);
  assert_string_equal(d.msg, "string is not valid UTF-8");
  const uint8_t surrogate[] = {0x08, 0x01, 0x10, 0x02, 0x1a, 0x03, 0xed, 0xa0, 0x80};
  assert_int_equal(msg(surrogate, sizeof surrogate, &d), RV_EMALFORMED);
  const uint8_t badbool[] = {0x08, 0x01, 0x10, 0x02, 0x20, 0x02};
  assert_int_equal(msg(badbool, sizeof badbool, &d), RV_EMALFORMED);
  const uint8_t twice[] = {0x08, 0x01, 0x08, 0x01, 0x10, 0x02};
  assert_int_equal(msg(twice, sizeof twice, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 2);
  const uint8_t cutfixed[] = {0x08, 0x01, 0x10, 0x02, 0x29, 1, 2, 3};
  assert_int_equal(msg(cutfixed, sizeof cutfixed, &d), RV_EMALFORMED);
  /* nested message that breaks its own schema (point needs field 1) */
  const uint8_t badnest[] = {0x08, 0x01, 0x10, 0x02, 0x3a, 0x02, 0x12, 0x00};
  assert_int_equal(msg(badnest, sizeof badnest, &d), RV_EMALFORMED);
  assert_int_equal(d.offset, 8);
}

static void test_msg_limits(void **state) {
  (void)state;
  uint8_t p[64];
  size_t n = 0;
  p[n++] = 0x08;
  p[n++] = 0x01;
  p[n++] = 0x10;
  p[n++] = 0x02;
  for (int i = 0; i < 10; i++) { /* ten repeated tags */
    p[n++] = 0x30;
    p[n++] = (uint8_t)i;
  }
  rv_frame_value vals[12];
  rv_frame_msg m;
  rv_diag d = {0};
  rv_slice s = rv_slice_make(p, n);
  assert_int_equal(rv_frame_msg_decode(&m, &reading_v1, s, vals, 12, NULL, &d), RV_OK);
  assert_int_equal(rv_frame_msg_decode(&m, &reading_v1, s, vals, 11, NULL, &d), RV_ELIMIT);
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_fields = 5;
  assert_int_equal(rv_frame_msg_decode(&m, &reading_v1, s, vals, 12, &lim, &d), RV_ELIMIT);
  assert_string_equal(d.msg, "too many fields");
  /* depth: a tree nested 3 deep, limit 2 */
  const uint8_t deep[] = {0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01};
  lim = rv_frame_limits_default();
  assert_int_equal(
      rv_frame_msg_decode(&m, &tree_schema, rv_slice_make(deep, sizeof deep), vals, 12, &lim, &d),
      RV_OK);
  lim.max_depth = 2;
  assert_int_equal(
      rv_frame_msg_decode(&m, &tree_schema, rv_slice_make(deep, sizeof deep), vals, 12, &lim, &d),
      RV_ELIMIT);
  assert_string_equal(d.msg, "messages nested too deep");
}

/* A v1 receiver keeps a v2 sender's new fields and forwards them unchanged. */
static void test_unknown_fields_roundtrip(void **state) {
  (void)state;
  uint8_t in[256], out[256];
  size_t n = encode_reading(in, sizeof in, "hPa", true);
  rv_frame f;
  assert_int_equal(rv_frame_decode(in, n, NULL, &f, NULL), RV_OK);
  rv_frame_value vals[16];
  rv_frame_msg m;
  assert_int_equal(rv_frame_msg_decode(&m, &reading_v1, f.payload, vals, 16, NULL, NULL), RV_OK);
  assert_int_equal(m.unknown, 2);
  rv_frame_writer w;
  rv_frame_writer_init(&w, out, sizeof out);
  rv_frame_begin(&w, f.version, f.type, f.flags);
  rv_frame_msg_encode(&w, &m);
  rv_slice re;
  assert_int_equal(rv_frame_end(&w, &re), RV_OK);
  assert_int_equal(re.len, n);
  assert_memory_equal(re.ptr, in, n);
  /* and the v2 schema sees them as known */
  assert_int_equal(rv_frame_msg_decode(&m, &reading_v2, f.payload, vals, 16, NULL, NULL), RV_OK);
  assert_int_equal(m.unknown, 0);
  uint64_t u;
  assert_int_equal(rv_frame_msg_get_u64(&m, 8, &u), RV_OK);
  assert_int_equal(u, 99);
}

static void test_writer_errors(void **state) {
  (void)state;
  uint8_t full[256];
  size_t n = encode_reading(full, sizeof full, "x", false);
  /* Every buffer too small by any amount gives RV_EFULL, never an overrun. */
  for (size_t cap = 0; cap < n; cap++) {
    uint8_t *buf = malloc(cap ? cap : 1);
    assert_non_null(buf);
    rv_frame_writer w;
    rv_frame_writer_init(&w, buf, cap);
    put_reading(&w, "x", false);
    assert_int_equal(rv_frame_end(&w, NULL), RV_EFULL);
    free(buf);
  }
  uint8_t buf[64];
  rv_frame_writer w;
  rv_frame_writer_init(&w, buf, sizeof buf);
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL); /* nothing open */
  rv_frame_put_uint(&w, 1, 1);                         /* put before begin */
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 0, 1, 0); /* version 0 */
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_put_uint(&w, 0, 1); /* field 0 */
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_put_uint(&w, RV_FRAME_FIELD_MAX + 1, 1);
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_begin_nested(&w, 1); /* never closed */
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_end_nested(&w); /* nothing to close */
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 1, 1, 0);
  for (int i = 0; i < 9; i++) {
    rv_frame_begin_nested(&w, 1);
  }
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_begin(&w, 1, 1, 0); /* begin twice */
  assert_int_equal(rv_frame_end(&w, NULL), RV_EINVAL);
  /* after all that, the writer still works from where the failures began */
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_put_uint(&w, 1, 1);
  rv_slice out;
  assert_int_equal(rv_frame_end(&w, &out), RV_OK);
  assert_ptr_equal(out.ptr, buf);
  assert_int_equal(out.len, RV_FRAME_BUFFER_SIZE(2));
}

static void test_payload_limit(void **state) {
  (void)state;
  size_t cap = RV_FRAME_BUFFER_SIZE(RV_FRAME_PAYLOAD_MAX) + 64;
  uint8_t *buf = calloc(1, cap);
  uint8_t *src = calloc(1, RV_FRAME_PAYLOAD_MAX); /* inputs must not alias the output */
  assert_non_null(buf);
  assert_non_null(src);
  rv_frame_writer w;
  rv_frame_writer_init(&w, buf, cap);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_put_bytes(&w, 1, src, RV_FRAME_PAYLOAD_MAX); /* tag+len make it too long */
  assert_int_equal(rv_frame_end(&w, NULL), RV_ELIMIT);
  rv_frame_begin(&w, 1, 1, 0);
  rv_frame_put_bytes(&w, 1, src, RV_FRAME_PAYLOAD_MAX - 5); /* exactly the maximum */
  rv_slice out;
  assert_int_equal(rv_frame_end(&w, &out), RV_OK);
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_payload = RV_FRAME_PAYLOAD_MAX;
  rv_frame f;
  assert_int_equal(rv_frame_decode(out.ptr, out.len, &lim, &f, NULL), RV_OK);
  assert_int_equal(f.payload.len, RV_FRAME_PAYLOAD_MAX);
  free(src);
  free(buf);
}

static void test_negotiate(void **state) {
  (void)state;
  uint8_t v = 0;
  assert_int_equal(rv_frame_negotiate(1, 3, 2, 5, &v), RV_OK);
  assert_int_equal(v, 3);
  assert_int_equal(rv_frame_negotiate(1, 1, 1, 2, &v), RV_OK);
  assert_int_equal(v, 1);
  assert_int_equal(rv_frame_negotiate(1, 2, 3, 4, &v), RV_EUNSUPPORTED);
  assert_int_equal(rv_frame_negotiate(0, 2, 1, 4, &v), RV_EINVAL);
  assert_int_equal(rv_frame_negotiate(3, 2, 1, 4, &v), RV_EINVAL);
  assert_int_equal(rv_frame_negotiate(1, 2, 1, 256, &v), RV_EINVAL);
  /* a HELLO frame carries the range */
  uint8_t buf[64];
  rv_frame_writer w;
  rv_frame_writer_init(&w, buf, sizeof buf);
  rv_frame_begin(&w, 1, RV_FRAME_TYPE_HELLO, 0);
  rv_frame_put_uint(&w, 1, 1);
  rv_frame_put_uint(&w, 2, 2);
  rv_frame_put_bytes(&w, 3, "dev-7", 5);
  rv_slice out;
  assert_int_equal(rv_frame_end(&w, &out), RV_OK);
  rv_frame f;
  assert_int_equal(rv_frame_decode(out.ptr, out.len, NULL, &f, NULL), RV_OK);
  rv_frame_value vals[4];
  rv_frame_msg m;
  assert_int_equal(rv_frame_msg_decode(&m, &rv_frame_hello_schema, f.payload, vals, 4, NULL, NULL),
                   RV_OK);
  uint64_t lo, hi;
  assert_int_equal(rv_frame_msg_get_u64(&m, 1, &lo), RV_OK);
  assert_int_equal(rv_frame_msg_get_u64(&m, 2, &hi), RV_OK);
  assert_int_equal(rv_frame_negotiate(1, 3, lo, hi, &v), RV_OK);
  assert_int_equal(v, 2);
}

static void test_schema_check(void **state) {
  (void)state;
  rv_diag d = {0};
  assert_int_equal(rv_frame_schema_check(&reading_v1, &d), RV_OK);
  assert_int_equal(rv_frame_schema_check(&reading_v2, &d), RV_OK);
  assert_int_equal(rv_frame_schema_check(&rv_frame_hello_schema, &d), RV_OK);
  for (size_t i = 0; i < sizeof bad_schemas / sizeof bad_schemas[0]; i++) {
    assert_int_equal(rv_frame_schema_check(&bad_schemas[i], &d), RV_EINVAL);
  }
  rv_frame_msg m;
  rv_frame_value vals[1];
  static rv_frame_field_desc many[65];
  for (uint32_t i = 0; i < 65; i++) {
    many[i] = (rv_frame_field_desc){i + 1, RV_FT_UINT, 0, "f", NULL};
  }
  const rv_frame_schema big = {"big", many, 65};
  assert_int_equal(rv_frame_schema_check(&big, &d), RV_EINVAL);
  assert_int_equal(rv_frame_msg_decode(&m, &big, rv_slice_make(NULL, 0), vals, 1, NULL, &d),
                   RV_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_stream_pieces),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_header_errors),
      cmocka_unit_test(test_flags_and_bitflips),
      cmocka_unit_test(test_decoder_sticky_error),
      cmocka_unit_test(test_msg_errors),
      cmocka_unit_test(test_msg_limits),
      cmocka_unit_test(test_unknown_fields_roundtrip),
      cmocka_unit_test(test_writer_errors),
      cmocka_unit_test(test_payload_limit),
      cmocka_unit_test(test_negotiate),
      cmocka_unit_test(test_schema_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
