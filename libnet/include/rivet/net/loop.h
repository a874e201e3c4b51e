/**
 * \file rivet/net/loop.h
 * \brief Event loop: edge-triggered epoll fd watches, timers, signals
 *        (signalfd) and a cross-thread wake-up (eventfd).
 *
 * Linux only, hosted. Watches and timers are caller-owned structs (embed
 * them in your own objects: no allocation per watch), registered with the
 * loop and unregistered before their memory goes away.
 *
 * **Edge-triggered**: a watch callback is told when an fd *becomes* ready;
 * it must read or write until the call returns `EAGAIN` (or remember that
 * it stopped early), or it will not be told again.
 *
 * **Timers** live in a binary min-heap of pointers: start, stop and re-arm
 * are O(log n), the loop's memory is one pointer per active timer, so
 * 50,000 idle-timeout timers cost 400 KB of heap. Times are milliseconds of
 * `CLOCK_MONOTONIC`, cached once per iteration (rv_loop_now()).
 *
 * **Thread-safety: not thread-safe**, except rv_loop_wake(), which any
 * thread (or a signal handler) may call at any time while the loop exists.
 * Every other call must come from the thread that runs the loop, or be
 * otherwise serialised with it.
 *
 * It is safe to stop, re-arm or free any watch, timer or deferred call from
 * inside any callback: a watch stopped during an iteration gets no further
 * events from that iteration.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rivet/core/alloc.h>
#include <rivet/core/api.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_loop loop: epoll event loop
 *  \{ */

/** \brief Event bit: the fd is readable (or has a pending error or EOF). */
#define RV_LOOP_READ 0x1u
/** \brief Event bit: the fd is writable. */
#define RV_LOOP_WRITE 0x2u
/** \brief Event bit (reported only): the peer hung up or the fd has an error. */
#define RV_LOOP_HUP 0x4u

/** \brief A loop. Opaque; rv_loop_new() makes one. */
typedef struct rv_loop rv_loop;

/** \brief An fd watch (see ::rv_loop_io). */
typedef struct rv_loop_io rv_loop_io;

/**
 * \brief Called when a watched fd becomes ready.
 * \param[in] io      the watch
 * \param[in] events  `RV_LOOP_*` bits that became true
 */
typedef void (*rv_loop_io_cb)(rv_loop_io *io, uint32_t events);

/**
 * \brief An fd watch. Caller-owned; fields are readable, not writable,
 *        and valid between rv_loop_io_start() and rv_loop_io_stop().
 */
struct rv_loop_io {
  int fd;           /**< the watched fd, -1 when stopped */
  uint32_t events;  /**< the `RV_LOOP_READ`/`RV_LOOP_WRITE` bits asked for */
  rv_loop_io_cb cb; /**< the callback */
};

/** \brief A timer (see ::rv_loop_timer). */
typedef struct rv_loop_timer rv_loop_timer;

/**
 * \brief Called when a timer expires. The timer is already inactive; the
 *        callback may re-arm it.
 * \param[in] t  the timer
 */
typedef void (*rv_loop_timer_cb)(rv_loop_timer *t);

/**
 * \brief A one-shot timer. Caller-owned; zero-initialise it (or call
 *        rv_loop_timer_init()) before first use. Fields are private.
 */
struct rv_loop_timer {
  uint64_t deadline;   /**< private: expiry, rv_loop_now() milliseconds */
  size_t slot;         /**< private: heap position + 1, 0 when inactive */
  rv_loop_timer_cb cb; /**< private: the callback */
};

/** \brief A deferred call (see rv_loop_defer()). Caller-owned, fields private. */
typedef struct rv_loop_deferred rv_loop_deferred;

/**
 * \brief Called once after the current batch of events (see rv_loop_defer()).
 * \param[in] d  the deferred call
 */
typedef void (*rv_loop_deferred_cb)(rv_loop_deferred *d);

/** \brief A deferred call. Zero-initialise before first use; fields private. */
struct rv_loop_deferred {
  rv_loop_deferred *next; /**< private: next in the loop's list */
  rv_loop_deferred_cb cb; /**< private: the callback */
  bool queued;            /**< private: on the list */
};

/**
 * \brief Called when a signal registered with rv_loop_signal_start() arrives.
 * \param[in] l      the loop
 * \param[in] signo  the signal number
 * \param[in] user   the pointer given at registration
 */
