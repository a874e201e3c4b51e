/**
 * \file rivet/iot/mockbus.h
 * \brief A mock bus for driver tests: register-map device models, fault
 *        injection at any transaction index, and scripted expectations.
 *
 * An ::rv_mockbus implements the port interface of rivet/iot/bus.h
 * (rv_mockbus_bus() gives an ::rv_bus over it) with a simulated clock:
 * every transaction takes `us_per_byte` microseconds per byte, `delay_us`
 * advances the clock, and every attached device's `tick` hook sees the new
 * time (so a device model can finish conversions and raise interrupts).
 *
 * **Devices.** An ::rv_mockdev is a 256-register map with a register
 * pointer that auto-increments after each byte (except on registers marked
 * with rv_mockdev_noinc(), such as FIFO ports). Per register: a reset
 * value, a write mask (bits a plain write changes; 0 = read-only) and a
 * write-1-to-clear mask. Writes to read-only bits are ignored, as chips do.
 * Optional hooks let a model compute reads and react to writes. An I2C
 * transaction to an address with no device is NACKed (#RV_EIO).
 *
 * **Transaction semantics.** The first written byte sets the register
 * pointer (on SPI, bit 7 is the read flag and is ignored); further written
 * bytes go to successive registers; read bytes come from successive
 * registers.
 *
 * **Faults** (rv_mockbus_fault()) apply to the transaction with the given
 * zero-based index (counting every transfer since rv_mockbus_init()):
 * - #RV_MOCKBUS_NACK: the device does not take it; returns #RV_EIO.
 * - #RV_MOCKBUS_TIMEOUT: the device takes it, the clock advances by the
 *   whole budget, the read buffer is filled with 0xFF; returns #RV_ETIMEDOUT.
 * - #RV_MOCKBUS_CORRUPT: one byte is XORed with a mask on the wire: written
 *   byte \p byte (the device sees the corrupted value) or, if \p byte is
 *   past the written bytes, read byte `byte - wr_len`; returns 0.
 * - #RV_MOCKBUS_STUCK: from this transaction on, every transaction returns
 *   #RV_EBUSY and does nothing until the bus is recovered.
 *
 * **Scripts.** rv_mockbus_expect() installs the exact sequence of
 * transactions a driver must perform; each transfer is checked against the
 * next step (address, written bytes, read length) and answered with the
 * step's bytes, or by the device model when the step has none. A mismatch
 * fails the transfer with #RV_EIO and is remembered; rv_mockbus_done()
 * reports it, or steps left unconsumed (embedded-hal-mock's `done()`).
 *
 * Not thread-safe. Freestanding: yes (only mem*, no allocation).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/iot/bus.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup iot_mockbus mockbus: mock bus, device models, fault injection
 *  \{ */

/** \brief Faults that can be armed at once. */
#define RV_MOCKBUS_MAX_FAULTS 8u

/** \brief Default simulated transfer time per byte (400 kHz I2C: 9 clocks). */
#define RV_MOCKBUS_US_PER_BYTE 23u

/** \brief A register-map device (see struct rv_mockdev). */
typedef struct rv_mockdev rv_mockdev;

/** \brief A register-map device. Caller-allocated; set up with
 *         rv_mockdev_init(). Fields marked public may be set by the model. */
struct rv_mockdev {
  uint16_t addr;      /**< private: bus address (I2C) or chip select (SPI) */
  uint8_t ptr;        /**< private: register pointer */
  uint8_t regs[256];  /**< public: register contents */
  uint8_t wmask[256]; /**< private: bits a plain write sets */
  uint8_t w1c[256];   /**< private: bits a write of 1 clears */
  uint8_t noinc[32];  /**< private: bitmap of registers that keep the pointer */
  /** public: compute the byte read from \p reg (NULL: `regs[reg]`). */
  uint8_t (*read_hook)(rv_mockdev *dev, uint8_t reg);
  /** public: called after a write of \p val to \p reg was applied. */
  void (*write_hook)(rv_mockdev *dev, uint8_t reg, uint8_t val);
  /** public: the simulated clock moved to \p now_us. */
  void (*tick_hook)(rv_mockdev *dev, uint64_t now_us);
  void *user;       /**< public: for the model */
  rv_mockdev *next; /**< private: the bus's device list */
};

/** \brief Fault kinds (see the file description). */
typedef enum rv_mockbus_fault_kind {
  RV_MOCKBUS_NACK = 1,    /**< not acknowledged: #RV_EIO */
  RV_MOCKBUS_TIMEOUT = 2, /**< budget exceeded: #RV_ETIMEDOUT */
  RV_MOCKBUS_CORRUPT = 3, /**< one byte XORed on the wire */
  RV_MOCKBUS_STUCK = 4,   /**< bus stuck until recovered: #RV_EBUSY */
} rv_mockbus_fault_kind;

/** \brief One step of a script. */
typedef struct rv_mockbus_txn {
  uint16_t addr;     /**< expected address */
  const uint8_t *wr; /**< expected written bytes */
  size_t wr_len;     /**< their count */
  const uint8_t *rd; /**< bytes to answer, or NULL: the device model answers */
  size_t rd_len;     /**< expected read length */
} rv_mockbus_txn;

/** \brief An armed fault. Private. */
typedef struct rv_mockbus_fault_slot {
  uint32_t index;   /**< private: transaction index */
  uint8_t kind;     /**< private: ::rv_mockbus_fault_kind */
  uint8_t xor_mask; /**< private: for CORRUPT */
  uint16_t byte;    /**< private: for CORRUPT */
} rv_mockbus_fault_slot;

