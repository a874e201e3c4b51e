/**
 * \file rivet/perf/mapfile.h
 * \brief Read-only input in line-aligned chunks: mmap for regular files,
 *        read() for pipes, terminals, stdin and custom readers.
 *
 * A regular file is mapped once (`MAP_PRIVATE`, `MADV_SEQUENTIAL`) and its
 * chunks point straight into the mapping (zero copy). Anything else is read
 * into chunk buffers that the caller releases. Every chunk but the last of
 * the input ends with `'\n'`, so chunks can be parsed in parallel.
 *
 * **Files that shrink while mapped.** Reading a mapped page past the new
 * end of a truncated file raises SIGBUS. The first mapped open installs a
 * process-wide SIGBUS handler: for an address inside a live rv_mapfile
 * mapping it replaces the rest of that mapping with zero pages, marks the
 * file as shrunk (rv_mapfile_shrunk()) and returns, so the faulting read
 * sees zeros instead of killing the process; faults anywhere else go to the
 * handler that was installed before (or the default action). A consumer
 * checks rv_mapfile_shrunk() and reports that the input was cut short.
 *
 * **Over-long lines in read mode.** A line that does not fit in one chunk
 * buffer is cut: the chunk holds its first bytes followed by `'\n'`, its
 * ::rv_mapfile_chunk::cut is 1, and the rest of the line is skipped.
 *
 * **Threads.** An rv_mapfile is used by one thread at a time (the one
 * calling rv_mapfile_next()); chunks may be handed to other threads, and
 * rv_mapfile_release() may be called from any thread when the allocator is
 * thread-safe (the libc default is).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup perf_mapfile mapfile: mmap input with a read() fallback
 *  \{ */

/** \brief An open input (opaque). */
typedef struct rv_mapfile rv_mapfile;

/**
 * \brief A reader for rv_mapfile_open_reader(): fill up to \p cap bytes.
 * \param[in]  ctx  the reader's context
 * \param[out] buf  where to write
 * \param[in]  cap  room in \p buf (> 0)
 * \param[out] got  bytes written; 0 means end of input
 * \return 0 or a negative `RV_E*` code (passed on by rv_mapfile_next()).
 */
typedef int (*rv_mapfile_read_fn)(void *ctx, void *buf, size_t cap, size_t *got);

/** \brief Options; zero-initialise (zero = default). */
typedef struct rv_mapfile_config {
  const rv_alloc *alloc; /**< for the object and read-mode buffers; NULL = libc */
  size_t chunk_size;     /**< target chunk size; 0 = 4 MiB; at least 4 KiB used */
  bool no_mmap;          /**< read even regular files with read() */
} rv_mapfile_config;

/** \brief One line-aligned piece of the input, from rv_mapfile_next(). */
typedef struct rv_mapfile_chunk {
  const uint8_t *ptr; /**< the bytes; valid until released (read mode) or closed */
  size_t len;         /**< their count (> 0) */
  uint64_t offset;    /**< offset of ptr[0] in the input (read mode: after skipped bytes) */
  uint32_t cut;       /**< 1 if the last line was cut (read mode, over-long line) */
  void *buf_;         /**< internal: the read-mode buffer, or NULL */
  size_t cap_;        /**< internal: its size */
} rv_mapfile_chunk;

/**
 * \brief Open \p path ("-" = standard input) for reading.
 * \param[out] out   the input; set only on success; close with rv_mapfile_close()
 * \param[in]  path  the file name
 * \param[in]  cfg   options or NULL; copied
 * \return 0; #RV_EINVAL (NULL path); #RV_ENOTFOUND (no such file);
 *         #RV_EIO (any other open or stat failure, e.g. permission denied,
 *         or a directory); #RV_ENOMEM. A failed mmap() falls back to read().
 * \since 0.2.0
 */
RV_API int rv_mapfile_open(rv_mapfile **out, const char *path, const rv_mapfile_config *cfg);

