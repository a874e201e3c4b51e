/* memviz: run a small ownership script and show the stack and the heap
 * after each step; reject scripts that break the ownership rules.
 *
 *   memviz [--json | --html FILE] [--strict] [--color | --no-color] SCRIPT
 *
 * Exit codes: 0 ok, 1 ownership errors, 2 syntax or usage errors.
 * The script language is described in README.md. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mv.h"

#define MV_MAX_SCRIPT ((size_t)1024 * 1024)

static const char usage[] =
    "usage: memviz [--json | --html FILE] [--strict] [--color | --no-color] SCRIPT\n"
    "Check an ownership script, then run it showing the stack and the heap after each step.\n"
    "  --json        one JSON object per step on standard output\n"
    "  --html FILE   write a self-contained page with a step slider to FILE\n"
    "  --strict      a heap block still owned at exit is an error (leak)\n"
    "  --color       colour the text output (default: when standard output is a terminal)\n"
    "  --check       check only, do not run\n"
    "exit status: 0 ok, 1 ownership errors, 2 syntax or usage errors\n";

static int read_file(const char *path, rv_buf *out) {
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!in) {
    return rv_err_from_errno(errno);
  }
  int rc = RV_OK;
  for (;;) {
    rc = rv_buf_reserve(out, 4096);
    if (rc != RV_OK) {
      break;
    }
    size_t n = fread(out->data + out->len, 1, out->cap - out->len, in);
    out->len += n;
    if (out->len > MV_MAX_SCRIPT) {
      rc = RV_ELIMIT;
      break;
    }
    if (n == 0) {
      rc = ferror(in) ? RV_EIO : RV_OK;
      break;
    }
  }
  if (in != stdin) {
    fclose(in);
  }
  return rc;
}

int main(int argc, char **argv) {
  const char *path = NULL, *html = NULL;
  bool json = false, strict = false, check_only = false;
  int color = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = true;
    } else if (!strcmp(a, "--strict")) {
      strict = true;
    } else if (!strcmp(a, "--check")) {
      check_only = true;
    } else if (!strcmp(a, "--color")) {
      color = 1;
    } else if (!strcmp(a, "--no-color")) {
      color = 0;
    } else if (!strcmp(a, "--html") && i + 1 < argc) {
      html = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "memviz: unknown option %s\n%s", a, usage);
      return 2;
    } else if (!path) {
      path = a;
    } else {
      fprintf(stderr, "memviz: more than one script given\n%s", usage);
      return 2;
    }
  }
  if (!path || (json && html)) {
    fprintf(stderr, "memviz: %s\n%s", path ? "--json and --html exclude each other" : "no script",
            usage);
    return 2;
  }
  bool out_color = color < 0 ? isatty(STDOUT_FILENO) != 0 : color != 0;
  bool err_color = color < 0 ? isatty(STDERR_FILENO) != 0 : color != 0;

  rv_buf src;
  rv_buf_init(&src, NULL);
  int rc = read_file(path, &src);
  if (rc != RV_OK) {
    fprintf(stderr, "memviz: %s: %s\n", path, rv_strerror(rc));
    rv_buf_free(&src);
    return 2;
  }
  mv_program prog;
  mv_diags diags;
  mv_diags_init(&diags, NULL);
  int status = 0;
  rc = mv_parse(&prog, (const char *)src.data, src.len, &diags, NULL);
  if (rc == RV_OK) {
    rc = mv_resolve(&prog, &diags);
  }
  if (rc == RV_OK) {
    rc = mv_check(&prog, &diags, strict);
  }
  if (rc == RV_EMALFORMED) {
    mv_diags_print(stderr, &diags, &prog, path, err_color);
    status = mv_diags_exit_code(&diags);
    goto done;
  }
  if (rc != RV_OK) {
    goto fail;
  }
  if (check_only) {
    goto done;
  }
  mv_text_ctx text = {stdout, out_color};
  mv_html_ctx hc = {.n = 0};
  rv_buf_init(&hc.steps, NULL);
  if (html) {
    rc = mv_run(&prog, &diags, mv_render_html_step, &hc);
  } else if (json) {
    rc = mv_run(&prog, &diags, mv_render_json_step, stdout);
  } else {
    rc = mv_run(&prog, &diags, mv_render_text_step, &text);
  }
  if (rc == RV_OK && html) {
    FILE *out = fopen(html, "wb");
    rc = out ? mv_html_write(out, &hc, &prog, path) : rv_err_from_errno(errno);
    if (out && fclose(out) != 0 && rc == RV_OK) {
      rc = RV_EIO;
    }
    if (rc == RV_OK) {
      printf("memviz: wrote %s (%zu steps)\n", html, hc.n);
    }
  }
  rv_buf_free(&hc.steps);
  if (rc == RV_EMALFORMED) {
    mv_diags_print(stderr, &diags, &prog, path, err_color);
    status = mv_diags_exit_code(&diags);
    goto done;
  }
  if (rc != RV_OK) {
    goto fail;
  }
done:
  mv_program_free(&prog);
  mv_diags_free(&diags);
  rv_buf_free(&src);
  return status;
fail:
  fprintf(stderr, "memviz: %s: %s\n", path,
          rc == RV_ELIMIT ? "the script runs more than 20000 steps (or nests calls deeper than "
                            "64); stopped"
                          : rv_strerror(rc));
  mv_program_free(&prog);
  mv_diags_free(&diags);
  rv_buf_free(&src);
  return 2;
}
