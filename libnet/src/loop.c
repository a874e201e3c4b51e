/* loop: epoll (edge-triggered) + timer heap + signalfd + eventfd. */
#define _GNU_SOURCE
#include <rivet/net/loop.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH 256
#define LOOP_NSIG 65

struct rv_loop {
  const rv_alloc *alloc;
  int epfd;
  int wakefd;
  int sigfd;
  bool stopped;
  uint64_t now;
  /* Timer heap: pointers, min-deadline first. */
  rv_loop_timer **heap;
  size_t nheap;
  size_t capheap;
  /* Ready events of the current batch; rv_loop_io_stop() clears entries. */
  struct epoll_event ready[LOOP_BATCH];
  int nready;
  int cur;
  rv_loop_deferred *defer_head;
  rv_loop_deferred *defer_tail;
  rv_loop_wake_cb wake_cb;
  void *wake_user;
  sigset_t sigmask;  /* signals delivered through sigfd */
  sigset_t sigadded; /* those of them this loop blocked (unblocked at free) */
  rv_loop_signal_cb sig_cb[LOOP_NSIG];
  void *sig_user[LOOP_NSIG];
  /* Internal watches: their data.ptr tags, compared by address. */
  rv_loop_io wake_io;
  rv_loop_io sig_io;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int errno_code(void) { return rv_err_from_errno(errno); }

static void wake_read(rv_loop_io *io, uint32_t ev);
static void sig_read(rv_loop_io *io, uint32_t ev);

int rv_loop_new(rv_loop **out, const rv_alloc *a) {
  if (out == NULL) {
    return RV_EINVAL;
  }
  *out = NULL;
  rv_loop *l = rv_alloc_get(a, sizeof *l, _Alignof(rv_loop));
  int rc = RV_ENOMEM;
  if (l == NULL) {
    return RV_ENOMEM;
  }
  memset(l, 0, sizeof *l);
  l->alloc = a;
  l->wakefd = -1;
  l->sigfd = -1;
  l->sig_io.fd = -1;
  sigemptyset(&l->sigmask);
  sigemptyset(&l->sigadded);
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0) {
    rc = errno_code();
    goto fail;
  }
  l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->wakefd < 0) {
    rc = errno_code();
    goto fail;
  }
  rc = rv_loop_io_start(l, &l->wake_io, l->wakefd, RV_LOOP_READ, wake_read);
  if (rc != 0) {
    goto fail;
  }
  l->now = mono_ms();
  *out = l;
  return 0;
fail:
  if (l->wakefd >= 0) {
    close(l->wakefd);
  }
  if (l->epfd >= 0) {
    close(l->epfd);
  }
  rv_alloc_free(a, l, sizeof *l);
  return rc;
}

void rv_loop_free(rv_loop *l) {
  if (l == NULL) {
    return;
  }
  for (size_t i = 0; i < l->nheap; i++) {
    l->heap[i]->slot = 0;
  }
  if (l->heap != NULL) {
    rv_alloc_free(l->alloc, l->heap, l->capheap * sizeof(rv_loop_timer *));
  }
  if (l->sigfd >= 0) {
    close(l->sigfd);
    sigprocmask(SIG_UNBLOCK, &l->sigadded, NULL);
  }
  close(l->wakefd);
  close(l->epfd);
  rv_alloc_free(l->alloc, l, sizeof *l);
}

void rv_loop_stop(rv_loop *l) { l->stopped = true; }
uint64_t rv_loop_now(const rv_loop *l) { return l->now; }
void rv_loop_update_time(rv_loop *l) { l->now = mono_ms(); }

static uint32_t to_epoll(uint32_t events) {
  uint32_t e = EPOLLET | EPOLLRDHUP;
  if (events & RV_LOOP_READ) {
    e |= EPOLLIN;
  }
  if (events & RV_LOOP_WRITE) {
    e |= EPOLLOUT;
  }
  return e;
}

