/*
 * objstore_s3.c - s3://bucket/prefix: Amazon S3 or any S3-compatible server
 * (tested on Ceph radosgw) over libcurl.
 *
 * Mapping: key K is the object "<prefix>/K" of the bucket. Requests:
 *   put            PUT                                (200)
 *   put_if_absent  PUT + If-None-Match: *             (412 = exists; 409
 *                  ConditionalRequestConflict = a concurrent conditional
 *                  write is in progress: retried like a 503)
 *   get            GET [+ Range: bytes=a-b]           (200/206; 416 = empty)
 *   head           HEAD                               (404 = not found)
 *   list           GET ?list-type=2&prefix=..         (ListObjectsV2, paged
 *                  with continuation-token; the XML is parsed here)
 *   del            DELETE                             (204/200/404 all ok)
 * Authentication is SigV4 by libcurl (CURLOPT_AWS_SIGV4). libcurl 7.88 signs
 * the URL exactly as given, so we pre-encode: key segments URI-encoded ('/'
 * kept), query parameters sorted by name with '/' as %2F. We send the real
 * payload hash in x-amz-content-sha256: the signature then covers the body
 * and the server refuses a body damaged in transit.
 *
 * Configuration: options fields, else the environment variables that Lance
 * uses (AWS_ENDPOINT, AWS_REGION, ...; see memwal.h). Plain http endpoints
 * are refused unless allowed (AWS_ALLOW_HTTP=true). Path-style addressing
 * (endpoint/bucket/key) when an endpoint is given, virtual-hosted
 * (bucket.s3.region.amazonaws.com) for AWS, unless configured otherwise.
 *
 * Connections: a small pool of curl easy handles (each keeps its own
 * keep-alive connections; a handle is used by one thread at a time) sharing
 * a DNS cache. libcurl cannot share a connection cache between concurrent
 * threads, hence the pool.
 *
 * Retries: connection errors, timeouts, 5xx, 429 and 408 (and 409 for
 * put_if_absent) are retried with jittered exponential backoff (100 ms
 * doubling, capped at 2 s, at most max_attempts tries within ~10 s).
 *
 * Deadline: every request (all its attempts and backoff) ends by
 * s3_request_timeout_ms (default 30 s): each attempt gets what is left as
 * its curl timeout. A write (PUT, DELETE) that ends without a definitive
 * answer - the deadline hit while it was in flight, or its last attempt
 * failed in transport after an earlier attempt may have reached the
 * server, or any attempt may have reached the server and the last answer
 * is an error - returns MW_ERR_TIMEOUT "outcome unknown": the server may
 * still apply it later (memwal_sys.h's contract), so the caller must not
 * treat it as a clean failure. Reads that time out return MW_ERR_TIMEOUT
 * too (harmless).
 *
 * Plain put, get, head, list and delete
 * are idempotent. put_if_absent is not: if an earlier attempt may have
 * reached the server (its response was lost, or a 5xx) and a later attempt
 * gets 412, that 412 may be our own write. We then read the object back:
 * the same bytes = our write (MW_OK), different bytes = someone else's
 * (MW_ERR_ALREADY_EXISTS). (Identical bytes written by another writer are
 * indistinguishable, and equivalent for every memwal object.)
 *
 * Errors name the operation, the key, the HTTP status and S3's error code
 * and message from the XML body. Every byte from the server is hostile:
 * the XML scanner is bounds-checked and decodes entities strictly.
 */
#include "objstore/objstore_s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/sha256.h"
#include "memwal_sys.h"
#include "objstore/objstore.h"

#define POOL_MAX 16
#define RETRY_BASE_MS 100
#define RETRY_CAP_MS 2000
#define RETRY_BUDGET_MS 10000
#define DEFAULT_ATTEMPTS 5
#define DEFAULT_REQUEST_TIMEOUT_MS 30000

typedef struct s3_store {
  char *bucket;
  char *prefix; /* "" or ends with '/' */
  size_t prefix_len;
  char *base;      /* objects: base + "/" + encoded key */
  char *list_base; /* ListObjectsV2: list_base + "?" + query */
  char *sigv4;     /* "aws:amz:REGION:s3", NULL = anonymous */
  char *userpwd;   /* "AK:SK" */
  char *token_hdr; /* "x-amz-security-token: ..." or NULL */
  int max_attempts;
  long connect_timeout_ms;
  long request_timeout_ms; /* overall deadline of one request */
  int list_max_keys;
  pthread_mutex_t pool_mu;
  CURL *pool[POOL_MAX];
  int npool;
  CURLSH *share;
  pthread_mutex_t share_mu; /* one lock for the shared DNS cache */
} s3_store;

/* ------------------------------------------------------------ small helpers */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc;
static void curl_init_once(void) { g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static char *aprintf(const char *fmt, ...) MW_PRINTF(1, 2);
static char *aprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *d = malloc((size_t)n + 1);
  if (!d) return NULL;
  va_start(ap, fmt);
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return d;
}

/* First non-empty environment variable of the NULL-terminated list. */
static const char *env_first(const char *a, const char *b) {
  const char *v = getenv(a);
  if (v && v[0]) return v;
  if (b) {
    v = getenv(b);
    if (v && v[0]) return v;
  }
  return NULL;
}

/* Boolean environment variable: -1 unset, 0/1, -2 unparseable. */
static int env_bool(const char *name) {
  const char *v = getenv(name);
  if (!v || !v[0]) return -1;
  if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
    return 1;
  if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
    return 0;
  return -2;
}

