/**
 * \file rivet/net/prefork.h
 * \brief A master process that runs N worker processes and restarts any
 *        that dies (nginx-style), each worker running its own loop and its
 *        own `SO_REUSEPORT` listener on the same port.
 *
 * Why processes: the per-process open-file limit (20,000 on the machine
 * rivet is tested on) caps one process's connections; N workers hold N
 * times as many, and the kernel spreads new connections across their
 * listeners. A crash takes down one worker's connections, not the server.
 *
 * The master blocks SIGCHLD, SIGTERM and SIGINT and reads them through an
 * ::rv_loop signalfd. SIGTERM or SIGINT: the master forwards SIGTERM to
 * every worker (which should shut down gracefully) and returns once all
 * have exited. A worker that exits while the master is not stopping is
 * restarted. Call it from a single-threaded process (it forks).
 *
 * Thread-safety: not thread-safe (process-wide signal mask and children).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <rivet/core/api.h>
#include <rivet/core/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup net_prefork prefork: master and worker processes
 *  \{ */

/** \brief What rv_prefork_run() does. */
typedef struct rv_prefork_config {
  unsigned workers; /**< worker processes, 1..1024 */
  /** The worker body, run in the child with the signal mask the master had
   *  on entry; its return value is the child's exit status. */
  int (*worker_main)(unsigned index, void *user);
  void *user;                /**< passed to `worker_main` */
  unsigned max_restarts;     /**< give up (stop all) after this many; 0 = no limit */
  unsigned restart_delay_ms; /**< wait before restarting a dead worker */
} rv_prefork_config;

/** \brief What happened during rv_prefork_run(). */
typedef struct rv_prefork_report {
  unsigned started;  /**< workers started, restarts included */
  unsigned restarts; /**< of which restarts */
  unsigned crashed;  /**< workers that died by a signal or exited non-zero */
} rv_prefork_report;

/**
 * \brief Start the workers and supervise them until SIGTERM/SIGINT (or the
 *        restart limit), then stop them and wait for every one to exit.
 * \param[in] cfg   the configuration
 * \param[out] rep  what happened; may be NULL
 * \return 0 after a clean stop (a signal), #RV_EINVAL (bad config),
 *         #RV_ELIMIT if the restart limit was reached, or the mapped errno
 *         of fork() or the loop (workers already started are stopped).
 * \since 0.1.0
 */
RV_API int rv_prefork_run(const rv_prefork_config *cfg, rv_prefork_report *rep);

/** \} */

#ifdef __cplusplus
}
#endif
