/* sensor: the RV-ENV1 driver (libiot/docs/rv-env1.md, §8 "Driver notes"). */
#include <string.h>

#include <rivet/core/err.h>
#include <rivet/iot/sensor.h>

/* What the ISR queues, as bytes (the byte API of the ring): the frame
 * exactly as read, the bus error (negated: 0 or 1..20) and the ISR's
 * sequence number, little-endian. 16 bytes, a power of two: records never
 * wrap around the end of the ring's storage (a power of two as well), so
 * the ISR can read the frame straight into the ring, with no copy. */
enum {
  REC_FRAME = 0,
  REC_ERR = RV_ENV1_FRAME_LEN,
  REC_SEQ = RV_ENV1_FRAME_LEN + 1,
  REC_LEN = RV_SENSOR_RING_BYTES_PER_SAMPLE,
};
_Static_assert(REC_SEQ + 4 <= REC_LEN && (REC_LEN & (REC_LEN - 1)) == 0,
               "the record fits and is a power of two");

static int rd(rv_sensor *s, uint8_t reg, uint8_t *buf, size_t len) {
  return rv_bus_reg_read(&s->bus, s->addr, reg, buf, len);
}

static int wr1(rv_sensor *s, uint8_t reg, uint8_t val) {
  return rv_bus_reg_write(&s->bus, s->addr, reg, &val, 1);
}

/* Records a failure: a stuck bus is recovered before the next transaction,
 * and repeated failures make the next call start from a clean chip. */
static int fail(rv_sensor *s, int rc) {
  if (rc == RV_EBUSY) {
    s->need_recover = true;
  }
  if (rc == RV_EIO || rc == RV_ETIMEDOUT || rc == RV_EBUSY) {
    s->bus_errors++;
  }
  if (s->fails < UINT8_MAX) {
    s->fails++;
  }
  if (s->fails >= RV_SENSOR_MAX_FAILS) {
    s->need_init = true;
  }
  return rc;
}

/* The chip's state no longer matches ours: re-initialise on the next call. */
static int lost_state(rv_sensor *s, int rc) {
  s->need_init = true;
  return fail(s, rc);
}

/* CONFIG, OSR, OSR_H, MODE as the driver programs them. */
static void config_bytes(const rv_sensor *s, uint8_t c[4]) {
  c[0] = (uint8_t)(s->cfg.standby | (s->cfg.drdy_irq ? RV_ENV1_CONFIG_INT_EN : 0u) |
                   (s->cfg.fifo ? RV_ENV1_CONFIG_FIFO_EN : 0u));
  c[1] = (uint8_t)(s->cfg.osr_t | (s->cfg.osr_p << 3));
  c[2] = s->cfg.osr_h;
  c[3] = s->cfg.mode == RV_SENSOR_NORMAL ? RV_ENV1_MODE_NORMAL : RV_ENV1_MODE_SLEEP;
}

/* Compares CONFIG..MODE as read back with what was programmed. */
static bool config_matches(const rv_sensor *s, const uint8_t st[5]) {
  uint8_t c[4];
  config_bytes(s, c);
  return memcmp(st, c, sizeof c) == 0;
}

