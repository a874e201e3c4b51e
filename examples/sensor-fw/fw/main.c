/* sensor-fw: the RV-ENV1 driver on a Cortex-M3 (QEMU mps2-an385).
 *
 * QEMU has no RV-ENV1, so the firmware carries the device model behind the
 * bus interface: the board port below hands every transaction to the mock
 * bus, inside a critical section because the SysTick handler uses it too.
 * SysTick (1 kHz) plays the sensor's clock and its data-ready line: each
 * tick advances the model by 1 ms, and when the model raises DRDY the
 * handler runs the driver's ISR, which queues the frame in the SPSC ring.
 * First a few polled samples (rv_sensor_fetch: forced conversion, wait,
 * read). Then, interrupt-driven: the main loop triggers one forced
 * conversion per sample (the sensor sleeps in between), sleeps in WFI, and
 * prints each compensated sample through semihosting. It also measures, with SysTick's counter, the
 * ISR's work and, alone, the bus read it makes through the port (run-fw.py converts those counts to
 * instructions under QEMU -icount; the difference is the driver's own work). Exit status: 0 when
 * every sample came. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/err.h>
#include <rivet/iot/env1-model.h>
#include <rivet/iot/sensor.h>

#include "semihost.h"

#define N_SAMPLES 16
#define N_POLLED 4
#define CPU_HZ 25000000u
#define TICK_US 1000u
#define ADDR RV_ENV1_I2C_ADDR
#define SAMPLE_GAP_US 20000u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

void systick_handler(void);

static rv_mockbus mb;
static rv_env1_model model;
static rv_bus mock; /* the model's bus, used only through the port below */
static rv_bus bus;  /* what the driver gets: the port */
static rv_sensor sensor;
static _Alignas(8) uint8_t ring_storage[256];

static volatile uint32_t ticks;
static volatile uint32_t isr_min = UINT32_MAX, isr_max, isr_runs;

static uint32_t irq_save(void) {
  uint32_t primask;
  __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
  return primask;
}

