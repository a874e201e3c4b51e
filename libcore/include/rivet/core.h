/**
 * \file rivet/core.h
 * \brief rivet-core: everything, in one include.
 *
 * \section core_conventions Conventions (true for every rivet library)
 * - **Errors.** Functions that can fail return `int`: 0 on success or a
 *   negative `RV_E*` code (rivet/core/err.h); rv_strerror() gives the text.
 *   Parsers also fill an optional ::rv_diag saying where the input was bad.
 *   A function that fails leaves its outputs and objects unchanged unless
 *   its documentation says otherwise, and never calls a callback it was given.
 * - **NULL.** Pointer parameters must be non-NULL unless documented; a
 *   (pointer, length) pair may be NULL only with a length of 0.
 * - **Ownership.** Each header says who allocates and who frees, and how
 *   long a returned pointer stays valid. Objects that allocate take a
 *   `const rv_alloc *` at creation (NULL = the C library's allocator) and
 *   use only it. Freestanding modules never allocate on their own.
 * - **Aliasing.** Input and output buffers must not overlap unless the
 *   documentation says they may.
 * - **Threads.** Nothing is thread-safe unless its documentation says so.
 * - **Misuse** (a broken contract, not bad input) goes to rv_panic(), whose
 *   handler a program can replace; bad *input* always returns an error.
 * - **Undefined:** using an object after its `_free`/`_destroy`, passing an
 *   object not initialised by its `_init`, concurrent calls on one object
 *   that is not documented thread-safe.
 */
#pragma once

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/arena.h>
#include <rivet/core/bytes.h>
#include <rivet/core/err.h>
#include <rivet/core/mpmc.h>
#include <rivet/core/vec.h>
#include <rivet/core/log.h>
#include <rivet/core/logbuf.h>
#include <rivet/core/ring.h>
#include <rivet/core/pool.h>
#include <rivet/core/map.h>
#include <rivet/core/version.h>
#include <rivet/core/workers.h>
