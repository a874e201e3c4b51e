/* kv-client: talks to kv-server in the kv protocol (README.md).
 *
 *   kv-client --protocol 1|2 [--min N] [-h host] [-p port] [--force] [--hex]
 *             [COMMAND [ARG...]]
 *
 * Without a COMMAND it reads commands from stdin, one per line:
 *   get KEY | put KEY VALUE [TTL_MS] | del KEY | scan [PREFIX [LIMIT]] |
 *   raw TYPE HEX_PAYLOAD
 * and prints one line per answer: the status, then the response's fields
 * (`name=value`; fields this client does not know as `?N=hex`).
 *
 * `--protocol` picks the table the client implements (its highest version,
 * its messages and fields); `--min` the lowest version it offers (default
 * 1). `--force` sends SCAN even on a connection that negotiated version 1
 * (to show what a server does with it); `--hex` prints every frame sent and
 * every payload received in hex. Exit status: 0, 1 on a connection or
 * protocol error, 2 on bad usage, 3 when no common version exists. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kv.h"

typedef struct client {
  int fd;
  const kv_proto *proto;
  unsigned min;
  uint8_t version; /* negotiated */
  bool force;
  bool hex;
  rv_frame_decoder dec;
  uint8_t in[4096];
  size_t in_off, in_len; /* received bytes not yet fed to the decoder */
  uint8_t dbuf[RV_FRAME_BUFFER_SIZE(KV_MAX_PAYLOAD)];
  uint8_t out[RV_FRAME_BUFFER_SIZE(KV_MAX_PAYLOAD)];
} client;

static void print_hex(const char *prefix, rv_slice b) {
  printf("%s", prefix);
  for (size_t i = 0; i < b.len; i++) {
    printf("%02x", b.ptr[i]);
  }
  putchar('\n');
}

/* Close the frame in \p w and send it: 0, 1 if it could not be encoded
 * (nothing sent, the connection is fine), or a negative code if sending
 * failed. */
static int send_frame(client *cl, rv_frame_writer *w) {
  rv_slice f;
  int rc = rv_frame_end(w, &f);
  if (rc != 0) {
    printf("error: cannot encode the request: %s\n", rv_strerror(rc));
    return 1;
  }
  if (cl->hex) {
    print_hex("> ", f);
  }
  size_t off = 0;
  while (off < f.len) {
    ssize_t n = send(cl->fd, f.ptr + off, f.len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      printf("error: send: %s\n", strerror(errno));
      return RV_EIO;
    }
    off += (size_t)n;
  }
  return 0;
}

/* The next frame from the server; its payload is valid until the next call. */
static int recv_frame(client *cl, rv_frame *f) {
  for (;;) {
    if (cl->in_off < cl->in_len) {
      size_t used = 0;
      rv_diag d = {0};
      int rc = rv_frame_decoder_feed(&cl->dec, cl->in + cl->in_off, cl->in_len - cl->in_off, &used,
                                     f, &d);
      cl->in_off += used;
      if (rc == 0) {
        if (cl->hex) {
          printf("< type %u: ", f->type);
          print_hex("", f->payload);
        }
        return 0;
      }
      if (rc != RV_EAGAIN) {
        printf("error: bad frame from the server: %s (%s)\n", rv_strerror(rc),
               d.msg != NULL ? d.msg : "");
        return rc;
      }
    }
    ssize_t n = recv(cl->fd, cl->in, sizeof cl->in, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      printf("error: the server closed the connection\n");
      return RV_ECLOSED;
    }
    cl->in_off = 0;
    cl->in_len = (size_t)n;
  }
}

static void decoder_for(client *cl, uint8_t version) {
  rv_frame_limits lim = rv_frame_limits_default();
  lim.max_payload = KV_MAX_PAYLOAD;
  lim.min_version = version;
  lim.max_version = version;
  (void)rv_frame_decoder_init(&cl->dec, cl->dbuf, sizeof cl->dbuf, &lim);
}

