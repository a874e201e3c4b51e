/* Schemas shared by the frame tests, the golden-vector test and the fuzzer. */
#pragma once

#include <rivet/net/frame.h>

enum { MSG_READING = 16 };

static const rv_frame_field_desc point_fields[] = {
    {1, RV_FT_FIXED32, RV_FIELD_REQUIRED, "raw", NULL},
    {2, RV_FT_STRING, 0, "label", NULL},
};
static const rv_frame_schema point_schema = {"point", point_fields, 2};

/* A reading as version 1 knows it; version 2 adds fields 8 and 9. */
#define READING_V1_FIELDS                                                                          \
  {1, RV_FT_UINT, RV_FIELD_REQUIRED, "sensor", NULL},                                              \
      {2, RV_FT_SINT, RV_FIELD_REQUIRED, "value", NULL}, {3, RV_FT_STRING, 0, "unit", NULL},       \
      {4, RV_FT_BOOL, 0, "valid", NULL}, {5, RV_FT_FIXED64, 0, "time_ns", NULL},                   \
      {6, RV_FT_UINT, RV_FIELD_REPEATED, "tags", NULL}, {                                          \
    7, RV_FT_MESSAGE, 0, "point", &point_schema                                                    \
  }
static const rv_frame_field_desc reading_v1_fields[] = {READING_V1_FIELDS};
static const rv_frame_schema reading_v1 = {"reading", reading_v1_fields, 7};
static const rv_frame_field_desc reading_v2_fields[] = {
    READING_V1_FIELDS, {8, RV_FT_UINT, 0, "battery", NULL}, {9, RV_FT_BYTES, 0, "note", NULL}};
static const rv_frame_schema reading_v2 = {"reading", reading_v2_fields, 9};

/* A recursive tree: field 1 is a nested tree, field 1 at the leaf a uint. */
extern const rv_frame_schema tree_schema;
static const rv_frame_field_desc leaf_fields[] = {{1, RV_FT_UINT, 0, "v", NULL}};
static const rv_frame_schema leaf_schema = {"leaf", leaf_fields, 1};
static const rv_frame_field_desc mid_fields[] = {{1, RV_FT_MESSAGE, 0, "leaf", &leaf_schema}};
static const rv_frame_schema mid_schema = {"mid", mid_fields, 1};
static const rv_frame_field_desc tree_fields[] = {{1, RV_FT_MESSAGE, 0, "mid", &mid_schema}};
const rv_frame_schema tree_schema = {"tree", tree_fields, 1};

static const rv_frame_field_desc unsorted[] = {{2, RV_FT_UINT, 0, "b", NULL},
                                               {1, RV_FT_UINT, 0, "a", NULL}};
static const rv_frame_field_desc zero_number[] = {{0, RV_FT_UINT, 0, "z", NULL}};
static const rv_frame_field_desc bad_type[] = {{1, 99, 0, "t", NULL}};
static const rv_frame_field_desc msg_without_schema[] = {{1, RV_FT_MESSAGE, 0, "m", NULL}};
static const rv_frame_field_desc req_and_rep[] = {
    {1, RV_FT_UINT, RV_FIELD_REQUIRED | RV_FIELD_REPEATED, "r", NULL}};
static const rv_frame_schema bad_schemas[] = {
    {"unsorted", unsorted, 2},      {"zero", zero_number, 1},   {"type", bad_type, 1},
    {"msg", msg_without_schema, 1}, {"reqrep", req_and_rep, 1}, {"null", NULL, 3},
};

/* BOOL fields are varints 0/1. */
static inline void rv_frame_put_bool_for_test(rv_frame_writer *w, uint32_t number, bool v) {
  rv_frame_put_uint(w, number, v ? 1 : 0);
}