static void irq_restore(uint32_t primask) {
  __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* ---- board port ---- */

static int port_transfer(void *ctx, uint16_t addr, const uint8_t *wr, size_t wr_len, uint8_t *rd,
                         size_t rd_len, uint32_t timeout_us) {
  (void)ctx;
  (void)timeout_us; /* the mock enforces the budget it was given */
  uint32_t pm = irq_save();
  int rc;
  if (wr_len && rd_len) {
    rc = rv_bus_write_read(&mock, addr, wr, wr_len, rd, rd_len);
  } else if (wr_len) {
    rc = rv_bus_write(&mock, addr, wr, wr_len);
  } else {
    rc = rv_bus_read(&mock, addr, rd, rd_len);
  }
  irq_restore(pm);
  return rc;
}

static int port_recover(void *ctx) {
  (void)ctx;
  uint32_t pm = irq_save();
  int rc = rv_bus_recover(&mock);
  irq_restore(pm);
  return rc;
}

/* Sleep until enough SysTick periods have passed (one more than needed,
 * since the current period is already under way). */
static void port_delay_us(void *ctx, uint32_t us) {
  (void)ctx;
  uint32_t start = ticks;
  uint32_t need = (us + TICK_US - 1u) / TICK_US + 1u;
  while (ticks - start < need) {
    __asm__ volatile("wfi");
  }
}

static const rv_bus_ops port_ops = {port_transfer, port_recover, port_delay_us};

/* ---- the sensor's world ---- */

/* Conversion k measures pattern(k): a sweep across the operating range. */
static rv_env1_raw pattern(uint32_t k) {
  rv_env1_raw r = {380000u + 9000u * k, 505000u + 2000u * k, (uint16_t)(12000u + 3000u * k)};
  return r;
}

static void on_convert(rv_env1_model *m, void *user) {
  (void)user;
  m->next = pattern(m->conversions);
}

void systick_handler(void) {
  ticks++;
  rv_mockbus_advance(&mb, TICK_US);
  if (rv_env1_model_irq(&model)) { /* the DRDY line */
    uint32_t t0 = SYST_CVR;
    (void)rv_sensor_isr(&sensor);
    uint32_t t1 = SYST_CVR;
    uint32_t d = t0 - t1; /* counts down; no reload this early in the period */
    if (d < isr_min) {
      isr_min = d;
    }
    if (d > isr_max) {
      isr_max = d;
    }
    isr_runs++;
  }
}

/* ---- output ---- */

static char line[160];

static void kv(char **p, const char *k, int32_t v) {
  *p = sh_fmt_str(*p, k);
  *p = sh_fmt_int(*p, v);
}

/* SysTick counts of a block of code, interrupts masked. */
static uint32_t span(uint32_t t0, uint32_t t1) { return t0 - t1; }

int main(void) {
  char *p;
  sh_puts("sensor-fw: RV-ENV1 on Cortex-M3, rivet-iot driver, model behind the bus\n");
  rv_mockbus_init(&mb, RV_BUS_I2C);
  if (rv_env1_model_init(&model, &mb, ADDR, NULL) != RV_OK ||
      rv_mockbus_bus(&mb, 2000, &mock) != RV_OK ||
      rv_bus_init(&bus, &port_ops, NULL, RV_BUS_I2C, 2000) != RV_OK) {
    return 1;
  }
  model.on_convert = on_convert;

  SYST_RVR = CPU_HZ / 1000u - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt, enable */

  /* Calibration of the counter: a loop of exactly 2 instructions per
   * iteration, 1000 iterations; then the bus read the ISR makes, alone. */
  uint32_t pm = irq_save();
  uint32_t n = 1000, t0 = SYST_CVR;
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n)::"cc");
  uint32_t cal = span(t0, SYST_CVR);
  uint8_t frame[RV_ENV1_FRAME_LEN];
  t0 = SYST_CVR;
  int brc = rv_bus_reg_read(&mock, ADDR, RV_ENV1_REG_DATA, frame, sizeof frame);
  uint32_t mockticks = span(t0, SYST_CVR);
  t0 = SYST_CVR;
  brc |= rv_bus_reg_read(&bus, ADDR, RV_ENV1_REG_DATA, frame, sizeof frame);
  uint32_t portticks = span(t0, SYST_CVR);
  irq_restore(pm);
  p = line;
  kv(&p, "calib-loop-2000-insns-ticks=", (int32_t)cal);
  kv(&p, " mock-read-9-ticks=", (int32_t)mockticks);
  kv(&p, " port-read-9-ticks=", (int32_t)portticks);
  kv(&p, " rc=", brc);
  p = sh_fmt_str(p, "\n");
  sh_puts(line);

  /* Phase 1, polled: forced-mode fetch and channel get, the interrupt
   * line disabled (the handler would otherwise take the frame). */
  const rv_sensor_config polled = {.mode = RV_SENSOR_FORCED};
  int rc = rv_sensor_init(&sensor, &bus, ADDR, &polled, NULL, 0);
  for (int i = 0; rc == RV_OK && i < N_POLLED; i++) {
    int32_t t, pr, h;
    if ((rc = rv_sensor_fetch(&sensor)) != RV_OK ||
        (rc = rv_sensor_channel_get(&sensor, RV_SENSOR_TEMP, &t)) != RV_OK ||
        (rc = rv_sensor_channel_get(&sensor, RV_SENSOR_PRESSURE, &pr)) != RV_OK ||
        (rc = rv_sensor_channel_get(&sensor, RV_SENSOR_HUMIDITY, &h)) != RV_OK) {
      break;
    }
    p = line;
    kv(&p, "polled ", i);
    kv(&p, " temp=", t);
    kv(&p, " pres=", pr);
    kv(&p, " hum=", h);
    sh_fmt_str(p, "\n");
    sh_puts(line);
  }
  /* Phase 2, interrupt-driven: re-initialise with the DRDY line enabled. */
  const rv_sensor_config cfg = {.mode = RV_SENSOR_FORCED, .drdy_irq = true};
  if (rc == RV_OK) {
    rc = rv_sensor_init(&sensor, &bus, ADDR, &cfg, ring_storage, sizeof ring_storage);
  }
  if (rc != RV_OK) {
    p = line;
    kv(&p, "init or fetch failed: ", rc);
    sh_fmt_str(p, "\n");
    sh_puts(line);
    return 1;
  }
  uint32_t conv0 = model.conversions;
  p = line;
  p = sh_fmt_str(p, "calib");
  kv(&p, " t0=", model.cal.t0);
  kv(&p, " t1=", model.cal.t1);
  kv(&p, " t2=", model.cal.t2);
  kv(&p, " p0=", model.cal.p0);
  kv(&p, " p1=", model.cal.p1);
  kv(&p, " p2=", model.cal.p2);
  kv(&p, " p3=", model.cal.p3);
  kv(&p, " p4=", model.cal.p4);
  kv(&p, " h0=", model.cal.h0);
  kv(&p, " h1=", model.cal.h1);
  kv(&p, " h2=", model.cal.h2);
  sh_fmt_str(p, "\n");
  sh_puts(line);

  int got = 0, errors = 0;
  for (int i = 0; i < N_SAMPLES && errors < 8; i++) {
    if (rv_sensor_trigger(&sensor) != RV_OK) {
      errors++;
      continue;
    }
    rv_sensor_sample s;
    uint32_t start = ticks;
    while ((rc = rv_sensor_poll(&sensor, &s)) == RV_EEMPTY && ticks - start < 100u) {
      __asm__ volatile("wfi"); /* asleep until SysTick; the sensor is asleep too */
    }
    if (rc != RV_OK) {
      errors++;
      continue;
    }
    rv_env1_raw raw = pattern(conv0 + s.seq);
    p = line;
    kv(&p, "sample ", i);
    kv(&p, " seq=", (int32_t)s.seq);
    kv(&p, " adc_t=", (int32_t)raw.adc_t);
    kv(&p, " adc_p=", (int32_t)raw.adc_p);
    kv(&p, " adc_h=", raw.adc_h);
    kv(&p, " temp=", s.temp);
    kv(&p, " pres=", (int32_t)s.pres);
    kv(&p, " hum=", (int32_t)s.hum);
    sh_fmt_str(p, "\n");
    sh_puts(line);
    got++;
    port_delay_us(NULL, SAMPLE_GAP_US); /* both asleep until the next sample */
  }
  SYST_CSR = 0;
  rv_sensor_stats st;
  rv_sensor_get_stats(&sensor, &st);
  p = line;
  kv(&p, "isr runs=", (int32_t)isr_runs);
  kv(&p, " ticks-min=", (int32_t)isr_min);
  kv(&p, " ticks-max=", (int32_t)isr_max);
  kv(&p, " dropped=", (int32_t)st.isr_dropped);
  kv(&p, " conversions=", (int32_t)model.conversions);
  kv(&p, " active-us=", (int32_t)model.active_us);
  kv(&p, " elapsed-us=", (int32_t)mb.now_us);
  sh_fmt_str(p, "\n");
  sh_puts(line);
  p = line;
  kv(&p, "done samples=", got);
  kv(&p, " errors=", errors);
  sh_fmt_str(p, "\n");
  sh_puts(line);
  return got == N_SAMPLES && errors == 0 ? 0 : 1;
}