int rv_loop_io_start(rv_loop *l, rv_loop_io *io, int fd, uint32_t events, rv_loop_io_cb cb) {
  if (l == NULL || io == NULL || cb == NULL || fd < 0 ||
      (events & ~(RV_LOOP_READ | RV_LOOP_WRITE)) != 0) {
    return RV_EINVAL;
  }
  struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return errno == EEXIST                      ? RV_EEXIST
           : (errno == EBADF || errno == EPERM) ? RV_EINVAL
                                                : errno_code();
  }
  io->fd = fd;
  io->events = events;
  io->cb = cb;
  return 0;
}

int rv_loop_io_modify(rv_loop *l, rv_loop_io *io, uint32_t events) {
  if (l == NULL || io == NULL || io->fd < 0 || (events & ~(RV_LOOP_READ | RV_LOOP_WRITE)) != 0) {
    return RV_EINVAL;
  }
  if (events == io->events) {
    return 0;
  }
  struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
  if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0) {
    return errno_code();
  }
  io->events = events;
  return 0;
}

void rv_loop_io_stop(rv_loop *l, rv_loop_io *io) {
  if (io == NULL || io->fd < 0) {
    return;
  }
  (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
  io->fd = -1;
  /* Events of this batch not yet dispatched must not reach a watch whose
   * memory the caller may free as soon as we return. */
  for (int i = l->cur; i < l->nready; i++) {
    if (l->ready[i].data.ptr == io) {
      l->ready[i].data.ptr = NULL;
    }
  }
}

/* ---- timers: binary min-heap, slot = index + 1 ---- */

static void heap_set(rv_loop *l, size_t i, rv_loop_timer *t) {
  l->heap[i] = t;
  t->slot = i + 1;
}

static void heap_up(rv_loop *l, size_t i) {
  rv_loop_timer *t = l->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (l->heap[p]->deadline <= t->deadline) {
      break;
    }
    heap_set(l, i, l->heap[p]);
    i = p;
  }
  heap_set(l, i, t);
}

static void heap_down(rv_loop *l, size_t i) {
  rv_loop_timer *t = l->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= l->nheap) {
      break;
    }
    if (c + 1 < l->nheap && l->heap[c + 1]->deadline < l->heap[c]->deadline) {
      c++;
    }
    if (t->deadline <= l->heap[c]->deadline) {
      break;
    }
    heap_set(l, i, l->heap[c]);
    i = c;
  }
  heap_set(l, i, t);
}

static void heap_remove(rv_loop *l, rv_loop_timer *t) {
  size_t i = t->slot - 1;
  t->slot = 0;
  l->nheap--;
  if (i == l->nheap) {
    return;
  }
  rv_loop_timer *last = l->heap[l->nheap];
  heap_set(l, i, last);
  if (i > 0 && l->heap[(i - 1) / 2]->deadline > last->deadline) {
    heap_up(l, i);
  } else {
    heap_down(l, i);
  }
}

void rv_loop_timer_init(rv_loop_timer *t) { memset(t, 0, sizeof *t); }
bool rv_loop_timer_active(const rv_loop_timer *t) { return t->slot != 0; }
size_t rv_loop_timer_count(const rv_loop *l) { return l->nheap; }

int rv_loop_timer_start(rv_loop *l, rv_loop_timer *t, uint64_t after_ms, rv_loop_timer_cb cb) {
  if (l == NULL || t == NULL || cb == NULL) {
    return RV_EINVAL;
  }
  uint64_t deadline;
  if (__builtin_add_overflow(l->now, after_ms, &deadline)) {
    deadline = UINT64_MAX;
  }
  t->cb = cb;
  if (t->slot != 0) {
    uint64_t old = t->deadline;
    t->deadline = deadline;
    if (deadline < old) {
      heap_up(l, t->slot - 1);
    } else {
      heap_down(l, t->slot - 1);
    }
    return 0;
  }
  if (l->nheap == l->capheap) {
    size_t ncap = l->capheap == 0 ? 64 : l->capheap * 2;
    size_t oldb = l->capheap * sizeof(rv_loop_timer *);
    size_t newb;
    if (__builtin_mul_overflow(ncap, sizeof(rv_loop_timer *), &newb)) {
      return RV_ENOMEM;
    }
    rv_loop_timer **nh =
        l->heap == NULL ? rv_alloc_get(l->alloc, newb, _Alignof(rv_loop_timer *))
                        : rv_alloc_resize(l->alloc, l->heap, oldb, newb, _Alignof(rv_loop_timer *));
    if (nh == NULL) {
      return RV_ENOMEM;
    }
    l->heap = nh;
    l->capheap = ncap;
  }
  t->deadline = deadline;
  l->heap[l->nheap] = t;
  l->nheap++;
  heap_up(l, l->nheap - 1);
  return 0;
}

