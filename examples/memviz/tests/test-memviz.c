/* memviz unit tests: parser positions, name resolution, each ownership
 * rule's diagnostic, run-time events and the limits that keep hostile
 * scripts bounded. The golden tests (golden.py) cover the full output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mv.h"

typedef struct result {
  int rc;
  mv_diags diags;
  mv_program prog;
} result;

/* Parse, resolve and check src; the caller frees with done(). */
static void check(result *r, const char *src, bool strict) {
  mv_diags_init(&r->diags, NULL);
  r->rc = mv_parse(&r->prog, src, strlen(src), &r->diags, NULL);
  if (r->rc == RV_OK) {
    r->rc = mv_resolve(&r->prog, &r->diags);
  }
  if (r->rc == RV_OK) {
    r->rc = mv_check(&r->prog, &r->diags, strict);
  }
}

static void done(result *r) {
  mv_program_free(&r->prog);
  mv_diags_free(&r->diags);
}

static const mv_diag *diag(const result *r, size_t i) { return MV_AT(&r->diags.list, mv_diag, i); }

static void test_parse_ok(void **state) {
  (void)state;
  result r;
  check(&r,
        "# c\nlet a = box 5 # c\n\nfn f(x: own, y: &, z: &mut) {\n  print x\n}\n"
        "let b = 1\nlet c = 2\nf(a, &b, &mut c)\n{\n  let s = string \"h\\\"i\"\n}\n",
        false);
  assert_int_equal(r.rc, RV_OK);
  assert_int_equal(rv_vec_len(&r.prog.top), 6);
  const mv_stmt *fn = *MV_AT(&r.prog.top, mv_stmt *, 1);
  assert_int_equal(fn->kind, MV_S_FN);
  assert_int_equal(rv_vec_len(&fn->params), 3);
  assert_int_equal(MV_AT(&fn->params, mv_param, 2)->mode, MV_P_REFMUT);
  const mv_stmt *blk = *MV_AT(&r.prog.top, mv_stmt *, 5);
  const mv_stmt *let = *MV_AT(&blk->body, mv_stmt *, 0);
  assert_string_equal(let->e.str, "h\"i");
  done(&r);
}

static void test_syntax_errors(void **state) {
  (void)state;
  static const struct {
    const char *src;
    uint32_t line, col;
  } cases[] = {
      {"let a = box\n", 1, 12},
      {"let a = 5\nlet b = 5 5\n", 2, 11},
      {"print\n", 1, 6},
      {"let a = $\n", 1, 9},
      {"let s = string \"abc\n", 1, 16},
      {"let n = 99999999999999999999\n", 1, 9},
      {"{\nlet a = 1\n", 3, 1},
      {"}\n", 1, 1},
      {"fn f(x: own {\n}\n", 1, 13},
      {"let a\0 = 1\n", 1, 6},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    result r;
    mv_diags_init(&r.diags, NULL);
    size_t len = strlen(cases[i].src);
    if (i == 9) {
      len = 11; /* contains a NUL */
    }
    r.rc = mv_parse(&r.prog, cases[i].src, len, &r.diags, NULL);
    assert_int_equal(r.rc, RV_EMALFORMED);
    assert_true(rv_vec_len(&r.diags.list) >= 1);
    assert_string_equal(diag(&r, 0)->rule, "syntax");
    assert_int_equal(diag(&r, 0)->loc.line, cases[i].line);
    assert_int_equal(diag(&r, 0)->loc.col, cases[i].col);
    assert_int_equal(mv_diags_exit_code(&r.diags), 2);
    done(&r);
  }
}

static void test_names(void **state) {
  (void)state;
  static const char *const bad[] = {
      "print x\n",                                /* unknown */
      "f(1)\nfn f(x: own) {\n}\n",                /* called before its definition */
      "fn f(x: own) {\n  f(x)\n}\n",              /* recursion is impossible */
      "fn f(x: own) {\n}\nf(1, 2)\n",             /* arity */
      "let a = 1\na(1)\n",                        /* not a function */
      "let a = 1\nfn f(x: own) {\n print a\n}\n", /* no captures */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    result r;
    check(&r, bad[i], false);
    assert_int_equal(r.rc, RV_EMALFORMED);
    assert_int_equal(mv_diags_exit_code(&r.diags), 2);
    done(&r);
  }
}

