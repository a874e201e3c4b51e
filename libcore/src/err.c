/* err: error codes, their text, diagnostics and the panic handler.
 * Freestanding: the errno mapping and the default stderr handler are compiled
 * only when __STDC_HOSTED__ is 1. */
#include <rivet/core/err.h>

#include <stdatomic.h>

#if __STDC_HOSTED__
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#endif

struct err_entry {
  const char *name;
  const char *text;
};

/* Indexed by -code; the table and enum rv_err must grow together. */
static const struct err_entry err_table[] = {
    {"RV_OK", "success"},
    {"RV_EINVAL", "invalid argument"},
    {"RV_ENOMEM", "out of memory"},
    {"RV_EOVERFLOW", "size computation overflows"},
    {"RV_ERANGE", "index or offset out of range"},
    {"RV_EEMPTY", "container is empty"},
    {"RV_EFULL", "container is full"},
    {"RV_EAGAIN", "resource temporarily unavailable, try again"},
    {"RV_ETIMEDOUT", "deadline passed"},
    {"RV_ENOTFOUND", "not found"},
    {"RV_EEXIST", "already exists"},
    {"RV_EMALFORMED", "malformed input"},
    {"RV_ETRUNCATED", "input truncated"},
    {"RV_ELIMIT", "input exceeds a configured limit"},
    {"RV_EUNSUPPORTED", "not supported"},
    {"RV_EVERIFY", "verification failed"},
    {"RV_EIO", "input/output error"},
    {"RV_ECLOSED", "closed or shutting down"},
    {"RV_EPERM", "operation not permitted"},
    {"RV_ESTATE", "wrong state for this operation"},
    {"RV_EBUSY", "resource busy"},
};

_Static_assert(sizeof err_table / sizeof err_table[0] == (size_t)(-RV_ERR_MIN) + 1,
               "err_table must have one entry per rv_err code");

static const struct err_entry *err_lookup(int code) {
  if (code > 0 || code < RV_ERR_MIN) {
    return NULL;
  }
  return &err_table[-code];
}

const char *rv_strerror(int code) {
  const struct err_entry *e = err_lookup(code);
  return e ? e->text : "unknown error";
}

const char *rv_err_name(int code) {
  const struct err_entry *e = err_lookup(code);
  return e ? e->name : "RV_E?";
}

#if __STDC_HOSTED__
int rv_err_from_errno(int errnum) {
  switch (errnum) {
  case 0:
    return RV_OK;
  case EINVAL:
    return RV_EINVAL;
  case ENOMEM:
    return RV_ENOMEM;
  case EOVERFLOW:
    return RV_EOVERFLOW;
  case ERANGE:
    return RV_ERANGE;
#if EWOULDBLOCK != EAGAIN
  case EWOULDBLOCK:
#endif
  case EAGAIN:
  case EINTR:
    return RV_EAGAIN;
  case ETIMEDOUT:
    return RV_ETIMEDOUT;
  case ENOENT:
    return RV_ENOTFOUND;
  case EEXIST:
    return RV_EEXIST;
  case ENOTSUP:
    return RV_EUNSUPPORTED;
  case EPERM:
  case EACCES:
    return RV_EPERM;
  case EPIPE:
  case ECONNRESET:
  case ENOTCONN:
    return RV_ECLOSED;
  case EBUSY:
    return RV_EBUSY;
  default:
    return RV_EIO;
  }
}
#endif

int rv_diag_set(rv_diag *d, int code, size_t offset, const char *msg) {
  if (d) {
    d->code = code;
    d->offset = offset;
    d->line = 0;
    d->column = 0;
    d->msg = msg ? msg : rv_strerror(code);
  }
  return code;
}

static void panic_default(const char *msg) {
#if __STDC_HOSTED__
  (void)fprintf(stderr, "rivet: contract violated: %s\n", msg);
  abort();
#else
  (void)msg;
  __builtin_trap();
#endif
}

/* An atomic pointer so a handler can be installed while other threads run;
 * relaxed is not enough for the handler's own data, so exchange/load use the
 * default seq_cst ordering: installation happens-before its use. */
static _Atomic(rv_panic_fn) panic_handler = panic_default;

rv_panic_fn rv_set_panic_handler(rv_panic_fn fn) {
  return atomic_exchange(&panic_handler, fn ? fn : panic_default);
}

_Noreturn void rv_panic(const char *msg) {
  rv_panic_fn fn = atomic_load(&panic_handler);
  fn(msg);
  /* A handler must not return; if it does, stop here rather than run on. */
  __builtin_trap();
}