void rv_loop_timer_stop(rv_loop *l, rv_loop_timer *t) {
  if (t != NULL && t->slot != 0) {
    heap_remove(l, t);
  }
}

static int run_timers(rv_loop *l) {
  int n = 0;
  /* Bounded by the count at entry: a callback that re-arms with delay 0
   * runs again next iteration, not forever in this one. */
  size_t budget = l->nheap;
  while (budget-- > 0 && l->nheap > 0 && l->heap[0]->deadline <= l->now) {
    rv_loop_timer *t = l->heap[0];
    heap_remove(l, t);
    t->cb(t);
    n++;
  }
  return n;
}

/* ---- deferred calls ---- */

void rv_loop_defer(rv_loop *l, rv_loop_deferred *d, rv_loop_deferred_cb cb) {
  if (d->queued) {
    return;
  }
  d->queued = true;
  d->cb = cb;
  d->next = NULL;
  if (l->defer_tail != NULL) {
    l->defer_tail->next = d;
  } else {
    l->defer_head = d;
  }
  l->defer_tail = d;
}

void rv_loop_defer_cancel(rv_loop *l, rv_loop_deferred *d) {
  if (!d->queued) {
    return;
  }
  rv_loop_deferred *prev = NULL;
  for (rv_loop_deferred *p = l->defer_head; p != NULL; prev = p, p = p->next) {
    if (p != d) {
      continue;
    }
    if (prev != NULL) {
      prev->next = d->next;
    } else {
      l->defer_head = d->next;
    }
    if (l->defer_tail == d) {
      l->defer_tail = prev;
    }
    break;
  }
  d->queued = false;
  d->next = NULL;
}

static int run_deferred(rv_loop *l) {
  int n = 0;
  /* Calls queued by deferred callbacks run in this same pass; a callback
   * that re-queues itself forever would spin, which is the caller's bug. */
  while (l->defer_head != NULL) {
    rv_loop_deferred *d = l->defer_head;
    l->defer_head = d->next;
    if (l->defer_head == NULL) {
      l->defer_tail = NULL;
    }
    d->queued = false;
    d->cb(d);
    n++;
  }
  return n;
}

/* ---- wake-up and signals ---- */

static rv_loop *loop_of_wake(rv_loop_io *io) {
  /* io is the wake_io member of an rv_loop: step back to the struct. */
  return (rv_loop *)(void *)((char *)io - offsetof(rv_loop, wake_io));
}

static rv_loop *loop_of_sig(rv_loop_io *io) {
  /* io is the sig_io member of an rv_loop: step back to the struct. */
  return (rv_loop *)(void *)((char *)io - offsetof(rv_loop, sig_io));
}