/**
 * \brief Read input from \p fn instead of a file (e.g. a decompressor).
 * \param[out] out  the input; set only on success
 * \param[in]  fn   the reader; called from rv_mapfile_next() only
 * \param[in]  ctx  passed to \p fn; not owned
 * \param[in]  cfg  options or NULL (no_mmap is implied)
 * \return 0; #RV_EINVAL (NULL \p fn); #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_mapfile_open_reader(rv_mapfile **out, rv_mapfile_read_fn fn, void *ctx,
                                  const rv_mapfile_config *cfg);

/**
 * \brief Unmap or stop reading and free the object. NULL is allowed.
 *
 * Read-mode chunks not yet released stay valid and must still be released
 * (with rv_mapfile_chunk_free(), since \p mf is gone); mapped chunks die here.
 * \param[in] mf  the input; invalid afterwards
 * \since 0.2.0
 */
RV_API void rv_mapfile_close(rv_mapfile *mf);

/**
 * \brief The next chunk of the input.
 * \param[in,out] mf  the input
 * \param[out]    c   the chunk; release it with rv_mapfile_release()
 * \return 0 with a chunk; #RV_EEMPTY at the end of the input (no chunk);
 *         #RV_EIO if read() failed (or the reader's own code); #RV_ENOMEM.
 * \since 0.2.0
 */
RV_API int rv_mapfile_next(rv_mapfile *mf, rv_mapfile_chunk *c);

/**
 * \brief Give a chunk back (frees its read-mode buffer; no-op when mapped).
 * \param[in]     mf  the input it came from
 * \param[in,out] c   the chunk; emptied
 * \since 0.2.0
 */
RV_API void rv_mapfile_release(rv_mapfile *mf, rv_mapfile_chunk *c);

/**
 * \brief Free a read-mode chunk after its rv_mapfile was closed.
 * \param[in]     alloc  the allocator given in the config (NULL = libc)
 * \param[in,out] c      the chunk; emptied
 * \since 0.2.0
 */
RV_API void rv_mapfile_chunk_free(const rv_alloc *alloc, rv_mapfile_chunk *c);

/**
 * \brief Whether the input is mapped (regular file, mmap succeeded).
 * \param[in] mf  the input
 * \return true if mapped.
 * \since 0.2.0
 */
RV_API bool rv_mapfile_is_mapped(const rv_mapfile *mf);

/**
 * \brief Size of a mapped file (as mapped), or 0 for a stream.
 * \param[in] mf  the input
 * \return the size in bytes.
 * \since 0.2.0
 */
RV_API uint64_t rv_mapfile_size(const rv_mapfile *mf);

/**
 * \brief The whole mapping (mapped inputs only).
 * \param[in] mf  the input
 * \return the first byte, or NULL for a stream or an empty file.
 * \since 0.2.0
 */
RV_API const uint8_t *rv_mapfile_data(const rv_mapfile *mf);

/**
 * \brief Bytes of input handed out in chunks so far (skipped bytes included).
 * \param[in] mf  the input
 * \return the count (for progress reports).
 * \since 0.2.0
 */
RV_API uint64_t rv_mapfile_consumed(const rv_mapfile *mf);

/**
 * \brief Whether a read of the mapping hit the end of a file that shrank
 *        (those bytes read as zeros). Thread-safe.
 * \param[in] mf  the input
 * \return true if the file shrank under the mapping.
 * \since 0.2.0
 */
RV_API bool rv_mapfile_shrunk(const rv_mapfile *mf);

/**
 * \brief Offset just past the first `'\n'` at or after \p pos.
 * \param[in] p    the bytes
 * \param[in] len  their count
 * \param[in] pos  where to start (<= \p len)
 * \return that offset, or \p len if there is no newline.
 * \since 0.2.0
 */
RV_API size_t rv_mapfile_line_end(const uint8_t *p, size_t len, size_t pos);

/** \} */

#ifdef __cplusplus
}
#endif
