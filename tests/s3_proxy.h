/* s3_proxy.h - a loopback TCP proxy in front of the S3 server (radosgw) for
 * fault tests: test_objstore_s3.c (store level) and test_shard_writer_s3.c
 * (ShardWriter level). The client points its endpoint at
 * http://127.0.0.1:<proxy.port>; each accepted connection gets its own
 * upstream connection and a detached thread relaying both ways.
 *
 * Faults apply per request (a read from the client that starts with an HTTP
 * method: our client sends one request at a time per connection):
 *   drop     - forward the whole request, wait for the server's answer, then
 *              close both connections without relaying it: the server applied
 *              the request, the client never learns (the "lost response");
 *   cut      - forward the headers and half of the body (half of the headers
 *              when there is no body), then close both: the server never saw
 *              a complete request and applies nothing ("mid-body" drop);
 *   fake503  - answer 503 SlowDown without forwarding;
 *   fake409  - answer 409 ConditionalRequestConflict without forwarding (S3's
 *              answer to a conditional PUT racing another one on the key);
 *   delay    - (PUT requests only, counter delay_put) read the whole request,
 *              hold it for delay_ms, THEN forward it and read the server's
 *              answer (its status goes to last_delayed_status, and
 *              delayed_answered counts it): a client whose deadline is
 *              shorter has given up by then, and its request still lands
 *              late ("the outcome is unknown and may still take effect").
 * Counters arm one-shot faults for the next requests (drop, cut, fake503,
 * fake409, delay_put);
 * drop_every / cut_every fault every n-th request (by proxy request number)
 * until set back to 0. */
#ifndef MW_S3_PROXY_H
#define MW_S3_PROXY_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct proxy {
  int lfd;
  int port;
  struct sockaddr_in up;
  pthread_t acceptor;
  atomic_int stop;
  atomic_int active;      /* connection threads still running */
  atomic_int drop;        /* one-shot: responses still to drop */
  atomic_int cut;         /* one-shot: requests still to cut mid-body */
  atomic_int fake503;     /* one-shot: requests still to answer with 503 */
  atomic_int drop_every;  /* periodic: drop the response of every n-th request */
  atomic_int cut_every;   /* periodic: cut every n-th request */
  atomic_int fake409;     /* one-shot: requests still to answer with 409 */
  atomic_int delay_put;   /* one-shot: PUT requests still to hold */
  atomic_int delay_ms;    /* how long a held PUT waits before it is sent */
  atomic_int dropped, cutn, faked, requests;
  atomic_int delayed_answered;    /* held PUTs the server has answered */
  atomic_int last_delayed_status; /* the HTTP status of the last such answer */
} proxy;

typedef struct px_conn {
  proxy *p;
  int cfd;
} px_conn;

