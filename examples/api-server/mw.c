/* mw.c: the middleware chain: request state, trace, access log, metrics,
 * rate limit per address, JWT bearer auth with scopes, rate limit per token.
 *
 * Verified-token cache (per worker, API_TOKEN_CACHE entries, direct-mapped):
 * verifying a JWT costs microseconds (base64, two JSON parses, an HMAC or
 * an Ed25519 check), which a busy client pays on every request with the
 * same token. A worker remembers tokens it fully verified: the slot is
 * chosen by a keyed hash (SipHash-2-4, libsodium's crypto_shorthash) of the
 * *whole* token (header, claims and signature) under a random key drawn per
 * worker at start-up, and the entry keeps the token itself. Why a hit is as
 * good as verifying again:
 * - A hit needs the same length and the same bytes as a token that passed
 *   rv_jwt_verify(): the whole token is compared with rv_ct_eq() (the hash
 *   only picks the slot, so a hash collision can cost a miss, never a false
 *   hit). The comparison is constant-time, so response timing says nothing
 *   about the bytes of cached tokens; the keyed hash keeps clients from
 *   aiming their tokens at chosen slots to evict others.
 * - Nothing that made the token valid can change before it expires: keys
 *   are pinned when the server starts (no rotation at run time, no
 *   revocation list), `nbf`/`iat` only move from "not yet" to "valid" as
 *   time passes, and the entry dies at the token's `exp` (the verifier's
 *   leeway is not granted to cached entries: stricter, never looser).
 * - With the token the entry keeps what was derived from it (scopes,
 *   `sub`, `jti`, `exp`); tokens longer than API_TOKEN_CACHED_MAX, or whose
 *   `sub` or `jti` exceed API_CLAIM_MAX, are not cached. The cache holds
 *   bearer tokens, as the request buffers already do: it lives in the
 *   worker's memory only and is never logged.
 * - Each cache belongs to one worker thread: no locks, no sharing.
 */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <rivet/core/err.h>
#include <rivet/sec/ct.h>

/* ---- per-worker random numbers (span and trace ids) ------------------- */

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256**: ids need uniqueness, not secrecy; seeded from the OS. */
static uint64_t rng_next(uint64_t s[4]) {
  uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return r;
}

_Static_assert(sizeof((api_worker *)NULL)->cache_key == crypto_shorthash_KEYBYTES,
               "the token cache key is a SipHash key");

void api_worker_seed(api_worker *w) {
  do {
    randombytes_buf(w->rng, sizeof w->rng);
  } while ((w->rng[0] | w->rng[1] | w->rng[2] | w->rng[3]) == 0);
  randombytes_buf(w->cache_key, sizeof w->cache_key);
}

static void rng_bytes(uint64_t s[4], uint8_t *out, size_t n) {
  for (;;) {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng_next(s);
      memcpy(out + i, &v, n - i < 8 ? n - i : 8);
    }
    for (size_t i = 0; i < n; i++) {
      if (out[i] != 0) {
        return; /* all-zero ids are invalid */
      }
    }
  }
}

/* ---- request state --------------------------------------------------- */

int api_mw_core(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  api_req r;
  r.w = w;
  r.route = API_R_UNMATCHED;
  r.start_ns = api_mono_ns();
  r.traced = false;
  r.has_rl = false;
  r.has_sub = false;
  r.sub[0] = '\0';
  r.jti[0] = '\0';
  r.scopes = 0;
  ctx->user = &r;
  int rc = rv_http_next(ctx);
  if (rc != RV_OK) {
    api_log_error(ctx, w, "request failed", rc);
  }
  ctx->user = NULL; /* r dies here */
  return rc;
}

static int status_of(const rv_http_ctx *ctx) {
  int s = rv_http_ctx_status(ctx);
  return s != 0 ? s : 500; /* the router answers 500 for a failed handler */
}

