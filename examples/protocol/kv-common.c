/* Helpers both programs share: table lookups and a schema-driven printer. */
#include "kv.h"

const kv_proto *kv_proto_get(unsigned version) {
  switch (version) {
  case 1:
    return &kv_proto_v1;
  case 2:
    return &kv_proto_v2;
  default:
    return NULL;
  }
}

bool kv_knows(const rv_frame_schema *schema, uint32_t number) {
  for (size_t i = 0; i < schema->nfields; i++) {
    if (schema->fields[i].number == number) {
      return true;
    }
  }
  return false;
}

const rv_frame_schema *kv_schema_for(const kv_proto *p, unsigned type, unsigned version) {
  if (type > KV_T_MAX || p->types[type] == NULL || p->since[type] > version) {
    return NULL;
  }
  return p->types[type];
}

const char *kv_status_name(uint64_t status) {
  static const char *const names[] = {"OK", "NOT_FOUND", "MALFORMED", "UNSUPPORTED", "FULL"};
  return status < sizeof names / sizeof names[0] ? names[status] : "status?";
}

static void print_bytes(FILE *out, rv_slice b) {
  fputc('"', out);
  for (size_t i = 0; i < b.len; i++) {
    unsigned c = b.ptr[i];
    if (c == '"' || c == '\\') {
      fprintf(out, "\\%c", (int)c);
    } else if (c >= 0x20 && c < 0x7f) {
      fputc((int)c, out);
    } else {
      fprintf(out, "\\x%02x", c);
    }
  }
  fputc('"', out);
}

static int print_fields(FILE *out, const rv_frame_schema *schema, rv_slice payload, uint32_t skip) {
  rv_frame_value values[KV_MAX_VALUES];
  rv_frame_msg m;
  int rc = rv_frame_msg_decode(&m, schema, payload, values, KV_MAX_VALUES, NULL, NULL);
  if (rc != 0) {
    return rc;
  }
  int unknown = (int)m.unknown;
  bool first = true;
  for (size_t i = 0; i < m.count; i++) {
    const rv_frame_value *v = &m.values[i];
    if (v->number == skip) {
      continue;
    }
    if (!first) {
      fputc(' ', out);
    }
    first = false;
    if (v->desc == NULL) {
      fprintf(out, "?%u=", (unsigned)v->number);
      for (size_t j = 0; j < v->raw.len; j++) {
        fprintf(out, "%02x", v->raw.ptr[j]);
      }
      continue;
    }
    switch (v->desc->type) {
    case RV_FT_BYTES:
    case RV_FT_STRING:
      fprintf(out, "%s=", v->desc->name);
      print_bytes(out, v->bytes);
      break;
    case RV_FT_MESSAGE: {
      fprintf(out, "%s{", v->desc->name);
      /* Recursion depth is bounded: the outer decode checked max_depth. */
      int n = print_fields(out, v->desc->message, v->bytes, 0);
      if (n < 0) {
        return n;
      }
      unknown += n;
      fputc('}', out);
      break;
    }
    case RV_FT_SINT:
      fprintf(out, "%s=%lld", v->desc->name, (long long)(int64_t)v->u);
      break;
    default:
      fprintf(out, "%s=%llu", v->desc->name, (unsigned long long)v->u);
      break;
    }
  }
  return unknown;
}

int kv_print_msg(FILE *out, const rv_frame_schema *schema, rv_slice payload, uint32_t skip) {
  return print_fields(out, schema, payload, skip);
}
