/**
 * \file rivet/iot/env1-model.h
 * \brief A behavioural model of the RV-ENV1 sensor on the mock bus
 *        (libiot/docs/rv-env1.md), for host tests and for firmware that has
 *        no real sensor.
 *
 * The model implements the whole register map: chip id, soft reset (with
 * the RSTF flag), configuration, the three modes with conversion and
 * standby timing driven by the mock bus's clock, STATUS with its
 * write-1-to-clear bits, the 4-frame FIFO with overflow, data frames with
 * CRC, calibration registers, and the data-ready interrupt line (INT_EN and
 * STATUS.DRDY both set). What each conversion measures is the model's
 * `next` raw values, which a test sets directly or from `on_convert`.
 *
 * Not thread-safe (one bus owner at a time). Freestanding: yes.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/iot/env1.h>
#include <rivet/iot/mockbus.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup iot_env1_model env1-model: RV-ENV1 device model
 *  \{ */

/** \brief The RV-ENV1 model (see struct rv_env1_model). */
typedef struct rv_env1_model rv_env1_model;

/** \brief The model. Caller-allocated; fields are private except those
 *         marked readable or public. */
struct rv_env1_model {
  rv_mockdev dev;    /**< private: the register map on the bus */
  rv_env1_calib cal; /**< readable: calibration burned into the chip */
  rv_env1_raw next;  /**< public: what the next conversion measures */
  /** public: called at the end of each conversion, before its values are
   *  latched, so a test can vary `next` (may be NULL). */
  void (*on_convert)(rv_env1_model *m, void *user);
  void *user;             /**< public: for `on_convert` */
  uint64_t now_us;        /**< private: last time seen */
  uint64_t meas_end_us;   /**< private: when the running conversion ends */
  uint64_t next_start_us; /**< private: normal mode: next conversion start */
  uint32_t meas_us;       /**< private: duration of the running conversion */
  bool measuring;         /**< private */
  uint8_t fifo[RV_ENV1_FIFO_DEPTH * RV_ENV1_FRAME_LEN]; /**< private */
  uint8_t fifo_frames;                                  /**< private: whole frames stored */
  uint8_t fifo_head;                                    /**< private: index of the oldest frame */
  uint8_t fifo_off;     /**< private: bytes of the oldest frame read */
  uint32_t conversions; /**< readable: conversions completed */
  uint32_t resets;      /**< readable: soft resets */
  uint64_t active_us;   /**< readable: time spent converting (power) */
};

/**
 * \brief The calibration the model uses when none is given: a plausible
 *        part (about 1 LSB = 0.0002 degC, 0.4 Pa, 0.0015 %RH).
 * \param[out] cal  the coefficients
 * \since 0.1.0
 */
RV_API void rv_env1_model_default_calib(rv_env1_calib *cal);

/**
 * \brief Power the model on (all registers at reset values, STATUS.RSTF
 *        set, sleep mode) and attach it to \p mb at \p addr.
 * \param[out]    m     the model
 * \param[in,out] mb    the bus (borrowed: the model must stay attached)
 * \param[in]     addr  I2C address or SPI chip select
 * \param[in]     cal   calibration to store, or NULL for the default
 * \return 0, or #RV_EEXIST if \p addr is taken on \p mb.
 * \since 0.1.0
 */
RV_API int rv_env1_model_init(rv_env1_model *m, rv_mockbus *mb, uint16_t addr,
                              const rv_env1_calib *cal);

/**
 * \brief Level of the data-ready interrupt line: CONFIG.INT_EN and
 *        STATUS.DRDY are both set.
 * \param[in] m  the model
 * \since 0.1.0
 */
RV_API bool rv_env1_model_irq(const rv_env1_model *m);

/**
 * \brief The mode the chip is in now (#RV_ENV1_MODE_SLEEP after a forced
 *        conversion has finished).
 * \since 0.1.0
 */
RV_API unsigned rv_env1_model_mode(const rv_env1_model *m);

/** \} */

#ifdef __cplusplus
}
#endif
