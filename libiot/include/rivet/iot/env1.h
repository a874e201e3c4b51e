/**
 * \file rivet/iot/env1.h
 * \brief RV-ENV1 register map, data formats and integer compensation
 *        (libiot/docs/rv-env1.md is the datasheet these follow).
 *
 * Shared by the driver (rivet/iot/sensor.h) and the device model
 * (rivet/iot/env1-model.h), so both speak the same datasheet.
 *
 * Freestanding: yes (no libc, no allocation, no state).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup iot_env1 env1: RV-ENV1 registers and compensation
 *  \{ */

/** \brief 7-bit I2C address with the SDO pin low. */
#define RV_ENV1_I2C_ADDR 0x76u
/** \brief 7-bit I2C address with the SDO pin high. */
#define RV_ENV1_I2C_ADDR_ALT 0x77u
/** \brief Value of #RV_ENV1_REG_CHIP_ID. */
#define RV_ENV1_CHIP_ID 0xE1u
/** \brief The value that, written to #RV_ENV1_REG_SOFT_RESET, resets the chip. */
#define RV_ENV1_RESET_MAGIC 0xB6u
/** \brief Time from a soft reset until the chip answers again, in microseconds. */
#define RV_ENV1_RESET_TIME_US 2000u

/** \name Registers
 *  \{ */
#define RV_ENV1_REG_CHIP_ID 0x00u    /**< RO: #RV_ENV1_CHIP_ID */
#define RV_ENV1_REG_REV_ID 0x01u     /**< RO: silicon revision (0x01) */
#define RV_ENV1_REG_SOFT_RESET 0x0Eu /**< WO: write #RV_ENV1_RESET_MAGIC to reset */
#define RV_ENV1_REG_CALIB 0x10u      /**< RO: #RV_ENV1_CALIB_LEN bytes, then their CRC */
#define RV_ENV1_REG_CALIB_CRC 0x26u  /**< RO: CRC-8 of the calibration bytes */
#define RV_ENV1_REG_CONFIG 0x30u     /**< RW: standby [2:0], INT_EN [3], FIFO_EN [4] */
#define RV_ENV1_REG_OSR 0x31u        /**< RW: osr_t [2:0], osr_p [5:3] */
#define RV_ENV1_REG_OSR_H 0x32u      /**< RW: osr_h [2:0] */
#define RV_ENV1_REG_MODE 0x33u       /**< RW: mode [1:0] */
#define RV_ENV1_REG_STATUS 0x34u     /**< RO/W1C: see RV_ENV1_STATUS_* */
#define RV_ENV1_REG_FIFO_COUNT 0x35u /**< RO: frames stored in the FIFO (0..4) */
#define RV_ENV1_REG_FIFO_DATA 0x36u  /**< RO: FIFO read port (no auto-increment) */
#define RV_ENV1_REG_DATA 0x40u       /**< RO: one data frame, 0x40..0x48 */
/** \} */

/** \name Register fields
 *  \{ */
#define RV_ENV1_CONFIG_INT_EN 0x08u    /**< CONFIG: drive the DRDY interrupt line */
#define RV_ENV1_CONFIG_FIFO_EN 0x10u   /**< CONFIG: store each sample in the FIFO */
#define RV_ENV1_STATUS_DRDY 0x01u      /**< STATUS: new data (W1C; cleared by reading 0x48) */
#define RV_ENV1_STATUS_MEASURING 0x02u /**< STATUS: a conversion is running (RO) */
#define RV_ENV1_STATUS_FIFO_OVF 0x04u  /**< STATUS: the FIFO dropped a frame (W1C) */
#define RV_ENV1_STATUS_RSTF 0x80u      /**< STATUS: reset happened (W1C; set by reset) */
#define RV_ENV1_MODE_SLEEP 0u          /**< MODE: no conversions */
#define RV_ENV1_MODE_FORCED 1u         /**< MODE: one conversion, then back to sleep */
#define RV_ENV1_MODE_NORMAL 3u         /**< MODE: convert, stand by, repeat */
/** \} */

/** \brief Bytes of calibration coefficients (without their CRC). */
#define RV_ENV1_CALIB_LEN 22u
/** \brief Bytes of one data frame (P, T, H, CRC). */
#define RV_ENV1_FRAME_LEN 9u
/** \brief Frames the FIFO holds. */
#define RV_ENV1_FIFO_DEPTH 4u
/** \brief Highest oversampling setting (x16); settings 5..7 also mean x16. */
#define RV_ENV1_OSR_MAX 4u
/** \brief Highest standby setting. */
#define RV_ENV1_STANDBY_MAX 7u

/** \brief Calibration coefficients, as stored in the chip (datasheet §5). */
typedef struct rv_env1_calib {
  uint16_t t0; /**< T0: ADC offset / 16 at 25 degC */
  uint16_t t1; /**< T1: temperature slope */
  int16_t t2;  /**< T2: temperature curvature */
  uint16_t p0; /**< P0: pressure offset / 2, in Pa */
  uint16_t p1; /**< P1: pressure slope */
  int16_t p2;  /**< P2: pressure curvature */
  int16_t p3;  /**< P3: pressure temperature coefficient */
  int16_t p4;  /**< P4: pressure slope temperature coefficient */
  int16_t h0;  /**< H0: humidity offset */
  uint16_t h1; /**< H1: humidity slope */
  int16_t h2;  /**< H2: humidity slope temperature coefficient */
} rv_env1_calib;