/* S3 URI-encoding: unreserved characters as is, '/' as is when keep_slash,
 * everything else %XX (upper case), as SigV4 canonicalisation expects. */
static void uri_encode(mw_buf *b, const char *s, int keep_slash) {
  static const char hx[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
      mw_buf_u8(b, c);
    } else {
      char e[3] = {'%', hx[c >> 4], hx[c & 15]};
      mw_buf_append(b, e, 3);
    }
  }
}

/* malloc'ed URL of the object for a relative key. */
static char *object_url(const s3_store *s, const char *key) {
  mw_buf b;
  mw_buf_init(&b);
  mw_buf_append(&b, s->base, strlen(s->base));
  mw_buf_u8(&b, '/');
  uri_encode(&b, s->prefix, 1);
  uri_encode(&b, key, 1);
  mw_buf_u8(&b, 0);
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return NULL;
  }
  size_t n;
  return (char *)mw_buf_take(&b, &n);
}

/* ------------------------------------------------------------ XML scanning */

/* Finds <tag>value</tag> in xml[from, len): value span in *vs and *vl, returns
 * the offset just after the closing tag, or 0 if not found. Tags with
 * attributes or namespaces are not used by the elements we read. */
static size_t xml_find(const char *xml, size_t len, size_t from, const char *tag, size_t *vs,
                       size_t *vl) {
  char open[64], close[64];
  int no = snprintf(open, sizeof open, "<%s>", tag);
  int nc = snprintf(close, sizeof close, "</%s>", tag);
  if (no <= 0 || nc <= 0 || (size_t)no >= sizeof open || from > len) return 0;
  const char *o = memmem(xml + from, len - from, open, (size_t)no);
  if (!o) return 0;
  size_t start = (size_t)(o - xml) + (size_t)no;
  const char *c = memmem(xml + start, len - start, close, (size_t)nc);
  if (!c) return 0;
  *vs = start;
  *vl = (size_t)(c - xml) - start;
  return (size_t)(c - xml) + (size_t)nc;
}

static void utf8_put(mw_buf *b, uint32_t cp) {
  if (cp < 0x80) {
    mw_buf_u8(b, (uint8_t)cp);
  } else if (cp < 0x800) {
    mw_buf_u8(b, (uint8_t)(0xC0 | (cp >> 6)));
    mw_buf_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    mw_buf_u8(b, (uint8_t)(0xE0 | (cp >> 12)));
    mw_buf_u8(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
    mw_buf_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
  } else {
    mw_buf_u8(b, (uint8_t)(0xF0 | (cp >> 18)));
    mw_buf_u8(b, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
    mw_buf_u8(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
    mw_buf_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
  }
}

/* Decodes the XML text s[0, n) (entities &amp; &lt; &gt; &quot; &apos;
 * &#N; &#xH;) into a malloc'ed C string. Returns the byte offset of the bad
 * entity + 1 on failure (0 = ok, SIZE_MAX = out of memory). */
static size_t xml_text(char **out, const char *s, size_t n) {
  mw_buf b;
  mw_buf_init(&b);
  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\0') {
      mw_buf_free(&b);
      return i + 1;
    }
    if (s[i] != '&') {
      mw_buf_u8(&b, (uint8_t)s[i]);
      continue;
    }
    const char *semi = memchr(s + i, ';', n - i);
    if (!semi || semi - (s + i) > 12) {
      mw_buf_free(&b);
      return i + 1;
    }
    size_t el = (size_t)(semi - (s + i)) - 1; /* entity name length */
    const char *e = s + i + 1;
    if (el == 3 && !memcmp(e, "amp", 3)) mw_buf_u8(&b, '&');
    else if (el == 2 && !memcmp(e, "lt", 2)) mw_buf_u8(&b, '<');
    else if (el == 2 && !memcmp(e, "gt", 2)) mw_buf_u8(&b, '>');
    else if (el == 4 && !memcmp(e, "quot", 4)) mw_buf_u8(&b, '"');
    else if (el == 4 && !memcmp(e, "apos", 4)) mw_buf_u8(&b, '\'');
    else if (el >= 2 && e[0] == '#') {
      int hex = e[1] == 'x' || e[1] == 'X';
      uint32_t cp = 0;
      size_t j = hex ? 2 : 1;
      if (j >= el) {
        mw_buf_free(&b);
        return i + 1;
      }
      for (; j < el; j++) {
        char c = e[j];
        int d = (c >= '0' && c <= '9') ? c - '0'
                : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                : -1;
        if (d < 0 || cp > 0x10FFFF) {
          mw_buf_free(&b);
          return i + 1;
        }
        cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
      }
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        mw_buf_free(&b);
        return i + 1;
      }
      utf8_put(&b, cp);
    } else {
      mw_buf_free(&b);
      return i + 1;
    }
    i += el + 1;
  }
  mw_buf_u8(&b, 0);
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return SIZE_MAX;
  }
  size_t len;
  *out = (char *)mw_buf_take(&b, &len);
  return 0;
}

/* "<Code>X</Code>" and "<Message>Y</Message>" of an error body, formatted
 * as " X: Y" into buf (empty if the body has none). */
