/* mockbus: register-map devices on a simulated bus, with faults and scripts. */
#include <string.h>

#include <rivet/core/err.h>
#include <rivet/iot/mockbus.h>

void rv_mockdev_init(rv_mockdev *dev, uint16_t addr) {
  memset(dev, 0, sizeof *dev);
  dev->addr = addr;
}

void rv_mockdev_reg(rv_mockdev *dev, uint8_t reg, uint8_t value, uint8_t wmask, uint8_t w1c) {
  dev->regs[reg] = value;
  dev->wmask[reg] = wmask;
  dev->w1c[reg] = w1c;
}

void rv_mockdev_noinc(rv_mockdev *dev, uint8_t reg) {
  dev->noinc[reg >> 3] = (uint8_t)(dev->noinc[reg >> 3] | (1u << (reg & 7u)));
}

static void dev_advance_ptr(rv_mockdev *dev) {
  if (!(dev->noinc[dev->ptr >> 3] & (1u << (dev->ptr & 7u)))) {
    dev->ptr = (uint8_t)(dev->ptr + 1u); /* wraps at 0xFF, as 8-bit pointers do */
  }
}

static void dev_write(rv_mockdev *dev, uint8_t val) {
  uint8_t reg = dev->ptr;
  uint8_t old = dev->regs[reg];
  uint8_t v = (uint8_t)((old & ~dev->wmask[reg]) | (val & dev->wmask[reg]));
  v = (uint8_t)(v & ~(val & dev->w1c[reg]));
  dev->regs[reg] = v;
  if (dev->write_hook) {
    dev->write_hook(dev, reg, val);
  }
  dev_advance_ptr(dev);
}

static uint8_t dev_read(rv_mockdev *dev) {
  uint8_t reg = dev->ptr;
  uint8_t v = dev->read_hook ? dev->read_hook(dev, reg) : dev->regs[reg];
  dev_advance_ptr(dev);
  return v;
}

void rv_mockbus_init(rv_mockbus *mb, rv_bus_kind kind) {
  memset(mb, 0, sizeof *mb);
  mb->kind = kind;
  mb->us_per_byte = RV_MOCKBUS_US_PER_BYTE;
}

static rv_mockdev *find_dev(const rv_mockbus *mb, uint16_t addr) {
  for (rv_mockdev *d = mb->devs; d; d = d->next) {
    if (d->addr == addr) {
      return d;
    }
  }
  return NULL;
}

int rv_mockbus_attach(rv_mockbus *mb, rv_mockdev *dev) {
  if (find_dev(mb, dev->addr)) {
    return RV_EEXIST;
  }
  dev->next = mb->devs;
  mb->devs = dev;
  return RV_OK;
}

void rv_mockbus_advance(rv_mockbus *mb, uint64_t us) {
  mb->now_us += us;
  for (rv_mockdev *d = mb->devs; d; d = d->next) {
    if (d->tick_hook) {
      d->tick_hook(d, mb->now_us);
    }
  }
}

int rv_mockbus_fault(rv_mockbus *mb, uint32_t index, rv_mockbus_fault_kind kind, uint16_t byte,
                     uint8_t xor_mask) {
  if (kind < RV_MOCKBUS_NACK || kind > RV_MOCKBUS_STUCK ||
      (kind == RV_MOCKBUS_CORRUPT && xor_mask == 0)) {
    return RV_EINVAL;
  }
  if (mb->nfaults >= RV_MOCKBUS_MAX_FAULTS) {
    return RV_EFULL;
  }
  rv_mockbus_fault_slot *f = &mb->faults[mb->nfaults++];
  f->index = index;
  f->kind = (uint8_t)kind;
  f->byte = byte;
  f->xor_mask = xor_mask;
  return RV_OK;
}

void rv_mockbus_clear_faults(rv_mockbus *mb) {
  mb->nfaults = 0;
  mb->stuck = false;
}

void rv_mockbus_expect(rv_mockbus *mb, const rv_mockbus_txn *script, size_t n) {
  mb->script = script;
  mb->script_len = n;
  mb->script_pos = 0;
  mb->script_bad = 0;
  mb->script_failed = false;
}

int rv_mockbus_done(rv_mockbus *mb, size_t *where) {
  int rc = RV_OK;
  size_t at = 0;
  if (mb->script_failed) {
    rc = RV_EMALFORMED;
    at = mb->script_bad;
  } else if (mb->script_pos != mb->script_len) {
    rc = RV_ETRUNCATED;
    at = mb->script_pos;
  }
  if (where && rc != RV_OK) {
    *where = at;
  }
  rv_mockbus_expect(mb, NULL, 0);
  return rc;
}

/* Checks one transaction against the next script step. Returns the step to
 * answer from, or NULL after recording a mismatch. */
