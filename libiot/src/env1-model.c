/* env1-model: the RV-ENV1 datasheet (libiot/docs/rv-env1.md) as a mock
 * register-map device. */
#include <stddef.h>
#include <string.h>

#include <rivet/core/err.h>
#include <rivet/iot/env1-model.h>

/* The mock device is the first member, so a hook's device pointer is the
 * model's address (C11 6.7.2.1p15: a pointer to a struct, suitably
 * converted, points to its first member and vice versa). */
static rv_env1_model *model_of(rv_mockdev *dev) { return (rv_env1_model *)(void *)dev; }

void rv_env1_model_default_calib(rv_env1_calib *cal) {
  cal->t0 = 32000; /* adc_t 512000 at 25 degC */
  cal->t1 = 13107; /* 0.0002 degC per LSB: 1 LSB = 13107 / 2^26 degC */
  cal->t2 = -1200;
  cal->p0 = 50000; /* 100000 Pa at mid-scale */
  cal->p1 = 26214; /* 0.4 Pa per LSB */
  cal->p2 = 900;
  cal->p3 = -160; /* -10 Pa per degC */
  cal->p4 = 300;
  cal->h0 = -512; /* -2 %RH */
  cal->h1 = 6710; /* 0.0016 %RH per LSB: full scale about 105 %RH */
  cal->h2 = 40;
}

static uint8_t osr_latched(const rv_env1_model *m, unsigned shift) {
  return (uint8_t)((m->dev.regs[RV_ENV1_REG_OSR] >> shift) & 7u);
}

static void start_conversion(rv_env1_model *m, uint64_t at) {
  m->meas_us = rv_env1_meas_time_us(osr_latched(m, 0), osr_latched(m, 3),
                                    m->dev.regs[RV_ENV1_REG_OSR_H] & 7u);
  m->measuring = true;
  m->meas_end_us = at + m->meas_us;
  m->dev.regs[RV_ENV1_REG_STATUS] =
      (uint8_t)((m->dev.regs[RV_ENV1_REG_STATUS] | RV_ENV1_STATUS_MEASURING) &
                ~RV_ENV1_STATUS_DRDY);
}

static void fifo_push(rv_env1_model *m, const uint8_t frame[RV_ENV1_FRAME_LEN]) {
  if (m->fifo_frames == RV_ENV1_FIFO_DEPTH) {
    /* Full: the oldest frame is dropped, and with it any partial read. */
    m->fifo_head = (uint8_t)((m->fifo_head + 1u) % RV_ENV1_FIFO_DEPTH);
    m->fifo_frames--;
    m->fifo_off = 0;
    m->dev.regs[RV_ENV1_REG_STATUS] |= RV_ENV1_STATUS_FIFO_OVF;
  }
  unsigned slot = (m->fifo_head + m->fifo_frames) % RV_ENV1_FIFO_DEPTH;
  memcpy(&m->fifo[(size_t)slot * RV_ENV1_FRAME_LEN], frame, RV_ENV1_FRAME_LEN);
  m->fifo_frames++;
}

static void finish_conversion(rv_env1_model *m) {
  if (m->on_convert) {
    m->on_convert(m, m->user);
  }
  uint8_t frame[RV_ENV1_FRAME_LEN];
  rv_env1_frame_encode(&m->next, frame);
  memcpy(&m->dev.regs[RV_ENV1_REG_DATA], frame, sizeof frame);
  m->measuring = false;
  m->conversions++;
  m->active_us += m->meas_us;
  uint8_t st = m->dev.regs[RV_ENV1_REG_STATUS];
  m->dev.regs[RV_ENV1_REG_STATUS] =
      (uint8_t)((st | RV_ENV1_STATUS_DRDY) & ~RV_ENV1_STATUS_MEASURING);
  if (m->dev.regs[RV_ENV1_REG_CONFIG] & RV_ENV1_CONFIG_FIFO_EN) {
    fifo_push(m, frame);
  }
  if ((m->dev.regs[RV_ENV1_REG_MODE] & 3u) == RV_ENV1_MODE_NORMAL) {
    m->next_start_us = m->meas_end_us + rv_env1_standby_us(m->dev.regs[RV_ENV1_REG_CONFIG] & 7u);
  } else {
    m->dev.regs[RV_ENV1_REG_MODE] = RV_ENV1_MODE_SLEEP; /* forced: done */
  }
}

static void tick(rv_mockdev *dev, uint64_t now) {
  rv_env1_model *m = model_of(dev);
  m->now_us = now;
  /* Catch up on every conversion due by now, in order: bounded by the
   * elapsed time over the shortest period (1.5 ms + 0.5 ms). */
  for (;;) {
    if (m->measuring) {
      if (now < m->meas_end_us) {
        return;
      }
      finish_conversion(m);
    } else if ((dev->regs[RV_ENV1_REG_MODE] & 3u) == RV_ENV1_MODE_NORMAL &&
               now >= m->next_start_us) {
      start_conversion(m, m->next_start_us);
    } else {
      return;
    }
  }
}

