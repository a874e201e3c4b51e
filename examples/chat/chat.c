/* chat: a line-based chat/pub-sub server on rivet-net.
 *
 *   chat [-h host] [-p port] [-i idle_ms]
 *
 * Protocol (one command per line, `\n` or `\r\n`; replies are lines too):
 *   NICK <name>    set your name (1-31 chars: letters, digits, _ -)   -> OK nick <name>
 *   JOIN <room>    leave your room, join <room> (same rules)          -> OK join <room>
 *   MSG <text>     say <text> to the others in your room              (no reply)
 *   WHO            list the names in your room                        -> WHO <names...>
 *   QUIT           leave                                              -> BYE
 * Others in the room see `* <name> joined`, `* <name> left` and
 * `<name>: <text>`. Errors are `ERR <reason>`.
 *
 * Backpressure: when a member cannot keep up (its queued output passes the
 * server's high watermark), the server stops reading from every member of
 * that room -- the connections that feed it -- until it drains. Nothing is
 * dropped and nothing grows without bound. SIGTERM/SIGINT: graceful
 * shutdown (queued lines are delivered, then the connections close). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rivet/core/log.h>
#include <rivet/net/server.h>

#define NAME_MAX_LEN 31
#define LINE_MAX_LEN 1024

typedef struct room room;

typedef struct user {
  rv_conn *conn;
  room *room;
  struct user *prev;
  struct user *next;
  bool held; /* paused because its room is under pressure */
  bool over; /* its own output is over the high watermark */
  char nick[NAME_MAX_LEN + 1];
} user;

struct room {
  room *next;
  user *members;
  unsigned pressured; /* members over the high watermark */
  char name[NAME_MAX_LEN + 1];
};

static room *g_rooms;
static rv_log *g_log; /* JSON lines on stderr */
static unsigned g_guest;

