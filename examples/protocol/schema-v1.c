/* Protocol version 1: GET, PUT, DELETE and RESPONSE. This file is all a
 * version-1 program knows about the protocol: the TTL of a record, the
 * version counter of a response and the SCAN message (version 2) are not
 * here, so a program running on this table skips and keeps them. */
#include "kv.h"

/* Record: what PUT carries and responses return. */
static const rv_frame_field_desc record_fields[] = {
    {KV_F_REC_KEY, RV_FT_BYTES, RV_FIELD_REQUIRED, "key", NULL},
    {KV_F_REC_VALUE, RV_FT_BYTES, 0, "value", NULL},
};
static const rv_frame_schema record = {"Record", record_fields, 2};

/* GET and DELETE: the key. */
static const rv_frame_field_desc key_fields[] = {
    {KV_F_GET_KEY, RV_FT_BYTES, RV_FIELD_REQUIRED, "key", NULL},
};
static const rv_frame_schema get = {"Get", key_fields, 1};
static const rv_frame_schema del = {"Delete", key_fields, 1};

static const rv_frame_field_desc response_fields[] = {
    {KV_F_RESP_STATUS, RV_FT_UINT, RV_FIELD_REQUIRED, "status", NULL},
    {KV_F_RESP_RECORD, RV_FT_MESSAGE, 0, "record", &record},
    {KV_F_RESP_ERROR, RV_FT_STRING, 0, "error", NULL},
};
static const rv_frame_schema response = {"Response", response_fields, 3};

const kv_proto kv_proto_v1 = {
    .version = 1,
    .record = &record,
    .types = {[KV_T_GET] = &get,
              [KV_T_PUT] = &record,
              [KV_T_DELETE] = &del,
              [KV_T_RESPONSE] = &response},
    .since = {[KV_T_GET] = 1, [KV_T_PUT] = 1, [KV_T_DELETE] = 1, [KV_T_RESPONSE] = 1},
};
