/* bus: argument checks and the register protocol over a port's transfer. */
#include <string.h>

#include <rivet/core/err.h>
#include <rivet/iot/bus.h>

int rv_bus_init(rv_bus *bus, const rv_bus_ops *ops, void *ctx, rv_bus_kind kind,
                uint32_t timeout_us) {
  if (!bus || !ops || !ops->transfer || !ops->delay_us ||
      (kind != RV_BUS_I2C && kind != RV_BUS_SPI) || timeout_us == 0) {
    return RV_EINVAL;
  }
  bus->ops = ops;
  bus->ctx = ctx;
  bus->kind = kind;
  bus->timeout_us = timeout_us;
  return RV_OK;
}

rv_bus_kind rv_bus_get_kind(const rv_bus *bus) { return bus->kind; }

/* A port may only report the documented codes; anything else becomes EIO so
 * that drivers can rely on the contract. */
static int xfer(const rv_bus *bus, uint16_t addr, const uint8_t *wr, size_t wr_len, uint8_t *rd,
                size_t rd_len) {
  int rc = bus->ops->transfer(bus->ctx, addr, wr, wr_len, rd, rd_len, bus->timeout_us);
  if (rc == RV_OK || rc == RV_EIO || rc == RV_ETIMEDOUT || rc == RV_EBUSY) {
    return rc;
  }
  return RV_EIO;
}

int rv_bus_write(const rv_bus *bus, uint16_t addr, const uint8_t *data, size_t len) {
  if (!data || len == 0) {
    return RV_EINVAL;
  }
  return xfer(bus, addr, data, len, NULL, 0);
}

int rv_bus_read(const rv_bus *bus, uint16_t addr, uint8_t *data, size_t len) {
  if (!data || len == 0) {
    return RV_EINVAL;
  }
  return xfer(bus, addr, NULL, 0, data, len);
}

int rv_bus_write_read(const rv_bus *bus, uint16_t addr, const uint8_t *wr, size_t wr_len,
                      uint8_t *rd, size_t rd_len) {
  if (!wr || wr_len == 0 || !rd || rd_len == 0) {
    return RV_EINVAL;
  }
  return xfer(bus, addr, wr, wr_len, rd, rd_len);
}

int rv_bus_reg_read(const rv_bus *bus, uint16_t addr, uint8_t reg, uint8_t *data, size_t len) {
  uint8_t r = bus->kind == RV_BUS_SPI ? (uint8_t)(reg | 0x80u) : reg;
  return rv_bus_write_read(bus, addr, &r, 1, data, len);
}

int rv_bus_reg_write(const rv_bus *bus, uint16_t addr, uint8_t reg, const uint8_t *data,
                     size_t len) {
  uint8_t buf[1 + RV_BUS_REG_WRITE_MAX];
  if (!data || len == 0) {
    return RV_EINVAL;
  }
  if (len > RV_BUS_REG_WRITE_MAX) {
    return RV_ELIMIT;
  }
  buf[0] = bus->kind == RV_BUS_SPI ? (uint8_t)(reg & 0x7Fu) : reg;
  memcpy(buf + 1, data, len);
  return xfer(bus, addr, buf, len + 1, NULL, 0);
}

int rv_bus_recover(const rv_bus *bus) {
  if (!bus->ops->recover) {
    return RV_EUNSUPPORTED;
  }
  int rc = bus->ops->recover(bus->ctx);
  return rc == RV_OK ? RV_OK : RV_EIO;
}

void rv_bus_delay_us(const rv_bus *bus, uint32_t us) { bus->ops->delay_us(bus->ctx, us); }