static void s3_error_text(char *buf, size_t cap, const mw_buf *body) {
  buf[0] = '\0';
  const char *x = (const char *)body->data;
  size_t n = body->len, vs, vl, ms = 0, ml = 0;
  if (!x || !xml_find(x, n, 0, "Code", &vs, &vl)) return;
  int has_msg = xml_find(x, n, 0, "Message", &ms, &ml) != 0;
  if (vl > 64) vl = 64;
  if (ml > 160) ml = 160;
  if (has_msg && ml)
    snprintf(buf, cap, " %.*s: %.*s", (int)vl, x + vs, (int)ml, x + ms);
  else
    snprintf(buf, cap, " %.*s", (int)vl, x + vs);
  for (char *p = buf; *p; p++)
    if ((unsigned char)*p < 0x20) *p = ' ';
}

/* ------------------------------------------------------------ handle pool */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u) {
  pthread_mutex_lock(&((s3_store *)u)->share_mu);
}
static void share_unlock(CURL *h, curl_lock_data d, void *u) {
  pthread_mutex_unlock(&((s3_store *)u)->share_mu);
}

static CURL *pool_take(s3_store *s) {
  CURL *h = NULL;
  pthread_mutex_lock(&s->pool_mu);
  if (s->npool > 0) h = s->pool[--s->npool];
  pthread_mutex_unlock(&s->pool_mu);
  return h ? h : curl_easy_init();
}

/* A handle goes back with its live connections (curl_easy_reset keeps
 * them); a handle that failed at the transport level is dropped instead. */
static void pool_give(s3_store *s, CURL *h, int broken) {
  if (!h) return;
  if (!broken) {
    curl_easy_reset(h);
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool < POOL_MAX) {
      s->pool[s->npool++] = h;
      h = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
  }
  if (h) curl_easy_cleanup(h);
}

/* ------------------------------------------------------------ requests */

typedef struct s3_req {
  const char *method; /* GET PUT HEAD DELETE */
  const char *op;     /* for messages */
  const char *key;    /* for messages (relative key or list prefix) */
  const char *url;
  const void *body; /* PUT */
  size_t body_len;
  const char *hdr[2]; /* extra headers (NULL = none) */
  int retry_409;      /* 409 is retryable (conditional PUT) */
} s3_req;

typedef struct s3_resp {
  long status;
  mw_buf body;
  curl_off_t content_length; /* -1 unknown */
  int attempts;
  int uncertain; /* an earlier attempt may have reached the server */
  int timed_out; /* the deadline hit while an attempt was in flight */
} s3_resp;

static size_t on_write(char *p, size_t sz, size_t n, void *u) {
  mw_buf *b = u;
  mw_buf_append(b, p, sz * n);
  return mw_buf_ok(b) ? sz * n : 0; /* 0 aborts: out of memory */
}

/* libcurl silently resends a request once when a reused keep-alive
 * connection turns out dead before any response byte arrived - exactly the
 * "response lost" case. Counting the request heads it sends (the debug
 * callback sees each) tells us the request may have been applied twice. */
typedef struct send_count {
  const char *method;
  size_t mlen;
  int heads;
} send_count;

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *u) {
  send_count *c = u;
  if (type == CURLINFO_HEADER_OUT && size > c->mlen && !memcmp(data, c->method, c->mlen) &&
      data[c->mlen] == ' ')
    c->heads++;
  return 0;
}

static _Thread_local uint64_t t_rng;
static atomic_uint_fast64_t g_rng_seed = 0x9E3779B97F4A7C15u;

static uint64_t rng_next(void) {
  if (!t_rng) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t_rng = atomic_fetch_add(&g_rng_seed, 0x9E3779B97F4A7C15u) ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)(uintptr_t)&ts << 7);
    if (!t_rng) t_rng = 1;
  }
  t_rng ^= t_rng << 13;
  t_rng ^= t_rng >> 7;
  t_rng ^= t_rng << 17;
  return t_rng;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int retryable_status(long st) {
  return st == 408 || st == 429 || (st >= 500 && st <= 599);
}

/* Performs one request with retries. MW_OK when some HTTP response arrived
 * (the caller judges resp->status; a retryable status is returned once the
 * attempts are used up); MW_ERR_IO/MW_ERR_TIMEOUT/MW_ERR_NOMEM when none did. */