static bool valid_name(const char *s, size_t n) {
  if (n == 0 || n > NAME_MAX_LEN) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

static void say(user *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(user *u, const char *fmt, ...) {
  char line[LINE_MAX_LEN + 64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 2;
  line[len++] = '\n';
  (void)rv_conn_write(u->conn, line, len);
}

static void hold(user *u, bool on) {
  if (u->held == on) {
    return;
  }
  u->held = on;
  if (on) {
    rv_conn_pause(u->conn);
  } else {
    rv_conn_resume(u->conn);
  }
}

/* Send one line (formatted once) to every member but \p from. */
static void broadcast(room *r, const user *from, const char *a, const char *b, const char *c) {
  char line[LINE_MAX_LEN + 64];
  int n = snprintf(line, sizeof line - 1, "%s%s%s", a, b, c);
  if (n < 0) {
    return;
  }
  size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 2;
  line[len++] = '\n';
  for (user *m = r->members; m != NULL; m = m->next) {
    if (m != from) {
      (void)rv_conn_write(m->conn, line, len);
    }
  }
}

static void set_pressured(room *r, bool more) {
  bool was = r->pressured > 0;
  r->pressured = more ? r->pressured + 1 : r->pressured - 1;
  if (was != (r->pressured > 0)) {
    (void)rv_log_info(g_log, was ? "room resumed" : "room paused: a member is not reading",
                      RV_LOG_STR("room", r->name));
    for (user *m = r->members; m != NULL; m = m->next) {
      hold(m, r->pressured > 0);
    }
  }
}

static void leave(user *u) {
  room *r = u->room;
  if (r == NULL) {
    return;
  }
  if (u->prev != NULL) {
    u->prev->next = u->next;
  } else {
    r->members = u->next;
  }
  if (u->next != NULL) {
    u->next->prev = u->prev;
  }
  u->prev = u->next = NULL;
  u->room = NULL;
  hold(u, false);
  if (u->over) {
    set_pressured(r, false);
  }
  broadcast(r, u, "* ", u->nick, " left");
  (void)rv_log_info(g_log, "left", RV_LOG_STR("nick", u->nick), RV_LOG_STR("room", r->name));
}

static void join(user *u, const char *name, size_t n) {
  leave(u);
  room *r = g_rooms;
  while (r != NULL && strcmp(r->name, name) != 0) {
    r = r->next;
  }
  if (r == NULL) {
    r = calloc(1, sizeof *r);
    if (r == NULL) {
      say(u, "ERR out of memory");
      return;
    }
    memcpy(r->name, name, n);
    r->next = g_rooms;
    g_rooms = r;
  }
  broadcast(r, u, "* ", u->nick, " joined");
  u->room = r;
  u->next = r->members;
  if (r->members != NULL) {
    r->members->prev = u;
  }
  r->members = u;
  hold(u, r->pressured > 0);
  if (u->over) {
    set_pressured(r, true);
  }
  say(u, "OK join %s", r->name);
  (void)rv_log_info(g_log, "joined", RV_LOG_STR("nick", u->nick), RV_LOG_STR("room", r->name));
}

static void command(user *u, char *line, size_t n) {
  if (n > 0 && line[n - 1] == '\r') {
    n--;
  }
  line[n] = '\0';
  char *arg = memchr(line, ' ', n);
  size_t cmdlen = arg != NULL ? (size_t)(arg - line) : n;
  size_t arglen = 0;
  if (arg != NULL) {
    arg++;
    arglen = n - cmdlen - 1;
  }
  if (cmdlen == 4 && memcmp(line, "NICK", 4) == 0) {
    if (arg == NULL || !valid_name(arg, arglen)) {
      say(u, "ERR bad name");
      return;
    }
    memcpy(u->nick, arg, arglen + 1);
    say(u, "OK nick %s", u->nick);
  } else if (cmdlen == 4 && memcmp(line, "JOIN", 4) == 0) {
    if (arg == NULL || !valid_name(arg, arglen)) {
      say(u, "ERR bad room");
      return;
    }
    join(u, arg, arglen);
  } else if (cmdlen == 3 && memcmp(line, "MSG", 3) == 0) {
    if (u->room == NULL) {
      say(u, "ERR not in a room");
      return;
    }
    char prefix[NAME_MAX_LEN + 3];
    snprintf(prefix, sizeof prefix, "%s: ", u->nick);
    broadcast(u->room, u, prefix, arg != NULL ? arg : "", "");
  } else if (cmdlen == 3 && memcmp(line, "WHO", 3) == 0) {
    if (u->room == NULL) {
      say(u, "ERR not in a room");
      return;
    }
    char names[LINE_MAX_LEN];
    size_t used = 0;
    for (user *m = u->room->members; m != NULL && used + NAME_MAX_LEN + 2 < sizeof names;
         m = m->next) {
      used += (size_t)snprintf(names + used, sizeof names - used, " %s", m->nick);
    }
    names[used] = '\0';
    say(u, "WHO%s", names);
  } else if (cmdlen == 4 && memcmp(line, "QUIT", 4) == 0) {
    say(u, "BYE");
    leave(u);
    rv_conn_close(u->conn);
  } else {
    say(u, "ERR unknown command");
  }
}

static void on_open(rv_conn *c, void *user_) {
  (void)user_;
  user *u = calloc(1, sizeof *u);
  if (u == NULL) {
    rv_conn_abort(c, RV_ENOMEM);
    return;
  }
  u->conn = c;
  snprintf(u->nick, sizeof u->nick, "guest%u", ++g_guest);
  rv_conn_set_user(c, u);
  say(u, "HELLO %s", u->nick);
}

static size_t on_data(rv_conn *c, const uint8_t *d, size_t n, void *user_) {
  (void)user_;
  size_t used = 0;
  while (used < n) {
    const uint8_t *nl = memchr(d + used, '\n', n - used);
    if (nl == NULL) {
      break;
    }
    size_t len = (size_t)(nl - (d + used));
    user *u = rv_conn_user(c);
    if (u == NULL) {
      return n;
    }
    char line[LINE_MAX_LEN + 1];
    if (len > LINE_MAX_LEN) {
      say(u, "ERR line too long");
    } else {
      memcpy(line, d + used, len);
      command(u, line, len);
    }
    used += len + 1;
    if (rv_conn_user(c) == NULL) {
      return n;
    }
  }
  return used;
}

static void on_pressure(rv_conn *c, bool high, void *user_) {
  (void)user_;
  user *u = rv_conn_user(c);
  if (u == NULL || u->over == high) {
    return;
  }
  u->over = high;
  if (u->room != NULL) {
    set_pressured(u->room, high);
  }
}

static void on_close(rv_conn *c, int reason, void *user_) {
  (void)user_;
  user *u = rv_conn_user(c);
  if (u == NULL) {
    return;
  }
  (void)rv_log_debug(g_log, "closed", RV_LOG_STR("nick", u->nick),
                     RV_LOG_STR("reason", rv_err_name(reason)));
  leave(u);
  rv_conn_set_user(c, NULL);
  free(u);
}

static void on_shutdown(rv_server *s, void *user_) {
  (void)s;
  rv_loop_stop(user_);
}

static void on_signal(rv_loop *l, int signo, void *user_) {
  (void)l;
  (void)signo;
  (void)rv_server_shutdown(user_, 3000);
}

int main(int argc, char **argv) {
  rv_server_config cfg;
  rv_server_config_default(&cfg);
  cfg.port = 7070;
  cfg.read_chunk = 2048;
  cfg.pool_blocks = 256;
  cfg.high_watermark = (size_t)64 * 1024;
  cfg.low_watermark = (size_t)16 * 1024;
  int opt;
  while ((opt = getopt(argc, argv, "h:p:i:")) != -1) {
    switch (opt) {
    case 'h':
      cfg.host = optarg;
      break;
    case 'p':
      cfg.port = (uint16_t)strtoul(optarg, NULL, 10);
      break;
    case 'i':
      cfg.idle_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
      break;
    default:
      fprintf(stderr, "usage: %s [-h host] [-p port] [-i idle_ms]\n", argv[0]);
      return 2;
    }
  }
  rv_log_field app = RV_LOG_STR("app", "chat");
  rv_log_options lo = {.fields = &app, .nfields = 1};
  int rc = rv_log_create(&g_log, &lo);
  if (rc != 0) {
    fprintf(stderr, "chat: log: %s\n", rv_strerror(rc));
    return 1;
  }
  rv_loop *l;
  rc = rv_loop_new(&l, NULL);
  if (rc != 0) {
    (void)rv_log_error(g_log, "loop", RV_LOG_STR("error", rv_strerror(rc)));
    rv_log_destroy(g_log);
    return 1;
  }
  cfg.cb.on_open = on_open;
  cfg.cb.on_data = on_data;
  cfg.cb.on_pressure = on_pressure;
  cfg.cb.on_close = on_close;
  cfg.cb.on_shutdown = on_shutdown;
  cfg.user = l;
  rv_server *s;
  rc = rv_server_new(&s, l, &cfg, NULL);
  if (rc != 0) {
    (void)rv_log_error(g_log, "listen failed", RV_LOG_STR("host", cfg.host),
                       RV_LOG_UINT("port", cfg.port), RV_LOG_STR("error", rv_strerror(rc)));
    rv_loop_free(l);
    rv_log_destroy(g_log);
    return 1;
  }
  (void)rv_loop_signal_start(l, SIGTERM, on_signal, s);
  (void)rv_loop_signal_start(l, SIGINT, on_signal, s);
  (void)rv_log_info(g_log, "listening", RV_LOG_STR("host", cfg.host),
                    RV_LOG_UINT("port", rv_server_port(s)));
  rc = rv_loop_run(l);
  rv_server_free(s);
  rv_loop_free(l);
  while (g_rooms != NULL) {
    room *r = g_rooms;
    g_rooms = r->next;
    free(r);
  }
  (void)rv_log_info(g_log, "stopped");
  rv_log_destroy(g_log);
  return rc == 0 ? 0 : 1;
}
