/* bench-frame: encode and decode a ~300-byte, 10-field message with the
 * rivet frame codec (decode includes the XXH3 checksum check) against
 * protobuf-c and nanopb, the C protobuf libraries a user would otherwise
 * pick; also prints the encoded sizes. */
#include <stdio.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include <rivet/net/frame.h>
#include <rivet/perf/bench.h>

#include "bench-reading.pb-c.h"
#include "bench-reading.pb.h"

static const char UNIT[] = "degC";
static const char LOCATION[] = "building-7/floor-3/room-312/rack-b/slot-14";
static const char FIRMWARE[] = "rv-env1 fw 2.4.1-rc3+g1a2b3c";
static uint8_t blob[200];

enum { F_SENSOR = 1, F_VALUE, F_UNIT, F_VALID, F_TIME, F_LOCATION, F_BLOB, F_SEQ, F_CRC, F_FW };

static const rv_frame_field_desc reading_fields[] = {
    {F_SENSOR, RV_FT_UINT, RV_FIELD_REQUIRED, "sensor", NULL},
    {F_VALUE, RV_FT_SINT, RV_FIELD_REQUIRED, "value", NULL},
    {F_UNIT, RV_FT_STRING, 0, "unit", NULL},
    {F_VALID, RV_FT_BOOL, 0, "valid", NULL},
    {F_TIME, RV_FT_FIXED64, 0, "time_ns", NULL},
    {F_LOCATION, RV_FT_STRING, 0, "location", NULL},
    {F_BLOB, RV_FT_BYTES, 0, "blob", NULL},
    {F_SEQ, RV_FT_UINT, 0, "seq", NULL},
    {F_CRC, RV_FT_FIXED32, 0, "crc", NULL},
    {F_FW, RV_FT_STRING, 0, "firmware", NULL},
};
static const rv_frame_schema reading_schema = {"reading", reading_fields, 10};

/* What every decoder produces: the values, ready to use. */
struct reading {
  uint64_t sensor, time_ns, valid, seq, crc;
  int64_t value;
  rv_slice unit, location, blob, firmware;
};

struct ctx {
  uint64_t n;
  uint8_t wire[512]; /* encoded message (rivet: a whole frame) */
  size_t wire_len;
  uint8_t out[512];
};

/* ---- rivet ------------------------------------------------------------ */

static size_t rivet_encode(uint8_t *buf, size_t cap) {
  rv_frame_writer w;
  rv_slice out;
  rv_frame_writer_init(&w, buf, cap);
  rv_frame_begin(&w, 1, 16, 0);
  rv_frame_put_uint(&w, F_SENSOR, 123456);
  rv_frame_put_sint(&w, F_VALUE, -2150);
  rv_frame_put_bytes(&w, F_UNIT, UNIT, sizeof UNIT - 1);
  rv_frame_put_uint(&w, F_VALID, 1);
  rv_frame_put_fixed64(&w, F_TIME, 1795000000123456789ull);
  rv_frame_put_bytes(&w, F_LOCATION, LOCATION, sizeof LOCATION - 1);
  rv_frame_put_bytes(&w, F_BLOB, blob, sizeof blob);
  rv_frame_put_uint(&w, F_SEQ, 987654);
  rv_frame_put_fixed32(&w, F_CRC, 0xdeadbeef);
  rv_frame_put_bytes(&w, F_FW, FIRMWARE, sizeof FIRMWARE - 1);
  return rv_frame_end(&w, &out) == RV_OK ? out.len : 0;
}

static void rivet_encode_case(void *p) {
  struct ctx *c = p;
  for (uint64_t i = 0; i < c->n; i++) {
    rv_bench_escape(c->out);
    c->wire_len = rivet_encode(c->out, sizeof c->out);
  }
}

