/* test-api: links the shared rivet-net and uses only <rivet/net.h>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rivet/net.h>

static void test_version(void **state) {
  (void)state;
  assert_int_equal(rv_net_version(), RV_NET_VERSION_NUMBER);
  assert_string_equal(rv_net_version_string(), RV_NET_VERSION_STRING);
}

static void test_hello_roundtrip(void **state) {
  (void)state;
  uint8_t buf[64];
  rv_frame_writer w;
  rv_frame_writer_init(&w, buf, sizeof buf);
  rv_frame_begin(&w, 1, RV_FRAME_TYPE_HELLO, 0);
  rv_frame_put_uint(&w, 1, 1);
  rv_frame_put_uint(&w, 2, 3);
  rv_slice out;
  assert_int_equal(rv_frame_end(&w, &out), RV_OK);
  rv_frame f;
  assert_int_equal(rv_frame_decode(out.ptr, out.len, NULL, &f, NULL), RV_OK);
  rv_frame_value v[4];
  rv_frame_msg m;
  assert_int_equal(rv_frame_msg_decode(&m, &rv_frame_hello_schema, f.payload, v, 4, NULL, NULL),
                   RV_OK);
  uint8_t chosen;
  assert_int_equal(rv_frame_negotiate(2, 5, m.values[0].u, m.values[1].u, &chosen), RV_OK);
  assert_int_equal(chosen, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_hello_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
