/* frame-msg: TLV fields, schema validation, message decode/encode, version
 * negotiation. Freestanding; every length is checked before it is used. */
#include <rivet/net/frame.h>

#include <string.h>

#include "frame-internal.h"

/* A schema may have at most this many fields, so one 64-bit word per
 * nesting level records which were seen (duplicates, required ones). */
#define SCHEMA_FIELDS_MAX 64u

/* Read a minimal varint at p[*pos..n). Overlong encodings (a trailing zero
 * group) are rejected so every value has exactly one encoding: re-encoding
 * is then byte-exact and a signature over a message cannot be malleated. */
static int read_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  size_t i = *pos;
  if (i < n && p[i] < 0x80u) { /* one byte: most tags, lengths and small values */
    *out = p[i];
    *pos = i + 1;
    return RV_OK;
  }
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (i >= n) {
      return RV_EMALFORMED;
    }
    uint8_t b = p[i++];
    if (shift == 63 && b > 1) {
      return RV_EMALFORMED; /* more than 64 bits */
    }
    v |= (uint64_t)(b & 0x7fu) << shift;
    if (!(b & 0x80u)) {
      if (b == 0 && shift != 0) {
        return RV_EMALFORMED; /* overlong */
      }
      *pos = i;
      *out = v;
      return RV_OK;
    }
  }
  return RV_EMALFORMED;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    /* ASCII fast path: eight bytes at a time while no high bit is set.
     * memcpy into a word is the defined way to do an unaligned load. */
    while (n - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, sizeof w);
      if (w & 0x8080808080808080ull) {
        break;
      }
      i += 8;
    }
    if (i >= n) {
      break;
    }
    uint8_t c = s[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      k = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      k = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      k = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n - i <= k) {
      return false;
    }
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0u) != 0x80u) {
        return false;
      }
      cp = cp << 6 | (s[i + j] & 0x3Fu);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += k + 1;
  }
  return true;
}

static const rv_frame_field_desc *find_desc(const rv_frame_schema *s, uint32_t number,
                                            size_t *hint) {
  /* Canonical input lists fields in schema order: try the next one first. */
  if (*hint < s->nfields && s->fields[*hint].number == number) {
    return &s->fields[(*hint)++];
  }
  size_t lo = 0, hi = s->nfields;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->fields[mid].number == number) {
      *hint = mid + 1;
      return &s->fields[mid];
    }
    if (s->fields[mid].number < number) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return NULL;
}

static unsigned wire_of(uint8_t type) {
  switch (type) {
  case RV_FT_FIXED32:
    return RV_WIRE_FIXED32;
  case RV_FT_FIXED64:
    return RV_WIRE_FIXED64;
  case RV_FT_BYTES:
  case RV_FT_STRING:
  case RV_FT_MESSAGE:
    return RV_WIRE_BYTES;
  default:
    return RV_WIRE_VARINT;
  }
}

struct decode_ctx {
  const rv_frame_limits *limits;
  rv_frame_value *store; /* top level only */
  size_t cap;
  size_t count;    /* values stored */
  size_t unknown;  /* unknown values stored */
  uint32_t fields; /* fields seen at all levels */
  rv_diag *diag;
};

static int decode_level(struct decode_ctx *c, const rv_frame_schema *s, const uint8_t *p, size_t n,
                        size_t base, uint32_t depth);

