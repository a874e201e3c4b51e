/* test-keystore-crash: kill a writer with SIGKILL at random points while it
 * saves, and check that the file on disk is always a whole store: the last
 * one the writer reported saved, or the one it was saving (the rename
 * happened, the report did not). Never a torn, mixed or missing store.
 *
 * A child loads the store, reports its generation g on a pipe, then saves
 * generations g+1, g+2, ... in a loop, reporting each after rv_keystore_save
 * returns. Generation g's content is a pure function of g (key "gen" = g,
 * and g % 5 padding secrets of varying length and content), so the parent
 * can tell any mix of two stores apart. The parent sleeps a random time
 * (fixed seed, printed) within about two saves, kills, and checks.
 *
 *   test-sec-keystore-crash [--kills N] [--seconds S] [--seed X]
 * Defaults: 200 kills, at most 90 s (a test); `make bench` runs the
 * 10,000-kill soak. Exits 0 only if N kills ran and no store was bad. */
#define _GNU_SOURCE
#include <rivet/sec.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const uint8_t raw[32] = {7,  7,  7,  7,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};
static const rv_keystore_cred cred = {.key = raw};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state;
static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static void pad_value(uint64_t g, unsigned j, uint8_t *buf, size_t *len) {
  *len = 50 + 37 * j + (size_t)(g % 13);
  memset(buf, (int)((g * 31 + j) & 0xff), *len);
}

/* Make ks hold exactly generation g. */
static int fill(rv_keystore *ks, uint64_t g) {
  const char *names[] = {"gen", "pad0", "pad1", "pad2", "pad3"};
  for (size_t i = 0; i < 5; i++) {
    (void)rv_keystore_remove(ks, names[i]);
  }
  uint8_t v[8];
  for (unsigned i = 0; i < 8; i++) {
    v[i] = (uint8_t)(g >> (8 * i));
  }
  int rc = rv_keystore_add(ks, "gen", RV_KEYSTORE_SECRET, v, 8);
  for (unsigned j = 0; rc == RV_OK && j < g % 5; j++) {
    uint8_t buf[256];
    size_t len;
    pad_value(g, j, buf, &len);
    rc = rv_keystore_add(ks, names[1 + j], RV_KEYSTORE_SECRET, buf, len);
  }
  return rc;
}

struct check {
  uint64_t g;
  int bad;
};

static int read_gen(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  struct check *c = ctx;
  if (info->len != 8) {
    return -1;
  }
  c->g = 0;
  for (unsigned i = 0; i < 8; i++) {
    c->g |= (uint64_t)key[i] << (8 * i);
  }
  return 0;
}

static int check_pad(void *ctx, const uint8_t *key, const rv_keystore_info *info) {
  struct check *c = ctx;
  uint8_t want[256];
  size_t len;
  pad_value(c->g, (unsigned)c->bad, want, &len);
  return info->len == len && memcmp(key, want, len) == 0 ? 0 : -1;
}

/* Load the file and check it is a whole generation; return it or -1. */
static int64_t verify(const char *path, char *why, size_t whylen) {
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED};
  if (rv_keystore_create(&ks, &cfg) != RV_OK) {
    snprintf(why, whylen, "cannot create a key store");
    return -1;
  }
  rv_diag d = {0};
  int rc = rv_keystore_load(ks, path, &cred, &d);
  int64_t result = -1;
  struct check c = {0};
  if (rc != RV_OK) {
    snprintf(why, whylen, "load: %s: %s", rv_err_name(rc), d.msg != NULL ? d.msg : "");
  } else if (rv_keystore_use(ks, "gen", read_gen, &c) != 0) {
    snprintf(why, whylen, "no valid gen key");
  } else if (rv_keystore_count(ks) != 1 + c.g % 5) {
    snprintf(why, whylen, "gen %" PRIu64 " with %zu keys (mixed store)", c.g,
             rv_keystore_count(ks));
  } else {
    result = (int64_t)c.g;
    const char *names[] = {"pad0", "pad1", "pad2", "pad3"};
    for (unsigned j = 0; j < c.g % 5; j++) {
      c.bad = (int)j;
      if (rv_keystore_use(ks, names[j], check_pad, &c) != 0) {
        snprintf(why, whylen, "gen %" PRIu64 ": %s holds another generation", c.g, names[j]);
        result = -1;
      }
    }
  }
  rv_keystore_destroy(ks);
  return result;
}

static _Noreturn void child(const char *path, int wfd) {
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED};
  struct check c = {0};
  if (rv_keystore_create(&ks, &cfg) != RV_OK || rv_keystore_load(ks, path, &cred, NULL) != 0 ||
      rv_keystore_use(ks, "gen", read_gen, &c) != 0) {
    _exit(3);
  }
  for (uint64_t g = c.g;; g++) {
    if (g != c.g && (fill(ks, g) != RV_OK || rv_keystore_save(ks, path, &cred, NULL) != RV_OK)) {
      _exit(4);
    }
    if (write(wfd, &g, sizeof g) != (ssize_t)sizeof g) {
      _exit(5);
    }
  }
}

