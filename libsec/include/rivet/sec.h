/**
 * \file rivet/sec.h
 * \brief rivet-sec: secure memory, constant-time operations and the
 *        constant-time checker, in one include.
 *
 * \section sec_conventions Conventions
 * rivet-core's conventions hold (see rivet/core.h): functions return 0 or a
 * negative `RV_E*` code, pointer parameters are non-NULL unless documented,
 * nothing is thread-safe unless documented. In addition:
 * - **Secrets** are compared with rv_ct_eq()/rv_ct_verify(), never memcmp();
 *   erased with rv_ct_wipe() (or by rv_secmem_free()), never a plain
 *   memset(); and never logged or put in error messages.
 * - **Fail closed.** When the system cannot give the protection asked for
 *   (locked, non-dumpable, guarded memory), the call fails with an error
 *   unless the caller opted into weaker memory with an explicit flag.
 * - **Constant time** means no branch and no memory index depends on a
 *   secret; the test suite checks it with valgrind secret poisoning and
 *   with the dudect checker of rivet/sec/timing.h.
 */
#pragma once

#include <rivet/core.h>

#include <rivet/sec/ct.h>
#include <rivet/sec/keystore.h>
#include <rivet/sec/secmem.h>
#include <rivet/sec/timing.h>
#include <rivet/sec/version.h>
#include <rivet/sec/jwt.h>