int api_mw_trace(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  api_req *r = ctx->user;
  rv_trace_ctx tc;
  rv_slice tp;
  if (rv_http_header_get(ctx->req, "traceparent", &tp) &&
      rv_trace_parse((const char *)tp.ptr, tp.len, &tc) == RV_OK) {
    rng_bytes(w->rng, tc.span_id, sizeof tc.span_id); /* our child span */
  } else {
    rng_bytes(w->rng, tc.trace_id, sizeof tc.trace_id);
    rng_bytes(w->rng, tc.span_id, sizeof tc.span_id);
    tc.flags = 0;
  }
  rv_trace_format(&tc, r->traceparent);
  rv_trace_request_id(&tc, r->request_id);
  r->traced = true;
  return rv_http_next(ctx);
}

int api_mw_access_log(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  size_t start = ctx->out->len;
  int rc = rv_http_next(ctx);
  api_app *a = w->app;
  if (a->log == NULL || !api_app_flag(a, API_FLAG_ACCESS_LOG)) {
    return rc;
  }
  const api_req *r = ctx->user;
  uint64_t us = (api_mono_ns() - r->start_ns) / 1000;
  rv_log_field f[8] = {
      RV_LOG_STR("request_id", r->traced ? r->request_id : NULL),
      RV_LOG_STRN("method", ctx->req->method.ptr, ctx->req->method.len),
      RV_LOG_STRN("path", ctx->req->path.ptr, ctx->req->path.len),
      RV_LOG_INT("status", status_of(ctx)),
      RV_LOG_UINT("bytes", ctx->out->len - start),
      RV_LOG_UINT("duration_us", us),
      RV_LOG_STR("peer", ctx->peer),
      RV_LOG_STR("sub", r->has_sub ? r->sub : NULL),
  };
  (void)rv_log_write(a->log, RV_LOG_INFO, "request", f, 8);
  return rc;
}

int api_mw_metrics(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  api_app *a = w->app;
  rv_gauge_add(a->in_flight, 1.0);
  int rc = rv_http_next(ctx);
  rv_gauge_add(a->in_flight, -1.0);
  const api_req *r = ctx->user;
  rv_counter *c = api_requests_counter(a, r->route, ctx->req->method, status_of(ctx));
  if (c != NULL) {
    rv_counter_add(c, 1);
  }
  rv_histogram_observe(a->latency[r->route], (double)(api_mono_ns() - r->start_ns) / 1e9);
  return rc;
}

/* ---- rate limits -------------------------------------------------------- */

static int limit(rv_http_ctx *ctx, api_worker *w, rv_ratelimit *rl, int which, const char *key) {
  api_req *r = ctx->user;
  rv_ratelimit_result res;
  int rc = rv_ratelimit_check(rl, key, strlen(key), &res);
  if (rc != RV_OK) {
    /* Fail closed: a full table (or no memory) means too many clients. */
    api_log_error(ctx, w, "rate limiter unavailable", rc);
    api_err e;
    (void)api_err_set(&e, 503, "overloaded", "too many clients; retry shortly");
    return api_error(ctx, w, &e, "Retry-After", "1");
  }
  if (!r->has_rl || !res.allowed || res.remaining < r->rl.remaining) {
    r->rl = res;
    r->has_rl = true;
  }
  if (!res.allowed) {
    rv_counter_add(w->app->rl_rejected[which], 1);
    api_err e;
    (void)api_err_set(&e, 429, "rate_limited", "too many requests %s; retry in %llu s",
                      which == 0 ? "from this address" : "with this token",
                      (unsigned long long)res.retry_after_s);
    return api_error(ctx, w, &e, NULL, NULL);
  }
  return rv_http_next(ctx);
}

int api_mw_rl_addr(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  return limit(ctx, w, w->app->rl_addr, 0, ctx->peer != NULL ? ctx->peer : "-");
}

int api_mw_rl_token(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  const api_req *r = ctx->user;
  if (r->jti[0] == '\0') {
    return rv_http_next(ctx); /* no token on this route (or auth is off) */
  }
  return limit(ctx, w, w->app->rl_token, 1, r->jti);
}

