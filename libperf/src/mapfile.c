/* mapfile: line-aligned chunks of a file, mapped when possible, read
 * otherwise; survives files that shrink while mapped (see mapfile.h). */
#define _GNU_SOURCE
#include <rivet/core/err.h>
#include <rivet/perf/mapfile.h>
#include <rivet/perf/scan.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CHUNK ((size_t)4 << 20)
#define MIN_CHUNK ((size_t)4096)
#define SLOTS 64

/* ---- the SIGBUS registry ---------------------------------------------- */

/* One slot per live mapping. The handler reads base and len; open writes
 * them with release after mmap() and claims the slot with a CAS on used. */
typedef struct slot {
  _Atomic(uintptr_t) base;
  _Atomic(size_t) len;
  atomic_int used;
  atomic_int shrunk;
} slot;

static slot slots[SLOTS];
static struct sigaction old_bus;
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uctx) {
  uintptr_t a = (uintptr_t)si->si_addr;
  for (int i = 0; i < SLOTS; i++) {
    /* acquire: pairs with the release stores in register_map(). */
    uintptr_t base = atomic_load_explicit(&slots[i].base, memory_order_acquire);
    size_t len = atomic_load_explicit(&slots[i].len, memory_order_acquire);
    if (base && a >= base && a - base < len) {
      uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
      /* The page holding the fault: the address minus its offset in the page. */
      char *from = (char *)si->si_addr - (a & (pg - 1));
      size_t rest = base + len - (a & ~(pg - 1));
      /* mmap is a plain system call here (not formally async-signal-safe,
       * but it takes no user-space lock): zero pages replace the vanished
       * tail, and the faulting load is restarted and reads zeros. */
      void *r = mmap(from, rest, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (r != MAP_FAILED) {
        atomic_store_explicit(&slots[i].shrunk, 1, memory_order_relaxed); /* a flag only */
        return;
      }
    }
  }
  /* Not ours: behave as before we were installed. */
  if (old_bus.sa_flags & SA_SIGINFO) {
    if (old_bus.sa_sigaction) {
      old_bus.sa_sigaction(sig, si, uctx);
      return;
    }
  } else if (old_bus.sa_handler != SIG_DFL && old_bus.sa_handler != SIG_IGN) {
    old_bus.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL); /* returning re-executes the access: default action */
}

/* (Re)install the handler if someone replaced it since (a test framework,
 * the program itself): checked at every mapped open, so the mapping being
 * opened is always covered; the replaced handler becomes the fallback. */
static bool install_bus(void) {
  pthread_mutex_lock(&bus_lock);
  struct sigaction cur, sa;
  bool ok = sigaction(SIGBUS, NULL, &cur) == 0;
  if (ok && !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)) {
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ok = sigaction(SIGBUS, &sa, &old_bus) == 0;
  }
  pthread_mutex_unlock(&bus_lock);
  return ok;
}

static int register_map(const void *base, size_t len) {
  if (!install_bus())
    return -1;
  for (int i = 0; i < SLOTS; i++) {
    int expect = 0;
    /* acq_rel: claims the slot exclusively before writing its fields. */
    if (atomic_compare_exchange_strong_explicit(&slots[i].used, &expect, 1, memory_order_acq_rel,
                                                memory_order_relaxed)) {
      atomic_store_explicit(&slots[i].shrunk, 0, memory_order_relaxed);
      /* release: the handler that sees base also sees len and shrunk. */
      atomic_store_explicit(&slots[i].len, len, memory_order_release);
      atomic_store_explicit(&slots[i].base, (uintptr_t)base, memory_order_release);
      return i;
    }
  }
  return -1;
}

static void unregister_map(int i) {
  /* release: the slot is cleared before it can be claimed again. */
  atomic_store_explicit(&slots[i].base, 0, memory_order_release);
  atomic_store_explicit(&slots[i].len, 0, memory_order_release);
  atomic_store_explicit(&slots[i].used, 0, memory_order_release);
}

/* ---- the object -------------------------------------------------------- */

struct rv_mapfile {
  const rv_alloc *alloc;
  size_t chunk;
  /* mapped mode */
  uint8_t *map;
  uint64_t size;
  int slot;
  /* read mode */
  int fd;
  bool own_fd;
  rv_mapfile_read_fn read;
  void *read_ctx;
  uint8_t *carry; /* partial line kept for the next chunk (chunk bytes) */
  size_t carry_len;
  bool eof;
  bool skipping; /* discarding the rest of a cut line */
  /* both */
  uint64_t pos; /* bytes consumed */
};