/* Parse one field at p[*pos..n) into v (tag, value, raw span). */
static int parse_field(struct decode_ctx *c, const uint8_t *p, size_t n, size_t *pos, size_t base,
                       rv_frame_value *v) {
  size_t start = *pos;
  uint64_t tag;
  v->raw = rv_slice_make(p + start, 0);
  if (read_varint(p, n, pos, &tag) != RV_OK) {
    return rv_diag_set(c->diag, RV_EMALFORMED, base + start, "bad field tag varint");
  }
  uint64_t number = tag >> 3;
  if (number == 0 || number > RV_FRAME_FIELD_MAX) {
    return rv_diag_set(c->diag, RV_EMALFORMED, base + start, "field number out of range");
  }
  v->number = (uint32_t)number;
  v->wire = (uint8_t)(tag & 7u);
  v->u = 0;
  v->bytes = rv_slice_make(NULL, 0);
  switch (v->wire) {
  case RV_WIRE_VARINT:
    if (read_varint(p, n, pos, &v->u) != RV_OK) {
      return rv_diag_set(c->diag, RV_EMALFORMED, base + *pos, "bad varint value");
    }
    break;
  case RV_WIRE_FIXED32:
  case RV_WIRE_FIXED64: {
    size_t k = v->wire == RV_WIRE_FIXED32 ? 4 : 8;
    if (n - *pos < k) {
      return rv_diag_set(c->diag, RV_EMALFORMED, base + *pos, "fixed field past the end");
    }
    for (size_t i = 0; i < k; i++) {
      v->u |= (uint64_t)p[*pos + i] << (8 * i);
    }
    *pos += k;
    break;
  }
  case RV_WIRE_BYTES: {
    uint64_t len;
    if (read_varint(p, n, pos, &len) != RV_OK) {
      return rv_diag_set(c->diag, RV_EMALFORMED, base + *pos, "bad length varint");
    }
    if (len > n - *pos) {
      return rv_diag_set(c->diag, RV_EMALFORMED, base + *pos, "length past the end");
    }
    v->bytes = rv_slice_make(p + *pos, (size_t)len);
    *pos += (size_t)len;
    break;
  }
  default:
    return rv_diag_set(c->diag, RV_EMALFORMED, base + start, "unknown wire type");
  }
  v->raw = rv_slice_make(p + start, *pos - start);
  return RV_OK;
}

/* Check a known field's value against its declared type. */
static int check_value(struct decode_ctx *c, const rv_frame_field_desc *fd, rv_frame_value *v,
                       size_t off, uint32_t depth) {
  if (v->wire != wire_of(fd->type)) {
    return rv_diag_set(c->diag, RV_EMALFORMED, off, "wire type does not match the schema");
  }
  switch (fd->type) {
  case RV_FT_BOOL:
    if (v->u > 1) {
      return rv_diag_set(c->diag, RV_EMALFORMED, off, "bool is neither 0 nor 1");
    }
    break;
  case RV_FT_SINT: /* zigzag: 0,-1,1,-2 ... ; stored as int64 bits */
    v->u = (v->u >> 1) ^ (~(v->u & 1) + 1);
    break;
  case RV_FT_STRING:
    if (!utf8_valid(v->bytes.ptr, v->bytes.len)) {
      return rv_diag_set(c->diag, RV_EMALFORMED, off, "string is not valid UTF-8");
    }
    break;
  case RV_FT_MESSAGE:
    if (depth + 1 > c->limits->max_depth) {
      return rv_diag_set(c->diag, RV_ELIMIT, off, "messages nested too deep");
    }
    return decode_level(c, fd->message, v->bytes.ptr, v->bytes.len,
                        off + (size_t)(v->bytes.ptr - v->raw.ptr), depth + 1);
  default:
    break;
  }
  return RV_OK;
}

static int decode_level(struct decode_ctx *c, const rv_frame_schema *s, const uint8_t *p, size_t n,
                        size_t base, uint32_t depth) {
  uint64_t seen = 0;
  size_t pos = 0, hint = 0;
  int rc;
  while (pos < n) {
    size_t off = base + pos;
    /* Parse straight into the caller's slot (no copy of a value built on
     * the stack: that copy was a store-forwarding stall on the hot path). */
    rv_frame_value tmp = {0};
    bool keep = depth == 1;
    rv_frame_value *v = keep && c->count < c->cap ? &c->store[c->count] : &tmp;
    if ((rc = parse_field(c, p, n, &pos, base, v)) != RV_OK) {
      return rc;
    }
    if (++c->fields > c->limits->max_fields) {
      return rv_diag_set(c->diag, RV_ELIMIT, off, "too many fields");
    }
    v->desc = find_desc(s, v->number, &hint);
    if (v->desc) {
      uint64_t bit = 1ull << (size_t)(v->desc - s->fields);
      if ((seen & bit) && !(v->desc->flags & RV_FIELD_REPEATED)) {
        return rv_diag_set(c->diag, RV_EMALFORMED, off, "non-repeated field appears twice");
      }
      seen |= bit;
      if ((rc = check_value(c, v->desc, v, off, depth)) != RV_OK) {
        return rc;
      }
    }
    if (keep) {
      if (v == &tmp) {
        return rv_diag_set(c->diag, RV_ELIMIT, off, "more fields than value storage");
      }
      c->count++;
      c->unknown += v->desc == NULL;
    }
  }
  for (size_t i = 0; i < s->nfields; i++) {
    if ((s->fields[i].flags & RV_FIELD_REQUIRED) && !(seen & (1ull << i))) {
      return rv_diag_set(c->diag, RV_EMALFORMED, base + n, "a required field is missing");
    }
  }
  return RV_OK;
}