static void wake_read(rv_loop_io *io, uint32_t ev) {
  (void)ev;
  rv_loop *l = loop_of_wake(io);
  uint64_t v;
  while (read(l->wakefd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  if (l->wake_cb != NULL) {
    l->wake_cb(l, l->wake_user);
  }
}

int rv_loop_wake(rv_loop *l) {
  uint64_t one = 1;
  if (write(l->wakefd, &one, sizeof one) != (ssize_t)sizeof one && errno != EAGAIN) {
    return errno_code();
  }
  return 0;
}

void rv_loop_set_wake_cb(rv_loop *l, rv_loop_wake_cb cb, void *user) {
  l->wake_cb = cb;
  l->wake_user = user;
}

static void sig_read(rv_loop_io *io, uint32_t ev) {
  (void)ev;
  rv_loop *l = loop_of_sig(io);
  struct signalfd_siginfo si;
  while (l->sigfd >= 0 && read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    int s = (int)si.ssi_signo;
    if (s > 0 && s < LOOP_NSIG && l->sig_cb[s] != NULL) {
      l->sig_cb[s](l, s, l->sig_user[s]);
    }
  }
}

int rv_loop_signal_start(rv_loop *l, int signo, rv_loop_signal_cb cb, void *user) {
  if (l == NULL || cb == NULL || signo <= 0 || signo >= LOOP_NSIG || signo == SIGKILL ||
      signo == SIGSTOP) {
    return RV_EINVAL;
  }
  sigset_t nm = l->sigmask;
  if (sigaddset(&nm, signo) != 0) {
    return RV_EINVAL;
  }
  int fd = signalfd(l->sigfd, &nm, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    return errno == EINVAL ? RV_EINVAL : errno_code();
  }
  if (l->sigfd < 0) {
    int rc = rv_loop_io_start(l, &l->sig_io, fd, RV_LOOP_READ, sig_read);
    if (rc != 0) {
      close(fd);
      return rc;
    }
    l->sigfd = fd;
  }
  sigset_t one;
  sigset_t old;
  sigemptyset(&one);
  sigaddset(&one, signo);
  sigprocmask(SIG_BLOCK, &one, &old);
  if (!sigismember(&old, signo) && !sigismember(&l->sigmask, signo)) {
    sigaddset(&l->sigadded, signo);
  }
  l->sigmask = nm;
  l->sig_cb[signo] = cb;
  l->sig_user[signo] = user;
  return 0;
}

void rv_loop_signal_stop(rv_loop *l, int signo) {
  if (l == NULL || signo <= 0 || signo >= LOOP_NSIG || l->sig_cb[signo] == NULL) {
    return;
  }
  l->sig_cb[signo] = NULL;
  sigdelset(&l->sigmask, signo);
  (void)signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigismember(&l->sigadded, signo)) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signo);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    sigdelset(&l->sigadded, signo);
  }
}

/* ---- running ---- */

int rv_loop_run_once(rv_loop *l, int timeout_ms) {
  l->now = mono_ms();
  int wait = timeout_ms;
  if (l->defer_head != NULL) {
    wait = 0;
  } else if (l->nheap > 0) {
    uint64_t d = l->heap[0]->deadline;
    uint64_t left = d > l->now ? d - l->now : 0;
    if (wait < 0 || left < (uint64_t)wait) {
      wait = left > (uint64_t)INT32_MAX ? INT32_MAX : (int)left;
    }
  }
  int n = epoll_wait(l->epfd, l->ready, LOOP_BATCH, wait);
  if (n < 0) {
    if (errno != EINTR) {
      return errno_code();
    }
    n = 0;
  }
  l->now = mono_ms();
  int calls = 0;
  l->nready = n;
  for (l->cur = 0; l->cur < l->nready;) {
    struct epoll_event *e = &l->ready[l->cur];
    l->cur++;
    rv_loop_io *io = e->data.ptr;
    if (io == NULL) {
      continue;
    }
    uint32_t ev = 0;
    if (e->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      ev |= RV_LOOP_READ;
    }
    if (e->events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
      ev |= RV_LOOP_WRITE;
    }
    if (e->events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
      ev |= RV_LOOP_HUP;
    }
    io->cb(io, ev);
    calls++;
  }
  l->nready = 0;
  l->cur = 0;
  calls += run_timers(l);
  calls += run_deferred(l);
  return calls;
}

int rv_loop_run(rv_loop *l) {
  l->stopped = false;
  while (!l->stopped) {
    int rc = rv_loop_run_once(l, -1);
    if (rc < 0) {
      return rc;
    }
  }
  return 0;
}