static int do_init(rv_sensor *s) {
  uint8_t b[RV_ENV1_CALIB_LEN + 1];
  uint8_t c[4];
  rv_env1_calib cal;
  int rc;
  if ((rc = rd(s, RV_ENV1_REG_CHIP_ID, b, 1)) != RV_OK) {
    return rc;
  }
  if (b[0] != RV_ENV1_CHIP_ID) {
    return RV_ENOTFOUND;
  }
  /* Clear RSTF first, so that finding it set after the reset proves the
   * reset was taken (a corrupted reset write is caught). */
  if ((rc = wr1(s, RV_ENV1_REG_STATUS, RV_ENV1_STATUS_RSTF)) != RV_OK ||
      (rc = wr1(s, RV_ENV1_REG_SOFT_RESET, RV_ENV1_RESET_MAGIC)) != RV_OK) {
    return rc;
  }
  rv_bus_delay_us(&s->bus, RV_ENV1_RESET_TIME_US);
  if ((rc = rd(s, RV_ENV1_REG_STATUS, b, 1)) != RV_OK) {
    return rc;
  }
  if (!(b[0] & RV_ENV1_STATUS_RSTF) || (b[0] & RV_ENV1_STATUS_MEASURING)) {
    return RV_EIO;
  }
  if ((rc = rd(s, RV_ENV1_REG_CALIB, b, sizeof b)) != RV_OK ||
      (rc = rv_env1_calib_decode(b, &cal)) != RV_OK) {
    return rc;
  }
  config_bytes(s, c);
  if ((rc = rv_bus_reg_write(&s->bus, s->addr, RV_ENV1_REG_CONFIG, c, sizeof c)) != RV_OK ||
      (rc = rd(s, RV_ENV1_REG_CONFIG, b, 5)) != RV_OK) {
    return rc;
  }
  if (!config_matches(s, b)) {
    return RV_EVERIFY;
  }
  s->cal = cal;
  s->need_init = false;
  s->fails = 0;
  return RV_OK;
}

static bool config_valid(const rv_sensor_config *cfg) {
  return cfg->osr_t <= RV_ENV1_OSR_MAX && cfg->osr_p <= RV_ENV1_OSR_MAX &&
         cfg->osr_h <= RV_ENV1_OSR_MAX && cfg->standby <= RV_ENV1_STANDBY_MAX &&
         (cfg->mode == RV_SENSOR_SLEEP || cfg->mode == RV_SENSOR_FORCED ||
          cfg->mode == RV_SENSOR_NORMAL);
}

int rv_sensor_init(rv_sensor *s, const rv_bus *bus, uint16_t addr, const rv_sensor_config *cfg,
                   void *ring_storage, size_t ring_size) {
  if (!s || !bus || !cfg || !config_valid(cfg) || (!ring_storage && ring_size != 0) ||
      (ring_storage && ring_size < (size_t)2 * RV_SENSOR_RING_BYTES_PER_SAMPLE)) {
    return RV_EINVAL;
  }
  memset(s, 0, sizeof *s);
  if (ring_storage) {
    if (rv_ring_init(&s->ring, ring_storage, ring_size) != RV_OK) {
      return RV_EINVAL;
    }
    s->has_ring = true;
  }
  atomic_init(&s->isr_runs, 0);
  atomic_init(&s->isr_errors, 0);
  atomic_init(&s->isr_dropped, 0);
  s->bus = *bus;
  s->addr = addr;
  s->cfg = *cfg;
  s->ready = true;
  int rc = do_init(s);
  return rc == RV_OK ? RV_OK : lost_state(s, rc);
}

/* Before any bus work: recover a stuck bus, re-initialise if needed. */
static int prepare(rv_sensor *s) {
  int rc;
  if (s->need_recover) {
    rc = rv_bus_recover(&s->bus);
    if (rc != RV_OK && rc != RV_EUNSUPPORTED) {
      return fail(s, rc);
    }
    s->need_recover = false;
  }
  if (s->need_init) {
    if ((rc = do_init(s)) != RV_OK) {
      return fail(s, rc);
    }
    s->reinits++;
  }
  return RV_OK;
}

/* Check and compensate one frame; a bad frame counts as a failure. */
static int decode(rv_sensor *s, const uint8_t *f, rv_env1_value *v) {
  rv_env1_raw raw;
  int rc;
  if ((rc = rv_env1_frame_decode(f, &raw)) != RV_OK ||
      (rc = rv_env1_compensate(&s->cal, &raw, v)) != RV_OK) {
    return fail(s, rc);
  }
  return RV_OK;
}

static int read_frame(rv_sensor *s) {
  uint8_t f[RV_ENV1_FRAME_LEN];
  rv_env1_value v;
  int rc;
  if ((rc = rd(s, RV_ENV1_REG_DATA, f, sizeof f)) != RV_OK) {
    return fail(s, rc);
  }
  if ((rc = decode(s, f, &v)) != RV_OK) {
    return rc;
  }
  s->last = v;
  s->have_last = true;
  s->fails = 0;
  return RV_OK;
}