/** \brief One conversion's raw ADC values. */
typedef struct rv_env1_raw {
  uint32_t adc_t; /**< temperature, 20 bits */
  uint32_t adc_p; /**< pressure, 20 bits */
  uint16_t adc_h; /**< humidity, 16 bits */
} rv_env1_raw;

/** \brief Compensated values, in fixed-point units. */
typedef struct rv_env1_value {
  int32_t temp;  /**< temperature in 0.01 degC, -4000..8500 */
  uint32_t pres; /**< pressure in 0.1 Pa, 300000..1100000 */
  uint32_t hum;  /**< relative humidity in 0.01 %RH, 0..10000 */
} rv_env1_value;

/**
 * \brief CRC-8 of the datasheet (polynomial 0x31, initial value 0xFF, no
 *        reflection, no final XOR).
 * \param[in] p  \p n bytes (NULL only with \p n 0)
 * \param[in] n  byte count
 * \return the CRC. Thread-safe.
 * \since 0.1.0
 */
RV_API uint8_t rv_env1_crc8(const uint8_t *p, size_t n);

/**
 * \brief Decode calibration registers 0x10..0x26 (coefficients, then CRC).
 * \param[in]  raw  #RV_ENV1_CALIB_LEN + 1 bytes as read from the chip
 * \param[out] cal  the coefficients; untouched on error
 * \return 0, or #RV_EVERIFY if the CRC does not match (a corrupted read).
 * \since 0.1.0
 */
RV_API int rv_env1_calib_decode(const uint8_t raw[RV_ENV1_CALIB_LEN + 1], rv_env1_calib *cal);

/**
 * \brief Encode coefficients as the chip stores them (with their CRC).
 * \param[in]  cal  the coefficients
 * \param[out] raw  #RV_ENV1_CALIB_LEN + 1 bytes
 * \since 0.1.0
 */
RV_API void rv_env1_calib_encode(const rv_env1_calib *cal, uint8_t raw[RV_ENV1_CALIB_LEN + 1]);

/**
 * \brief Decode one data frame (registers 0x40..0x48, or one FIFO frame).
 *
 * Checks the CRC and that the unused low nibbles of the 20-bit fields are 0.
 * \param[in]  f    #RV_ENV1_FRAME_LEN bytes
 * \param[out] raw  the ADC values; untouched on error
 * \return 0, or #RV_EVERIFY if the frame is corrupted.
 * \since 0.1.0
 */
RV_API int rv_env1_frame_decode(const uint8_t f[RV_ENV1_FRAME_LEN], rv_env1_raw *raw);

/**
 * \brief Encode ADC values as a data frame (with its CRC).
 * \param[in]  raw  the values (bits above 20, or 16 for humidity, are dropped)
 * \param[out] f    #RV_ENV1_FRAME_LEN bytes
 * \since 0.1.0
 */
RV_API void rv_env1_frame_encode(const rv_env1_raw *raw, uint8_t f[RV_ENV1_FRAME_LEN]);

/**
 * \brief Integer compensation (datasheet §6): ADC values to temperature,
 *        pressure and humidity.
 *
 * Uses 64-bit integer arithmetic only, no division, no floating point. For
 * every calibration and every ADC value, temperature and humidity are
 * within 0.501 LSB and pressure within 0.53 LSB of the exact value of the
 * datasheet formula, both saturated to the operating range (datasheet §6.3).
 * \param[in]  cal  calibration coefficients
 * \param[in]  raw  ADC values
 * \param[out] out  the results; untouched on error
 * \return 0, or #RV_ERANGE if an ADC value has more bits than its field.
 * \since 0.1.0
 */
RV_API int rv_env1_compensate(const rv_env1_calib *cal, const rv_env1_raw *raw, rv_env1_value *out);

/**
 * \brief Duration of one conversion (datasheet §4.2):
 *        `500 + 1000 * (nt + np + nh)` microseconds, where nX is the
 *        oversampling factor (1, 2, 4, 8 or 16) of each channel.
 * \param[in] osr_t  temperature oversampling setting (0..7)
 * \param[in] osr_p  pressure oversampling setting (0..7)
 * \param[in] osr_h  humidity oversampling setting (0..7)
 * \return microseconds.
 * \since 0.1.0
 */
RV_API uint32_t rv_env1_meas_time_us(unsigned osr_t, unsigned osr_p, unsigned osr_h);

/**
 * \brief Standby time between conversions in normal mode (datasheet §4.3).
 * \param[in] standby  the CONFIG standby setting (0..7; higher bits ignored)
 * \return microseconds: 500, 10000, 20000, 50000, 125000, 250000, 500000 or
 *         1000000.
 * \since 0.1.0
 */
RV_API uint32_t rv_env1_standby_us(unsigned standby);

/** \} */

#ifdef __cplusplus
}
#endif
