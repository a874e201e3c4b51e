/**
 * \file rivet/iot/sensor.h
 * \brief Driver for the RV-ENV1 temperature, humidity and pressure sensor
 *        (libiot/docs/rv-env1.md), over any ::rv_bus.
 *
 * **Memory.** No heap and no libc beyond mem*: all state lives in the
 * caller's ::rv_sensor, and the interrupt path's queue is an ::rv_ring over
 * caller storage.
 *
 * **Reading, polled.** rv_sensor_fetch() takes one sample (in forced mode it
 * starts a conversion, waits for it through the port's `delay_us`, and the
 * chip goes back to sleep: it draws measurement current only while
 * converting); rv_sensor_channel_get() then returns each channel in fixed
 * point: 0.01 degC, 0.1 Pa, 0.01 %RH.
 *
 * **Reading, interrupt-driven.** Enable `drdy_irq`. The board's handler for
 * the data-ready line calls rv_sensor_isr(): it reads the 9-byte data frame
 * in one transaction straight into the SPSC ring's free space (no copy)
 * and publishes it, unchecked and uncompensated. The main loop calls rv_sensor_poll() to take each
 * sample, check its CRC and compensate it. In forced mode the main loop starts each conversion with
 * rv_sensor_trigger() (interrupt masked while it does: the bus is shared); in normal mode the chip
 * converts by itself. The ISR does no compensation and no CRC, so its work is one bus read plus a
 * few stores (docs/benchmarks.md, "libiot", has the measured count). The ring is used through its
 * byte API with fixed 16-byte records.
 *
 * **Errors and recovery.** Every bus error is returned to the caller. A
 * stuck bus (#RV_EBUSY) is recovered through the port's `recover` before
 * the next transaction. After #RV_SENSOR_MAX_FAILS consecutive failures, or
 * at once after the chip's state is found different from what the driver
 * configured (it reset, or a write was corrupted), the next fetch, trigger
 * or FIFO read first re-initialises the chip (reset, calibration,
 * configuration). A corrupted frame is rejected (#RV_EVERIFY), never
 * returned as a sample. No call waits longer than a bounded number of
 * conversion times.
 *
 * **Threads.** Not thread-safe, with one exception: rv_sensor_isr() may run
 * in an interrupt (or another thread) concurrently with rv_sensor_poll() and
 * rv_sensor_get_stats() in the main loop, as the ring's producer and
 * consumer. Every other call needs the interrupt masked (or the thread
 * stopped), since they use the bus.
 *
 * Freestanding: yes.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/core/ring.h>
#include <rivet/iot/bus.h>
#include <rivet/iot/env1.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup iot_sensor sensor: RV-ENV1 driver
 *  \{ */

/** \brief Consecutive failures after which the chip is re-initialised. */
#define RV_SENSOR_MAX_FAILS 3u

/** \brief Bytes of ring storage each queued sample takes. */
#define RV_SENSOR_RING_BYTES_PER_SAMPLE 16u

/** \brief Operating modes (datasheet §4). */
typedef enum rv_sensor_mode {
  RV_SENSOR_SLEEP = 0,  /**< no conversions */
  RV_SENSOR_FORCED = 1, /**< one conversion per fetch or trigger, asleep between */
  RV_SENSOR_NORMAL = 3, /**< the chip converts every period by itself */
} rv_sensor_mode;

/** \brief Channels. */
typedef enum rv_sensor_chan {
  RV_SENSOR_TEMP = 0,     /**< temperature, 0.01 degC */
  RV_SENSOR_PRESSURE = 1, /**< pressure, 0.1 Pa */
  RV_SENSOR_HUMIDITY = 2, /**< relative humidity, 0.01 %RH */
} rv_sensor_chan;

/** \brief Configuration. */
typedef struct rv_sensor_config {
  uint8_t osr_t;   /**< temperature oversampling setting 0..4 (x1..x16) */
  uint8_t osr_p;   /**< pressure oversampling setting 0..4 */
  uint8_t osr_h;   /**< humidity oversampling setting 0..4 */
  uint8_t standby; /**< normal mode standby setting 0..7 (rv_env1_standby_us()) */
  uint8_t mode;    /**< an ::rv_sensor_mode */
  bool drdy_irq;   /**< drive the data-ready interrupt line */
  bool fifo;       /**< store samples in the chip's FIFO */
} rv_sensor_config;