/* ---- auth --------------------------------------------------------------- */

static bool path_is(rv_slice p, const char *s) {
  size_t n = strlen(s);
  return p.len == n && memcmp(p.ptr, s, n) == 0;
}

/* The scope a request needs: 0 for the open routes. */
static unsigned needed_scope(const rv_http_request *req) {
  rv_slice p = req->path;
  if (path_is(p, "/healthz") || path_is(p, "/readyz") || path_is(p, "/metrics")) {
    return 0;
  }
  if (path_is(p, "/v1/admin") || rv_slice_starts_with(p, rv_slice_cstr("/v1/admin/"))) {
    return API_SCOPE_ADMIN;
  }
  if (path_is(req->method, "GET") || path_is(req->method, "HEAD")) {
    return API_SCOPE_READ;
  }
  return API_SCOPE_WRITE;
}

/* Scopes granted by a space-separated `scope` claim (implied ones added). */
static unsigned parse_scopes(const char *s, size_t len) {
  unsigned out = 0;
  rv_slice rest = rv_slice_make(s, len), word;
  while (rest.len > 0) {
    (void)rv_slice_split(&rest, ' ', &word);
    if (path_is(word, "admin")) {
      out |= API_SCOPE_ADMIN | API_SCOPE_WRITE | API_SCOPE_READ;
    } else if (path_is(word, "write")) {
      out |= API_SCOPE_WRITE | API_SCOPE_READ;
    } else if (path_is(word, "read")) {
      out |= API_SCOPE_READ;
    }
  }
  return out;
}

static int unauthorized(rv_http_ctx *ctx, api_worker *w, const char *why) {
  api_err e;
  char hdr[256];
  if (why == NULL) {
    rv_counter_add(w->app->auth_fail[API_AUTH_MISSING], 1);
    (void)api_err_set(&e, 401, "unauthorized", "a bearer token is required");
    return api_error(ctx, w, &e, "WWW-Authenticate", "Bearer realm=\"rivet\"");
  }
  rv_counter_add(w->app->auth_fail[API_AUTH_INVALID], 1);
  char desc[160];
  size_t n = 0;
  for (; n < sizeof desc - 1 && why[n] != '\0'; n++) {
    char c = why[n];
    if (c == '"' || c == '\\' || (unsigned char)c < 0x20) {
      c = '\'';
    }
    desc[n] = c;
  }
  desc[n] = '\0';
  (void)snprintf(hdr, sizeof hdr, "Bearer error=\"invalid_token\", error_description=\"%s\"", desc);
  (void)api_err_set(&e, 401, "invalid_token", "invalid token: %s", desc);
  return api_error(ctx, w, &e, "WWW-Authenticate", hdr);
}