/* Remove temporaries a killed writer left (PATH.tmp.XXXXXX). */
static size_t sweep(const char *dir) {
  size_t n = 0;
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d != NULL && (de = readdir(d)) != NULL) {
    if (strstr(de->d_name, ".tmp.") != NULL) {
      char p[512];
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      n += unlink(p) == 0;
    }
  }
  if (d != NULL) {
    (void)closedir(d);
  }
  return n;
}

int main(int argc, char **argv) {
  long kills = 200;
  double seconds = 90;
  uint64_t seed = 0x6b657973746f7265ull;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--kills") == 0) {
      kills = strtol(argv[i + 1], NULL, 10);
    } else if (strcmp(argv[i], "--seconds") == 0) {
      seconds = strtod(argv[i + 1], NULL);
    } else if (strcmp(argv[i], "--seed") == 0) {
      seed = strtoull(argv[i + 1], NULL, 0);
    } else {
      fprintf(stderr, "usage: %s [--kills N] [--seconds S] [--seed X]\n", argv[0]);
      return 2;
    }
  }
  rng_state = seed != 0 ? seed : 1;
  char dir[] = "/tmp/rv-kscrash-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "%s/store.rvks", dir);

  /* Generation 0, and the time one save takes here (to aim the kills). */
  rv_keystore *ks = NULL;
  rv_keystore_config cfg = {.secmem_flags = RV_SECMEM_ALLOW_UNLOCKED};
  if (rv_keystore_create(&ks, &cfg) != RV_OK || fill(ks, 0) != RV_OK) {
    return 2;
  }
  double t0 = now_s();
  for (int i = 0; i < 20; i++) {
    if (rv_keystore_save(ks, path, &cred, NULL) != RV_OK) {
      fprintf(stderr, "initial save failed\n");
      return 2;
    }
  }
  double save_s = (now_s() - t0) / 20;
  rv_keystore_destroy(ks);
  printf("keystore-crash: seed 0x%" PRIx64 ", one save takes %.0f us, %ld kills\n", seed,
         save_s * 1e6, kills);

  double start = now_s();
  long done = 0;
  long bad = 0;
  long newer = 0;
  size_t temps = 0;
  int64_t gen = 0;
  char why[256];
  while (done < kills && now_s() - start < seconds) {
    int p[2];
    if (pipe(p) != 0) {
      perror("pipe");
      return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 2;
    }
    if (pid == 0) {
      close(p[0]);
      child(path, p[1]);
    }
    close(p[1]);
    uint64_t last = 0;
    if (read(p[0], &last, sizeof last) != (ssize_t)sizeof last) { /* ready */
      fprintf(stderr, "kill %ld: writer failed to start (seed 0x%" PRIx64 ")\n", done, seed);
      return 1;
    }
    /* Within about two saves of the start: most kills land mid-save. */
    uint64_t ns = rng() % (uint64_t)(2 * save_s * 1e9 + 1000);
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    uint64_t g;
    while (read(p[0], &g, sizeof g) == (ssize_t)sizeof g) {
      last = g;
    }
    close(p[0]);
    if (!WIFSIGNALED(st)) {
      fprintf(stderr, "kill %ld: writer exited with %d before the kill\n", done,
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
      return 1;
    }
    int64_t got = verify(path, why, sizeof why);
    if (got < 0 || ((uint64_t)got != last && (uint64_t)got != last + 1)) {
      if (got >= 0) {
        snprintf(why, sizeof why, "found gen %" PRId64 ", last saved %" PRIu64, got, last);
      }
      fprintf(stderr, "kill %ld: BAD store: %s (seed 0x%" PRIx64 ")\n", done, why, seed);
      bad++;
      break; /* the next writer could not start from a bad store */
    }
    newer += (uint64_t)got == last + 1;
    gen = got;
    temps += sweep(dir);
    done++;
  }
  double took = now_s() - start;
  printf("keystore-crash: %ld kills in %.1f s, %" PRId64 " generations saved, %ld bad stores, "
         "%ld kills after the rename before the report, %zu temporaries left behind (removed)\n",
         done, took, gen, bad, newer, temps);
  (void)unlink(path);
  (void)sweep(dir);
  (void)rmdir(dir);
  if (bad != 0 || done < kills) {
    if (done < kills) {
      fprintf(stderr, "only %ld of %ld kills within %.0f s\n", done, kills, seconds);
    }
    return 1;
  }
  return 0;
}