/** \brief One compensated sample. */
typedef struct rv_sensor_sample {
  int32_t temp;  /**< 0.01 degC */
  uint32_t pres; /**< 0.1 Pa */
  uint32_t hum;  /**< 0.01 %RH */
  uint32_t seq;  /**< interrupt path: the ISR's sequence number */
} rv_sensor_sample;

/** \brief Counters, for diagnostics. */
typedef struct rv_sensor_stats {
  uint32_t isr_runs;    /**< rv_sensor_isr() calls */
  uint32_t isr_errors;  /**< of which the bus read failed */
  uint32_t isr_dropped; /**< samples lost because the ring was full */
  uint32_t reinits;     /**< automatic re-initialisations */
  uint32_t bus_errors;  /**< failed transactions seen by the main-loop side */
} rv_sensor_stats;

/** \brief Driver state. Caller-allocated; every field is private. */
typedef struct rv_sensor {
  rv_bus bus;                    /**< private */
  rv_sensor_config cfg;          /**< private */
  rv_env1_calib cal;             /**< private */
  rv_env1_value last;            /**< private: last fetched values */
  rv_ring ring;                  /**< private: ISR to main loop */
  uint16_t addr;                 /**< private */
  bool ready;                    /**< private: initialised once */
  bool have_last;                /**< private */
  bool need_init;                /**< private: re-initialise before the next use */
  bool need_recover;             /**< private: recover the bus before the next use */
  bool has_ring;                 /**< private */
  uint8_t fails;                 /**< private: consecutive failures */
  uint32_t reinits;              /**< private */
  uint32_t bus_errors;           /**< private */
  uint32_t isr_seq;              /**< private: written by the ISR only */
  _Atomic(uint32_t) isr_runs;    /**< private: written by the ISR only */
  _Atomic(uint32_t) isr_errors;  /**< private: written by the ISR only */
  _Atomic(uint32_t) isr_dropped; /**< private: written by the ISR only */
} rv_sensor;

/**
 * \brief Find, reset, calibrate and configure the chip.
 *
 * Transactions: read CHIP_ID (#RV_ENV1_CHIP_ID expected), clear
 * STATUS.RSTF, soft reset, wait #RV_ENV1_RESET_TIME_US, read STATUS (RSTF
 * must be set again: proof that the reset happened), read the calibration
 * and its CRC, write CONFIG..MODE in one burst, read CONFIG..STATUS back
 * and compare.
 * \param[out] s             the driver (overwritten)
 * \param[in]  bus           the bus (copied; its port must outlive \p s)
 * \param[in]  addr          I2C address or SPI chip select
 * \param[in]  cfg           the configuration (copied)
 * \param[in]  ring_storage  storage for the interrupt path's ring (borrowed;
 *                           a power of two of at least 2 *
 *                           #RV_SENSOR_RING_BYTES_PER_SAMPLE bytes), or NULL
 *                           without the interrupt path
 * \param[in]  ring_size     its size in bytes (0 with NULL)
 * \return 0; #RV_EINVAL for a bad configuration or ring; #RV_ENOTFOUND if
 *         the chip id is wrong; #RV_EVERIFY if the calibration's CRC is
 *         wrong or the read-back configuration differs; #RV_EIO if the chip
 *         did not reset; or a bus error (#RV_EIO, #RV_ETIMEDOUT, #RV_EBUSY).
 *         On a device or bus error \p s is usable: the next fetch, trigger or
 *         FIFO read retries the initialisation.
 * \since 0.1.0
 */
RV_API int rv_sensor_init(rv_sensor *s, const rv_bus *bus, uint16_t addr,
                          const rv_sensor_config *cfg, void *ring_storage, size_t ring_size);