int rv_frame_msg_decode(rv_frame_msg *m, const rv_frame_schema *schema, rv_slice payload,
                        rv_frame_value *storage, size_t cap, const rv_frame_limits *limits,
                        rv_diag *diag) {
  rv_frame_limits l = limits ? *limits : rv_frame_limits_default();
  if (schema->nfields > SCHEMA_FIELDS_MAX || l.max_depth < 1) {
    return rv_diag_set(diag, RV_EINVAL, 0, "schema has too many fields or limits are invalid");
  }
  struct decode_ctx c = {&l, storage, cap, 0, 0, 0, diag};
  int rc = decode_level(&c, schema, payload.ptr, payload.len, 0, 1);
  if (rc != RV_OK) {
    return rc;
  }
  m->schema = schema;
  m->values = storage;
  m->count = c.count;
  m->unknown = c.unknown;
  return RV_OK;
}

const rv_frame_value *rv_frame_msg_next(const rv_frame_msg *m, uint32_t number,
                                        const rv_frame_value *prev) {
  size_t i = prev ? (size_t)(prev - m->values) + 1 : 0;
  for (; i < m->count; i++) {
    if (m->values[i].number == number) {
      return &m->values[i];
    }
  }
  return NULL;
}

static const rv_frame_value *find_typed(const rv_frame_msg *m, uint32_t number, unsigned wire) {
  const rv_frame_value *v = rv_frame_msg_next(m, number, NULL);
  return v && v->desc && v->wire == wire ? v : NULL;
}

int rv_frame_msg_get_u64(const rv_frame_msg *m, uint32_t number, uint64_t *out) {
  const rv_frame_value *v = rv_frame_msg_next(m, number, NULL);
  if (!v || !v->desc || v->wire == RV_WIRE_BYTES || v->desc->type == RV_FT_SINT) {
    return RV_ENOTFOUND;
  }
  *out = v->u;
  return RV_OK;
}

int rv_frame_msg_get_i64(const rv_frame_msg *m, uint32_t number, int64_t *out) {
  const rv_frame_value *v = find_typed(m, number, RV_WIRE_VARINT);
  if (!v || v->desc->type != RV_FT_SINT) {
    return RV_ENOTFOUND;
  }
  memcpy(out, &v->u, sizeof *out); /* the zigzag result was stored as int64 bits */
  return RV_OK;
}

int rv_frame_msg_get_bytes(const rv_frame_msg *m, uint32_t number, rv_slice *out) {
  const rv_frame_value *v = find_typed(m, number, RV_WIRE_BYTES);
  if (!v) {
    return RV_ENOTFOUND;
  }
  *out = v->bytes;
  return RV_OK;
}

int rv_frame_schema_check(const rv_frame_schema *schema, rv_diag *diag) {
  if (schema->nfields > SCHEMA_FIELDS_MAX || (schema->nfields && !schema->fields)) {
    return rv_diag_set(diag, RV_EINVAL, 0, "too many fields (at most 64) or no field table");
  }
  for (size_t i = 0; i < schema->nfields; i++) {
    const rv_frame_field_desc *f = &schema->fields[i];
    if (f->number == 0 || f->number > RV_FRAME_FIELD_MAX) {
      return rv_diag_set(diag, RV_EINVAL, i, "field number out of range");
    }
    if (i > 0 && f->number <= schema->fields[i - 1].number) {
      return rv_diag_set(diag, RV_EINVAL, i, "fields not sorted by number, or a duplicate");
    }
    if (f->type < RV_FT_UINT || f->type > RV_FT_MESSAGE) {
      return rv_diag_set(diag, RV_EINVAL, i, "unknown field type");
    }
    if ((f->type == RV_FT_MESSAGE) != (f->message != NULL)) {
      return rv_diag_set(diag, RV_EINVAL, i, "MESSAGE fields (only) need a nested schema");
    }
    if ((f->flags & RV_FIELD_REQUIRED) && (f->flags & RV_FIELD_REPEATED)) {
      return rv_diag_set(diag, RV_EINVAL, i, "a field cannot be both required and repeated");
    }
  }
  return RV_OK;
}

