/* env1: RV-ENV1 data formats and integer compensation (datasheet §5, §6). */
#include <rivet/core/err.h>
#include <rivet/iot/env1.h>

uint8_t rv_env1_crc8(const uint8_t *p, size_t n) {
  uint8_t crc = 0xFF;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int b = 0; b < 8; b++) {
      crc = (uint8_t)((crc & 0x80u) ? (uint8_t)(crc << 1) ^ 0x31u : (uint8_t)(crc << 1));
    }
  }
  return crc;
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* A union pun reinterprets the bits (C11 6.5.2.3p3, note 95), and int16_t
 * is two's complement by definition (7.20.1.1): no implementation-defined
 * conversion. It compiles to one sign extension. */
static int16_t get_i16(const uint8_t *p) {
  union {
    uint16_t u;
    int16_t s;
  } v = {.u = get_u16(p)};
  return v.s;
}

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v & 0xFFu);
  p[1] = (uint8_t)(v >> 8);
}

static void put_i16(uint8_t *p, int16_t v) { put_u16(p, (uint16_t)v); }

int rv_env1_calib_decode(const uint8_t raw[RV_ENV1_CALIB_LEN + 1], rv_env1_calib *cal) {
  if (rv_env1_crc8(raw, RV_ENV1_CALIB_LEN) != raw[RV_ENV1_CALIB_LEN]) {
    return RV_EVERIFY;
  }
  cal->t0 = get_u16(raw + 0);
  cal->t1 = get_u16(raw + 2);
  cal->t2 = get_i16(raw + 4);
  cal->p0 = get_u16(raw + 6);
  cal->p1 = get_u16(raw + 8);
  cal->p2 = get_i16(raw + 10);
  cal->p3 = get_i16(raw + 12);
  cal->p4 = get_i16(raw + 14);
  cal->h0 = get_i16(raw + 16);
  cal->h1 = get_u16(raw + 18);
  cal->h2 = get_i16(raw + 20);
  return RV_OK;
}

void rv_env1_calib_encode(const rv_env1_calib *cal, uint8_t raw[RV_ENV1_CALIB_LEN + 1]) {
  put_u16(raw + 0, cal->t0);
  put_u16(raw + 2, cal->t1);
  put_i16(raw + 4, cal->t2);
  put_u16(raw + 6, cal->p0);
  put_u16(raw + 8, cal->p1);
  put_i16(raw + 10, cal->p2);
  put_i16(raw + 12, cal->p3);
  put_i16(raw + 14, cal->p4);
  put_i16(raw + 16, cal->h0);
  put_u16(raw + 18, cal->h1);
  put_i16(raw + 20, cal->h2);
  raw[RV_ENV1_CALIB_LEN] = rv_env1_crc8(raw, RV_ENV1_CALIB_LEN);
}

int rv_env1_frame_decode(const uint8_t f[RV_ENV1_FRAME_LEN], rv_env1_raw *raw) {
  /* The CRC and the always-zero low nibbles together catch a frame read
   * from the wrong register as well as flipped bits. */
  if (rv_env1_crc8(f, RV_ENV1_FRAME_LEN - 1) != f[RV_ENV1_FRAME_LEN - 1] || (f[2] & 0x0Fu) ||
      (f[5] & 0x0Fu)) {
    return RV_EVERIFY;
  }
  raw->adc_p = ((uint32_t)f[0] << 12) | ((uint32_t)f[1] << 4) | ((uint32_t)f[2] >> 4);
  raw->adc_t = ((uint32_t)f[3] << 12) | ((uint32_t)f[4] << 4) | ((uint32_t)f[5] >> 4);
  raw->adc_h = (uint16_t)((f[6] << 8) | f[7]);
  return RV_OK;
}

void rv_env1_frame_encode(const rv_env1_raw *raw, uint8_t f[RV_ENV1_FRAME_LEN]) {
  f[0] = (uint8_t)((raw->adc_p >> 12) & 0xFFu);
  f[1] = (uint8_t)((raw->adc_p >> 4) & 0xFFu);
  f[2] = (uint8_t)((raw->adc_p & 0x0Fu) << 4);
  f[3] = (uint8_t)((raw->adc_t >> 12) & 0xFFu);
  f[4] = (uint8_t)((raw->adc_t >> 4) & 0xFFu);
  f[5] = (uint8_t)((raw->adc_t & 0x0Fu) << 4);
  f[6] = (uint8_t)(raw->adc_h >> 8);
  f[7] = (uint8_t)(raw->adc_h & 0xFFu);
  f[8] = rv_env1_crc8(f, RV_ENV1_FRAME_LEN - 1);
}