static int fd_read(void *ctx, void *buf, size_t cap, size_t *got) {
  const rv_mapfile *mf = ctx;
  for (;;) {
    ssize_t r = read(mf->fd, buf, cap);
    if (r >= 0) {
      *got = (size_t)r;
      return 0;
    }
    if (errno != EINTR)
      return RV_EIO;
  }
}

static int make(rv_mapfile **out, const rv_mapfile_config *cfg) {
  rv_mapfile_config def = {0};
  if (!cfg)
    cfg = &def;
  rv_mapfile *mf = rv_alloc_get(cfg->alloc, sizeof *mf, _Alignof(rv_mapfile));
  if (!mf)
    return RV_ENOMEM;
  memset(mf, 0, sizeof *mf);
  mf->alloc = cfg->alloc;
  mf->chunk = cfg->chunk_size ? cfg->chunk_size : DEFAULT_CHUNK;
  if (mf->chunk < MIN_CHUNK)
    mf->chunk = MIN_CHUNK;
  mf->slot = -1;
  mf->fd = -1;
  *out = mf;
  return 0;
}

static int errno_code(int e) { return e == ENOENT ? RV_ENOTFOUND : RV_EIO; }

int rv_mapfile_open(rv_mapfile **out, const char *path, const rv_mapfile_config *cfg) {
  if (!path || !out)
    return RV_EINVAL;
  rv_mapfile *mf = NULL;
  int rc = make(&mf, cfg);
  if (rc)
    return rc;
  if (strcmp(path, "-") == 0) {
    mf->fd = STDIN_FILENO;
  } else {
    mf->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (mf->fd < 0) {
      rc = errno_code(errno);
      goto fail;
    }
    mf->own_fd = true;
  }
  struct stat st;
  if (fstat(mf->fd, &st) != 0) {
    rc = RV_EIO;
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = RV_EIO;
    goto fail;
  }
  bool want_map = S_ISREG(st.st_mode) && !(cfg && cfg->no_mmap) && st.st_size > 0 &&
                  (uint64_t)st.st_size <= SIZE_MAX;
  if (want_map) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mf->fd, 0);
    if (m != MAP_FAILED) {
      (void)madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL); /* advice only */
      mf->slot = register_map(m, (size_t)st.st_size);
      if (mf->slot < 0) {
        munmap(m, (size_t)st.st_size); /* no SIGBUS protection: read it instead */
      } else {
        mf->map = m;
        mf->size = (uint64_t)st.st_size;
      }
    }
  }
  if (!mf->map && !(S_ISREG(st.st_mode) && st.st_size == 0)) {
    mf->carry = rv_alloc_get(mf->alloc, mf->chunk, 64);
    if (!mf->carry) {
      rc = RV_ENOMEM;
      goto fail;
    }
    mf->read = fd_read;
    mf->read_ctx = mf;
  }
  if (S_ISREG(st.st_mode) && st.st_size == 0)
    mf->eof = true;
  *out = mf;
  return 0;
fail:
  rv_mapfile_close(mf);
  return rc;
}

int rv_mapfile_open_reader(rv_mapfile **out, rv_mapfile_read_fn fn, void *ctx,
                           const rv_mapfile_config *cfg) {
  if (!fn || !out)
    return RV_EINVAL;
  rv_mapfile *mf = NULL;
  int rc = make(&mf, cfg);
  if (rc)
    return rc;
  mf->carry = rv_alloc_get(mf->alloc, mf->chunk, 64);
  if (!mf->carry) {
    rv_mapfile_close(mf);
    return RV_ENOMEM;
  }
  mf->read = fn;
  mf->read_ctx = ctx;
  *out = mf;
  return 0;
}

void rv_mapfile_close(rv_mapfile *mf) {
  if (!mf)
    return;
  if (mf->map) {
    unregister_map(mf->slot);
    munmap(mf->map, (size_t)mf->size);
  }
  if (mf->own_fd && mf->fd >= 0)
    close(mf->fd);
  if (mf->carry)
    rv_alloc_free(mf->alloc, mf->carry, mf->chunk);
  rv_alloc_free(mf->alloc, mf, sizeof *mf);
}

