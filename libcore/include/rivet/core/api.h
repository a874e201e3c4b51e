/**
 * \file rivet/core/api.h
 * \brief Export and attribute macros shared by every rivet library.
 *
 * Libraries build with `-fvisibility=hidden`; only declarations marked
 * #RV_API are exported from the shared object. The same mark on the
 * consumer's side is harmless on ELF, so one macro serves both.
 */
#pragma once

/** \brief Marks a function as part of a library's exported ABI. */
#if defined(__GNUC__) || defined(__clang__)
#define RV_API __attribute__((visibility("default")))
#else
#define RV_API
#endif

/** \brief The caller must look at the result (verify, compare, reserve). */
#if defined(__GNUC__) || defined(__clang__)
#define RV_NODISCARD __attribute__((warn_unused_result))
#else
#define RV_NODISCARD
#endif

/** \brief printf-style format checking for argument \p fmt, varargs at \p va. */
#if defined(__GNUC__) || defined(__clang__)
#define RV_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))
#else
#define RV_PRINTF(fmt, va)
#endif

/** \brief True when built with AddressSanitizer (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define RV_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RV_HAVE_ASAN 1
#endif
#endif
#ifndef RV_HAVE_ASAN
#define RV_HAVE_ASAN 0
#endif

/** \brief Marks a function that never returns (C11 `_Noreturn`, C++ `[[noreturn]]`).
 *  Place it first in the declaration. */
#ifdef __cplusplus
#define RV_NORETURN [[noreturn]]
#else
#define RV_NORETURN _Noreturn
#endif

/** \brief Alignment of type \p t, in C and in C++. */
#ifdef __cplusplus
#define RV_ALIGNOF(t) alignof(t)
#else
#define RV_ALIGNOF(t) _Alignof(t)
#endif
