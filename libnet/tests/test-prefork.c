/* test-prefork: workers sharing a port with SO_REUSEPORT; the master
 * restarts a worker that crashes and stops them all on SIGTERM. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rivet/net/prefork.h>
#include <rivet/net/server.h>

static uint16_t g_port;
static int g_pipe[2];

static size_t echo(rv_conn *c, const uint8_t *d, size_t n, void *user) {
  (void)user;
  (void)rv_conn_write(c, d, n);
  return n;
}

static void on_shutdown(rv_server *s, void *user) {
  (void)s;
  rv_loop_stop(user);
}

static void on_term(rv_loop *l, int signo, void *user) {
  (void)l;
  (void)signo;
  (void)rv_server_shutdown(user, 1000);
}

static int worker(unsigned index, void *user) {
  (void)index;
  (void)user;
  rv_loop *l;
  if (rv_loop_new(&l, NULL) != 0) {
    return 2;
  }
  rv_server_config cfg;
  rv_server_config_default(&cfg);
  cfg.port = g_port;
  cfg.reuseport = true;
  cfg.pool_blocks = 8;
  cfg.cb.on_data = echo;
  cfg.cb.on_shutdown = on_shutdown;
  cfg.user = l;
  rv_server *s;
  if (rv_server_new(&s, l, &cfg, NULL) != 0) {
    return 3;
  }
  if (rv_loop_signal_start(l, SIGTERM, on_term, s) != 0) {
    return 4;
  }
  pid_t me = getpid();
  if (write(g_pipe[1], &me, sizeof me) != (ssize_t)sizeof me) {
    return 5;
  }
  int rc = rv_loop_run(l);
  rv_server_free(s);
  rv_loop_free(l);
  return rc == 0 ? 0 : 6;
}

static pid_t read_pid(void) {
  struct pollfd p = {.fd = g_pipe[0], .events = POLLIN};
  if (poll(&p, 1, 10000) != 1) {
    return -1;
  }
  pid_t pid;
  if (read(g_pipe[0], &pid, sizeof pid) != (ssize_t)sizeof pid) {
    return -1;
  }
  return pid;
}

static void echo_once(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(g_port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
  char buf[4];
  size_t got = 0;
  while (got < 4) {
    ssize_t k = recv(fd, buf + got, 4 - got, 0);
    assert_true(k > 0);
    got += (size_t)k;
  }
  assert_memory_equal(buf, "ping", 4);
  close(fd);
}

/* Reserve a port: bound with SO_REUSEPORT but not listening, so it takes
 * no connections from the workers' group. */
static int reserve_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t len = sizeof sa;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  g_port = ntohs(sa.sin_port);
  return fd;
}

static void test_config_errors(void **state) {
  (void)state;
  rv_prefork_report rep;
  assert_int_equal(rv_prefork_run(NULL, &rep), RV_EINVAL);
  rv_prefork_config cfg = {.workers = 0, .worker_main = worker};
  assert_int_equal(rv_prefork_run(&cfg, &rep), RV_EINVAL);
  cfg.workers = 5000;
  assert_int_equal(rv_prefork_run(&cfg, NULL), RV_EINVAL);
  cfg.workers = 1;
  cfg.worker_main = NULL;
  assert_int_equal(rv_prefork_run(&cfg, &rep), RV_EINVAL);
}

/* Two workers; SIGKILL one; the master starts a replacement; the port keeps
 * answering; SIGTERM stops everything cleanly. */
static void test_worker_crash(void **state) {
  (void)state;
  int res = reserve_port();
  assert_int_equal(pipe(g_pipe), 0);
  pid_t master = fork();
  assert_true(master >= 0);
  if (master == 0) {
    rv_prefork_config cfg = {.workers = 2, .worker_main = worker, .restart_delay_ms = 10};
    rv_prefork_report rep;
    int rc = rv_prefork_run(&cfg, &rep);
    _exit(rc == 0 && rep.started == 3 && rep.restarts == 1 && rep.crashed == 1 ? 0 : 10);
  }
  pid_t w1 = read_pid();
  pid_t w2 = read_pid();
  assert_true(w1 > 0 && w2 > 0 && w1 != w2);
  for (int i = 0; i < 8; i++) {
    echo_once();
  }
  assert_int_equal(kill(w1, SIGKILL), 0);
  pid_t w3 = read_pid();
  assert_true(w3 > 0 && w3 != w1 && w3 != w2);
  for (int i = 0; i < 8; i++) {
    echo_once();
  }
  assert_int_equal(kill(master, SIGTERM), 0);
  int status = 0;
  pid_t got = 0;
  for (int i = 0; i < 1000 && got == 0; i++) {
    got = waitpid(master, &status, WNOHANG);
    if (got == 0) {
      usleep(10000);
    }
  }
  if (got == 0) {
    kill(master, SIGKILL);
    waitpid(master, &status, 0);
  }
  assert_int_equal(got, master);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* Every worker is gone: nobody answers on the port. */
  assert_int_equal(kill(w2, 0), -1);
  assert_int_equal(kill(w3, 0), -1);
  close(g_pipe[0]);
  close(g_pipe[1]);
  close(res);
}

static int dies(unsigned index, void *user) {
  (void)index;
  (void)user;
  return 3;
}

/* Workers that keep dying: the restart limit ends the run with RV_ELIMIT. */
static void test_restart_limit(void **state) {
  (void)state;
  rv_prefork_config cfg = {.workers = 1, .worker_main = dies, .max_restarts = 2};
  rv_prefork_report rep;
  assert_int_equal(rv_prefork_run(&cfg, &rep), RV_ELIMIT);
  assert_int_equal(rep.started, 3);
  assert_int_equal(rep.restarts, 2);
  assert_int_equal(rep.crashed, 3);
  /* The master's signals are unblocked again. */
  sigset_t cur;
  sigprocmask(SIG_SETMASK, NULL, &cur);
  assert_false(sigismember(&cur, SIGCHLD));
  assert_false(sigismember(&cur, SIGTERM));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_worker_crash),
      cmocka_unit_test(test_restart_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