/* ---- writer: typed puts and re-encoding ------------------------------ */

void rv_frame_put_uint(rv_frame_writer *w, uint32_t number, uint64_t v) {
  if (rv_frame_writer_tag(w, number, RV_WIRE_VARINT)) {
    rv_frame_writer_put_varint(w, v);
  }
}

void rv_frame_put_sint(rv_frame_writer *w, uint32_t number, int64_t v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u); /* two's complement bits; zigzag below is defined on them */
  rv_frame_put_uint(w, number, (u << 1) ^ (0 - (u >> 63)));
}

void rv_frame_put_fixed32(rv_frame_writer *w, uint32_t number, uint32_t v) {
  if (rv_frame_writer_tag(w, number, RV_WIRE_FIXED32)) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    rv_frame_writer_put(w, b, sizeof b);
  }
}

void rv_frame_put_fixed64(rv_frame_writer *w, uint32_t number, uint64_t v) {
  if (rv_frame_writer_tag(w, number, RV_WIRE_FIXED64)) {
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
      b[i] = (uint8_t)(v >> (8 * i));
    }
    rv_frame_writer_put(w, b, sizeof b);
  }
}

void rv_frame_put_bytes(rv_frame_writer *w, uint32_t number, const void *p, size_t n) {
  if (rv_frame_writer_tag(w, number, RV_WIRE_BYTES)) {
    rv_frame_writer_put_varint(w, n);
    rv_frame_writer_put(w, p, n);
  }
}

void rv_frame_put_raw(rv_frame_writer *w, rv_slice raw) {
  if (w->open && w->error == 0) {
    rv_frame_writer_put(w, raw.ptr, raw.len);
  } else if (!w->open && w->error == 0) {
    w->error = RV_EINVAL;
  }
}

void rv_frame_msg_encode(rv_frame_writer *w, const rv_frame_msg *m) {
  /* Known fields were decoded from canonical (minimal) encodings, so their
   * raw bytes are the encoding: copying them in schema order is re-encoding. */
  for (size_t f = 0; f < m->schema->nfields; f++) {
    for (size_t i = 0; i < m->count; i++) {
      if (m->values[i].desc == &m->schema->fields[f]) {
        rv_frame_put_raw(w, m->values[i].raw);
      }
    }
  }
  for (size_t i = 0; i < m->count; i++) {
    if (!m->values[i].desc) {
      rv_frame_put_raw(w, m->values[i].raw);
    }
  }
}

/* ---- version negotiation --------------------------------------------- */

static const rv_frame_field_desc hello_fields[] = {
    {1, RV_FT_UINT, RV_FIELD_REQUIRED, "min_version", NULL},
    {2, RV_FT_UINT, RV_FIELD_REQUIRED, "max_version", NULL},
    {3, RV_FT_BYTES, 0, "node", NULL},
};

const rv_frame_schema rv_frame_hello_schema = {"hello", hello_fields,
                                               sizeof hello_fields / sizeof hello_fields[0]};

static const rv_frame_field_desc hello_ack_fields[] = {
    {1, RV_FT_UINT, 0, "version", NULL},
    {2, RV_FT_UINT, 0, "error", NULL},
    {3, RV_FT_UINT, 0, "min_version", NULL},
    {4, RV_FT_UINT, 0, "max_version", NULL},
};

const rv_frame_schema rv_frame_hello_ack_schema = {
    "hello_ack", hello_ack_fields, sizeof hello_ack_fields / sizeof hello_ack_fields[0]};

int rv_frame_negotiate(uint64_t my_min, uint64_t my_max, uint64_t peer_min, uint64_t peer_max,
                       uint8_t *chosen) {
  if (my_min < 1 || my_min > my_max || my_max > 255 || peer_min < 1 || peer_min > peer_max ||
      peer_max > 255) {
    return RV_EINVAL;
  }
  uint64_t lo = my_min > peer_min ? my_min : peer_min;
  uint64_t hi = my_max < peer_max ? my_max : peer_max;
  if (lo > hi) {
    return RV_EUNSUPPORTED;
  }
  *chosen = (uint8_t)hi;
  return RV_OK;
}