/* HELLO -> HELLO_ACK. Returns 0, 3 (no common version) or 1. */
static int hello(client *cl) {
  char node[32];
  snprintf(node, sizeof node, "kv-client/v%u", cl->proto->version);
  rv_frame_writer w;
  rv_frame_writer_init(&w, cl->out, sizeof cl->out);
  rv_frame_begin(&w, 1, RV_FRAME_TYPE_HELLO, 0);
  rv_frame_put_uint(&w, 1, cl->min);
  rv_frame_put_uint(&w, 2, cl->proto->version);
  rv_frame_put_bytes(&w, 3, node, strlen(node));
  decoder_for(cl, 1);
  rv_frame f;
  if (send_frame(cl, &w) != 0 || recv_frame(cl, &f) != 0) {
    return 1;
  }
  rv_frame_value vals[8];
  rv_frame_msg m;
  rv_diag d = {0};
  if (f.type != RV_FRAME_TYPE_HELLO_ACK ||
      rv_frame_msg_decode(&m, &rv_frame_hello_ack_schema, f.payload, vals, 8, NULL, &d) != 0) {
    printf("error: expected HELLO_ACK, got type %u (%s)\n", f.type, d.msg != NULL ? d.msg : "");
    return 1;
  }
  uint64_t err = 0;
  uint64_t lo = 0;
  uint64_t hi = 0;
  uint64_t v = 0;
  if (rv_frame_msg_get_u64(&m, 2, &err) == 0 && err == RV_FRAME_HELLO_UNSUPPORTED) {
    (void)rv_frame_msg_get_u64(&m, 3, &lo);
    (void)rv_frame_msg_get_u64(&m, 4, &hi);
    printf("error: no common protocol version: this client speaks %u..%u, the server %llu..%llu\n",
           cl->min, cl->proto->version, (unsigned long long)lo, (unsigned long long)hi);
    return 3;
  }
  if (rv_frame_msg_get_u64(&m, 1, &v) != 0 || v < cl->min || v > cl->proto->version) {
    printf("error: the server chose version %llu, outside %u..%u\n", (unsigned long long)v, cl->min,
           cl->proto->version);
    return 1;
  }
  cl->version = (uint8_t)v;
  decoder_for(cl, cl->version);
  printf("connected: protocol v%u (this client speaks %u..%u)\n", cl->version, cl->min,
         cl->proto->version);
  return 0;
}

