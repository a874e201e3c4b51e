/* app-harness.h: the in-process harness of test-app.c: a fixture (SQLite
 * store in a mkdtemp directory, JWT verifier with an HS256 and an EdDSA
 * key, a log captured in memory, the app and one router), token minting,
 * and requests as raw bytes parsed with rv_http_parse_head, dispatched
 * through the router, the response parsed back into ::R. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include <rivet/core/bytes.h>
#include <rivet/sec/jwt.h>

#include "app.h"
#include "json.h"

extern const char *g_python, *g_checker; /* argv[1], argv[2] */
extern int64_t g_now_ms;                 /* the fake clock (app and verifier) */
extern const uint8_t HS_KEY[32];
extern uint8_t ed_pk[crypto_sign_PUBLICKEYBYTES], ed_sk[crypto_sign_SECRETKEYBYTES];

typedef struct fx {
  bool open;
  char dir[64];
  char path[96];
  api_store *store;
  rv_jwt_verifier *ver;
  rv_log *log;
  rv_buf lines; /* captured log lines */
  api_config cfg;
  api_app *app;
  rv_http_router *router;
  const char *peer;
} fx;

typedef struct resp {
  int status;
  char raw[65536];
  size_t len;
  const char *body;
  json_t *json; /* parsed body when JSON, else NULL */
} resp;

extern fx F;   /* the open fixture */
extern resp R; /* the last response */

#define JSON "application/json"

int64_t clock_s(void *ctx);
void fx_open_cfg(const api_config *cfg);
void fx_open(void);
int fx_close(void **state);
char *mint(rv_jwt_alg alg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *token(const char *scope, const char *jti);
bool header(const resp *r, const char *name, char *out, size_t cap);
const char *error_code(const resp *r);
int send_req(const char *method, const char *target, const char *tok, const char *ctype,
             const char *body, const char *extra);
int get(const char *target, const char *tok);
int post(const char *target, const char *tok, const char *body);
void expect_error(int status, const char *code);
void expect_status(int status);
void teardown_resp(void);
double metric(const char *series);

/* test cases in test-app-2.c */
void test_telemetry(void **state);
void test_telemetry_bodies(void **state);
void test_auth(void **state);
void test_token_cache(void **state);
void test_rate_limits(void **state);
void test_flags(void **state);
void test_logs_and_trace(void **state);
void test_busy(void **state);
void test_fallback(void **state);
void test_alloc_failures(void **state);
