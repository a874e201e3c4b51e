/* kv: the key-value protocol spoken by kv-server and kv-client, on top of
 * the rivet frame format (docs/protocol.md). README.md is its specification.
 *
 * What a version of the protocol *is* lives in a table (::kv_proto): the
 * message types it knows and the schema of each. schema-v1.c and
 * schema-v2.c each define one; the programs are written against the table,
 * so a program run with `--protocol 1` knows no v2 field and no v2 message
 * type: they reach it as unknown fields (skipped and kept) and unknown
 * types (reported and skipped), exactly as an old binary would. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rivet/net/frame.h>

/* Message types (HELLO = 1 and HELLO_ACK = 2 belong to the frame layer). */
#define KV_T_GET 16u      /* v1: read a key */
#define KV_T_PUT 17u      /* v1: write a record */
#define KV_T_DELETE 18u   /* v1: remove a key */
#define KV_T_RESPONSE 19u /* v1: the answer to every request */
#define KV_T_SCAN 20u     /* v2: list records by key prefix */
#define KV_T_MAX 31u      /* highest type number a table may describe */

/* Field numbers. Never reused, never retyped (docs/protocol.md section 3). */
#define KV_F_GET_KEY 1u     /* GET, DELETE: 1 key */
#define KV_F_REC_KEY 1u     /* Record: 1 key */
#define KV_F_REC_VALUE 2u   /* Record: 2 value */
#define KV_F_REC_TTL 3u     /* Record: 3 ttl_ms (v2) */
#define KV_F_RESP_STATUS 1u /* RESPONSE: 1 status */
#define KV_F_RESP_RECORD 2u /* RESPONSE: 2 record */
#define KV_F_RESP_ERROR 3u  /* RESPONSE: 3 error */
#define KV_F_RESP_VER 4u    /* RESPONSE: 4 version (v2) */
#define KV_F_RESP_ENTRY 5u  /* RESPONSE: 5 entries, repeated (v2) */
#define KV_F_SCAN_PREFIX 1u /* SCAN: 1 prefix (v2) */
#define KV_F_SCAN_LIMIT 2u  /* SCAN: 2 limit (v2) */

/* RESPONSE status values. */
enum kv_status {
  KV_OK = 0,
  KV_NOT_FOUND = 1,
  KV_MALFORMED = 2,   /* the request's payload broke a rule; it was skipped */
  KV_UNSUPPORTED = 3, /* unknown message type on this connection; skipped */
  KV_FULL = 4,        /* the store is at its limit */
};

/* Largest payload either side accepts (the frame decoder's limit). */
#define KV_MAX_PAYLOAD (16u * 1024u)
/* Largest Record a PUT may carry: small enough that a RESPONSE holding it
 * (status, nesting header, version: under 64 bytes more) fits a frame. */
#define KV_MAX_RECORD (KV_MAX_PAYLOAD - 64u)
/* Most values a decoded message can hold (RESPONSE of a SCAN is the largest). */
#define KV_MAX_VALUES 256u

/* One version of the protocol. */
typedef struct kv_proto {
  uint8_t version;                            /* the highest frame version it speaks */
  const rv_frame_schema *record;              /* the Record message (PUT payload) */
  const rv_frame_schema *types[KV_T_MAX + 1]; /* schema per message type, NULL = unknown */
  uint8_t since[KV_T_MAX + 1];                /* frame version that introduced the type */
} kv_proto;

extern const kv_proto kv_proto_v1; /* schema-v1.c */
extern const kv_proto kv_proto_v2; /* schema-v2.c */

/* The table of protocol version 1 or 2, or NULL. */
const kv_proto *kv_proto_get(unsigned version);

/* Does \p schema declare field \p number? Code asks the table instead of
 * testing a version number, so each program does what its schemas say. */
bool kv_knows(const rv_frame_schema *schema, uint32_t number);

/* The schema of message \p type on a connection that negotiated \p version
 * with a peer, or NULL when the type is unknown there. */
const rv_frame_schema *kv_schema_for(const kv_proto *p, unsigned type, unsigned version);

/* The name of a status, or "status?" for one this program does not know. */
const char *kv_status_name(uint64_t status);

/* Print the fields of \p payload decoded with \p schema, in the order
 * received, except field \p skip (0: none): known fields as `name=value`,
 * unknown ones as `?N=hex` (their raw bytes, tag included). Returns the
 * count of unknown fields seen (nested ones included), or a negative RV_E*
 * code if the payload does not decode. */
int kv_print_msg(FILE *out, const rv_frame_schema *schema, rv_slice payload, uint32_t skip);