static int px_send_all(int fd, const char *b, size_t n) {
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int px_starts_request(const char *b, ssize_t n) {
  static const char *const m[] = {"GET ", "PUT ", "HEAD ", "DELETE ", "POST "};
  for (int i = 0; i < 5; i++) {
    size_t l = strlen(m[i]);
    if ((size_t)n >= l && !memcmp(b, m[i], l)) return 1;
  }
  return 0;
}

/* Takes one from a one-shot counter if it is positive. */
static int px_take(atomic_int *c) {
  int v = atomic_load(c);
  while (v > 0 && !atomic_compare_exchange_weak(c, &v, v - 1)) {
  }
  return v > 0;
}

/* How many bytes of a request to forward before cutting it: headers + half
 * the body (Content-Length), or half the headers without a body or when the
 * headers did not arrive in this first read. */
static size_t px_cut_point(const char *b, size_t n) {
  const char *end = NULL;
  for (size_t i = 0; i + 3 < n; i++)
    if (!memcmp(b + i, "\r\n\r\n", 4)) {
      end = b + i + 4;
      break;
    }
  if (!end) return n / 2 ? n / 2 : 1;
  size_t hl = (size_t)(end - b);
  unsigned long cl = 0;
  for (const char *p = b; p < end; p++) {
    if ((p == b || p[-1] == '\n') && (size_t)(end - p) > 15 && !strncasecmp(p, "content-length:", 15)) {
      cl = strtoul(p + 15, NULL, 10);
      break;
    }
  }
  return cl >= 2 ? hl + cl / 2 : hl / 2;
}

/* Total length of the request starting in b[0, n) (headers + Content-Length
 * body), or 0 while the headers are incomplete. */
static size_t px_request_len(const char *b, size_t n) {
  for (size_t i = 0; i + 3 < n; i++)
    if (!memcmp(b + i, "\r\n\r\n", 4)) {
      size_t hl = i + 4;
      unsigned long cl = 0;
      for (size_t j = 0; j < hl; j++)
        if ((j == 0 || b[j - 1] == '\n') && hl - j > 15 && !strncasecmp(b + j, "content-length:", 15)) {
          cl = strtoul(b + j + 15, NULL, 10);
          break;
        }
      return hl + cl;
    }
  return 0;
}

/* The delay fault: buf[0, n) starts a PUT; read the rest of it from the
 * client, hold it, forward it, read the server's answer. Returns when done
 * (the caller closes both connections). */
static void px_delay(proxy *p, int cfd, int ufd, char *buf, size_t cap, size_t n) {
  size_t want;
  while ((want = px_request_len(buf, n)) == 0 || n < want) {
    if (n >= cap) return;
    struct pollfd pf = {cfd, POLLIN, 0};
    if (poll(&pf, 1, 2000) <= 0) return;
    ssize_t r = recv(cfd, buf + n, cap - n, 0);
    if (r <= 0) return;
    n += (size_t)r;
  }
  for (int waited = 0; waited < atomic_load(&p->delay_ms) && !atomic_load(&p->stop); waited += 10)
    usleep(10000);
  if (px_send_all(ufd, buf, n) != 0) return;
  struct pollfd pf = {ufd, POLLIN, 0};
  if (poll(&pf, 1, 10000) <= 0) return;
  char resp[256];
  ssize_t r = recv(ufd, resp, sizeof resp - 1, 0);
  if (r <= 0) return;
  resp[r] = '\0';
  int status = 0;
  if (sscanf(resp, "HTTP/1.%*d %d", &status) == 1) atomic_store(&p->last_delayed_status, status);
  atomic_fetch_add(&p->delayed_answered, 1);
  px_send_all(cfd, resp, (size_t)r); /* the client has usually gone */
}

static void *px_conn_main(void *arg) {
  px_conn *c = arg;
  proxy *p = c->p;
  int cfd = c->cfd;
  free(c);
  int ufd = socket(AF_INET, SOCK_STREAM, 0);
  if (ufd < 0 || connect(ufd, (struct sockaddr *)&p->up, sizeof p->up) != 0) {
    if (ufd >= 0) close(ufd);
    close(cfd);
    atomic_fetch_sub(&p->active, 1);
    return NULL;
  }
  char buf[65536];
  int drop_this = 0, cut_this = 0;
  size_t cut_left = 0; /* bytes still to forward before the cut */
  while (!atomic_load(&p->stop)) {
    struct pollfd pf[2] = {{cfd, POLLIN, 0}, {ufd, POLLIN, 0}};
    int r = poll(pf, 2, 100);
    if (r < 0) break;
    if (r == 0) continue;
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(cfd, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (px_starts_request(buf, n)) {
        int num = atomic_fetch_add(&p->requests, 1) + 1;
        int f409 = 0;
        if (px_take(&p->fake503) || (f409 = px_take(&p->fake409))) {
          static const char body503[] =
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
              "<Message>Please reduce your request rate.</Message></Error>";
          static const char body409[] =
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ConditionalRequestConflict"
              "</Code><Message>A conflicting conditional action is currently in progress against "
              "this resource. Try again.</Message></Error>";
          const char *body = f409 ? body409 : body503;
          char resp[600];
          int rl = snprintf(resp, sizeof resp,
                            "HTTP/1.1 %s\r\nContent-Type: application/xml\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                            f409 ? "409 Conflict" : "503 Service Unavailable", strlen(body), body);
          atomic_fetch_add(&p->faked, 1);
          px_send_all(cfd, resp, (size_t)rl);
          break;
        }
        if (n >= 4 && !memcmp(buf, "PUT ", 4) && px_take(&p->delay_put)) {
          px_delay(p, cfd, ufd, buf, sizeof buf, (size_t)n);
          break;
        }
        int ce = atomic_load(&p->cut_every), de = atomic_load(&p->drop_every);
        if (px_take(&p->cut) || (ce > 0 && num % ce == 0)) {
          cut_this = 1;
          cut_left = px_cut_point(buf, (size_t)n);
        } else if (px_take(&p->drop) || (de > 0 && num % de == 0)) {
          drop_this = 1;
        }
      }
      if (cut_this) {
        size_t k = (size_t)n < cut_left ? (size_t)n : cut_left;
        if (px_send_all(ufd, buf, k) != 0) break;
        cut_left -= k;
        if (cut_left == 0) {
          atomic_fetch_add(&p->cutn, 1);
          break; /* the request is incomplete upstream: close both */
        }
        continue;
      }
      if (px_send_all(ufd, buf, (size_t)n) != 0) break;
    }
    if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(ufd, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (drop_this) break; /* the server answered: lose the answer */
      if (px_send_all(cfd, buf, (size_t)n) != 0) break;
    }
  }
  /* armed: the request went out, no answer came back (usually the server
   * answered and we lost it; it may also have closed a stale connection) */
  if (drop_this) atomic_fetch_add(&p->dropped, 1);
  close(ufd);
  close(cfd);
  atomic_fetch_sub(&p->active, 1);
  return NULL;
}

static void *px_accept_main(void *arg) {
  proxy *p = arg;
  while (!atomic_load(&p->stop)) {
    struct pollfd pf = {p->lfd, POLLIN, 0};
    if (poll(&pf, 1, 100) <= 0) continue;
    int cfd = accept(p->lfd, NULL, NULL);
    if (cfd < 0) continue;
    px_conn *c = malloc(sizeof *c);
    c->p = p;
    c->cfd = cfd;
    pthread_t t;
    atomic_fetch_add(&p->active, 1);
    if (pthread_create(&t, NULL, px_conn_main, c) == 0) {
      pthread_detach(t);
    } else {
      atomic_fetch_sub(&p->active, 1);
      close(cfd);
      free(c);
    }
  }
  return NULL;
}

/* Starts a proxy to the host:port of AWS_ENDPOINT (http://127.0.0.1:P). */
static int proxy_start(proxy *p) {
  memset(p, 0, sizeof *p);
  const char *ep = getenv("AWS_ENDPOINT");
  int uport = 0;
  if (!ep || sscanf(ep, "http://127.0.0.1:%d", &uport) != 1) {
    fprintf(stderr, "proxy: AWS_ENDPOINT must be http://127.0.0.1:PORT (is %s)\n", ep ? ep : "unset");
    return -1;
  }
  p->up.sin_family = AF_INET;
  p->up.sin_port = htons((uint16_t)uport);
  p->up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  p->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->lfd, 64) != 0 ||
      getsockname(p->lfd, (struct sockaddr *)&a, &al) != 0)
    return -1;
  p->port = ntohs(a.sin_port);
  return pthread_create(&p->acceptor, NULL, px_accept_main, p) == 0 ? 0 : -1;
}

/* Stops accepting, then waits for every connection thread (each notices
 * `stop` within 100 ms). */
static void proxy_stop(proxy *p) {
  atomic_store(&p->stop, 1);
  pthread_join(p->acceptor, NULL);
  while (atomic_load(&p->active) > 0) usleep(10000);
  close(p->lfd);
}

#endif /* MW_S3_PROXY_H */