static void test_rules(void **state) {
  (void)state;
  static const struct {
    const char *src;
    const char *rule;
    uint32_t line;
    bool help;
  } cases[] = {
      {"let a = box 1\nlet b = a\nprint a\n", "use-after-move", 3, true},
      {"let a = box 1\ndrop(a)\ndrop(a)\n", "double-drop", 3, true},
      {"let a = box 1\nlet r = &a\nlet m = &mut a\nprint r\n", "borrow-conflict", 3, true},
      {"let a = box 1\nlet m = &mut a\nlet r = &a\nprint m\n", "borrow-conflict", 3, true},
      {"let a = box 1\nlet m = &mut a\nprint a\n*m = 2\n", "borrow-conflict", 3, true},
      {"let a = box 1\nlet r = &a\n*a = 2\nprint r\n", "use-after-mutation", 4, true},
      {"let a = 1\nlet r = &a\na = 2\nprint r\n", "use-after-mutation", 4, true},
      {"let r\n{\n  let b = 1\n  r = &b\n}\nprint r\n", "dangling-borrow", 4, true},
      {"fn f(x: &mut) {\n  let l = 1\n  *x = &l\n}\n", "dangling-borrow", 3, true},
      {"let a = box 1\nlet r = &a\ndrop(a)\nprint r\n", "move-while-borrowed", 3, true},
      {"let a = box 1\nlet r = &a\nlet b = a\nprint r\n", "move-while-borrowed", 3, true},
      {"let s = string \"x\"\nlet r = &s\nlet t = *r\n", "move-out-of-borrow", 3, true},
      {"let a = box 1\nlet r = &a\n*r = 2\n", "write-through-shared", 3, true},
      {"let a\nprint a\n", "uninit", 2, false},
      {"let a = box 1\nlet c = rc a\nlet d = *c\n", "move-out-of-borrow", 3, true},
      {"fn f(x: own) {\n}\nlet a = box 1\nf(a)\nprint a\n", "use-after-move", 5, true},
      {"fn f(x: &mut, y: &) {\n}\nlet a = 1\nf(&mut a, &a)\n", "borrow-conflict", 4, true},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    result r;
    check(&r, cases[i].src, false);
    if (r.rc != RV_EMALFORMED || rv_vec_len(&r.diags.list) == 0) {
      fail_msg("case %zu: accepted: %s", i, cases[i].src);
    }
    const mv_diag *g = diag(&r, 0);
    if (strcmp(g->rule, cases[i].rule) != 0 || g->loc.line != cases[i].line) {
      fail_msg("case %zu: got %s at line %u, want %s at %u", i, g->rule, g->loc.line, cases[i].rule,
               cases[i].line);
    }
    assert_int_equal(mv_diags_exit_code(&r.diags), 1);
    assert_int_equal(g->help[0] != '\0', cases[i].help);
    done(&r);
  }
}

static void test_leak_strict(void **state) {
  (void)state;
  result r;
  check(&r, "let a = box 1\nlet b = string \"x\"\ndrop(b)\n", false);
  assert_int_equal(r.rc, RV_OK);
  done(&r);
  check(&r, "let a = box 1\nlet b = string \"x\"\ndrop(b)\n", true);
  assert_int_equal(r.rc, RV_EMALFORMED);
  assert_int_equal(rv_vec_len(&r.diags.list), 1);
  assert_string_equal(diag(&r, 0)->rule, "leak");
  assert_int_equal(diag(&r, 0)->nfix, 1);
  assert_string_equal(diag(&r, 0)->fix[0].text, "drop(a)");
  done(&r);
}

static void test_valid(void **state) {
  (void)state;
  static const char *const ok[] = {
      "let a = box 1\nlet r = &a\nprint r\nlet m = &mut a\n*m = 2\nprint a\ndrop(a)\n",
      "let a = box 1\nlet c = rc a\nlet d = clone c\ndrop(c)\ndrop(d)\n",
      "fn f(x: &mut) {\n  *x = 3\n}\nlet a = 1\nf(&mut a)\nlet m = &mut a\nf(m)\n",
      "let s = string \"a\"\ns = string \"b\"\nlet t = s\ns = t\ndrop(s)\n",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    result r;
    check(&r, ok[i], true);
    if (r.rc != RV_OK) {
      fail_msg("case %zu rejected: %s", i, diag(&r, 0)->msg);
    }
    done(&r);
  }
}

typedef struct counts {
  size_t steps, frees, scope_end, explicit_drop, last_ref, leaks;
} counts;

static int count_step(void *ctx, const mv_engine *e, uint32_t line, const char *label) {
  (void)line;
  (void)label;
  counts *c = ctx;
  c->steps++;
  for (size_t i = 0; i < rv_vec_len(&e->events); i++) {
    const mv_event *ev = MV_AT(&e->events, mv_event, i);
    if (ev->kind == MV_EV_FREE) {
      c->frees++;
      c->scope_end += strcmp(ev->reason, "scope end") == 0;
      c->explicit_drop += strcmp(ev->reason, "explicit drop") == 0;
      c->last_ref += strstr(ev->text, "last reference gone") != NULL;
    }
    c->leaks += ev->kind == MV_EV_LEAK;
  }
  return RV_OK;
}

static void test_run_events(void **state) {
  (void)state;
  result r;
  check(&r,
        "let k = box 0\n{\n  let a = box 1\n  let b = string \"x\"\n}\nlet c = rc k\n"
        "let d = clone c\ndrop(c)\ndrop(d)\nlet e = box 2\ndrop(e)\nlet leak = box 3\n",
        false);
  assert_int_equal(r.rc, RV_OK);
  counts c = {0};
  assert_int_equal(mv_run(&r.prog, &r.diags, count_step, &c), RV_OK);
  assert_int_equal(c.scope_end, 2);
  assert_int_equal(c.last_ref, 1);
  assert_int_equal(c.explicit_drop, 2); /* the rc block (with its box) and e */
  assert_int_equal(c.frees, 5);         /* a, b, the rc block, the box it owned, e */
  assert_int_equal(c.leaks, 1);
  assert_int_equal(c.steps, 12); /* 10 statements, the `}` and exit */
  done(&r);
}

