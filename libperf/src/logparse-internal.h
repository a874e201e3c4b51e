/* logparse-internal: the compiled format, shared by logformat.c and
 * logparse.c. Not exported. */
#pragma once

#include <rivet/perf/logparse.h>

enum {
  V_END = -1,
  V_OTHER = 0,
  V_ADDR,
  V_USER,
  V_TIME_LOCAL,
  V_TIME_ISO,
  V_MSEC,
  V_REQUEST,
  V_METHOD,
  V_REQUEST_URI,
  V_URI,
  V_ARGS,
  V_PROTOCOL,
  V_STATUS,
  V_BYTES,
  V_REFERER,
  V_AGENT,
  V_REQTIME,
};

#define LOGFMT_MAX_ITEMS 48

/* Literal text, then a variable (V_END for the last item). */
typedef struct fmt_item {
  const uint8_t *lit;
  size_t lit_len;
  int var;
  uint8_t term; /* the byte that ends the variable's value; 0 = end of line */
  bool quoted;  /* the literal ends with '"': \" inside does not end it */
} fmt_item;

struct rv_logformat {
  const rv_alloc *alloc;
  char *text; /* the format string, owned */
  fmt_item items[LOGFMT_MAX_ITEMS];
  size_t nitems;
  uint32_t fields; /* bit per rv_log_field the format produces */
};