static mw_status perform(s3_store *s, const s3_req *rq, s3_resp *rs, mw_error *err) {
  char sha[MW_SHA256_HEX_LEN + 1], sha_hdr[100];
  mw_sha256_hex(sha, rq->body, rq->body_len);
  snprintf(sha_hdr, sizeof sha_hdr, "x-amz-content-sha256: %s", sha);
  struct curl_slist *hl = NULL, *t;
  int nomem = 0;
#define ADD_HDR(h)                        \
  do {                                    \
    t = curl_slist_append(hl, (h));       \
    if (!t) nomem = 1;                    \
    else hl = t;                          \
  } while (0)
  ADD_HDR(sha_hdr);
  if (s->token_hdr) ADD_HDR(s->token_hdr);
  if (!strcmp(rq->method, "PUT")) {
    /* (No "Expect:" to suppress 100-continue: libcurl 7.88 signs the empty
     * header it then does not send, and the signature fails.) */
    ADD_HDR("Content-Type: application/octet-stream");
  }
  for (int i = 0; i < 2; i++)
    if (rq->hdr[i]) ADD_HDR(rq->hdr[i]);
#undef ADD_HDR
  if (nomem) {
    curl_slist_free_all(hl);
    return mw_err(err, MW_ERR_NOMEM, "%s '%s': out of memory", rq->op, rq->key);
  }

  mw_buf_init(&rs->body);
  rs->status = 0;
  rs->attempts = 0;
  rs->uncertain = 0;
  rs->timed_out = 0;
  rs->content_length = -1;
  int64_t start = now_ms(), deadline = start + s->request_timeout_ms;
  long backoff = RETRY_BASE_MS;
  mw_status st = MW_OK;
  char ebuf[CURL_ERROR_SIZE];
  for (;;) {
    rs->attempts++;
    mw_buf_free(&rs->body);
    mw_buf_init(&rs->body);
    rs->status = 0;
    ebuf[0] = '\0';
    CURL *h = pool_take(s);
    if (!h) {
      st = mw_err(err, MW_ERR_NOMEM, "%s '%s': curl_easy_init failed", rq->op, rq->key);
      break;
    }
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SHARE, s->share);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    int64_t left = deadline - now_ms();
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* < 1 byte/s for 30 s = dead */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rs->body);
    send_count sc = {rq->method, strlen(rq->method), 0};
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &sc);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    if (s->sigv4) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
      curl_easy_setopt(h, CURLOPT_USERPWD, s->userpwd);
    }
    if (!strcmp(rq->method, "PUT")) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (!strcmp(rq->method, "HEAD")) {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(rq->method, "DELETE")) {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
      curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &rs->content_length);
    }
    pool_give(s, h, cc != CURLE_OK);
    if (sc.heads > 1) rs->uncertain = 1; /* curl resent it on a new connection */
    if (cc == CURLE_WRITE_ERROR && !mw_buf_ok(&rs->body)) {
      st = mw_err(err, MW_ERR_NOMEM, "%s '%s': out of memory reading the response", rq->op, rq->key);
      break;
    }
    int retry = cc != CURLE_OK ? 1
                : retryable_status(rs->status) || (rq->retry_409 && rs->status == 409);
    /* Could this attempt have been applied? Not if no connection was made,
     * and not for a throttling or conflict answer. */
    int maybe_applied =
        cc != CURLE_OK ? (cc != CURLE_COULDNT_CONNECT && cc != CURLE_COULDNT_RESOLVE_HOST &&
                          cc != CURLE_COULDNT_RESOLVE_PROXY)
                       : (retry && rs->status != 429 && rs->status != 503 && rs->status != 408 &&
                          rs->status != 409);
    if (cc == CURLE_OPERATION_TIMEDOUT) rs->timed_out = 1;
    int64_t now = now_ms(), elapsed = now - start;
    if (!retry || rs->attempts >= s->max_attempts || elapsed >= RETRY_BUDGET_MS || now >= deadline) {
      if (cc != CURLE_OK) {
        /* A write that may have reached the server and got no answer:
         * the server may still apply it after we return. */
        int write = strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0;
        int unknown = cc == CURLE_OPERATION_TIMEDOUT || (write && (maybe_applied || rs->uncertain));
        st = mw_err(err, unknown ? MW_ERR_TIMEOUT : MW_ERR_IO,
                    "%s '%s': %s %s: %s (curl %d) after %d attempt%s%s", rq->op, rq->key,
                    rq->method, rq->url, ebuf[0] ? ebuf : curl_easy_strerror(cc), (int)cc,
                    rs->attempts, rs->attempts == 1 ? "" : "s",
                    unknown && write ? "; outcome unknown: the request may still be applied" : "");
      }
      break;
    }
    if (maybe_applied) rs->uncertain = 1;
    long wait = backoff / 2 + (long)(rng_next() % (uint64_t)(backoff / 2 + 1));
    if (elapsed + wait > RETRY_BUDGET_MS) wait = (long)(RETRY_BUDGET_MS - elapsed);
    if (now + wait > deadline) wait = (long)(deadline - now);
    if (wait > 0) sleep_ms(wait);
    backoff = backoff * 2 > RETRY_CAP_MS ? RETRY_CAP_MS : backoff * 2;
  }
  curl_slist_free_all(hl);
  if (st != MW_OK) mw_buf_free(&rs->body);
  return st;
}

/* The error for an unexpected HTTP status. */
static mw_status http_err(mw_error *err, mw_status code, const s3_store *s, const s3_req *rq,
                          const s3_resp *rs) {
  char x[256];
  s3_error_text(x, sizeof x, &rs->body);
  return mw_err(err, code, "%s '%s': HTTP %ld%s (s3://%s/%s%s%s)", rq->op, rq->key, rs->status, x,
                s->bucket, s->prefix, rq->key, rs->attempts > 1 ? ", after retries" : "");
}

/* ------------------------------------------------------------ operations */