static const rv_mockbus_txn *script_step(rv_mockbus *mb, uint16_t addr, const uint8_t *wr,
                                         size_t wr_len, size_t rd_len) {
  if (mb->script_failed) {
    return NULL;
  }
  const rv_mockbus_txn *s = mb->script_pos < mb->script_len ? &mb->script[mb->script_pos] : NULL;
  if (!s || s->addr != addr || s->wr_len != wr_len || s->rd_len != rd_len ||
      (wr_len && memcmp(s->wr, wr, wr_len) != 0)) {
    mb->script_failed = true;
    mb->script_bad = mb->script_pos;
    return NULL;
  }
  mb->script_pos++;
  return s;
}

/* The transaction proper, once faults that prevent it have been handled.
 * The corrupted byte (if any) is flipped on the wire: the device sees it
 * for a written byte, the driver sees it for a read byte. */
static int run_txn(rv_mockbus *mb, uint16_t addr, const uint8_t *wr, size_t wr_len, uint8_t *rd,
                   size_t rd_len, const rv_mockbus_fault_slot *corrupt) {
  const rv_mockbus_txn *step = NULL;
  if (mb->script) {
    step = script_step(mb, addr, wr, wr_len, rd_len);
    if (!step) {
      return RV_EIO;
    }
  }
  rv_mockdev *dev = find_dev(mb, addr);
  if (step && step->rd) {
    if (rd_len) {
      memcpy(rd, step->rd, rd_len);
    }
  } else {
    if (!dev) {
      return RV_EIO; /* nobody acknowledges the address */
    }
    for (size_t i = 0; i < wr_len; i++) {
      uint8_t b = wr[i];
      if (corrupt && corrupt->byte == i) {
        b ^= corrupt->xor_mask;
      }
      if (i == 0) {
        dev->ptr = mb->kind == RV_BUS_SPI ? (uint8_t)(b & 0x7Fu) : b;
      } else {
        dev_write(dev, b);
      }
    }
    for (size_t i = 0; i < rd_len; i++) {
      rd[i] = dev_read(dev);
    }
  }
  if (corrupt && corrupt->byte >= wr_len && corrupt->byte - wr_len < rd_len) {
    rd[corrupt->byte - wr_len] ^= corrupt->xor_mask;
  }
  return RV_OK;
}

static int mock_transfer(void *ctx, uint16_t addr, const uint8_t *wr, size_t wr_len, uint8_t *rd,
                         size_t rd_len, uint32_t timeout_us) {
  rv_mockbus *mb = ctx;
  uint32_t index = mb->txn_count++;
  mb->last_timeout = timeout_us;
  const rv_mockbus_fault_slot *fault = NULL;
  for (unsigned i = 0; i < mb->nfaults; i++) {
    if (mb->faults[i].index == index) {
      fault = &mb->faults[i];
      break;
    }
  }
  if (fault && fault->kind == RV_MOCKBUS_STUCK) {
    mb->stuck = true;
  }
  if (mb->stuck) {
    return RV_EBUSY;
  }
  if (fault && fault->kind == RV_MOCKBUS_NACK) {
    rv_mockbus_advance(mb, mb->us_per_byte);
    return RV_EIO;
  }
  /* Address byte plus data bytes (plus the repeated start's address). */
  uint64_t cost = (uint64_t)mb->us_per_byte * (1u + wr_len + rd_len + (rd_len && wr_len));
  int rc = run_txn(mb, addr, wr, wr_len, rd, rd_len,
                   fault && fault->kind == RV_MOCKBUS_CORRUPT ? fault : NULL);
  if (fault && fault->kind == RV_MOCKBUS_TIMEOUT) {
    if (rd_len) {
      memset(rd, 0xFF, rd_len);
    }
    rv_mockbus_advance(mb, timeout_us);
    return RV_ETIMEDOUT;
  }
  if (cost > timeout_us) {
    rv_mockbus_advance(mb, timeout_us);
    return RV_ETIMEDOUT;
  }
  rv_mockbus_advance(mb, cost);
  return rc;
}

static int mock_recover(void *ctx) {
  rv_mockbus *mb = ctx;
  mb->stuck = false;
  mb->recoveries++;
  rv_mockbus_advance(mb, 10u * mb->us_per_byte / 9u);
  return RV_OK;
}

static void mock_delay(void *ctx, uint32_t us) { rv_mockbus_advance(ctx, us); }

static const rv_bus_ops mock_ops = {
    .transfer = mock_transfer,
    .recover = mock_recover,
    .delay_us = mock_delay,
};

int rv_mockbus_bus(rv_mockbus *mb, uint32_t timeout_us, rv_bus *bus) {
  return rv_bus_init(bus, &mock_ops, mb, mb->kind, timeout_us);
}
