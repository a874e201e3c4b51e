/* Internal helpers shared by frame.c and frame-msg.c (not installed). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/net/frame.h>

/* The longest varint: 64 bits in 7-bit groups. */
#define RV_VARINT_MAX 10u

/* Encode v as a minimal LEB128 varint into out; returns its length. */
static inline size_t rv_varint_encode(uint64_t v, uint8_t out[RV_VARINT_MAX]) {
  size_t n = 0;
  while (v >= 0x80u) {
    out[n++] = (uint8_t)(v | 0x80u);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

/* Writer primitives used by both sources (hidden: not RV_API). */
void rv_frame_writer_put(rv_frame_writer *w, const void *p, size_t n);
void rv_frame_writer_put_varint(rv_frame_writer *w, uint64_t v);
bool rv_frame_writer_tag(rv_frame_writer *w, uint32_t number, unsigned wire);