int rv_sensor_fetch(rv_sensor *s) {
  uint8_t st[5];
  int rc;
  bool forced = s->cfg.mode == RV_SENSOR_FORCED;
  if (!s->ready || s->cfg.mode == RV_SENSOR_SLEEP) {
    return RV_ESTATE;
  }
  if ((rc = prepare(s)) != RV_OK) {
    return rc;
  }
  if (forced && (rc = wr1(s, RV_ENV1_REG_MODE, RV_ENV1_MODE_FORCED)) != RV_OK) {
    return fail(s, rc);
  }
  /* Forced: wait the nominal conversion time, then up to three more:
   * bounded, never a hang. Normal: just look at the latest sample. */
  uint32_t t = rv_env1_meas_time_us(s->cfg.osr_t, s->cfg.osr_p, s->cfg.osr_h);
  for (unsigned tries = 0;; tries++) {
    if (forced) {
      rv_bus_delay_us(&s->bus, t);
    }
    if ((rc = rd(s, RV_ENV1_REG_CONFIG, st, sizeof st)) != RV_OK) {
      return fail(s, rc);
    }
    if (!forced || !(st[4] & RV_ENV1_STATUS_MEASURING)) {
      break;
    }
    if (tries == 3) {
      return lost_state(s, RV_ETIMEDOUT);
    }
  }
  if (!config_matches(s, st)) {
    return lost_state(s, RV_EVERIFY);
  }
  if (!(st[4] & RV_ENV1_STATUS_DRDY)) {
    /* Normal mode: no new sample yet. Forced: the conversion never ran. */
    return forced ? lost_state(s, RV_EIO) : RV_EAGAIN;
  }
  return read_frame(s);
}

int rv_sensor_channel_get(const rv_sensor *s, rv_sensor_chan ch, int32_t *val) {
  if (!s->have_last) {
    return RV_EEMPTY;
  }
  switch (ch) {
  case RV_SENSOR_TEMP:
    *val = s->last.temp;
    return RV_OK;
  case RV_SENSOR_PRESSURE:
    *val = (int32_t)s->last.pres; /* at most 1100000: fits */
    return RV_OK;
  case RV_SENSOR_HUMIDITY:
    *val = (int32_t)s->last.hum;
    return RV_OK;
  default:
    return RV_EINVAL;
  }
}

int rv_sensor_trigger(rv_sensor *s) {
  int rc;
  if (!s->ready || s->cfg.mode != RV_SENSOR_FORCED || !s->cfg.drdy_irq) {
    return RV_ESTATE;
  }
  if ((rc = prepare(s)) != RV_OK) {
    return rc;
  }
  if ((rc = wr1(s, RV_ENV1_REG_MODE, RV_ENV1_MODE_FORCED)) != RV_OK) {
    return fail(s, rc);
  }
  return RV_OK;
}

/* The counters have one writer (the ISR), so a relaxed load and store is an
 * exact increment; relaxed because they order nothing: they are statistics,
 * and the samples themselves travel through the ring's release/acquire. */
static void bump(_Atomic(uint32_t) *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1u,
                        memory_order_relaxed);
}

int rv_sensor_isr(rv_sensor *s) {
  void *span;
  uint8_t scratch[RV_ENV1_FRAME_LEN];
  if (!s->has_ring) {
    return RV_ESTATE;
  }
  bump(&s->isr_runs);
  /* With the ring full the frame is still read, into scratch: that
   * acknowledges DRDY (a level interrupt left pending would fire again at
   * once); then it is dropped. */
  bool room = rv_ring_write_span(&s->ring, &span) >= REC_LEN;
  uint8_t *rec = room ? span : scratch;
  int rc = rd(s, RV_ENV1_REG_DATA, rec + REC_FRAME, RV_ENV1_FRAME_LEN);
  uint32_t seq = s->isr_seq++;
  if (rc != RV_OK) {
    bump(&s->isr_errors);
  }
  if (!room) {
    bump(&s->isr_dropped);
    return RV_EFULL;
  }
  rec[REC_ERR] = (uint8_t)-rc; /* 0, or an RV_E* code negated: 1..20 */
  rec[REC_SEQ] = (uint8_t)seq;
  rec[REC_SEQ + 1] = (uint8_t)(seq >> 8);
  rec[REC_SEQ + 2] = (uint8_t)(seq >> 16);
  rec[REC_SEQ + 3] = (uint8_t)(seq >> 24);
  (void)rv_ring_write_commit(&s->ring, REC_LEN); /* within the span: cannot fail */
  return rc;
}