static mw_status do_put(s3_store *s, const char *op, const char *key, const void *data, size_t len,
                        int if_absent, mw_error *err) {
  char *url = object_url(s, key);
  if (!url) return mw_err(err, MW_ERR_NOMEM, "%s '%s': out of memory", op, key);
  s3_req rq = {"PUT", op, key, url, data, len, {if_absent ? "If-None-Match: *" : NULL, NULL},
               if_absent};
  s3_resp rs;
  mw_status st = perform(s, &rq, &rs, err);
  if (st == MW_OK) {
    if (rs.status == 200 || rs.status == 201 || rs.status == 204) {
      st = MW_OK;
    } else if (if_absent && rs.status == 409 && !rs.uncertain) {
      /* Still a concurrent conditional write after every retry; ours was
       * refused each time (nothing of ours can land). */
      st = http_err(err, MW_ERR_CONFLICT, s, &rq, &rs);
    } else if (if_absent && rs.status == 412) {
      st = http_err(err, MW_ERR_ALREADY_EXISTS, s, &rq, &rs);
      if (rs.uncertain) {
        /* Maybe our own earlier attempt: compare the stored bytes. */
        uint8_t *got = NULL;
        size_t got_len = 0;
        mw_error ge = {0};
        s3_req g = {"GET", op, key, url, NULL, 0, {NULL, NULL}, 0};
        s3_resp gr;
        mw_status gs = perform(s, &g, &gr, &ge);
        if (gs == MW_OK && gr.status == 200) {
          got = gr.body.data;
          got_len = gr.body.len;
          if (got_len == len && (len == 0 || memcmp(got, data, len) == 0)) {
            st = MW_OK; /* our write landed; its response was lost */
            mw_err_clear(err);
          } else {
            mw_err(err, MW_ERR_ALREADY_EXISTS,
                   "%s '%s': already exists with other content (HTTP %ld after a retried attempt; "
                   "s3://%s/%s%s)",
                   op, key, rs.status, s->bucket, s->prefix, key);
          }
        } else if (gs == MW_OK) {
          st = mw_err(err, MW_ERR_TIMEOUT,
                      "%s '%s': outcome unknown: HTTP %ld after a retried attempt, then reading it "
                      "back gave HTTP %ld",
                      op, key, rs.status, gr.status);
        } else {
          st = mw_err(err, MW_ERR_TIMEOUT,
                      "%s '%s': outcome unknown: HTTP %ld after a retried attempt, then %s", op, key,
                      rs.status, ge.message);
        }
        if (gs == MW_OK) mw_buf_free(&gr.body);
      }
    } else {
      /* An error answer; if an earlier attempt may have reached the server
       * without an answer, that one may still be applied. */
      st = http_err(err, rs.uncertain ? MW_ERR_TIMEOUT : MW_ERR_IO, s, &rq, &rs);
    }
    mw_buf_free(&rs.body);
  }
  free(url);
  return st;
}

static mw_status s3_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return do_put(self, "put", key, data, len, 0, err);
}

static mw_status s3_put_if_absent(void *self, const char *key, const void *data, size_t len,
                                  mw_error *err) {
  return do_put(self, "put_if_absent", key, data, len, 1, err);
}

static mw_status s3_head(void *self, uint64_t *out_size, const char *key, mw_error *err) {
  s3_store *s = self;
  *out_size = 0;
  char *url = object_url(s, key);
  if (!url) return mw_err(err, MW_ERR_NOMEM, "head '%s': out of memory", key);
  s3_req rq = {"HEAD", "head", key, url, NULL, 0, {NULL, NULL}, 0};
  s3_resp rs;
  mw_status st = perform(s, &rq, &rs, err);
  if (st == MW_OK) {
    if (rs.status == 200 && rs.content_length >= 0) {
      *out_size = (uint64_t)rs.content_length;
    } else if (rs.status == 200) {
      st = mw_err(err, MW_ERR_CORRUPT, "head '%s': HTTP 200 without a Content-Length", key);
    } else if (rs.status == 404) {
      st = mw_err(err, MW_ERR_NOT_FOUND, "head '%s': not found (s3://%s/%s%s)", key, s->bucket,
                  s->prefix, key);
    } else {
      st = http_err(err, MW_ERR_IO, s, &rq, &rs);
    }
    mw_buf_free(&rs.body);
  }
  free(url);
  return st;
}

static mw_status s3_get(void *self, uint8_t **out_data, size_t *out_len, const char *key,
                        uint64_t offset, uint64_t length, mw_error *err) {
  s3_store *s = self;
  *out_data = NULL;
  *out_len = 0;
  /* Nothing to read, or an offset no Range header can express: the answer
   * is empty if the object exists. */
  if (length == 0 || offset > (uint64_t)INT64_MAX) {
    uint64_t sz;
    mw_status hs = s3_head(s, &sz, key, err);
    if (hs != MW_OK) return mw_err_wrap(err, hs, "get");
    return MW_OK;
  }
  char range[80];
  const char *rh = NULL;
  if (offset > 0 || length != MW_OBJSTORE_TO_END) {
    if (length != MW_OBJSTORE_TO_END && length - 1 <= (uint64_t)INT64_MAX - offset)
      snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)offset,
               (unsigned long long)(offset + length - 1));
    else
      snprintf(range, sizeof range, "Range: bytes=%llu-", (unsigned long long)offset);
    rh = range;
  }
  char *url = object_url(s, key);
  if (!url) return mw_err(err, MW_ERR_NOMEM, "get '%s': out of memory", key);
  s3_req rq = {"GET", "get", key, url, NULL, 0, {rh, NULL}, 0};
  s3_resp rs;
  mw_status st = perform(s, &rq, &rs, err);
  if (st == MW_OK) {
    if (rs.status == 206 || rs.status == 200) {
      size_t n = rs.body.len;
      uint8_t *d = mw_buf_take(&rs.body, &n);
      if (rs.status == 200 && rh) {
        /* The server ignored the Range header: cut the range ourselves. */
        uint64_t from = offset < n ? offset : n;
        uint64_t cnt = n - from;
        if (length < cnt) cnt = length;
        if (from) memmove(d, d + from, (size_t)cnt);
        n = (size_t)cnt;
      } else if (rs.status == 206 && length != MW_OBJSTORE_TO_END && n > length) {
        n = (size_t)length; /* never more than asked */
      }
      if (n == 0) {
        free(d);
        d = NULL;
      }
      *out_data = d;
      *out_len = n;
    } else if (rs.status == 416) {
      st = MW_OK; /* the range starts at or after the end: empty */
    } else if (rs.status == 404) {
      st = mw_err(err, MW_ERR_NOT_FOUND, "get '%s': not found (s3://%s/%s%s)", key, s->bucket,
                  s->prefix, key);
    } else {
      st = http_err(err, MW_ERR_IO, s, &rq, &rs);
    }
    mw_buf_free(&rs.body);
  }
  free(url);
  return st;
}

