/* router: routes matched segment by segment, most specific wins, and a
 * middleware chain that ends in the matched handler. */
#include <rivet/net/router.h>

#include <string.h>

enum { SEG_WILD = 0, SEG_PARAM = 1, SEG_LIT = 2 };

typedef struct route {
  char *method;  /* NUL-terminated copy; pattern follows it in the same block */
  char *pattern; /* NUL-terminated copy */
  size_t size;   /* bytes of the block */
  rv_http_handler_fn fn;
  void *ud;
} route;

typedef struct middleware {
  rv_http_middleware_fn fn;
  void *ud;
} middleware;

struct rv_http_router {
  const rv_alloc *alloc;
  route *routes;
  size_t nroutes, caproutes;
  middleware *mws;
  size_t nmws, capmws;
};

int rv_http_router_create(rv_http_router **out, const rv_alloc *alloc) {
  if (out == NULL) {
    return RV_EINVAL;
  }
  rv_http_router *r = rv_alloc_get(alloc, sizeof *r, _Alignof(rv_http_router));
  if (r == NULL) {
    return RV_ENOMEM;
  }
  memset(r, 0, sizeof *r);
  r->alloc = alloc;
  *out = r;
  return RV_OK;
}

void rv_http_router_destroy(rv_http_router *r) {
  if (r == NULL) {
    return;
  }
  for (size_t i = 0; i < r->nroutes; i++) {
    rv_alloc_free(r->alloc, r->routes[i].method, r->routes[i].size);
  }
  rv_alloc_free(r->alloc, r->routes, r->caproutes * sizeof *r->routes);
  rv_alloc_free(r->alloc, r->mws, r->capmws * sizeof *r->mws);
  rv_alloc_free(r->alloc, r, sizeof *r);
}

/* Grow an array of elem-sized items to hold one more. */
static int grow(const rv_alloc *a, void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) {
    return RV_OK;
  }
  size_t ncap = *cap == 0 ? 8 : *cap * 2;
  size_t old_bytes = *cap * elem;
  size_t new_bytes;
  if (__builtin_mul_overflow(ncap, elem, &new_bytes)) {
    return RV_EOVERFLOW;
  }
  void *p = *arr == NULL ? rv_alloc_get(a, new_bytes, _Alignof(max_align_t))
                         : rv_alloc_resize(a, *arr, old_bytes, new_bytes, _Alignof(max_align_t));
  if (p == NULL) {
    return RV_ENOMEM;
  }
  *arr = p;
  *cap = ncap;
  return RV_OK;
}

static bool is_tchar(unsigned char c) {
  bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (alnum) {
    return true;
  }
  for (const char *s = "!#$%&'*+-.^_`|~"; *s != '\0'; s++) {
    if ((unsigned char)*s == c) {
      return true;
    }
  }
  return false;
}

static bool pattern_ok(const char *p) {
  if (p[0] != '/') {
    return false;
  }
  size_t params = 0, segs = 0;
  const char *s = p + 1;
  for (;;) {
    const char *e = s;
    while (*e != '\0' && *e != '/') {
      e++;
    }
    segs++;
    if (*s == ':' || *s == '*') {
      if (e - s < 2 || ++params > RV_HTTP_MAX_PARAMS) {
        return false; /* a capture needs a name */
      }
      if (*s == '*' && *e != '\0') {
        return false; /* a wildcard must be the last segment */
      }
    }
    if (segs > RV_HTTP_MAX_SEGMENTS) {
      return false;
    }
    if (*e == '\0') {
      return true;
    }
    s = e + 1;
  }
}

int rv_http_router_add(rv_http_router *r, const char *method, const char *pattern,
                       rv_http_handler_fn fn, void *ud) {
  if (r == NULL || method == NULL || pattern == NULL || fn == NULL || method[0] == '\0' ||
      !pattern_ok(pattern)) {
    return RV_EINVAL;
  }
  for (const char *m = method; *m != '\0'; m++) {
    if (!is_tchar((unsigned char)*m)) {
      return RV_EINVAL;
    }
  }
  for (size_t i = 0; i < r->nroutes; i++) {
    if (strcmp(r->routes[i].method, method) == 0 && strcmp(r->routes[i].pattern, pattern) == 0) {
      return RV_EEXIST;
    }
  }
  int rc = grow(r->alloc, (void **)&r->routes, &r->caproutes, r->nroutes, sizeof *r->routes);
  if (rc != RV_OK) {
    return rc;
  }
  size_t ml = strlen(method) + 1, pl = strlen(pattern) + 1;
  char *block = rv_alloc_get(r->alloc, ml + pl, 1);
  if (block == NULL) {
    return RV_ENOMEM;
  }
  memcpy(block, method, ml);
  memcpy(block + ml, pattern, pl);
  route *rt = &r->routes[r->nroutes++];
  rt->method = block;
  rt->pattern = block + ml;
  rt->size = ml + pl;
  rt->fn = fn;
  rt->ud = ud;
  return RV_OK;
}

