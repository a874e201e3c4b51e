/**
 * \file rivet/iot/bus.h
 * \brief I2C and SPI transactions: the interface a board port implements
 *        and drivers use (in the spirit of embedded-hal and Zephyr's i2c/spi).
 *
 * **The port interface.** A board port fills an ::rv_bus_ops with three
 * functions and hands it, with its own context pointer, to rv_bus_init():
 * - `transfer`: one transaction. On I2C: START, address+W, the \p wr bytes,
 *   then (when \p rd_len > 0) a repeated START, address+R, \p rd_len bytes,
 *   STOP. On SPI: chip select \p addr asserted, \p wr bytes clocked out, then
 *   \p rd_len bytes clocked in, chip select released. It must give up after
 *   \p timeout_us microseconds and return 0, #RV_EIO (NACK, bus error: the
 *   device did not take the transaction), #RV_ETIMEDOUT (the time budget ran
 *   out; the device may have acted on part of it) or #RV_EBUSY (the bus is
 *   stuck, e.g. SDA held low; call `recover`). On error the read buffer's
 *   contents are unspecified.
 * - `recover` (may be NULL): free a stuck bus (I2C: clock SCL nine times,
 *   then a STOP) and return 0 or #RV_EIO.
 * - `delay_us`: busy-wait or sleep at least \p us microseconds.
 *
 * **Register access.** rv_bus_reg_read() and rv_bus_reg_write() implement
 * the usual register protocol: the first byte written is the register
 * address; on SPI, bit 7 of it is set for a read and cleared for a write.
 *
 * **Threads and interrupts.** An ::rv_bus is not thread-safe: if the main
 * loop and an interrupt handler share one, the main loop masks that
 * interrupt around its transactions (the port may do it in `transfer`).
 *
 * Freestanding: yes (no libc, no allocation).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup iot_bus bus: I2C/SPI transaction interface
 *  \{ */

/** \brief Longest payload rv_bus_reg_write() sends in one transaction. */
#define RV_BUS_REG_WRITE_MAX 16u

/** \brief Which kind of bus. */
typedef enum rv_bus_kind {
  RV_BUS_I2C = 0, /**< I2C: `addr` is the 7-bit device address */
  RV_BUS_SPI = 1, /**< SPI: `addr` is the chip-select index */
} rv_bus_kind;

/** \brief The functions a board port provides (see the file description). */
typedef struct rv_bus_ops {
  /** One transaction: write \p wr (may be NULL with \p wr_len 0), then read
   *  \p rd_len bytes into \p rd (may be NULL with \p rd_len 0). */
  int (*transfer)(void *ctx, uint16_t addr, const uint8_t *wr, size_t wr_len, uint8_t *rd,
                  size_t rd_len, uint32_t timeout_us);
  /** Free a stuck bus; NULL if the port cannot. */
  int (*recover)(void *ctx);
  /** Wait at least \p us microseconds. */
  void (*delay_us)(void *ctx, uint32_t us);
} rv_bus_ops;

/** \brief A bus handle: a port's ops and context. Caller-allocated; fields
 *         are private (set them with rv_bus_init()). */
typedef struct rv_bus {
  const rv_bus_ops *ops; /**< private: the port */
  void *ctx;             /**< private: the port's context */
  rv_bus_kind kind;      /**< private: I2C or SPI */
  uint32_t timeout_us;   /**< private: budget given to each transaction */
} rv_bus;

/**
 * \brief Set up a bus handle.
 * \param[out] bus         the handle
 * \param[in]  ops         the port's functions (borrowed: must outlive \p bus);
 *                         `transfer` and `delay_us` are required
 * \param[in]  ctx         passed to every op (may be NULL)
 * \param[in]  kind        #RV_BUS_I2C or #RV_BUS_SPI
 * \param[in]  timeout_us  time budget of each transaction, at least 1
 * \return 0, or #RV_EINVAL (missing op, unknown kind, zero timeout; \p bus
 *         is then untouched).
 * \since 0.1.0
 */
RV_API int rv_bus_init(rv_bus *bus, const rv_bus_ops *ops, void *ctx, rv_bus_kind kind,
                       uint32_t timeout_us);

/**
 * \brief The bus kind given to rv_bus_init().
 * \param[in] bus  the handle
 * \since 0.1.0
 */
RV_API rv_bus_kind rv_bus_get_kind(const rv_bus *bus);

/**
 * \brief Write \p len bytes to a device.
 * \param[in] bus   the handle
 * \param[in] addr  device address (I2C) or chip select (SPI)
 * \param[in] data  the bytes
 * \param[in] len   byte count, at least 1
 * \return 0, #RV_EINVAL (NULL \p data or zero \p len), or the port's
 *         #RV_EIO, #RV_ETIMEDOUT, #RV_EBUSY (any other value a port returns
 *         is reported as #RV_EIO).
 * \since 0.1.0
 */
RV_API int rv_bus_write(const rv_bus *bus, uint16_t addr, const uint8_t *data, size_t len);

/**
 * \brief Read \p len bytes from a device.
 * \return as rv_bus_write().
 * \since 0.1.0
 */
RV_API int rv_bus_read(const rv_bus *bus, uint16_t addr, uint8_t *data, size_t len);

/**
 * \brief Write then read in one transaction (repeated START on I2C).
 * \param[in]  bus     the handle
 * \param[in]  addr    device address or chip select
 * \param[in]  wr      bytes to write (\p wr_len at least 1)
 * \param[in]  wr_len  count
 * \param[out] rd      room for \p rd_len bytes (at least 1); must not overlap \p wr
 * \param[in]  rd_len  count
 * \return as rv_bus_write().
 * \since 0.1.0
 */
RV_API int rv_bus_write_read(const rv_bus *bus, uint16_t addr, const uint8_t *wr, size_t wr_len,
                             uint8_t *rd, size_t rd_len);

/**
 * \brief Read \p len consecutive registers starting at \p reg.
 * \return as rv_bus_write().
 * \since 0.1.0
 */
RV_API int rv_bus_reg_read(const rv_bus *bus, uint16_t addr, uint8_t reg, uint8_t *data,
                           size_t len);

/**
 * \brief Write \p len consecutive registers starting at \p reg, in one
 *        transaction.
 * \return as rv_bus_write(), or #RV_ELIMIT if \p len exceeds
 *         #RV_BUS_REG_WRITE_MAX.
 * \since 0.1.0
 */
RV_API int rv_bus_reg_write(const rv_bus *bus, uint16_t addr, uint8_t reg, const uint8_t *data,
                            size_t len);

/**
 * \brief Free a stuck bus through the port's `recover`.
 * \param[in] bus  the handle
 * \return 0, the port's error, or #RV_EUNSUPPORTED if the port has no
 *         `recover`.
 * \since 0.1.0
 */
RV_API int rv_bus_recover(const rv_bus *bus);

/**
 * \brief Wait at least \p us microseconds through the port's `delay_us`.
 * \since 0.1.0
 */
RV_API void rv_bus_delay_us(const rv_bus *bus, uint32_t us);

/** \} */

#ifdef __cplusplus
}
#endif
