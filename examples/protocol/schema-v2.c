/* Protocol version 2 = version 1 plus, following the compatibility rules
 * of docs/protocol.md (new fields take new, higher numbers; nothing is
 * renumbered or retyped; no new field is required):
 *   - Record field 3 ttl_ms: the record expires that many ms after the PUT;
 *   - RESPONSE field 4 version: the store's write counter at the record's
 *     last write (or at the DELETE);
 *   - RESPONSE field 5 entries: the records a SCAN found (repeated);
 *   - message type SCAN (20): records whose key starts with a prefix.
 * SCAN needs the peer to know it, so it exists only on connections that
 * negotiated version 2; the new fields need nothing (old peers skip them). */
#include "kv.h"

static const rv_frame_field_desc record_fields[] = {
    {KV_F_REC_KEY, RV_FT_BYTES, RV_FIELD_REQUIRED, "key", NULL},
    {KV_F_REC_VALUE, RV_FT_BYTES, 0, "value", NULL},
    {KV_F_REC_TTL, RV_FT_UINT, 0, "ttl_ms", NULL}, /* v2 */
};
static const rv_frame_schema record = {"Record", record_fields, 3};

static const rv_frame_field_desc key_fields[] = {
    {KV_F_GET_KEY, RV_FT_BYTES, RV_FIELD_REQUIRED, "key", NULL},
};
static const rv_frame_schema get = {"Get", key_fields, 1};
static const rv_frame_schema del = {"Delete", key_fields, 1};

static const rv_frame_field_desc response_fields[] = {
    {KV_F_RESP_STATUS, RV_FT_UINT, RV_FIELD_REQUIRED, "status", NULL},
    {KV_F_RESP_RECORD, RV_FT_MESSAGE, 0, "record", &record},
    {KV_F_RESP_ERROR, RV_FT_STRING, 0, "error", NULL},
    {KV_F_RESP_VER, RV_FT_UINT, 0, "version", NULL},                         /* v2 */
    {KV_F_RESP_ENTRY, RV_FT_MESSAGE, RV_FIELD_REPEATED, "entries", &record}, /* v2 */
};
static const rv_frame_schema response = {"Response", response_fields, 5};

/* SCAN (v2): 1 prefix (may be empty: every key), 2 limit (0 or absent: the server's). */
static const rv_frame_field_desc scan_fields[] = {
    {KV_F_SCAN_PREFIX, RV_FT_BYTES, 0, "prefix", NULL},
    {KV_F_SCAN_LIMIT, RV_FT_UINT, 0, "limit", NULL},
};
static const rv_frame_schema scan = {"Scan", scan_fields, 2};

const kv_proto kv_proto_v2 = {
    .version = 2,
    .record = &record,
    .types = {[KV_T_GET] = &get,
              [KV_T_PUT] = &record,
              [KV_T_DELETE] = &del,
              [KV_T_RESPONSE] = &response,
              [KV_T_SCAN] = &scan},
    .since =
        {[KV_T_GET] = 1, [KV_T_PUT] = 1, [KV_T_DELETE] = 1, [KV_T_RESPONSE] = 1, [KV_T_SCAN] = 2},
};