/* Wait for the RESPONSE and print it. */
static int response(client *cl) {
  rv_frame f;
  int rc = recv_frame(cl, &f);
  if (rc != 0) {
    return rc;
  }
  const rv_frame_schema *schema = kv_schema_for(cl->proto, f.type, cl->version);
  if (f.type != KV_T_RESPONSE || schema == NULL) {
    printf("error: unexpected message type %u from the server\n", f.type);
    return RV_EMALFORMED;
  }
  rv_frame_value vals[KV_MAX_VALUES];
  rv_frame_msg m;
  rv_diag d = {0};
  uint64_t status = 0;
  rc = rv_frame_msg_decode(&m, schema, f.payload, vals, KV_MAX_VALUES, NULL, &d);
  if (rc != 0) {
    /* Reported and skipped: the connection stays usable. */
    printf("error: malformed response (%s at byte %zu)\n", d.msg, d.offset);
    return 0;
  }
  (void)rv_frame_msg_get_u64(&m, KV_F_RESP_STATUS, &status);
  printf("%s", kv_status_name(status));
  if (m.count > 1) {
    putchar(' ');
    (void)kv_print_msg(stdout, schema, f.payload, KV_F_RESP_STATUS);
  }
  putchar('\n');
  return 0;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len) {
  size_t n = strlen(s);
  if (n % 2 != 0 || n / 2 > cap) {
    return RV_EINVAL;
  }
  for (size_t i = 0; i < n / 2; i++) {
    int hi = nibble(s[2 * i]);
    int lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return RV_EINVAL;
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  *len = n / 2;
  return 0;
}

/* Run one command; returns 0, or nonzero when the connection is unusable. */
static int command(client *cl, int argc, char **argv) {
  rv_frame_writer w;
  rv_frame_writer_init(&w, cl->out, sizeof cl->out);
  const char *cmd = argv[0];
  if ((strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0) && argc == 2) {
    rv_frame_begin(&w, cl->version, cmd[0] == 'g' ? KV_T_GET : KV_T_DELETE, 0);
    rv_frame_put_bytes(&w, KV_F_GET_KEY, argv[1], strlen(argv[1]));
  } else if (strcmp(cmd, "put") == 0 && (argc == 3 || argc == 4)) {
    if (argc == 4 && !kv_knows(cl->proto->record, KV_F_REC_TTL)) {
      printf("error: put: a TTL needs protocol v2 (this client implements v%u)\n",
             cl->proto->version);
      return 0;
    }
    rv_frame_begin(&w, cl->version, KV_T_PUT, 0);
    rv_frame_put_bytes(&w, KV_F_REC_KEY, argv[1], strlen(argv[1]));
    rv_frame_put_bytes(&w, KV_F_REC_VALUE, argv[2], strlen(argv[2]));
    if (argc == 4) {
      rv_frame_put_uint(&w, KV_F_REC_TTL, strtoull(argv[3], NULL, 10));
      if (cl->version < 2) {
        printf("note: a v1 server keeps ttl_ms with the record but does not expire it\n");
      }
    }
  } else if (strcmp(cmd, "scan") == 0 && argc <= 3) {
    if (cl->proto->types[KV_T_SCAN] == NULL) {
      printf("error: scan: not part of protocol v%u (this client)\n", cl->proto->version);
      return 0;
    }
    if (kv_schema_for(cl->proto, KV_T_SCAN, cl->version) == NULL && !cl->force) {
      printf("error: scan: not supported by this server (protocol v%u negotiated)\n", cl->version);
      return 0;
    }
    rv_frame_begin(&w, cl->version, KV_T_SCAN, 0);
    if (argc >= 2) {
      rv_frame_put_bytes(&w, KV_F_SCAN_PREFIX, argv[1], strlen(argv[1]));
    }
    if (argc == 3) {
      rv_frame_put_uint(&w, KV_F_SCAN_LIMIT, strtoull(argv[2], NULL, 10));
    }
  } else if (strcmp(cmd, "raw") == 0 && argc == 3) {
    static uint8_t payload[KV_MAX_PAYLOAD];
    size_t n = 0;
    unsigned long type = strtoul(argv[1], NULL, 10);
    if (type == 0 || type > 255 || parse_hex(argv[2], payload, sizeof payload, &n) != 0) {
      printf("error: raw: TYPE is 1-255, the payload an even number of hex digits\n");
      return 0;
    }
    rv_frame_begin(&w, cl->version, (uint8_t)type, 0);
    rv_frame_put_raw(&w, (rv_slice){payload, n});
  } else {
    printf("error: usage: get KEY | put KEY VALUE [TTL_MS] | del KEY | scan [PREFIX [LIMIT]] | "
           "raw TYPE HEX\n");
    return 0;
  }
  int rc = send_frame(cl, &w);
  if (rc == 1) {
    return 0; /* not sent: no answer to wait for */
  }
  return rc != 0 ? rc : response(cl);
}

static int connect_to(const char *host, uint16_t port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "kv-client: bad IPv4 address '%s'\n", host);
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("kv-client: socket");
    return -1;
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    fprintf(stderr, "kv-client: connect %s:%u: %s\n", host, port, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s --protocol 1|2 [--min N] [-h host] [-p port] [--force] [--hex] "
          "[COMMAND [ARG...]]\n",
          argv0);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"protocol", required_argument, NULL, 'P'},
                                       {"min", required_argument, NULL, 'm'},
                                       {"host", required_argument, NULL, 'h'},
                                       {"port", required_argument, NULL, 'p'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"hex", no_argument, NULL, 'x'},
                                       {NULL, 0, NULL, 0}};
  static client cl; /* ~33 KiB of buffers: not on the stack */
  const char *host = "127.0.0.1";
  uint16_t port = 7171;
  cl.min = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, "+P:m:h:p:fx", opts, NULL)) != -1) {
    switch (opt) {
    case 'P':
      cl.proto = kv_proto_get((unsigned)strtoul(optarg, NULL, 10));
      break;
    case 'm':
      cl.min = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'h':
      host = optarg;
      break;
    case 'p':
      port = (uint16_t)strtoul(optarg, NULL, 10);
      break;
    case 'f':
      cl.force = true;
      break;
    case 'x':
      cl.hex = true;
      break;
    default:
      usage(argv[0]);
      return 2;
    }
  }
  if (cl.proto == NULL || cl.min < 1 || cl.min > 255) {
    usage(argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  cl.fd = connect_to(host, port);
  if (cl.fd < 0) {
    return 1;
  }
  int status = hello(&cl);
  if (status == 0 && optind < argc) {
    status = command(&cl, argc - optind, argv + optind) != 0;
  } else if (status == 0) {
    char line[1024];
    while (status == 0 && fgets(line, sizeof line, stdin) != NULL) {
      char *args[8];
      int n = 0;
      char *save = NULL;
      for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL && n < 8;
           t = strtok_r(NULL, " \t\r\n", &save)) {
        args[n++] = t;
      }
      if (n > 0 && args[0][0] != '#') {
        status = command(&cl, n, args) != 0;
      }
    }
  }
  close(cl.fd);
  return status;
}