size_t rv_mapfile_line_end(const uint8_t *p, size_t len, size_t pos) {
  if (pos >= len)
    return len;
  size_t i = rv_scan_byte(p + pos, len - pos, '\n');
  return i == len - pos ? len : pos + i + 1;
}

static int fill(rv_mapfile *mf, uint8_t *buf, size_t cap, size_t *len) {
  while (*len < cap && !mf->eof) {
    size_t got = 0;
    int rc = mf->read(mf->read_ctx, buf + *len, cap - *len, &got);
    if (rc)
      return rc;
    if (got == 0) {
      mf->eof = true;
      break;
    }
    if (mf->skipping) {
      size_t nl = rv_scan_byte(buf + *len, got, '\n');
      mf->pos += nl == got ? got : nl + 1;
      if (nl == got)
        continue;
      mf->skipping = false;
      memmove(buf + *len, buf + *len + nl + 1, got - nl - 1);
      got -= nl + 1;
    }
    *len += got;
  }
  return 0;
}

static int next_read(rv_mapfile *mf, rv_mapfile_chunk *c) {
  /* One byte more than the chunk so a cut line can get its '\n'. */
  size_t cap = mf->chunk + 1;
  uint8_t *buf = rv_alloc_get(mf->alloc, cap, 64);
  if (!buf)
    return RV_ENOMEM;
  size_t len = mf->carry_len;
  memcpy(buf, mf->carry, len);
  mf->carry_len = 0;
  int rc = fill(mf, buf, mf->chunk, &len);
  if (rc) {
    rv_alloc_free(mf->alloc, buf, cap);
    return rc;
  }
  if (len == 0) {
    rv_alloc_free(mf->alloc, buf, cap);
    return RV_EEMPTY;
  }
  size_t keep = len; /* bytes that form this chunk */
  uint32_t cut = 0;
  if (!mf->eof) {
    /* Find the last newline: the bytes after it wait for the next chunk. */
    size_t last = len;
    while (last > 0 && buf[last - 1] != '\n')
      last--;
    if (last == 0) {
      buf[len] = '\n'; /* the room reserved above */
      keep = len + 1;
      cut = 1;
      mf->skipping = true;
    } else {
      keep = last;
      mf->carry_len = len - last;
      memcpy(mf->carry, buf + last, mf->carry_len);
    }
  }
  c->ptr = buf;
  c->len = keep;
  c->offset = mf->pos;
  c->cut = cut;
  c->buf_ = buf;
  c->cap_ = cap;
  mf->pos += cut ? len : keep;
  return 0;
}

int rv_mapfile_next(rv_mapfile *mf, rv_mapfile_chunk *c) {
  memset(c, 0, sizeof *c);
  if (mf->map) {
    if (mf->pos >= mf->size)
      return RV_EEMPTY;
    size_t start = (size_t)mf->pos, size = (size_t)mf->size;
    size_t want = size - start < mf->chunk ? size : start + mf->chunk;
    size_t end = want == size ? size : rv_mapfile_line_end(mf->map, size, want);
    c->ptr = mf->map + start;
    c->len = end - start;
    c->offset = start;
    mf->pos = end;
    return 0;
  }
  if (!mf->read)
    return RV_EEMPTY; /* an empty regular file */
  return next_read(mf, c);
}

void rv_mapfile_chunk_free(const rv_alloc *alloc, rv_mapfile_chunk *c) {
  if (c->buf_)
    rv_alloc_free(alloc, c->buf_, c->cap_);
  memset(c, 0, sizeof *c);
}

void rv_mapfile_release(rv_mapfile *mf, rv_mapfile_chunk *c) {
  rv_mapfile_chunk_free(mf->alloc, c);
}

bool rv_mapfile_is_mapped(const rv_mapfile *mf) { return mf->map != NULL; }

uint64_t rv_mapfile_size(const rv_mapfile *mf) { return mf->size; }

const uint8_t *rv_mapfile_data(const rv_mapfile *mf) { return mf->map; }

uint64_t rv_mapfile_consumed(const rv_mapfile *mf) { return mf->pos; }

bool rv_mapfile_shrunk(const rv_mapfile *mf) {
  /* relaxed: a flag, read after the faulting access in the same thread or
   * for a report; no other data depends on it. */
  return mf->map && atomic_load_explicit(&slots[mf->slot].shrunk, memory_order_relaxed);
}