/* Copy a string claim into out (max API_CLAIM_MAX); false if missing. */
static bool claim_str(const rv_jwt_claims *c, const char *name, char out[API_CLAIM_MAX + 1],
                      bool *fits) {
  const char *s;
  size_t len;
  if (rv_jwt_claims_string(c, name, &s, &len) != RV_OK || len == 0) {
    return false;
  }
  *fits = *fits && len <= API_CLAIM_MAX;
  size_t n = len <= API_CLAIM_MAX ? len : API_CLAIM_MAX;
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

/* Verify the token; fills r's sub, jti, scopes. Returns NULL or why not. */
static const char *verify(api_worker *w, api_req *r, const char *tok, size_t len, int *rc) {
  uint8_t hb[crypto_shorthash_BYTES];
  (void)crypto_shorthash(hb, (const unsigned char *)tok, len, w->cache_key);
  uint64_t h;
  memcpy(&h, hb, sizeof h); /* 8 bytes to an integer: no alignment assumed */
  int64_t now_s = api_now_ms(w->app) / 1000;
  api_token_entry *e = &w->cache[h % API_TOKEN_CACHE];
  if (e->exp > now_s && e->hash == h && e->len == len && rv_ct_eq(e->token, tok, len) != 0) {
    rv_counter_add(w->app->token_cache_hits, 1);
    memcpy(r->sub, e->sub, sizeof r->sub);
    memcpy(r->jti, e->jti, sizeof r->jti);
    r->scopes = e->scopes;
    return NULL;
  }
  rv_jwt_claims *c = NULL;
  rv_diag d = {0};
  *rc = rv_jwt_verify(w->app->verifier, tok, len, &c, &d);
  if (*rc != RV_OK) {
    return d.msg != NULL ? d.msg : rv_strerror(*rc);
  }
  const char *why = NULL;
  bool fits = true;
  int64_t exp = 0, iat = 0;
  const char *scope = "";
  size_t scope_len = 0;
  if (!claim_str(c, "sub", r->sub, &fits)) {
    why = "sub: missing";
  } else if (!claim_str(c, "jti", r->jti, &fits)) {
    why = "jti: missing";
  } else if (rv_jwt_claims_int(c, "iat", &iat) != RV_OK) {
    why = "iat: missing";
  } else if (rv_jwt_claims_int(c, "exp", &exp) != RV_OK) {
    why = "exp: missing";
  } else if (rv_jwt_claims_string(c, "scope", &scope, &scope_len) == RV_EMALFORMED) {
    why = "scope: not a string";
  }
  if (why == NULL) {
    r->scopes = parse_scopes(scope, scope_len);
    if (fits && len <= API_TOKEN_CACHED_MAX) {
      e->hash = h;
      e->len = len;
      memcpy(e->token, tok, len);
      e->exp = exp;
      e->scopes = r->scopes;
      memcpy(e->sub, r->sub, sizeof e->sub);
      memcpy(e->jti, r->jti, sizeof e->jti);
    }
  } else {
    *rc = RV_EVERIFY;
    r->jti[0] = '\0';
  }
  rv_jwt_claims_free(c);
  return why;
}

int api_mw_auth(rv_http_ctx *ctx, void *ud) {
  api_worker *w = ud;
  api_req *r = ctx->user;
  unsigned need = needed_scope(ctx->req);
  if (need == 0) {
    return rv_http_next(ctx);
  }
  rv_slice v;
  static const char scheme[] = "bearer ";
  bool bearer = rv_http_header_get(ctx->req, "Authorization", &v) && v.len > sizeof scheme - 1;
  for (size_t i = 0; bearer && i < sizeof scheme - 1; i++) {
    unsigned char c = v.ptr[i];
    bearer = (c >= 'A' && c <= 'Z' ? c + 32 : c) == (unsigned char)scheme[i];
  }
  if (!bearer) {
    return unauthorized(ctx, w, NULL);
  }
  size_t off = sizeof scheme - 1;
  while (off < v.len && v.ptr[off] == ' ') {
    off++;
  }
  int rc = RV_OK;
  const char *why = verify(w, r, (const char *)v.ptr + off, v.len - off, &rc);
  if (why != NULL) {
    if (rc == RV_ENOMEM) {
      return RV_ENOMEM; /* the router answers 500 */
    }
    return unauthorized(ctx, w, why);
  }
  r->has_sub = true;
  if ((r->scopes & need) == 0) {
    rv_counter_add(w->app->auth_fail[API_AUTH_SCOPE], 1);
    const char *name = need == API_SCOPE_ADMIN   ? "admin"
                       : need == API_SCOPE_WRITE ? "write"
                                                 : "read";
    char hdr[96];
    (void)snprintf(hdr, sizeof hdr, "Bearer error=\"insufficient_scope\", scope=\"%s\"", name);
    api_err e;
    (void)api_err_set(&e, 403, "insufficient_scope", "this request needs the '%s' scope", name);
    return api_error(ctx, w, &e, "WWW-Authenticate", hdr);
  }
  return rv_http_next(ctx);
}
