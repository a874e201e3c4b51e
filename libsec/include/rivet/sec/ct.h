/**
 * \file rivet/sec/ct.h
 * \brief Constant-time compare, select, zero-check, conditional copy and wipe.
 *
 * "Constant time" here means: the sequence of instructions executed and the
 * memory addresses touched depend only on the lengths, never on the bytes
 * of the buffers or on a condition value. The test suite checks this with
 * valgrind/memcheck "secret poisoning" (every secret byte is marked
 * undefined; a branch or an index that depends on it is reported) and with
 * the dudect-style timing checker of rivet/sec/timing.h.
 *
 * Conditions (`cond`) are any `uint32_t`: 0 is false, every other value is
 * true; the value itself is treated as secret.
 *
 * Freestanding: yes (needs only memset from libc, through rv_ct_wipe()).
 * Thread-safety: every function is thread-safe for distinct output buffers.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup sec_ct ct: constant-time operations
 *  \{ */

/**
 * \brief Whether two buffers hold the same bytes, in constant time.
 *
 * Unlike memcmp() it reads every byte of both buffers whatever they hold.
 * \param[in] a  first buffer (may be NULL only if \p n is 0)
 * \param[in] b  second buffer (may be NULL only if \p n is 0; may alias \p a)
 * \param[in] n  bytes to compare
 * \return 1 if the \p n bytes are equal (or \p n is 0), 0 otherwise.
 * \since 0.1.0
 */
RV_API RV_NODISCARD uint32_t rv_ct_eq(const void *a, const void *b, size_t n);

/**
 * \brief Verify that two buffers are equal (a MAC, a tag, a password hash).
 *
 * The same comparison as rv_ct_eq(), with the house error convention.
 * \param[in] a  first buffer (NULL only if \p n is 0)
 * \param[in] b  second buffer (NULL only if \p n is 0)
 * \param[in] n  bytes to compare
 * \return 0 if equal, #RV_EVERIFY if not.
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_ct_verify(const void *a, const void *b, size_t n);

/**
 * \brief Lexicographic order of two buffers (memcmp() semantics), in
 *        constant time.
 *
 * Bytes compare as unsigned; the first differing byte decides, but every
 * byte is read and the work does not depend on where the difference is.
 * \param[in] a  first buffer (NULL only if \p n is 0)
 * \param[in] b  second buffer (NULL only if \p n is 0)
 * \param[in] n  bytes to compare
 * \return -1 if \p a sorts first, 0 if equal, 1 if \p b sorts first.
 * \since 0.1.0
 */
RV_API RV_NODISCARD int rv_ct_cmp(const void *a, const void *b, size_t n);

/**
 * \brief Whether every byte of a buffer is zero, in constant time.
 * \param[in] p  the buffer (NULL only if \p n is 0)
 * \param[in] n  its length
 * \return 1 if all \p n bytes are zero (or \p n is 0), 0 otherwise.
 * \since 0.1.0
 */
RV_API RV_NODISCARD uint32_t rv_ct_is_zero(const void *p, size_t n);

/**
 * \brief out = cond ? a : b, byte by byte, in constant time.
 * \param[out] out   \p n bytes; may alias \p a or \p b exactly
 *                   (partial overlap is undefined)
 * \param[in]  a     chosen when \p cond is nonzero
 * \param[in]  b     chosen when \p cond is zero
 * \param[in]  n     bytes
 * \param[in]  cond  the secret condition (any nonzero value is true)
 * \since 0.1.0
 */
RV_API void rv_ct_select(void *out, const void *a, const void *b, size_t n, uint32_t cond);

/**
 * \brief Conditional copy: if \p cond is nonzero, dst = src; otherwise
 *        \p dst is left as it was. Constant time: \p dst is read and
 *        written either way.
 * \param[in,out] dst   \p n bytes (may equal \p src; partial overlap is undefined)
 * \param[in]     src   \p n bytes
 * \param[in]     n     bytes
 * \param[in]     cond  the secret condition
 * \since 0.1.0
 */
RV_API void rv_ct_copy(void *dst, const void *src, size_t n, uint32_t cond);

/**
 * \brief Conditional swap of two buffers (a Montgomery-ladder step).
 * \param[in,out] a     \p n bytes
 * \param[in,out] b     \p n bytes, not overlapping \p a
 * \param[in]     n     bytes
 * \param[in]     cond  swap when nonzero
 * \since 0.1.0
 */
RV_API void rv_ct_swap(void *a, void *b, size_t n, uint32_t cond);

/**
 * \brief cond ? a : b for 32-bit words, in constant time.
 * \param[in] cond  the secret condition (any nonzero value is true)
 * \param[in] a     value when true
 * \param[in] b     value when false
 * \return the chosen value.
 * \since 0.1.0
 */
RV_API uint32_t rv_ct_select_u32(uint32_t cond, uint32_t a, uint32_t b);

/**
 * \brief All-ones if \p a == \p b, zero otherwise, in constant time.
 * \param[in] a  first word
 * \param[in] b  second word
 * \return 0xFFFFFFFF or 0.
 * \since 0.1.0
 */
RV_API uint32_t rv_ct_eq_mask_u32(uint32_t a, uint32_t b);

/**
 * \brief All-ones if \p a < \p b (unsigned), zero otherwise, in constant time.
 * \param[in] a  first word
 * \param[in] b  second word
 * \return 0xFFFFFFFF or 0.
 * \since 0.1.0
 */
RV_API uint32_t rv_ct_lt_mask_u32(uint32_t a, uint32_t b);

/**
 * \brief Zero a buffer with a store the compiler cannot remove.
 *
 * Use it to erase secrets before their memory is released or reused: a
 * plain memset() of memory that is not read again is dead code to an
 * optimising compiler. (rivet/sec/secmem.h wipes on free by itself.)
 * \param[out] p  the buffer (NULL only if \p n is 0)
 * \param[in]  n  its length
 * \since 0.1.0
 */
RV_API void rv_ct_wipe(void *p, size_t n);

/** \} */

#ifdef __cplusplus
}
#endif