int rv_http_router_use(rv_http_router *r, rv_http_middleware_fn fn, void *ud) {
  if (r == NULL || fn == NULL) {
    return RV_EINVAL;
  }
  int rc = grow(r->alloc, (void **)&r->mws, &r->capmws, r->nmws, sizeof *r->mws);
  if (rc != RV_OK) {
    return rc;
  }
  r->mws[r->nmws].fn = fn;
  r->mws[r->nmws].ud = ud;
  r->nmws++;
  return RV_OK;
}

/* Match path against pattern; on success fill params and kinds (one entry
 * per segment) and return the number of segments, else -1. */
static int match(const char *pat, rv_slice path, rv_http_param *params, size_t *nparams,
                 uint8_t *kinds) {
  if (path.len == 0) {
    path = rv_slice_make("/", 1); /* absolute-form without a path means "/" */
  }
  if (path.ptr[0] != '/') {
    return -1;
  }
  size_t pi = 1, np = 0;
  int nseg = 0;
  const char *s = pat + 1;
  for (;;) {
    const char *e = s;
    while (*e != '\0' && *e != '/') {
      e++;
    }
    size_t slen = (size_t)(e - s);
    if (*s == '*') {
      params[np].name = rv_slice_make(s + 1, slen - 1);
      params[np++].value = rv_slice_make(path.ptr + pi, path.len - pi);
      kinds[nseg++] = SEG_WILD;
      *nparams = np;
      return nseg;
    }
    size_t pe = pi;
    while (pe < path.len && path.ptr[pe] != '/') {
      pe++;
    }
    if (*s == ':') {
      if (pe == pi) {
        return -1; /* a parameter matches a non-empty segment */
      }
      params[np].name = rv_slice_make(s + 1, slen - 1);
      params[np++].value = rv_slice_make(path.ptr + pi, pe - pi);
      kinds[nseg++] = SEG_PARAM;
    } else {
      if (pe - pi != slen || memcmp(path.ptr + pi, s, slen) != 0) {
        return -1;
      }
      kinds[nseg++] = SEG_LIT;
    }
    bool pat_end = *e == '\0', path_end = pe == path.len;
    if (pat_end || path_end) {
      if (pat_end && path_end) {
        *nparams = np;
        return nseg;
      }
      /* A pattern "/a/" followed by a wildcard also matches "/a" (empty capture). */
      if (path_end && e[0] == '/' && e[1] == '*') {
        params[np].name = rv_slice_make(e + 2, strlen(e + 2));
        params[np++].value = rv_slice_make(path.ptr + pe, 0);
        kinds[nseg++] = SEG_WILD;
        *nparams = np;
        return nseg;
      }
      return -1;
    }
    s = e + 1;
    pi = pe + 1;
  }
}

/* True when kinds a (na segments) is more specific than b (nb). */
static bool more_specific(const uint8_t *a, int na, const uint8_t *b, int nb) {
  for (int i = 0; i < na && i < nb; i++) {
    if (a[i] != b[i]) {
      return a[i] > b[i];
    }
  }
  return na > nb;
}

void rv_http_ctx_init(rv_http_ctx *ctx, const rv_http_request *req, rv_slice body, rv_buf *out) {
  memset(ctx, 0, sizeof *ctx);
  ctx->req = req;
  ctx->body = body;
  ctx->out = out;
}

int rv_http_ctx_status(const rv_http_ctx *ctx) {
  return ctx->res.ended && ctx->res.error == RV_OK ? ctx->res.status : 0;
}

int rv_http_reply(rv_http_ctx *ctx, int status, const char *content_type, rv_slice body) {
  if (ctx->res.status != 0) {
    return RV_ESTATE;
  }
  int rc = rv_http_response_begin(&ctx->res, ctx->out, status);
  if (rc == RV_OK && content_type != NULL) {
    rc = rv_http_response_header(&ctx->res, "Content-Type", rv_slice_cstr(content_type));
  }
  (void)rc; /* sticky: reported by end */
  return rv_http_response_end(&ctx->res, body);
}

