/* prefork: master process supervising SO_REUSEPORT worker processes. */
#define _GNU_SOURCE
#include <rivet/net/prefork.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rivet/core/alloc.h>
#include <rivet/net/loop.h>

#define PREFORK_MAX_WORKERS 1024u

typedef struct master master;

typedef struct slot {
  rv_loop_timer restart; /* first member: see slot_of() */
  master *m;
  unsigned index;
  pid_t pid; /* 0 when not running */
} slot;

struct master {
  const rv_prefork_config *cfg;
  rv_prefork_report rep;
  rv_loop *loop;
  slot *slots;
  sigset_t orig;
  unsigned alive;
  bool stopping;
  int result;
};

static int spawn(master *m, slot *s) {
  pid_t pid = fork();
  if (pid < 0) {
    return rv_err_from_errno(errno);
  }
  if (pid == 0) {
    /* Child: drop the master's loop (its fds and blocked signals), restore
     * the caller's mask, run the worker. _exit: no atexit handlers or
     * stdio flushes of the master's state. */
    rv_loop_free(m->loop);
    sigprocmask(SIG_SETMASK, &m->orig, NULL);
    _exit(m->cfg->worker_main(s->index, m->cfg->user));
  }
  s->pid = pid;
  m->alive++;
  m->rep.started++;
  return 0;
}

static void stop_all(master *m) {
  m->stopping = true;
  for (unsigned i = 0; i < m->cfg->workers; i++) {
    rv_loop_timer_stop(m->loop, &m->slots[i].restart);
    if (m->slots[i].pid > 0) {
      (void)kill(m->slots[i].pid, SIGTERM);
    }
  }
  if (m->alive == 0) {
    rv_loop_stop(m->loop);
  }
}

static void on_restart(rv_loop_timer *t) {
  /* t is the first member of a slot. */
  slot *s = (slot *)(void *)t;
  master *m = s->m;
  if (m->stopping) {
    return;
  }
  int rc = spawn(m, s);
  if (rc != 0) {
    m->result = rc;
    stop_all(m);
  }
}

static void on_child(rv_loop *l, int signo, void *user) {
  (void)l;
  (void)signo;
  master *m = user;
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    slot *s = NULL;
    for (unsigned i = 0; i < m->cfg->workers; i++) {
      if (m->slots[i].pid == pid) {
        s = &m->slots[i];
      }
    }
    if (s == NULL) {
      continue; /* not ours (a child the caller forked earlier) */
    }
    s->pid = 0;
    m->alive--;
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
      m->rep.crashed++;
    }
    if (m->stopping) {
      continue;
    }
    if (m->cfg->max_restarts != 0 && m->rep.restarts >= m->cfg->max_restarts) {
      m->result = RV_ELIMIT;
      stop_all(m);
      continue;
    }
    m->rep.restarts++;
    if (rv_loop_timer_start(m->loop, &s->restart, m->cfg->restart_delay_ms, on_restart) != 0) {
      m->result = RV_ENOMEM;
      stop_all(m);
    }
  }
  if (m->stopping && m->alive == 0) {
    rv_loop_stop(m->loop);
  }
}

static void on_term(rv_loop *l, int signo, void *user) {
  (void)l;
  (void)signo;
  stop_all(user);
}

int rv_prefork_run(const rv_prefork_config *cfg, rv_prefork_report *rep) {
  if (rep != NULL) {
    memset(rep, 0, sizeof *rep);
  }
  if (cfg == NULL || cfg->worker_main == NULL || cfg->workers == 0 ||
      cfg->workers > PREFORK_MAX_WORKERS) {
    return RV_EINVAL;
  }
  master m;
  memset(&m, 0, sizeof m);
  m.cfg = cfg;
  sigprocmask(SIG_SETMASK, NULL, &m.orig);
  int rc = rv_loop_new(&m.loop, NULL);
  if (rc != 0) {
    return rc;
  }
  m.slots = rv_alloc_array(NULL, cfg->workers, sizeof *m.slots, _Alignof(slot));
  if (m.slots == NULL) {
    rc = RV_ENOMEM;
    goto fail;
  }
  memset(m.slots, 0, cfg->workers * sizeof *m.slots);
  if ((rc = rv_loop_signal_start(m.loop, SIGCHLD, on_child, &m)) != 0 ||
      (rc = rv_loop_signal_start(m.loop, SIGTERM, on_term, &m)) != 0 ||
      (rc = rv_loop_signal_start(m.loop, SIGINT, on_term, &m)) != 0) {
    goto fail;
  }
  for (unsigned i = 0; i < cfg->workers; i++) {
    m.slots[i].m = &m;
    m.slots[i].index = i;
    rc = spawn(&m, &m.slots[i]);
    if (rc != 0) {
      m.result = rc;
      stop_all(&m);
      break;
    }
  }
  if (m.alive > 0) {
    rc = rv_loop_run(m.loop);
    if (rc != 0) {
      m.result = rc;
    }
  }
  /* Reap any worker still running if the loop failed. */
  for (unsigned i = 0; i < cfg->workers; i++) {
    if (m.slots[i].pid > 0) {
      (void)kill(m.slots[i].pid, SIGKILL);
      (void)waitpid(m.slots[i].pid, NULL, 0);
    }
  }
  rc = m.result;
fail:
  if (m.slots != NULL) {
    rv_alloc_free(NULL, m.slots, cfg->workers * sizeof *m.slots);
  }
  rv_loop_free(m.loop);
  if (rep != NULL) {
    *rep = m.rep;
  }
  return rc;
}