static void rivet_decode_case(void *p) {
  struct ctx *c = p;
  for (uint64_t i = 0; i < c->n; i++) {
    rv_frame f;
    rv_frame_msg m;
    rv_frame_value v[16];
    struct reading r;
    rv_bench_escape(c->wire);
    if (rv_frame_decode(c->wire, c->wire_len, NULL, &f, NULL) != RV_OK ||
        rv_frame_msg_decode(&m, &reading_schema, f.payload, v, 16, NULL, NULL) != RV_OK) {
      fprintf(stderr, "rivet decode failed\n");
      return;
    }
    /* Fields come in schema order here, so read them by position as a
     * generated decoder would; getters by number work the same. */
    r.sensor = v[0].u;
    memcpy(&r.value, &v[1].u, sizeof r.value);
    r.unit = v[2].bytes;
    r.valid = v[3].u;
    r.time_ns = v[4].u;
    r.location = v[5].bytes;
    r.blob = v[6].bytes;
    r.seq = v[7].u;
    r.crc = v[8].u;
    r.firmware = v[9].bytes;
    rv_bench_escape(&r);
  }
}

/* ---- protobuf-c ------------------------------------------------------- */

static size_t pbc_encode(uint8_t *buf) {
  Rvbench__Reading m = RVBENCH__READING__INIT;
  m.sensor = 123456;
  m.value = -2150;
  m.unit = (char *)UNIT;
  m.has_valid = 1;
  m.valid = 1;
  m.has_time_ns = 1;
  m.time_ns = 1795000000123456789ull;
  m.location = (char *)LOCATION;
  m.has_blob = 1;
  m.blob.data = blob;
  m.blob.len = sizeof blob;
  m.has_seq = 1;
  m.seq = 987654;
  m.has_crc = 1;
  m.crc = 0xdeadbeef;
  m.firmware = (char *)FIRMWARE;
  return rvbench__reading__pack(&m, buf);
}

static void pbc_encode_case(void *p) {
  struct ctx *c = p;
  for (uint64_t i = 0; i < c->n; i++) {
    rv_bench_escape(c->out);
    c->wire_len = pbc_encode(c->out);
  }
}

static void pbc_decode_case(void *p) {
  struct ctx *c = p;
  for (uint64_t i = 0; i < c->n; i++) {
    rv_bench_escape(c->wire);
    Rvbench__Reading *m = rvbench__reading__unpack(NULL, c->wire_len, c->wire);
    if (!m) {
      fprintf(stderr, "protobuf-c decode failed\n");
      return;
    }
    rv_bench_escape(m);
    rvbench__reading__free_unpacked(m, NULL);
  }
}

/* ---- nanopb ----------------------------------------------------------- */

static size_t nanopb_encode(uint8_t *buf, size_t cap) {
  rvbench_Reading m = rvbench_Reading_init_zero;
  m.sensor = 123456;
  m.value = -2150;
  m.has_unit = true;
  memcpy(m.unit, UNIT, sizeof UNIT);
  m.has_valid = m.valid = true;
  m.has_time_ns = true;
  m.time_ns = 1795000000123456789ull;
  m.has_location = true;
  memcpy(m.location, LOCATION, sizeof LOCATION);
  m.has_blob = true;
  m.blob.size = sizeof blob;
  memcpy(m.blob.bytes, blob, sizeof blob);
  m.has_seq = true;
  m.seq = 987654;
  m.has_crc = true;
  m.crc = 0xdeadbeef;
  m.has_firmware = true;
  memcpy(m.firmware, FIRMWARE, sizeof FIRMWARE);
  pb_ostream_t s = pb_ostream_from_buffer(buf, cap);
  return pb_encode(&s, rvbench_Reading_fields, &m) ? s.bytes_written : 0;
}

static void nanopb_encode_case(void *p) {
  struct ctx *c = p;
  for (uint64_t i = 0; i < c->n; i++) {
    rv_bench_escape(c->out);
    c->wire_len = nanopb_encode(c->out, sizeof c->out);
  }
}

