/* libFuzzer harness for the frame codec: stream decoding in pieces of every
 * size, schema-checked message decoding, and the relay re-encode invariant.
 *
 * A structure-aware custom mutator keeps the header's length and the
 * checksum valid most of the time, so mutations reach the TLV decoder
 * instead of dying at the checksum. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL /* header-only, as libnet itself uses it */
#include <xxhash.h>

#include <rivet/net/frame.h>

#include "../tests/test-frame-schemas.h"

/* Weak: the regression driver (tests/fuzz/driver.c) has no libFuzzer, and
 * never calls the custom mutator that uses it. */
__attribute__((weak)) size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define MAX_PAYLOAD 4096u

static void check(int cond) {
  if (!cond) {
    abort(); /* an invariant broke: libFuzzer saves the input */
  }
}

static void decode_payload(const rv_frame *f) {
  static const rv_frame_schema *const schemas[] = {&reading_v1, &reading_v2, &tree_schema,
                                                   &rv_frame_hello_schema};
  rv_frame_value vals[64];
  uint8_t out[RV_FRAME_BUFFER_SIZE(MAX_PAYLOAD)];
  for (size_t s = 0; s < sizeof schemas / sizeof schemas[0]; s++) {
    rv_frame_msg m;
    rv_diag d = {0};
    if (rv_frame_msg_decode(&m, schemas[s], f->payload, vals, 64, NULL, &d) != RV_OK) {
      check(d.msg != NULL && d.offset <= f->payload.len);
      continue;
    }
    /* Re-encoding is canonical: doing it twice gives the same bytes, and
     * the result decodes to as many fields. */
    rv_frame_writer w;
    rv_slice a, b;
    rv_frame_writer_init(&w, out, sizeof out);
    rv_frame_begin(&w, f->version, f->type, f->flags);
    rv_frame_msg_encode(&w, &m);
    check(rv_frame_end(&w, &a) == RV_OK);
    rv_frame g;
    check(rv_frame_decode(a.ptr, a.len, NULL, &g, NULL) == RV_OK);
    rv_frame_msg m2;
    rv_frame_value vals2[64];
    check(rv_frame_msg_decode(&m2, schemas[s], g.payload, vals2, 64, NULL, NULL) == RV_OK);
    check(m2.count == m.count && m2.unknown == m.unknown);
    rv_frame_begin(&w, g.version, g.type, g.flags);
    rv_frame_msg_encode(&w, &m2);
    check(rv_frame_end(&w, &b) == RV_OK);
    check(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t store[RV_FRAME_BUFFER_SIZE(MAX_PAYLOAD)];
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_payload = MAX_PAYLOAD;
  if (size == 0) {
    return 0;
  }
  /* The first byte picks the piece size; the rest is the stream. */
  size_t piece = (size_t)data[0] + 1;
  data++;
  size--;
  rv_frame_decoder d;
  check(rv_frame_decoder_init(&d, store, sizeof store, &lim) == RV_OK);
  size_t off = 0;
  while (off < size) {
    size_t len = size - off < piece ? size - off : piece;
    size_t used;
    rv_frame f;
    int rc = rv_frame_decoder_feed(&d, data + off, len, &used, &f, NULL);
    check(used <= len);
    off += used;
    if (rc == RV_OK) {
      check(f.payload.len <= MAX_PAYLOAD);
      decode_payload(&f);
    } else if (rc != RV_EAGAIN) {
      break; /* framing lost: a server would close the connection here */
    }
  }
  return 0;
}

/* Mutate the payload of the first frame, then fix its length and checksum
 * (most of the time: sometimes leave them broken to test those paths). */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  const size_t hdr = 1 + RV_FRAME_HEADER_SIZE; /* piece-size byte, then the frame */
  if (size < hdr + RV_FRAME_TRAILER_SIZE || seed % 8 == 0 || max_size < hdr + 4) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  size_t plen = size - hdr - RV_FRAME_TRAILER_SIZE;
  size_t room = max_size - hdr - RV_FRAME_TRAILER_SIZE;
  if (room > MAX_PAYLOAD) {
    room = MAX_PAYLOAD;
  }
  if (plen > room) {
    plen = room;
  }
  plen = LLVMFuzzerMutate(data + hdr, plen, room);
  uint8_t *h = data + 1;
  h[0] = RV_FRAME_MAGIC0;
  h[1] = RV_FRAME_MAGIC1;
  if (h[2] == 0) {
    h[2] = 1;
  }
  if (h[3] == 0) {
    h[3] = MSG_READING;
  }
  h[5] = (uint8_t)plen;
  h[6] = (uint8_t)(plen >> 8);
  h[7] = (uint8_t)(plen >> 16);
  uint32_t sum = (uint32_t)XXH3_64bits(h, RV_FRAME_HEADER_SIZE + plen);
  uint8_t *t = h + RV_FRAME_HEADER_SIZE + plen;
  t[0] = (uint8_t)sum;
  t[1] = (uint8_t)(sum >> 8);
  t[2] = (uint8_t)(sum >> 16);
  t[3] = (uint8_t)(sum >> 24);
  return hdr + plen + RV_FRAME_TRAILER_SIZE;
}