typedef void (*rv_loop_signal_cb)(rv_loop *l, int signo, void *user);

/**
 * \brief Called on the loop thread after rv_loop_wake() (several wake-ups
 *        before the loop runs may give one call).
 * \param[in] l     the loop
 * \param[in] user  the pointer given to rv_loop_set_wake_cb()
 */
typedef void (*rv_loop_wake_cb)(rv_loop *l, void *user);

/**
 * \brief Make a loop: an epoll fd, an eventfd for wake-ups, and (on first
 *        rv_loop_signal_start()) a signalfd.
 * \param[out] out  the new loop
 * \param[in]  a    allocator for the loop and its timer heap; NULL = libc
 * \return 0, #RV_EINVAL if \p out is NULL, #RV_ENOMEM, or the mapped errno
 *         of a failed epoll_create1()/eventfd() (e.g. out of fds).
 * \since 0.1.0
 */
RV_API int rv_loop_new(rv_loop **out, const rv_alloc *a);

/**
 * \brief Free a loop: close its fds and unblock the signals it blocked.
 *        Watches and timers are forgotten (their memory stays the caller's);
 *        the caller closes the watched fds. NULL is a no-op.
 * \param[in] l  the loop; not running
 * \since 0.1.0
 */
RV_API void rv_loop_free(rv_loop *l);

/**
 * \brief Run iterations until rv_loop_stop() is called.
 * \param[in] l  the loop
 * \return 0 after rv_loop_stop(), or the mapped errno if epoll_wait() failed
 *         other than by `EINTR`.
 * \since 0.1.0
 */
RV_API int rv_loop_run(rv_loop *l);

/**
 * \brief Run one iteration: wait at most \p timeout_ms (or until the next
 *        timer, whichever is sooner; -1 = no limit but timers), dispatch the
 *        ready events, expired timers, then deferred calls.
 * \param[in] l           the loop
 * \param[in] timeout_ms  the longest wait; 0 polls
 * \return the number of callbacks run (>= 0), or the mapped errno of a
 *         failed epoll_wait() (`EINTR` counts as 0 events).
 * \since 0.1.0
 */
RV_API int rv_loop_run_once(rv_loop *l, int timeout_ms);

/**
 * \brief Make rv_loop_run() return after the current iteration. Loop
 *        thread only; from another thread, call it from a wake callback.
 * \param[in] l  the loop
 * \since 0.1.0
 */
RV_API void rv_loop_stop(rv_loop *l);

/**
 * \brief The loop's cached monotonic time in milliseconds, updated at the
 *        start of every iteration and by rv_loop_update_time().
 * \param[in] l  the loop
 * \return milliseconds since an arbitrary epoch
 * \since 0.1.0
 */
RV_API uint64_t rv_loop_now(const rv_loop *l);

/**
 * \brief Refresh rv_loop_now() from the clock.
 * \param[in] l  the loop
 * \since 0.1.0
 */
RV_API void rv_loop_update_time(rv_loop *l);

/**
 * \brief Watch \p fd (edge-triggered) for the \p events bits.
 * \param[in] l       the loop
 * \param[out] io     caller-owned watch; must stay valid until stopped
 * \param[in] fd      the fd; the caller keeps ownership (and closes it)
 * \param[in] events  `RV_LOOP_READ` and/or `RV_LOOP_WRITE` (may be 0)
 * \param[in] cb      the callback; not NULL
 * \return 0, #RV_EINVAL (bad fd, bits or NULL), #RV_EEXIST if \p fd is
 *         already watched, or the mapped errno of epoll_ctl().
 * \since 0.1.0
 */
RV_API int rv_loop_io_start(rv_loop *l, rv_loop_io *io, int fd, uint32_t events, rv_loop_io_cb cb);

/**
 * \brief Change the bits a watch asks for.
 * \param[in] l       the loop
 * \param[in,out] io  a started watch
 * \param[in] events  the new bits
 * \return 0, #RV_EINVAL (bad bits, or \p io not started), or the mapped
 *         errno of epoll_ctl().
 * \since 0.1.0
 */
RV_API int rv_loop_io_modify(rv_loop *l, rv_loop_io *io, uint32_t events);

/**
 * \brief Stop a watch (before closing its fd). No event of the current
 *        iteration reaches it afterwards. Stopping a stopped watch is a no-op.
 * \param[in] l       the loop
 * \param[in,out] io  the watch
 * \since 0.1.0
 */