static void nanopb_decode_case(void *p) {
  struct ctx *c = p;
  for (uint64_t i = 0; i < c->n; i++) {
    rvbench_Reading m = rvbench_Reading_init_zero;
    rv_bench_escape(c->wire);
    pb_istream_t s = pb_istream_from_buffer(c->wire, c->wire_len);
    if (!pb_decode(&s, rvbench_Reading_fields, &m)) {
      fprintf(stderr, "nanopb decode failed\n");
      return;
    }
    rv_bench_escape(&m);
  }
}

int main(int argc, char **argv) {
  rv_bench *b;
  if (rv_bench_create(&b, "frame", argc, argv, NULL) != 0) {
    return 2;
  }
  for (size_t i = 0; i < sizeof blob; i++) {
    blob[i] = (uint8_t)(i * 37 + 11);
  }
  uint64_t n = rv_bench_pick(b, 200000, 2000);
  static struct ctx rivet_dec, pbc_dec, nanopb_dec, rivet_enc, pbc_enc, nanopb_enc;
  rivet_dec.wire_len = rivet_encode(rivet_dec.wire, sizeof rivet_dec.wire);
  pbc_dec.wire_len = pbc_encode(pbc_dec.wire);
  nanopb_dec.wire_len = nanopb_encode(nanopb_dec.wire, sizeof nanopb_dec.wire);
  /* rivet's payload is the same TLV as protobuf's encoding: check it. */
  if (rivet_dec.wire_len != pbc_dec.wire_len + RV_FRAME_HEADER_SIZE + RV_FRAME_TRAILER_SIZE ||
      memcmp(rivet_dec.wire + RV_FRAME_HEADER_SIZE, pbc_dec.wire, pbc_dec.wire_len) != 0) {
    fprintf(stderr, "bench-frame: rivet payload differs from the protobuf encoding\n");
    rv_bench_destroy(b);
    return 1;
  }
  printf("encoded size: rivet frame %zu B (payload %zu + 12 framing/checksum), protobuf-c %zu B, "
         "nanopb %zu B; rivet/protobuf = %.3f\n",
         rivet_dec.wire_len, rivet_dec.wire_len - 12, pbc_dec.wire_len, nanopb_dec.wire_len,
         (double)rivet_dec.wire_len / (double)pbc_dec.wire_len);
  struct ctx *all[] = {&rivet_dec, &pbc_dec, &nanopb_dec, &rivet_enc, &pbc_enc, &nanopb_enc};
  for (size_t i = 0; i < 6; i++) {
    all[i]->n = n;
  }
  const rv_bench_case cases[] = {
      {.name = "protobuf-c unpack+free",
       .group = "decode",
       .fn = pbc_decode_case,
       .ctx = &pbc_dec,
       .ops = n,
       .baseline = true},
      {.name = "nanopb decode",
       .group = "decode",
       .fn = nanopb_decode_case,
       .ctx = &nanopb_dec,
       .ops = n},
      {.name = "rivet frame+msg decode",
       .group = "decode",
       .fn = rivet_decode_case,
       .ctx = &rivet_dec,
       .ops = n},
      {.name = "protobuf-c pack",
       .group = "encode",
       .fn = pbc_encode_case,
       .ctx = &pbc_enc,
       .ops = n,
       .baseline = true},
      {.name = "nanopb encode",
       .group = "encode",
       .fn = nanopb_encode_case,
       .ctx = &nanopb_enc,
       .ops = n},
      {.name = "rivet frame encode",
       .group = "encode",
       .fn = rivet_encode_case,
       .ctx = &rivet_enc,
       .ops = n},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (rv_bench_add(b, &cases[i]) != 0) {
      rv_bench_destroy(b);
      return 1;
    }
  }
  int rc = rv_bench_run(b);
  rv_bench_destroy(b);
  return rc == 0 ? 0 : 1;
}