static void test_limits(void **state) {
  (void)state;
  /* 100 nested blocks: rejected before the recursion gets deep. */
  char src[1024] = "";
  for (size_t i = 0; i < 100; i++) {
    memcpy(src + 2 * i, "{\n", 3);
  }
  result r;
  check(&r, src, false);
  assert_int_equal(r.rc, RV_EMALFORMED);
  done(&r);
  /* Calls doubling at each level: 2^20 steps, stopped by the step limit. */
  char big[4096];
  size_t used = (size_t)snprintf(big, sizeof(big), "fn f0(x: own) {\n}\n");
  for (int i = 1; i <= 20; i++) {
    used += (size_t)snprintf(big + used, sizeof(big) - used,
                             "fn f%d(x: own) {\n  f%d(1)\n  f%d(1)\n}\n", i, i - 1, i - 1);
  }
  snprintf(big + used, sizeof(big) - used, "f20(1)\n");
  check(&r, big, false);
  assert_int_equal(r.rc, RV_OK);
  counts c = {0};
  assert_int_equal(mv_run(&r.prog, &r.diags, count_step, &c), RV_ELIMIT);
  assert_int_equal(c.steps, MV_MAX_STEPS);
  done(&r);
}

static int failing_step(void *ctx, const mv_engine *e, uint32_t line, const char *label) {
  (void)e;
  (void)line;
  (void)label;
  size_t *left = ctx;
  return (*left)-- == 0 ? RV_EIO : RV_OK;
}

/* What only a run can find: a function checked with stand-in arguments gets
 * a value it cannot write through; and a renderer's error stops the run. */
static void test_run_errors(void **state) {
  (void)state;
  result r;
  check(&r, "fn f(x: own) {\n  *x = 5\n}\nlet s = string \"a\"\nf(s)\n", false);
  assert_int_equal(r.rc, RV_OK);
  counts c = {0};
  assert_int_equal(mv_run(&r.prog, &r.diags, count_step, &c), RV_EMALFORMED);
  assert_int_equal(rv_vec_len(&r.diags.list), 1);
  assert_string_equal(diag(&r, 0)->rule, "type");
  assert_int_equal(diag(&r, 0)->loc.line, 2);
  assert_int_equal(mv_diags_exit_code(&r.diags), 2);
  done(&r);

  check(&r, "let a = box 1\nlet b = a\ndrop(b)\n", false);
  assert_int_equal(r.rc, RV_OK);
  size_t left = 2;
  assert_int_equal(mv_run(&r.prog, &r.diags, failing_step, &left), RV_EIO);
  done(&r);
}

/* Every allocation failure, at every point of parse, resolve, check and
 * run, is reported as RV_ENOMEM and leaks nothing. */
static void test_oom(void **state) {
  (void)state;
  static const char src[] =
      "fn f(x: own, y: &, z: &mut) {\n  print y\n  *z = 2\n}\nlet a = box 1\nlet b = 2\n"
      "let s = string \"s\"\nf(a, &s, &mut b)\n{\n  let c = rc s\n  let d = clone c\n}\n"
      "let m = box 3\nlet r = &m\nprint r\ndrop(m)\nlet bad = b\nprint bad\n";
  size_t ok_at = 0;
  for (size_t n = 0; n < 1000 && !ok_at; n++) {
    rv_alloc_failing f;
    const rv_alloc *a = rv_alloc_failing_init(&f, NULL, n);
    mv_program prog;
    mv_diags diags;
    mv_diags_init(&diags, a);
    int rc = mv_parse(&prog, src, sizeof(src) - 1, &diags, a);
    rc = rc ? rc : mv_resolve(&prog, &diags);
    rc = rc ? rc : mv_check(&prog, &diags, false);
    counts c = {0};
    rc = rc ? rc : mv_run(&prog, &diags, count_step, &c);
    if (rc == RV_OK) {
      ok_at = n;
      assert_int_equal(rv_vec_len(&diags.list), 0);
    } else if (rc != RV_ENOMEM) {
      fail_msg("failing allocation %zu: %s", n, rv_strerror(rc));
    }
    mv_program_free(&prog);
    mv_diags_free(&diags);
    if (f.live_blocks != 0 || f.live_bytes != 0) {
      fail_msg("failing allocation %zu: %zu blocks leaked", n, f.live_blocks);
    }
  }
  assert_true(ok_at > 5); /* it took several allocations, each one failed once */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_ok),    cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_names),       cmocka_unit_test(test_rules),
      cmocka_unit_test(test_leak_strict), cmocka_unit_test(test_valid),
      cmocka_unit_test(test_run_events),  cmocka_unit_test(test_limits),
      cmocka_unit_test(test_oom),         cmocka_unit_test(test_run_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