/** \brief The mock bus. Caller-allocated; fields are private except those
 *         marked readable. */
typedef struct rv_mockbus {
  rv_mockdev *devs;      /**< private: attached devices */
  rv_bus_kind kind;      /**< private: I2C or SPI */
  uint64_t now_us;       /**< readable: the simulated clock */
  uint32_t us_per_byte;  /**< public: transfer time per byte */
  uint32_t txn_count;    /**< readable: transactions seen so far */
  uint32_t recoveries;   /**< readable: successful recover calls */
  uint32_t last_timeout; /**< readable: budget given to the last transfer */
  bool stuck;            /**< readable: the bus is stuck */
  uint8_t nfaults;       /**< private */
  rv_mockbus_fault_slot faults[RV_MOCKBUS_MAX_FAULTS]; /**< private */
  const rv_mockbus_txn *script;                        /**< private */
  size_t script_len;                                   /**< private */
  size_t script_pos;                                   /**< private */
  size_t script_bad;                                   /**< private: step of the first mismatch */
  bool script_failed;                                  /**< private */
} rv_mockbus;

/**
 * \brief Set up a device at \p addr with all 256 registers read-only 0.
 * \param[out] dev   the device
 * \param[in]  addr  its bus address or chip select
 * \since 0.1.0
 */
RV_API void rv_mockdev_init(rv_mockdev *dev, uint16_t addr);

/**
 * \brief Define register \p reg: its current value and which bits writes
 *        change (\p wmask) or clear when written with 1 (\p w1c).
 * \since 0.1.0
 */
RV_API void rv_mockdev_reg(rv_mockdev *dev, uint8_t reg, uint8_t value, uint8_t wmask, uint8_t w1c);

/**
 * \brief Make \p reg a port: the register pointer does not advance past it.
 * \since 0.1.0
 */
RV_API void rv_mockdev_noinc(rv_mockdev *dev, uint8_t reg);

/**
 * \brief Set up an empty mock bus at time 0.
 * \param[out] mb    the bus
 * \param[in]  kind  #RV_BUS_I2C or #RV_BUS_SPI (SPI ignores bit 7 of the
 *                   register address)
 * \since 0.1.0
 */
RV_API void rv_mockbus_init(rv_mockbus *mb, rv_bus_kind kind);

/**
 * \brief Attach a device (borrowed: it must outlive the bus's use).
 * \return 0, or #RV_EEXIST if a device already answers at its address.
 * \since 0.1.0
 */
RV_API int rv_mockbus_attach(rv_mockbus *mb, rv_mockdev *dev);

/**
 * \brief An ::rv_bus whose transactions go to \p mb.
 * \param[in]  mb          the mock (borrowed)
 * \param[in]  timeout_us  the per-transaction budget the driver gets; a
 *                         transaction longer than that (bytes times
 *                         `us_per_byte`) fails with #RV_ETIMEDOUT
 * \param[out] bus         the handle
 * \return as rv_bus_init().
 * \since 0.1.0
 */
RV_API int rv_mockbus_bus(rv_mockbus *mb, uint32_t timeout_us, rv_bus *bus);

/**
 * \brief Arm a fault at transaction \p index.
 * \param[in,out] mb        the bus
 * \param[in]     index     zero-based transaction index (see `txn_count`)
 * \param[in]     kind      an ::rv_mockbus_fault_kind
 * \param[in]     byte      CORRUPT: which byte of the transaction (written
 *                          bytes first, then read bytes); else ignored
 * \param[in]     xor_mask  CORRUPT: bits to flip (nonzero); else ignored
 * \return 0, #RV_EINVAL (unknown kind, zero mask for CORRUPT) or #RV_EFULL
 *         (#RV_MOCKBUS_MAX_FAULTS already armed).
 * \since 0.1.0
 */
RV_API int rv_mockbus_fault(rv_mockbus *mb, uint32_t index, rv_mockbus_fault_kind kind,
                            uint16_t byte, uint8_t xor_mask);

/**
 * \brief Disarm every fault and un-stick the bus.
 * \since 0.1.0
 */
RV_API void rv_mockbus_clear_faults(rv_mockbus *mb);

/**
 * \brief Advance the simulated clock by \p us and tick every device.
 * \since 0.1.0
 */
RV_API void rv_mockbus_advance(rv_mockbus *mb, uint64_t us);

/**
 * \brief Install a script (borrowed: it must outlive its use); replaces any
 *        previous one and forgets its result.
 * \param[in,out] mb      the bus
 * \param[in]     script  the steps (NULL only with \p n 0)
 * \param[in]     n       step count
 * \since 0.1.0
 */
RV_API void rv_mockbus_expect(rv_mockbus *mb, const rv_mockbus_txn *script, size_t n);

/**
 * \brief Check that the script ran exactly: every step consumed, no
 *        mismatch, no extra transaction. Removes the script.
 * \param[in,out] mb     the bus
 * \param[out]    where  if not NULL, the step index at fault (on error)
 * \return 0, #RV_EMALFORMED (a transaction differed from its step, or came
 *         after the last one) or #RV_ETRUNCATED (steps left unconsumed).
 * \since 0.1.0
 */
RV_API int rv_mockbus_done(rv_mockbus *mb, size_t *where);

/** \} */

#ifdef __cplusplus
}
#endif