/**
 * \brief Take one sample: forced mode starts a conversion and waits for it;
 *        normal mode reads the latest one.
 * \param[in,out] s  the driver
 * \return 0; #RV_ESTATE in sleep mode or before a successful rv_sensor_init()
 *         with valid arguments; #RV_EAGAIN in normal mode when no new
 *         sample is ready; #RV_ETIMEDOUT if the conversion does not end in
 *         four times its nominal time; #RV_EVERIFY for a corrupted frame or
 *         a configuration found changed; a bus error; or any error of the
 *         automatic re-initialisation.
 * \since 0.1.0
 */
RV_API int rv_sensor_fetch(rv_sensor *s);

/**
 * \brief A channel of the last successfully fetched sample.
 * \param[in]  s    the driver
 * \param[in]  ch   the channel
 * \param[out] val  its value in the channel's unit
 * \return 0, #RV_EINVAL for an unknown channel, #RV_EEMPTY if no sample was
 *         fetched yet.
 * \since 0.1.0
 */
RV_API int rv_sensor_channel_get(const rv_sensor *s, rv_sensor_chan ch, int32_t *val);

/**
 * \brief Forced mode, interrupt path: start one conversion and return; the
 *        data-ready interrupt follows.
 * \return 0; #RV_ESTATE if not in forced mode with `drdy_irq` or not
 *         initialised; a bus or re-initialisation error.
 * \since 0.1.0
 */
RV_API int rv_sensor_trigger(rv_sensor *s);

/**
 * \brief Data-ready interrupt handler body: read the data frame and queue it.
 *
 * Bounded work: one bus transaction into the ring, a commit; no CRC, no
 * math, no loop. A bus error is queued too, so the main loop sees it in
 * order. With the ring full the frame is still read (that acknowledges the
 * level-triggered DRDY line) and dropped.
 * \param[in,out] s  the driver
 * \return 0; #RV_ESTATE without a ring; #RV_EFULL if the ring was full (the
 *         sample is dropped and counted; the sequence number still
 *         advances); or the bus error (also queued).
 * \since 0.1.0
 */
RV_API int rv_sensor_isr(rv_sensor *s);

/**
 * \brief Main loop, interrupt path: take the next queued sample.
 * \param[in,out] s    the driver
 * \param[out]    out  the compensated sample (set only on success)
 * \return 0; #RV_EEMPTY if nothing is queued; #RV_ESTATE without a ring;
 *         #RV_EVERIFY if the frame is corrupted; or the bus error the ISR
 *         met. Errors count towards re-initialisation (see the file
 *         description); poll itself never touches the bus.
 * \since 0.1.0
 */
RV_API int rv_sensor_poll(rv_sensor *s, rv_sensor_sample *out);

/**
 * \brief Read every sample stored in the chip's FIFO (oldest first).
 * \param[in,out] s    the driver
 * \param[out]    out  room for \p max samples
 * \param[in]     max  capacity of \p out (at least 1); extra frames stay in
 *                     the FIFO
 * \param[out]    n    samples stored in \p out
 * \return 0; #RV_ESTATE if the FIFO is not enabled; #RV_EINVAL for NULL or
 *         zero \p max; #RV_EVERIFY if the count or a frame is corrupted
 *         (frames read in that transaction are lost); a bus or
 *         re-initialisation error.
 * \since 0.1.0
 */
RV_API int rv_sensor_fifo_read(rv_sensor *s, rv_sensor_sample *out, size_t max, size_t *n);

/**
 * \brief Recover now: free the bus, then re-initialise the chip with the
 *        same configuration (the ring and its contents are kept).
 * \return 0, or an error of rv_sensor_init() (recovery is retried by the
 *         next call).
 * \since 0.1.0
 */
RV_API int rv_sensor_recover(rv_sensor *s);

/**
 * \brief Counters. Callable from the main loop while the ISR runs.
 * \param[in]  s    the driver
 * \param[out] out  the counters
 * \since 0.1.0
 */
RV_API void rv_sensor_get_stats(const rv_sensor *s, rv_sensor_stats *out);

/** \} */

#ifdef __cplusplus
}
#endif