static mw_status s3_del(void *self, const char *key, mw_error *err) {
  s3_store *s = self;
  char *url = object_url(s, key);
  if (!url) return mw_err(err, MW_ERR_NOMEM, "delete '%s': out of memory", key);
  s3_req rq = {"DELETE", "delete", key, url, NULL, 0, {NULL, NULL}, 0};
  s3_resp rs;
  mw_status st = perform(s, &rq, &rs, err);
  if (st == MW_OK) {
    if (rs.status != 204 && rs.status != 200 && rs.status != 404)
      st = http_err(err, MW_ERR_IO, s, &rq, &rs);
    mw_buf_free(&rs.body);
  }
  free(url);
  return st;
}

/* Parses a decimal <Size>. */
static int parse_u64(const char *p, size_t n, uint64_t *out) {
  if (n == 0 || n > 20) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    uint64_t d = (uint64_t)(p[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

/* One ListObjectsV2 page: calls fn per key; *stop when fn asked to stop;
 * *next = the continuation token (malloc'ed) or NULL on the last page. */
/* Parses one ListObjectsV2 response body (untrusted): calls fn for each
 * key under the store prefix `sp` (sp_len bytes), relative to it; *next
 * receives the continuation token of a truncated listing (malloc'ed). */
static mw_status list_page(const char *sp, size_t sp_len, const char *prefix, const uint8_t *xml,
                           size_t n, mw_objstore_list_fn fn, void *arg, int *stop, char **next,
                           mw_error *err) {
  const char *x = (const char *)xml;
  size_t pos = 0, cs, cl;
  *next = NULL;
  if (!x || !memmem(x, n, "<ListBucketResult", 17))
    return mw_err(err, MW_ERR_CORRUPT, "list '%s': the response is not a ListBucketResult", prefix);
  while (!*stop) {
    size_t after = xml_find(x, n, pos, "Contents", &cs, &cl);
    if (!after) break;
    size_t ks, kl, zs, zl;
    if (!xml_find(x, cs + cl, cs, "Key", &ks, &kl) || !xml_find(x, cs + cl, cs, "Size", &zs, &zl))
      return mw_err(err, MW_ERR_CORRUPT, "list '%s': <Contents> at byte %zu lacks Key or Size",
                    prefix, cs);
    uint64_t size;
    if (!parse_u64(x + zs, zl, &size))
      return mw_err(err, MW_ERR_CORRUPT, "list '%s': bad <Size> at byte %zu", prefix, zs);
    char *full = NULL;
    size_t bad = xml_text(&full, x + ks, kl);
    if (bad == SIZE_MAX) return mw_err(err, MW_ERR_NOMEM, "list '%s': out of memory", prefix);
    if (bad)
      return mw_err(err, MW_ERR_CORRUPT, "list '%s': bad XML text in <Key> at byte %zu", prefix,
                    ks + bad - 1);
    /* Keys are relative to the store's prefix; others (impossible with our
     * request) and names no key can have (e.g. "a//b") are not ours. */
    if (strncmp(full, sp, sp_len) == 0) {
      const char *rel = full + sp_len;
      if (mw_objstore_check_key(rel, NULL) == MW_OK && fn(arg, rel, size)) *stop = 1;
    }
    free(full);
    pos = after;
  }
  size_t ts, tl;
  if (!*stop && xml_find(x, n, 0, "IsTruncated", &ts, &tl) && tl == 4 && !memcmp(x + ts, "true", 4)) {
    if (!xml_find(x, n, 0, "NextContinuationToken", &ts, &tl) || tl == 0)
      return mw_err(err, MW_ERR_CORRUPT,
                    "list '%s': truncated listing without a NextContinuationToken", prefix);
    size_t bad = xml_text(next, x + ts, tl);
    if (bad == SIZE_MAX) return mw_err(err, MW_ERR_NOMEM, "list '%s': out of memory", prefix);
    if (bad)
      return mw_err(err, MW_ERR_CORRUPT, "list '%s': bad XML text in NextContinuationToken", prefix);
  }
  return MW_OK;
}

static mw_status s3_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg,
                         mw_error *err) {
  s3_store *s = self;
  char *token = NULL;
  mw_status st = MW_OK;
  int stop = 0;
  do {
    /* Query parameters sorted by name, values fully encoded ('/' = %2F). */
    mw_buf q;
    mw_buf_init(&q);
    mw_buf_append(&q, s->list_base, strlen(s->list_base));
    mw_buf_u8(&q, '?');
    if (token) {
      mw_buf_append(&q, "continuation-token=", 19);
      uri_encode(&q, token, 0);
      mw_buf_u8(&q, '&');
    }
    mw_buf_append(&q, "list-type=2", 11);
    if (s->list_max_keys > 0) {
      char mk[32];
      int l = snprintf(mk, sizeof mk, "&max-keys=%d", s->list_max_keys);
      mw_buf_append(&q, mk, (size_t)l);
    }
    mw_buf_append(&q, "&prefix=", 8);
    uri_encode(&q, s->prefix, 0);
    uri_encode(&q, prefix, 0);
    mw_buf_u8(&q, 0);
    if (!mw_buf_ok(&q)) {
      mw_buf_free(&q);
      st = mw_err(err, MW_ERR_NOMEM, "list '%s': out of memory", prefix);
      break;
    }
    s3_req rq = {"GET", "list", prefix, (const char *)q.data, NULL, 0, {NULL, NULL}, 0};
    s3_resp rs;
    st = perform(s, &rq, &rs, err);
    if (st == MW_OK) {
      char *next = NULL;
      if (rs.status != 200)
        st = http_err(err, rs.status == 404 ? MW_ERR_NOT_FOUND : MW_ERR_IO, s, &rq, &rs);
      else
        st = list_page(s->prefix, s->prefix_len, prefix, rs.body.data, rs.body.len, fn, arg, &stop,
                       &next, err);
      mw_buf_free(&rs.body);
      if (st == MW_OK && next && token && !strcmp(next, token))
        st = mw_err(err, MW_ERR_CORRUPT, "list '%s': the server repeated continuation token '%s'",
                    prefix, next);
      free(token);
      token = next;
    }
    mw_buf_free(&q);
  } while (st == MW_OK && token && !stop);
  free(token);
  return st;
}

static void s3_destroy(void *self) {
  s3_store *s = self;
  if (!s) return;
  for (int i = 0; i < s->npool; i++) curl_easy_cleanup(s->pool[i]);
  if (s->share) curl_share_cleanup(s->share);
  pthread_mutex_destroy(&s->pool_mu);
  pthread_mutex_destroy(&s->share_mu);
  free(s->bucket);
  free(s->prefix);
  free(s->base);
  free(s->list_base);
  free(s->sigv4);
  free(s->userpwd);
  free(s->token_hdr);
  free(s);
}

static const mw_objstore_vtable s3_vt = {
    .abi_version = MW_OBJSTORE_ABI_VERSION,
    .struct_size = sizeof(mw_objstore_vtable),
    .put = s3_put,
    .put_if_absent = s3_put_if_absent,
    .get = s3_get,
    .head = s3_head,
    .list = s3_list,
    .del = s3_del,
    .destroy = s3_destroy,
    /* S3 is strongly consistent: a PUT is durable before any GET sees it. */
    .flags = MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE,
};

/* ------------------------------------------------------------ open */

static int bucket_ok(const char *b, size_t n) {
  if (n < 3 || n > 63) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = b[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
          (c >= 'A' && c <= 'Z')))
      return 0;
  }
  return 1;
}