/* The built-in end of the chain when no route matched: 404 or 405. */
static int not_routed(rv_http_ctx *ctx) {
  const rv_http_router *r = ctx->router;
  char allow[256];
  size_t alen = 0;
  rv_http_param params[RV_HTTP_MAX_PARAMS];
  uint8_t kinds[RV_HTTP_MAX_SEGMENTS];
  for (size_t i = 0; i < r->nroutes; i++) {
    size_t np = 0;
    if (match(r->routes[i].pattern, ctx->req->path, params, &np, kinds) < 0) {
      continue;
    }
    size_t ml = strlen(r->routes[i].method);
    bool dup = false;
    for (size_t j = 0; j + ml <= alen && !dup; j++) {
      dup = (j == 0 || allow[j - 1] == ' ') && memcmp(allow + j, r->routes[i].method, ml) == 0 &&
            (j + ml == alen || allow[j + ml] == ',');
    }
    if (!dup && alen + ml + 2 <= sizeof allow) {
      if (alen > 0) {
        allow[alen++] = ',';
        allow[alen++] = ' ';
      }
      memcpy(allow + alen, r->routes[i].method, ml);
      alen += ml;
    }
  }
  if (alen == 0) {
    return rv_http_reply(ctx, 404, "text/plain; charset=utf-8", rv_slice_cstr("Not Found"));
  }
  rv_http_response_begin(&ctx->res, ctx->out, 405);
  rv_http_response_header(&ctx->res, "Allow", rv_slice_make(allow, alen));
  rv_http_response_header(&ctx->res, "Content-Type", rv_slice_cstr("text/plain; charset=utf-8"));
  return rv_http_response_end(&ctx->res, rv_slice_cstr("Method Not Allowed"));
}

int rv_http_next(rv_http_ctx *ctx) {
  const rv_http_router *r = ctx->router;
  if (r == NULL) {
    return RV_ESTATE;
  }
  if (ctx->next_mw < r->nmws) {
    const middleware *m = &r->mws[ctx->next_mw++];
    return m->fn(ctx, m->ud);
  }
  if (ctx->next_mw > r->nmws) {
    return RV_ESTATE; /* the handler runs at most once */
  }
  ctx->next_mw++;
  const route *rt = ctx->route;
  if (rt == NULL) {
    return not_routed(ctx);
  }
  return rt->fn(ctx, rt->ud);
}

int rv_http_router_dispatch(const rv_http_router *r, rv_http_ctx *ctx) {
  if (r == NULL || ctx == NULL || ctx->req == NULL || ctx->out == NULL) {
    return RV_EINVAL;
  }
  ctx->router = r;
  ctx->route = NULL;
  ctx->next_mw = 0;
  rv_http_param params[RV_HTTP_MAX_PARAMS];
  uint8_t kinds[RV_HTTP_MAX_SEGMENTS], best[RV_HTTP_MAX_SEGMENTS];
  int nbest = -1;
  for (size_t i = 0; i < r->nroutes; i++) {
    const route *rt = &r->routes[i];
    if (strlen(rt->method) != ctx->req->method.len ||
        memcmp(rt->method, ctx->req->method.ptr, ctx->req->method.len) != 0) {
      continue;
    }
    size_t np = 0;
    int n = match(rt->pattern, ctx->req->path, params, &np, kinds);
    if (n >= 0 && (nbest < 0 || more_specific(kinds, n, best, nbest))) {
      nbest = n;
      memcpy(best, kinds, (size_t)n);
      memcpy(ctx->params, params, np * sizeof *params);
      ctx->nparams = np;
      ctx->route = rt;
    }
  }
  size_t start = ctx->out->len;
  int rc = rv_http_next(ctx);
  if (!ctx->res.ended || ctx->res.error != RV_OK) {
    if (rc == RV_OK) {
      rc = ctx->res.error != RV_OK ? ctx->res.error : RV_ESTATE;
    }
    (void)rv_buf_resize(ctx->out, start); /* drop a half-written response */
    memset(&ctx->res, 0, sizeof ctx->res);
    int rc500 = rv_http_reply(ctx, 500, "text/plain; charset=utf-8",
                              rv_slice_cstr("Internal Server Error"));
    if (rc500 != RV_OK) {
      return rc500; /* out of memory even for the 500: nothing was written */
    }
  }
  return rc;
}

bool rv_http_param_get(const rv_http_ctx *ctx, const char *name, rv_slice *value) {
  size_t n = strlen(name);
  for (size_t i = 0; i < ctx->nparams; i++) {
    if (ctx->params[i].name.len == n && memcmp(ctx->params[i].name.ptr, name, n) == 0) {
      if (value != NULL) {
        *value = ctx->params[i].value;
      }
      return true;
    }
  }
  return false;
}
