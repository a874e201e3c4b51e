/* libFuzzer harness for memviz: parser, resolver and checker on arbitrary
 * bytes; when the checker accepts the script, it is also run with every
 * step rendered as JSON and text (into /dev/null), and diagnostics are
 * printed, so the renderers are fuzzed too. It must never crash, hang
 * (scripts cannot loop; runs stop after MV_MAX_STEPS) or leak. */
#include <stdint.h>
#include <stdio.h>

#include "mv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void) {
  static FILE *f;
  if (!f) {
    f = fopen("/dev/null", "w");
  }
  return f;
}

static int json_step(void *ctx, const mv_engine *e, uint32_t line, const char *label) {
  rv_buf *b = ctx;
  b->len = 0;
  int rc = mv_json_step(b, e, line, label);
  mv_text_ctx t = {sink(), true};
  return rc == RV_OK && t.out ? mv_render_text_step(&t, e, line, label) : rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) {
    return 0;
  }
  /* The first byte picks --strict, so both modes are explored. */
  bool strict = size > 0 && (data[0] & 1);
  mv_program prog;
  mv_diags diags;
  mv_diags_init(&diags, NULL);
  int rc = mv_parse(&prog, (const char *)data, size, &diags, NULL);
  if (rc == RV_OK) {
    rc = mv_resolve(&prog, &diags);
  }
  if (rc == RV_OK) {
    rc = mv_check(&prog, &diags, strict);
  }
  if (rc == RV_OK) {
    rv_buf b;
    rv_buf_init(&b, NULL);
    rc = mv_run(&prog, &diags, json_step, &b);
    rv_buf_free(&b);
  }
  if (sink()) {
    mv_diags_print(sink(), &diags, &prog, "fuzz.rv", true);
  }
  mv_program_free(&prog);
  mv_diags_free(&diags);
  return 0;
}
