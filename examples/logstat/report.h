/* report: logstat's text, JSON and HTML output of a merged agg. */
#pragma once

#include <stdio.h>

#include "agg.h"

typedef struct report {
  const agg *a;
  const char *source;
  const char *format;   /* the format's name or string */
  uint64_t input_bytes; /* bytes read from the input (decompressed) */
  size_t top;
  bool has_reqtime;
  bool shrunk;
  /* Malformed examples with absolute line numbers, in line order. */
  const example *ex;
  const uint64_t *ex_line;
  size_t nex;
} report;

int report_text(FILE *o, const report *r);
int report_json(FILE *o, const report *r);
int report_html(FILE *o, const report *r);