int rv_sensor_poll(rv_sensor *s, rv_sensor_sample *out) {
  uint8_t rec[REC_LEN];
  rv_env1_value v;
  int rc;
  if (!s->has_ring) {
    return RV_ESTATE;
  }
  /* The ISR publishes whole records only, so any bytes there are a whole
   * record. */
  if (rv_ring_read(&s->ring, rec, REC_LEN) == 0) {
    return RV_EEMPTY;
  }
  int err = -(int)rec[REC_ERR]; /* stored negated (see the ISR) */
  if (err != RV_OK) {
    return fail(s, err);
  }
  if ((rc = decode(s, rec + REC_FRAME, &v)) != RV_OK) {
    return rc;
  }
  s->fails = 0;
  out->temp = v.temp;
  out->pres = v.pres;
  out->hum = v.hum;
  out->seq = (uint32_t)rec[REC_SEQ] | ((uint32_t)rec[REC_SEQ + 1] << 8) |
             ((uint32_t)rec[REC_SEQ + 2] << 16) | ((uint32_t)rec[REC_SEQ + 3] << 24);
  return RV_OK;
}

int rv_sensor_fifo_read(rv_sensor *s, rv_sensor_sample *out, size_t max, size_t *n) {
  uint8_t buf[RV_ENV1_FIFO_DEPTH * RV_ENV1_FRAME_LEN];
  uint8_t count;
  int rc;
  if (!out || !n || max == 0) {
    return RV_EINVAL;
  }
  if (!s->ready || !s->cfg.fifo) {
    return RV_ESTATE;
  }
  *n = 0;
  if ((rc = prepare(s)) != RV_OK) {
    return rc;
  }
  if ((rc = rd(s, RV_ENV1_REG_FIFO_COUNT, &count, 1)) != RV_OK) {
    return fail(s, rc);
  }
  if (count > RV_ENV1_FIFO_DEPTH) {
    return fail(s, RV_EVERIFY);
  }
  size_t k = count < max ? count : max;
  if (k == 0) {
    return RV_OK;
  }
  if ((rc = rd(s, RV_ENV1_REG_FIFO_DATA, buf, k * RV_ENV1_FRAME_LEN)) != RV_OK) {
    return fail(s, rc);
  }
  for (size_t i = 0; i < k; i++) {
    rv_env1_value v;
    if ((rc = decode(s, buf + i * RV_ENV1_FRAME_LEN, &v)) != RV_OK) {
      return rc;
    }
    out[i].temp = v.temp;
    out[i].pres = v.pres;
    out[i].hum = v.hum;
    out[i].seq = (uint32_t)i;
  }
  *n = k;
  s->fails = 0;
  return RV_OK;
}

int rv_sensor_recover(rv_sensor *s) {
  if (!s->ready) {
    return RV_ESTATE;
  }
  s->need_recover = true;
  s->need_init = true;
  return prepare(s);
}

void rv_sensor_get_stats(const rv_sensor *s, rv_sensor_stats *out) {
  out->isr_runs = atomic_load_explicit(&s->isr_runs, memory_order_relaxed);
  out->isr_errors = atomic_load_explicit(&s->isr_errors, memory_order_relaxed);
  out->isr_dropped = atomic_load_explicit(&s->isr_dropped, memory_order_relaxed);
  out->reinits = s->reinits;
  out->bus_errors = s->bus_errors;
}
