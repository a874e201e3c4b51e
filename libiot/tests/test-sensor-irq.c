/* test-sensor-irq: an asynchronous simulated interrupt. A thread plays the
 * hardware (the sensor converting in normal mode, bus faults now and then)
 * and runs the driver's ISR whenever the data-ready line is high, while the
 * main thread runs the main loop: rv_sensor_poll() through the SPSC ring.
 * Every sample that arrives must be exactly one the sensor measured, in
 * order; every failure must arrive as an error, never as a sample. Run
 * under TSan (suite 'concurrent') and ASan+UBSan. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <rivet/core/err.h>
#include <rivet/iot/env1-model.h>
#include <rivet/iot/sensor.h>

#define A RV_ENV1_I2C_ADDR
#define SEED 20261123u
#define MAX_ISR 3000u    /* bounded count ... */
#define MAX_SECONDS 4.0  /* ... and bounded time */
#define LOOKAHEAD 65536u /* conversions a sample may skip (see the main loop) */

typedef struct world {
  rv_mockbus mb;
  rv_env1_model m;
  rv_bus bus;
  rv_sensor s;
  uint8_t ring[256];
  atomic_bool done;
  uint32_t seed;
} world;

/* Conversion k measures pattern(k): the main loop can tell which one a
 * sample came from and that it is not garbage. */
static rv_env1_raw pattern(uint32_t k) {
  rv_env1_raw r = {(400000u + 37u * k) & 0xFFFFF, (500000u + 101u * k) & 0xFFFFF,
                   (uint16_t)(20000u + 13u * k)};
  return r;
}

static void on_convert(rv_env1_model *m, void *user) {
  (void)user;
  m->next = pattern(m->conversions); /* conversions counts from 0 */
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t lcg(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

/* The "hardware" and its interrupt: owns the bus while the main loop only
 * polls the ring (as on an MCU where the main loop never touches the bus in
 * normal mode). */
static void *hardware(void *arg) {
  world *w = arg;
  double t0 = now_s();
  uint32_t runs = 0;
  while (runs < MAX_ISR && now_s() - t0 < MAX_SECONDS) {
    rv_mockbus_advance(&w->mb, 500);
    if (!rv_env1_model_irq(&w->m)) {
      continue;
    }
    uint32_t r = lcg(&w->seed);
    if (r % 23 == 0) {
      rv_mockbus_fault(&w->mb, w->mb.txn_count, RV_MOCKBUS_NACK, 0, 0);
    } else if (r % 29 == 0) {
      rv_mockbus_fault(&w->mb, w->mb.txn_count, RV_MOCKBUS_CORRUPT, (uint16_t)(1 + r % 9),
                       (uint8_t)(1u << (r % 8)));
    }
    (void)rv_sensor_isr(&w->s);
    rv_mockbus_clear_faults(&w->mb); /* at most one fault armed at a time */
    runs++;
    if (r % 7 == 0) {
      sched_yield();
    }
  }
  /* Release: the main loop reads `done` with acquire, so it then sees
   * every push made before it (the ring orders the pushes themselves). */
  atomic_store_explicit(&w->done, true, memory_order_release);
  return NULL;
}

static void test_async_drdy(void **state) {
  (void)state;
  static world w;
  memset(&w, 0, sizeof w);
  w.seed = SEED;
  atomic_init(&w.done, false);
  rv_mockbus_init(&w.mb, RV_BUS_I2C);
  assert_int_equal(rv_env1_model_init(&w.m, &w.mb, A, NULL), RV_OK);
  w.m.on_convert = on_convert;
  assert_int_equal(rv_mockbus_bus(&w.mb, 5000, &w.bus), RV_OK);
  const rv_sensor_config cfg = {.standby = 0, .mode = RV_SENSOR_NORMAL, .drdy_irq = true};
  assert_int_equal(rv_sensor_init(&w.s, &w.bus, A, &cfg, w.ring, sizeof w.ring), RV_OK);

  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, hardware, &w), 0);
  uint32_t samples = 0, errors = 0, next_k = 0, spins = 0;
  for (;;) {
    bool finished = atomic_load_explicit(&w.done, memory_order_acquire);
    rv_sensor_sample smp;
    int rc = rv_sensor_poll(&w.s, &smp);
    if (rc == RV_EEMPTY) {
      if (finished) {
        break;
      }
      sched_yield();
      continue;
    }
    if (rc != RV_OK) {
      if (rc != RV_EIO && rc != RV_EVERIFY) {
        fprintf(stderr, "seed %u: unexpected error %d\n", SEED, rc);
        fail();
      }
      errors++;
      continue;
    }
    /* Find which conversion this was: the next one, or a later one if
     * samples were dropped or failed in between. While the main loop is
     * descheduled the ISR keeps dropping, so the gap can be long (126 was
     * seen on a loaded machine): look far ahead; a garbage sample still
     * matches nothing. */
    uint32_t k = next_k;
    for (; k < next_k + LOOKAHEAD; k++) {
      rv_env1_raw r = pattern(k);
      rv_env1_value v;
      rv_env1_compensate(&w.m.cal, &r, &v);
      if (v.temp == smp.temp && v.pres == smp.pres && v.hum == smp.hum) {
        break;
      }
    }
    if (k == next_k + LOOKAHEAD) {
      fprintf(stderr, "seed %u: sample %u (seq %u) matches no conversion after %u\n", SEED, samples,
              smp.seq, next_k);
      fail();
    }
    next_k = k + 1;
    samples++;
    if (++spins % 5 == 0) {
      sched_yield(); /* a slow main loop now and then: the ring fills up */
    }
  }
  assert_int_equal(pthread_join(th, NULL), 0);
  rv_sensor_stats st;
  rv_sensor_get_stats(&w.s, &st);
  printf("isr runs %u: %u samples, %u errors seen by the main loop, %u dropped (ring full)\n",
         st.isr_runs, samples, errors, st.isr_dropped);
  /* Every ISR run is accounted for: a sample, an error, or a drop. */
  assert_int_equal(samples + errors + st.isr_dropped, st.isr_runs);
  assert_true(samples > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_async_drdy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