static void power_on(rv_env1_model *m) {
  rv_mockdev *d = &m->dev;
  uint8_t cal[RV_ENV1_CALIB_LEN + 1];
  rv_env1_calib_encode(&m->cal, cal);
  for (unsigned i = 0; i < sizeof cal; i++) {
    rv_mockdev_reg(d, (uint8_t)(RV_ENV1_REG_CALIB + i), cal[i], 0, 0);
  }
  rv_mockdev_reg(d, RV_ENV1_REG_CHIP_ID, RV_ENV1_CHIP_ID, 0, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_REV_ID, 0x01, 0, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_SOFT_RESET, 0, 0, 0); /* write-only: handled by the hook */
  rv_mockdev_reg(d, RV_ENV1_REG_CONFIG, 0, 0x1F, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_OSR, 0, 0x3F, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_OSR_H, 0, 0x07, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_MODE, 0, 0x03, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_STATUS, RV_ENV1_STATUS_RSTF, 0,
                 RV_ENV1_STATUS_DRDY | RV_ENV1_STATUS_FIFO_OVF | RV_ENV1_STATUS_RSTF);
  rv_mockdev_reg(d, RV_ENV1_REG_FIFO_COUNT, 0, 0, 0);
  rv_mockdev_reg(d, RV_ENV1_REG_FIFO_DATA, 0, 0, 0);
  uint8_t frame[RV_ENV1_FRAME_LEN];
  const rv_env1_raw zero = {0x80000, 0x80000, 0x8000};
  rv_env1_frame_encode(&zero, frame);
  for (unsigned i = 0; i < sizeof frame; i++) {
    rv_mockdev_reg(d, (uint8_t)(RV_ENV1_REG_DATA + i), frame[i], 0, 0);
  }
  m->measuring = false;
  m->fifo_frames = 0;
  m->fifo_head = 0;
  m->fifo_off = 0;
}

static void on_write(rv_mockdev *dev, uint8_t reg, uint8_t val) {
  rv_env1_model *m = model_of(dev);
  if (reg == RV_ENV1_REG_SOFT_RESET) {
    if (val == RV_ENV1_RESET_MAGIC) {
      m->resets++;
      power_on(m);
    }
    return;
  }
  if (reg != RV_ENV1_REG_MODE) {
    return;
  }
  unsigned mode = dev->regs[reg] & 3u;
  if (mode == 2u) { /* reserved: behaves as forced, and reads back as forced */
    mode = RV_ENV1_MODE_FORCED;
    dev->regs[reg] = RV_ENV1_MODE_FORCED;
  }
  if (mode == RV_ENV1_MODE_SLEEP) {
    if (m->measuring) { /* a running conversion is abandoned */
      m->measuring = false;
      dev->regs[RV_ENV1_REG_STATUS] &= (uint8_t)~RV_ENV1_STATUS_MEASURING;
    }
  } else {
    start_conversion(m, m->now_us); /* forced or normal: start now */
  }
}

static uint8_t on_read(rv_mockdev *dev, uint8_t reg) {
  rv_env1_model *m = model_of(dev);
  if (reg == RV_ENV1_REG_FIFO_COUNT) {
    return m->fifo_frames;
  }
  if (reg == RV_ENV1_REG_FIFO_DATA) {
    if (m->fifo_frames == 0) {
      return 0;
    }
    uint8_t b = m->fifo[m->fifo_head * RV_ENV1_FRAME_LEN + m->fifo_off];
    if (++m->fifo_off == RV_ENV1_FRAME_LEN) {
      m->fifo_off = 0;
      m->fifo_head = (uint8_t)((m->fifo_head + 1u) % RV_ENV1_FIFO_DEPTH);
      m->fifo_frames--;
    }
    return b;
  }
  if (reg == RV_ENV1_REG_DATA + RV_ENV1_FRAME_LEN - 1u) {
    /* Reading the frame's last byte (its CRC) acknowledges the sample. */
    dev->regs[RV_ENV1_REG_STATUS] &= (uint8_t)~RV_ENV1_STATUS_DRDY;
  }
  return dev->regs[reg];
}

int rv_env1_model_init(rv_env1_model *m, rv_mockbus *mb, uint16_t addr, const rv_env1_calib *cal) {
  memset(m, 0, sizeof *m);
  rv_mockdev_init(&m->dev, addr);
  if (cal) {
    m->cal = *cal;
  } else {
    rv_env1_model_default_calib(&m->cal);
  }
  m->next = (rv_env1_raw){0x80000, 0x80000, 0x8000};
  m->dev.read_hook = on_read;
  m->dev.write_hook = on_write;
  m->dev.tick_hook = tick;
  rv_mockdev_noinc(&m->dev, RV_ENV1_REG_FIFO_DATA);
  power_on(m);
  m->now_us = mb->now_us;
  return rv_mockbus_attach(mb, &m->dev);
}

bool rv_env1_model_irq(const rv_env1_model *m) {
  return (m->dev.regs[RV_ENV1_REG_CONFIG] & RV_ENV1_CONFIG_INT_EN) &&
         (m->dev.regs[RV_ENV1_REG_STATUS] & RV_ENV1_STATUS_DRDY);
}

unsigned rv_env1_model_mode(const rv_env1_model *m) { return m->dev.regs[RV_ENV1_REG_MODE] & 3u; }