/* Out of line on purpose: inlined at its six call sites it costs about
 * 200 bytes of Cortex-M3 code (64-bit shifts and negations), for no speed
 * that matters in the main loop. */
#if defined(__GNUC__) || defined(__clang__)
#define RV_NOINLINE __attribute__((noinline))
#else
#define RV_NOINLINE
#endif

/* floor(v / 2^s) for any sign. Right-shifting a negative number is
 * implementation-defined in C, so the magnitude is shifted as unsigned;
 * |v| < 2^63 always holds here (see the bounds in rv_env1_compensate). */
RV_NOINLINE static int64_t floor_shr(int64_t v, unsigned s) {
  if (v >= 0) {
    return (int64_t)((uint64_t)v >> s);
  }
  uint64_t m = (uint64_t)(-v);
  return -(int64_t)((m + ((UINT64_C(1) << s) - 1u)) >> s);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

int rv_env1_compensate(const rv_env1_calib *cal, const rv_env1_raw *raw, rv_env1_value *out) {
  if (raw->adc_t > 0xFFFFFu || raw->adc_p > 0xFFFFFu) {
    return RV_ERANGE;
  }
  /* The inputs are kept in 32 bits (all fit) so that each product starts
   * as a 32x32->64 multiply, which is one instruction on Cortex-M3. */
  /* Temperature. dt in (-2^20, 2^20); t1*dt*2^24 < 2^60 and t2*dt^2 < 2^55,
   * so the sum fits in int64. t_fine is tau = T - 25 degC in units of
   * 2^-20 degC, |t_fine| < 1057 * 2^20 < 2^31. */
  int32_t dt = (int32_t)raw->adc_t - 16 * (int32_t)cal->t0;
  int32_t t_fine = (int32_t)floor_shr(
      (int64_t)cal->t1 * dt * (INT64_C(1) << 24) + (int64_t)cal->t2 * dt * dt, 30);
  int64_t temp = 2500 + floor_shr((int64_t)t_fine * 100 + (INT64_C(1) << 19), 20);

  /* Pressure in units of 2^-24 Pa. Terms: 2^41, 2^43, 2^37, 2^46, 2^45 at
   * most: the sum stays below 2^47, times 10 below 2^51. The p4 term is
   * split so that no intermediate passes 2^57. */
  int32_t dp = (int32_t)raw->adc_p - (1 << 19);
  int64_t p = (int64_t)cal->p0 * (INT64_C(1) << 25) + (int64_t)cal->p1 * dp * 256 +
              floor_shr((int64_t)dp * dp * cal->p2, 16) + (int64_t)cal->p3 * t_fine +
              floor_shr(floor_shr((int64_t)cal->p4 * t_fine, 8) * dp, 12);
  int64_t pres = floor_shr(p * 10 + (INT64_C(1) << 23), 24);

  /* Humidity in units of 2^-24 %RH: h2*t_fine*adc_h < 2^15 * 2^31 * 2^16. */
  int32_t adc_h = raw->adc_h;
  int64_t h = (int64_t)cal->h0 * 65536 + (int64_t)cal->h1 * adc_h * 4 +
              floor_shr((int64_t)cal->h2 * t_fine * adc_h, 26);
  int64_t hum = floor_shr(h * 100 + (INT64_C(1) << 23), 24);

  out->temp = (int32_t)clamp64(temp, -4000, 8500);
  out->pres = (uint32_t)clamp64(pres, 300000, 1100000);
  out->hum = (uint32_t)clamp64(hum, 0, 10000);
  return RV_OK;
}

uint32_t rv_env1_meas_time_us(unsigned osr_t, unsigned osr_p, unsigned osr_h) {
  unsigned n = 0;
  const unsigned osr[3] = {osr_t, osr_p, osr_h};
  for (int i = 0; i < 3; i++) {
    unsigned s = osr[i] & 7u;
    n += 1u << (s > RV_ENV1_OSR_MAX ? RV_ENV1_OSR_MAX : s);
  }
  return 500u + 1000u * n;
}

uint32_t rv_env1_standby_us(unsigned standby) {
  static const uint32_t table[8] = {500, 10000, 20000, 50000, 125000, 250000, 500000, 1000000};
  return table[standby & 7u];
}