RV_API void rv_loop_io_stop(rv_loop *l, rv_loop_io *io);

/**
 * \brief Set up a timer (same as zero-initialising it).
 * \param[out] t  the timer
 * \since 0.1.0
 */
RV_API void rv_loop_timer_init(rv_loop_timer *t);

/**
 * \brief Arm \p t to call \p cb once, \p after_ms after rv_loop_now().
 *        Re-arming an active timer moves it.
 * \param[in] l         the loop
 * \param[in,out] t     the timer; must stay valid until it fires or is stopped
 * \param[in] after_ms  delay in milliseconds
 * \param[in] cb        the callback; not NULL
 * \return 0, #RV_EINVAL (NULL), or #RV_ENOMEM if the heap could not grow
 *         (the timer is then inactive).
 * \since 0.1.0
 */
RV_API int rv_loop_timer_start(rv_loop *l, rv_loop_timer *t, uint64_t after_ms,
                               rv_loop_timer_cb cb);

/**
 * \brief Disarm a timer; a no-op if it is inactive.
 * \param[in] l      the loop
 * \param[in,out] t  the timer
 * \since 0.1.0
 */
RV_API void rv_loop_timer_stop(rv_loop *l, rv_loop_timer *t);

/**
 * \brief Whether a timer is armed.
 * \param[in] t  the timer
 * \return true if armed
 * \since 0.1.0
 */
RV_API bool rv_loop_timer_active(const rv_loop_timer *t);

/**
 * \brief The number of armed timers.
 * \param[in] l  the loop
 * \return the count
 * \since 0.1.0
 */
RV_API size_t rv_loop_timer_count(const rv_loop *l);

/**
 * \brief Call \p cb once after the current batch of I/O events and timers
 *        (or at the end of the next iteration when called outside one). A
 *        no-op if \p d is already queued.
 * \param[in] l      the loop
 * \param[in,out] d  caller-owned; must stay valid until it has run
 * \param[in] cb     the callback; not NULL
 * \since 0.1.0
 */
RV_API void rv_loop_defer(rv_loop *l, rv_loop_deferred *d, rv_loop_deferred_cb cb);

/**
 * \brief Remove a queued deferred call; a no-op if it is not queued. Call it
 *        before freeing the memory of a queued ::rv_loop_deferred.
 * \param[in] l      the loop
 * \param[in,out] d  the deferred call
 * \since 0.1.0
 */
RV_API void rv_loop_defer_cancel(rv_loop *l, rv_loop_deferred *d);

/**
 * \brief Deliver \p signo through the loop: blocks it in the calling thread
 *        (use the loop from the main thread, or block it in every thread)
 *        and reads it from a signalfd. One callback per signal; registering
 *        again replaces it.
 * \param[in] l      the loop
 * \param[in] signo  1..64, not SIGKILL or SIGSTOP
 * \param[in] cb     the callback; not NULL
 * \param[in] user   passed to \p cb
 * \return 0, #RV_EINVAL (bad signal or NULL), or the mapped errno of
 *         signalfd()/epoll_ctl().
 * \since 0.1.0
 */
RV_API int rv_loop_signal_start(rv_loop *l, int signo, rv_loop_signal_cb cb, void *user);

/**
 * \brief Stop delivering \p signo and unblock it. A no-op if not registered.
 * \param[in] l      the loop
 * \param[in] signo  the signal
 * \since 0.1.0
 */
RV_API void rv_loop_signal_stop(rv_loop *l, int signo);

/**
 * \brief Set the callback rv_loop_wake() triggers (NULL: wake-ups only end
 *        the wait).
 * \param[in] l     the loop
 * \param[in] cb    the callback or NULL
 * \param[in] user  passed to \p cb
 * \since 0.1.0
 */
RV_API void rv_loop_set_wake_cb(rv_loop *l, rv_loop_wake_cb cb, void *user);

/**
 * \brief Wake the loop from any thread or a signal handler: the current or
 *        next wait returns and the wake callback runs on the loop thread.
 *        **Thread-safe and async-signal-safe.**
 * \param[in] l  the loop
 * \return 0, or the mapped errno of write() on the eventfd.
 * \since 0.1.0
 */
RV_API int rv_loop_wake(rv_loop *l);

/** \} */

#ifdef __cplusplus
}
#endif