mw_status mw_objstore_s3_open(mw_objstore **out, const char *uri, const char *rest,
                              const mw_objstore_options *o, mw_error *err) {
  *out = NULL;
  pthread_once(&g_curl_once, curl_init_once);
  if (g_curl_init_rc != CURLE_OK)
    return mw_err(err, MW_ERR_IO, "URI '%s': curl_global_init failed: %s", uri,
                  curl_easy_strerror(g_curl_init_rc));
  /* bucket / prefix */
  const char *slash = strchr(rest, '/');
  size_t bl = slash ? (size_t)(slash - rest) : strlen(rest);
  if (!bucket_ok(rest, bl))
    return mw_err(err, MW_ERR_INVALID,
                  "URI '%s': bad bucket name '%.*s' (3-63 characters: letters, digits, '.', '-', "
                  "'_')",
                  uri, (int)bl, rest);
  const char *pfx = slash ? slash + 1 : "";
  size_t pl = strlen(pfx);
  while (pl && pfx[pl - 1] == '/') pl--;
  if (pl && strchr(pfx, '?'))
    return mw_err(err, MW_ERR_INVALID, "URI '%s': query strings are not supported", uri);

  /* configuration: options, then the environment */
  const char *endpoint = o->s3_endpoint ? o->s3_endpoint : env_first("AWS_ENDPOINT", "AWS_ENDPOINT_URL");
  if (endpoint && !endpoint[0]) endpoint = NULL;
  const char *region = o->s3_region ? o->s3_region : env_first("AWS_REGION", "AWS_DEFAULT_REGION");
  if (!region || !region[0]) region = "us-east-1";
  const char *ak = o->s3_access_key ? o->s3_access_key : env_first("AWS_ACCESS_KEY_ID", NULL);
  const char *sk = o->s3_secret_key ? o->s3_secret_key : env_first("AWS_SECRET_ACCESS_KEY", NULL);
  const char *tok =
      o->s3_session_token ? o->s3_session_token : env_first("AWS_SESSION_TOKEN", NULL);
  int allow_http = o->s3_allow_http;
  if (allow_http == 0) {
    int e = env_bool("AWS_ALLOW_HTTP");
    if (e == -2)
      return mw_err(err, MW_ERR_INVALID, "AWS_ALLOW_HTTP='%s' is not a boolean (true/false)",
                    getenv("AWS_ALLOW_HTTP"));
    allow_http = e == 1 ? 1 : -1;
  }
  int vhost = o->s3_virtual_hosted;
  if (vhost == 0) {
    int e = env_bool("AWS_VIRTUAL_HOSTED_STYLE_REQUEST");
    if (e == -2)
      return mw_err(err, MW_ERR_INVALID,
                    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST='%s' is not a boolean (true/false)",
                    getenv("AWS_VIRTUAL_HOSTED_STYLE_REQUEST"));
    vhost = e == 1 ? 1 : e == 0 ? -1 : (endpoint ? -1 : 1);
  }
  int attempts = o->s3_max_attempts;
  if (attempts <= 0) {
    const char *e = getenv("MW_S3_MAX_ATTEMPTS");
    attempts = e && e[0] ? atoi(e) : DEFAULT_ATTEMPTS;
    if (attempts <= 0 || attempts > 100)
      return mw_err(err, MW_ERR_INVALID, "MW_S3_MAX_ATTEMPTS='%s' is not in 1..100", e);
  }
  long request_timeout = o->s3_request_timeout_ms;
  if (request_timeout <= 0) {
    const char *e = getenv("MW_S3_REQUEST_TIMEOUT_MS");
    request_timeout = e && e[0] ? atol(e) : DEFAULT_REQUEST_TIMEOUT_MS;
    if (request_timeout <= 0 || request_timeout > 24L * 3600 * 1000)
      return mw_err(err, MW_ERR_INVALID, "MW_S3_REQUEST_TIMEOUT_MS='%s' is not in 1..86400000", e);
  }
  if ((ak && ak[0]) != (sk && sk[0]))
    return mw_err(err, MW_ERR_INVALID,
                  "URI '%s': S3 credentials need both an access key id and a secret key "
                  "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
                  uri);
  if (region[strcspn(region, ":/ ")] != '\0')
    return mw_err(err, MW_ERR_INVALID, "S3 region '%s' is not valid", region);

  /* endpoint: scheme + authority (+ optional path), no trailing '/' */
  char *scheme = NULL, *hostpart = NULL;
  if (endpoint) {
    const char *p = NULL;
    if (!strncasecmp(endpoint, "https://", 8)) {
      p = endpoint + 8;
      scheme = dupn("https", 5);
    } else if (!strncasecmp(endpoint, "http://", 7)) {
      if (allow_http != 1)
        return mw_err(err, MW_ERR_INVALID,
                      "S3 endpoint '%s' is plain http: set AWS_ALLOW_HTTP=true (or "
                      "options.s3_allow_http = 1) to allow unencrypted connections",
                      endpoint);
      p = endpoint + 7;
      scheme = dupn("http", 4);
    } else {
      return mw_err(err, MW_ERR_INVALID, "S3 endpoint '%s' must start with https:// or http://",
                    endpoint);
    }
    size_t hl = strlen(p);
    while (hl && p[hl - 1] == '/') hl--;
    if (hl == 0 || p[strcspn(p, "?#@ ")] != '\0') {
      free(scheme);
      return mw_err(err, MW_ERR_INVALID, "S3 endpoint '%s' is not a valid URL", endpoint);
    }
    hostpart = dupn(p, hl);
  } else {
    scheme = dupn("https", 5);
    hostpart = aprintf("s3.%s.amazonaws.com", region);
  }

  s3_store *s = calloc(1, sizeof *s);
  if (!s || !scheme || !hostpart) {
    free(s);
    free(scheme);
    free(hostpart);
    return mw_err(err, MW_ERR_NOMEM, "URI '%s': out of memory", uri);
  }
  pthread_mutex_init(&s->pool_mu, NULL);
  pthread_mutex_init(&s->share_mu, NULL);
  s->bucket = dupn(rest, bl);
  s->prefix = pl ? aprintf("%.*s/", (int)pl, pfx) : dupn("", 0);
  s->prefix_len = pl ? pl + 1 : 0;
  s->max_attempts = attempts;
  s->connect_timeout_ms = o->s3_connect_timeout_ms > 0 ? o->s3_connect_timeout_ms : 5000;
  s->request_timeout_ms = request_timeout;
  s->list_max_keys = o->s3_list_max_keys > 0 ? o->s3_list_max_keys : 0;
  if (vhost == 1) {
    /* bucket.host[/path] */
    s->base = aprintf("%s://%s.%s", scheme, s->bucket, hostpart);
    s->list_base = s->base ? aprintf("%s/", s->base) : NULL;
  } else {
    s->base = aprintf("%s://%s/%s", scheme, hostpart, s->bucket);
    s->list_base = s->base ? dupn(s->base, strlen(s->base)) : NULL;
  }
  free(scheme);
  free(hostpart);
  int anon = !(ak && ak[0]);
  if (!anon) {
    s->sigv4 = aprintf("aws:amz:%s:s3", region);
    s->userpwd = aprintf("%s:%s", ak, sk);
    if (tok && tok[0]) s->token_hdr = aprintf("x-amz-security-token: %s", tok);
  }
  s->share = curl_share_init();
  if (!s->bucket || !s->prefix || !s->base || !s->list_base || !s->share ||
      (!anon && (!s->sigv4 || !s->userpwd || (tok && tok[0] && !s->token_hdr)))) {
    s3_destroy(s);
    return mw_err(err, MW_ERR_NOMEM, "URI '%s': out of memory", uri);
  }
  curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
  curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  if (s->prefix_len) {
    s->prefix[s->prefix_len - 1] = '\0';
    mw_status ks = mw_objstore_check_key(s->prefix, err);
    s->prefix[s->prefix_len - 1] = '/';
    if (ks != MW_OK) {
      s3_destroy(s);
      return mw_err_wrap(err, ks, "URI '%s': prefix", uri);
    }
  }
  return mw_objstore_new(out, &s3_vt, s, err);
}

mw_status mw_s3_parse_list_page(char **out_next, const char *store_prefix, const uint8_t *xml,
                                size_t len, mw_objstore_list_fn fn, void *arg, mw_error *err) {
  int stop = 0;
  *out_next = NULL;
  return list_page(store_prefix, strlen(store_prefix), "", xml, len, fn, arg, &stop, out_next, err);
}
