/*
 * objstore_file.c - file:// store: objects are regular files under a root
 * folder; key "a/b/c" is the file <root>/a/b/c.
 *
 * Atomicity: nothing partial is ever visible under a final name. Every write
 * first goes to a temp file in the destination folder, named
 * ".tmp-<pid>-<counter>-<random>" (O_EXCL, so concurrent writers in any
 * process never share one), which is fully written and fsync'ed before it
 * gets its final name:
 *   put            rename(temp, final)            (atomic replace)
 *   put_if_absent  link(temp, final), unlink(temp) (EEXIST = already exists;
 *                  atomic create). Filesystems without hard links fall back
 *                  to renameat2(RENAME_NOREPLACE).
 * then the folder is fsync'ed so the new name itself is durable. The
 * staged put_if_absent (objstore.h; the WAL's entries in flight) splits the
 * same steps: stage = the durable temp file (file_stage), publish = the
 * atomic create under the final name (publish_tmp), sync = the folder's
 * fsync, which then covers every object published before it. An object
 * handed over in pieces (the internal put_if_absent_v: a Lance file whose
 * pages stay in the buffers they were built in) is written into its temp
 * file piece by piece, never joined in memory. Folders are
 * created on demand (mkdir -p), and the parent of each new folder is fsync'ed;
 * a thread that finds a folder already there (EEXIST: maybe it lost a mkdir
 * race and the winner has not fsync'ed the parent yet) fsyncs the parent
 * itself before it goes on, so no write returns before the folder it went
 * into is durable. With opts.fsync = 0 all fsyncs are skipped (Lance's level
 * of durability: the page cache).
 *
 * Visible is not durable: from the link/rename on, a get sees the object,
 * but only the fsyncs that follow make it survive a crash. So this store
 * does not declare MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE, and a failure of
 * any fsync after the object became visible under its final name is an
 * error whose outcome is unknown (MW_ERR_IO, "fsync of the file|folder
 * failed after the object became visible ...: outcome unknown"): the caller must not
 * count it as written nor as absent. (Linux may drop the dirty state after
 * a failed fsync, so a retried fsync that succeeds proves nothing.)
 *
 * Temp files left by a crash are never listed and cannot be read through a
 * key: the last segment of a key may not start with ".tmp-" (MW_ERR_INVALID
 * in this store). mw_objstore_sweep_temp (used by `memwal gc`) removes the
 * ones older than a given age (file_sweep_temp: the same walk as list).
 * Deleting a key does not remove its (possibly empty) folders: removing them
 * would race with a concurrent put creating a file in them.
 *
 * A folder is not an object: get/head of a key that names a folder is
 * MW_ERR_NOT_FOUND, delete of it is a no-op. Unlike memory:// (or S3), "a"
 * and "a/b" cannot both exist here: writing one while the other exists is
 * MW_ERR_IO (the memwal layout never does that). Symlinks are not followed
 * by list. Reads use open + pread, so a
 * concurrent replace never yields a mix of old and new bytes (the open file is
 * one inode). EINTR and short reads/writes are retried; every error names the
 * operation, the path and errno's text.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/slab.h"
#include "common/error.h"
#include "objstore/objstore.h"

#define SPARE_SLOTS 32
#define TMP_PREFIX ".tmp-"
#define TMP_PREFIX_LEN 5

typedef struct file_store {
  char *root; /* absolute, no trailing '/' (unless it is "/"); immutable */
  size_t root_len;
  int fsync; /* immutable */
  /* Spare inodes: creating an inode is a large share of a small durable
   * put (ext4 inode allocation), so after each O_TMPFILE put a background
   * thread opens the next O_TMPFILE in the same folder, off the caller's
   * path. One spare per folder for the SPARE_SLOTS folders written most
   * recently (a table writer writes many shards' WAL folders in turn). An
   * unused spare is anonymous: a crash leaves nothing behind. */
  pthread_mutex_t spare_mu; /* guards the fields below */
  pthread_cond_t spare_cv;  /* a slot wants a spare, or stop */
  struct spare_slot {
    char *dir;          /* folder (NULL = free slot) */
    int fd;             /* -1 = none ready */
    bool wanted;        /* the thread should open one for dir */
    uint64_t last_use;  /* LRU stamp */
  } spare[SPARE_SLOTS];
  uint64_t spare_clock;
  bool spare_stop;
  bool spare_thread_started;
  pthread_t spare_thread;
} file_store;

static atomic_uint_least64_t g_tmp_counter;

/* errno text, thread-safe. */
static const char *errstr(int e, char *buf, size_t n) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  return strerror_r(e, buf, n);
#else
  if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "errno %d", e);
  return buf;
#endif
}

static mw_status sys_err(mw_error *err, const char *op, const char *key, const char *what,
                         const char *path, int e) {
  char b[128];
  mw_status code = (e == ENOMEM) ? MW_ERR_NOMEM : MW_ERR_IO;
  return mw_err(err, code, "%s '%s': %s %s: %s", op, key, what, path, errstr(e, b, sizeof b));
}

/* <root>/<key> as a malloc'ed string. */
static char *join(const file_store *fs, const char *key) {
  size_t kl = strlen(key);
  char *p = malloc(fs->root_len + 1 + kl + 1);
  if (!p) return NULL;
  memcpy(p, fs->root, fs->root_len);
  size_t at = fs->root_len;
  if (at == 0 || p[at - 1] != '/') p[at++] = '/';
  memcpy(p + at, key, kl + 1);
  return p;
}

static mw_status check_reserved(const char *op, const char *key, mw_error *err) {
  const char *base = strrchr(key, '/');
  base = base ? base + 1 : key;
  if (strncmp(base, TMP_PREFIX, TMP_PREFIX_LEN) == 0)
    return mw_err(err, MW_ERR_INVALID,
                  "%s '%s': file store keys may not end in a segment starting with '" TMP_PREFIX
                  "' (reserved for temp files)",
                  op, key);
  return MW_OK;
}

/* fsync a folder by path (a new entry in it becomes durable). */
static int fsync_dir(const char *dir) {
  int fd;
  do fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  int r;
  do r = fsync(fd);
  while (r < 0 && errno == EINTR);
  /* Some filesystems cannot fsync a folder; that is not our data at risk. */
  if (r < 0 && (errno == EINVAL || errno == EROFS || errno == ENOTSUP)) r = 0;
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

/* fsync the folder holding `path` (path's text up to its last '/'). */
static int fsync_parent(char *path) {
  char *slash = strrchr(path, '/');
  if (!slash) return fsync_dir(".");
  if (slash == path) return fsync_dir("/");
  *slash = '\0';
  int r = fsync_dir(path);
  int e = errno;
  *slash = '/';
  errno = e;
  return r;
}

/* mkdir -p of every folder in `path` after byte `start` (path itself
 * included when last_too). Each new folder's parent is fsync'ed; inside a
 * store (start > 0) so is the parent of a folder that already existed (the
 * loser of a concurrent mkdir must not run ahead of the winner's fsync). */
static mw_status mkdir_p(char *path, size_t start, int last_too, int do_fsync, const char *op,
                         const char *key, mw_error *err) {
  size_t n = strlen(path);
  for (size_t i = start + 1; i <= n; i++) {
    if (i < n && path[i] != '/') continue;
    if (i == n && !last_too) break;
    char saved = path[i];
    path[i] = '\0';
    if (path[0] != '\0' && mkdir(path, 0755) == 0) {
      if (do_fsync && fsync_parent(path) < 0) {
        mw_status st = sys_err(err, op, key, "fsync parent of new folder", path, errno);
        path[i] = saved;
        return st;
      }
    } else if (path[0] != '\0' && errno != EEXIST) {
      mw_status st = sys_err(err, op, key, "mkdir", path, errno);
      path[i] = saved;
      return st;
    } else if (path[0] != '\0' && do_fsync && start > 0 && fsync_parent(path) < 0) {
      mw_status st = sys_err(err, op, key, "fsync parent of existing folder", path, errno);
      path[i] = saved;
      return st;
    }
    path[i] = saved;
  }
  return MW_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    size_t chunk = len > (1u << 30) ? (1u << 30) : len;
    ssize_t w = write(fd, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) {
      errno = EIO;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Writes the pieces in order (an object handed over in pieces is written
 * from where they are, not joined first). */
static int write_iov(int fd, const mw_iov *iov, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (iov[i].len && write_all(fd, iov[i].data, iov[i].len) < 0) return -1;
  return 0;
}

static uint32_t tmp_random(void) {
  /* Not for security: only makes names from a reused pid unlikely to meet a
   * stale temp file (O_EXCL + retry handles it anyway). */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return (uint32_t)x;
}

/* Writes data to a new temp file next to `final` (creating folders on
 * demand), fsync'ed; returns its malloc'ed path. */
static mw_status write_temp(const file_store *fs, char *final, const char *key, const mw_iov *iov,
                            size_t n, const char *op, char **out_tmp, mw_error *err) {
  *out_tmp = NULL;
  const char *slash = strrchr(final, '/');
  size_t dirlen = (size_t)(slash - final); /* final always has a '/' after root */
  char *tmp = malloc(dirlen + 1 + TMP_PREFIX_LEN + 64);
  if (!tmp) return mw_err(err, MW_ERR_NOMEM, "%s '%s': out of memory", op, key);
  int made_dirs = 0, fd = -1;
  for (int attempt = 0; attempt < 100; attempt++) {
    uint64_t c = atomic_fetch_add(&g_tmp_counter, 1);
    memcpy(tmp, final, dirlen);
    snprintf(tmp + dirlen, 1 + TMP_PREFIX_LEN + 64, "/" TMP_PREFIX "%ld-%llu-%08x", (long)getpid(),
             (unsigned long long)c, (unsigned)tmp_random());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) break;
    if (errno == EINTR || errno == EEXIST) continue;
    if (errno == ENOENT && !made_dirs) {
      made_dirs = 1;
      mw_status st = mkdir_p(final, fs->root_len, 0, fs->fsync, op, key, err);
      if (st != MW_OK) {
        free(tmp);
        return st;
      }
      continue;
    }
    mw_status st = sys_err(err, op, key, "create temp file", tmp, errno);
    free(tmp);
    return st;
  }
  if (fd < 0) {
    mw_status st = sys_err(err, op, key, "create temp file", tmp, errno);
    free(tmp);
    return st;
  }
  const char *what = NULL;
  if (write_iov(fd, iov, n) < 0) {
    what = "write";
  } else if (fs->fsync) {
    int r;
    do r = fsync(fd);
    while (r < 0 && errno == EINTR);
    if (r < 0) what = "fsync";
  }
  int e = errno;
  if (close(fd) < 0 && !what && errno != EINTR) {
    what = "close";
    e = errno;
  }
  if (what) {
    mw_status st = sys_err(err, op, key, what, tmp, e);
    unlink(tmp);
    free(tmp);
    return st;
  }
  *out_tmp = tmp;
  return MW_OK;
}

/* The error for an fsync that failed after the object became visible. */
static mw_status visible_err(mw_error *err, const char *op, const char *key, const char *what,
                             const char *path, int e) {
  char b[128];
  return mw_err(err, MW_ERR_IO,
                "%s '%s': fsync of the %s failed after the object became visible (%s: %s): "
                "outcome unknown",
                op, key, what, path, errstr(e, b, sizeof b));
}

static mw_status file_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  file_store *fs = self;
  MW_TRY(check_reserved("put", key, err));
  char *final = join(fs, key), *tmp = NULL;
  if (!final) return mw_err(err, MW_ERR_NOMEM, "put '%s': out of memory", key);
  mw_iov one = {data, len};
  mw_status st = write_temp(fs, final, key, &one, 1, "put", &tmp, err);
  if (st == MW_OK) {
    if (rename(tmp, final) < 0) {
      st = sys_err(err, "put", key, "rename temp file to", final, errno);
      unlink(tmp);
    } else if (fs->fsync && fsync_parent(final) < 0) {
      st = visible_err(err, "put", key, "folder", final, errno);
    }
  }
  free(tmp);
  free(final);
  return st;
}

#ifdef O_TMPFILE
static void *spare_main(void *arg) {
  file_store *fs = arg;
  pthread_mutex_lock(&fs->spare_mu);
  while (!fs->spare_stop) {
    int k = -1;
    for (int i = 0; i < SPARE_SLOTS && k < 0; i++)
      if (fs->spare[i].dir && fs->spare[i].wanted && fs->spare[i].fd < 0) k = i;
    if (k < 0) {
      pthread_cond_wait(&fs->spare_cv, &fs->spare_mu);
      continue;
    }
    char *dir = strdup(fs->spare[k].dir);
    fs->spare[k].wanted = false;
    pthread_mutex_unlock(&fs->spare_mu);
    int fd = dir ? open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644) : -1;
    pthread_mutex_lock(&fs->spare_mu);
    /* The slot may have been given to another folder meanwhile. */
    for (int i = 0; fd >= 0 && i < SPARE_SLOTS; i++) {
      if (fs->spare[i].dir && fs->spare[i].fd < 0 && !fs->spare_stop && strcmp(fs->spare[i].dir, dir) == 0) {
        fs->spare[i].fd = fd;
        fd = -1;
      }
    }
    if (fd >= 0) close(fd);
    free(dir);
  }
  pthread_mutex_unlock(&fs->spare_mu);
  return NULL;
}

/* Takes the spare inode for folder `dir` if one is ready (else -1), and
 * asks for the next one (a folder new to the slots takes the least
 * recently used slot). */
static int spare_take(file_store *fs, const char *dir) {
  int fd = -1;
  pthread_mutex_lock(&fs->spare_mu);
  if (!fs->spare_thread_started && !fs->spare_stop) {
    if (pthread_create(&fs->spare_thread, NULL, spare_main, fs) == 0) fs->spare_thread_started = true;
    else fs->spare_stop = true; /* no thread: every put opens its own inode */
  }
  int k = -1, lru = 0;
  for (int i = 0; i < SPARE_SLOTS; i++) {
    if (fs->spare[i].dir && strcmp(fs->spare[i].dir, dir) == 0) k = i;
    if (!fs->spare[i].dir || (fs->spare[lru].dir && fs->spare[i].last_use < fs->spare[lru].last_use)) lru = i;
  }
  if (k >= 0) {
    fd = fs->spare[k].fd;
    fs->spare[k].fd = -1;
  } else {
    char *d = strdup(dir);
    if (d) {
      k = lru;
      if (fs->spare[k].fd >= 0) close(fs->spare[k].fd);
      free(fs->spare[k].dir);
      fs->spare[k].dir = d;
      fs->spare[k].fd = -1;
    }
  }
  if (k >= 0) {
    fs->spare[k].wanted = true;
    fs->spare[k].last_use = ++fs->spare_clock;
    pthread_cond_signal(&fs->spare_cv);
  }
  pthread_mutex_unlock(&fs->spare_mu);
  return fd;
}
#endif

/* Stages an object for put_if_absent through an anonymous O_TMPFILE
 * inode: write the data, give the inode a hidden temp name (linkat), fsync
 * it (data and inode, now with its one link: nothing about the file
 * changes after this). The caller then renames the temp name to the final
 * one (publish_tmp) and fsyncs the folder. So only the folder's fsync
 * follows visibility, and the file needs one fsync (linking the anonymous
 * inode under its final name directly would change its link count after
 * the data's fsync, which then needs a second fsync of the file; fdatasync
 * instead of fsync would not cover that link count either, and on ext4 it
 * commits the same journal transaction anyway, the size having changed).
 * The inode itself is opened ahead of time by the spare thread: creating
 * it is most of the cost of a small durable WAL entry. Returns 0 (nothing
 * done) where O_TMPFILE or /proc is not available, so the caller falls
 * back to write_temp; else 1 with *out_st, and on MW_OK *out_tmp (the
 * temp's malloc'ed path). */
static int tmpfile_stage(const file_store *fs, char *final, const char *key, const mw_iov *iov, size_t n,
                         char **out_tmp, mw_status *out_st, mw_error *err) {
  *out_tmp = NULL;
#ifdef O_TMPFILE
  char *slash = strrchr(final, '/');
  *slash = '\0';
  int fd = spare_take((file_store *)fs, final);
  if (fd < 0) fd = open(final, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    *slash = '/';
    mw_status st = mkdir_p(final, fs->root_len, 0, fs->fsync, "put_if_absent", key, err);
    if (st != MW_OK) {
      *out_st = st;
      return 1;
    }
    *slash = '\0';
    fd = open(final, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  }
  *slash = '/';
  if (fd < 0) return 0; /* EOPNOTSUPP, EISDIR, EINVAL...: use the named temp */
  if (write_iov(fd, iov, n) < 0) {
    int e = errno;
    close(fd);
    *out_st = sys_err(err, "put_if_absent", key, "write", final, e);
    return 1;
  }
  /* the hidden temp name, next to the final one */
  size_t dirlen = (size_t)(slash - final);
  char *tmp = malloc(dirlen + 1 + TMP_PREFIX_LEN + 64);
  if (!tmp) {
    close(fd);
    *out_st = mw_err(err, MW_ERR_NOMEM, "put_if_absent '%s': out of memory", key);
    return 1;
  }
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int r = -1, e = 0;
  for (int attempt = 0; attempt < 100; attempt++) {
    memcpy(tmp, final, dirlen);
    snprintf(tmp + dirlen, 1 + TMP_PREFIX_LEN + 64, "/" TMP_PREFIX "%ld-%llu-%08x", (long)getpid(),
             (unsigned long long)atomic_fetch_add(&g_tmp_counter, 1), (unsigned)tmp_random());
    r = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
    e = errno;
    if (r == 0 || e != EEXIST) break;
  }
  if (r < 0) {
    close(fd);
    free(tmp);
    if (e == ENOENT || e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV || e == EEXIST)
      return 0; /* no /proc or no links: the data is discarded with the fd */
    *out_st = sys_err(err, "put_if_absent", key, "linkat", final, e);
    return 1;
  }
  if (fs->fsync) {
    int q;
    do q = fsync(fd);
    while (q < 0 && errno == EINTR);
    if (q < 0) {
      e = errno;
      close(fd);
      unlink(tmp);
      free(tmp);
      *out_st = sys_err(err, "put_if_absent", key, "fsync", final, e);
      return 1;
    }
  }
  close(fd);
  *out_tmp = tmp;
  *out_st = MW_OK;
  return 1;
#else
  (void)fs; (void)final; (void)key; (void)iov; (void)n; (void)out_st; (void)err;
  return 0;
#endif
}

/* Gives the durable temp file `tmp` the name `final` if that is free:
 * renameat2(RENAME_NOREPLACE), or where the filesystem lacks it a hard
 * link (the same atomic create) and unlink of the temp. EEXIST = already
 * exists. On MW_OK the temp name is gone and the object visible (not yet
 * durable: its folder's fsync follows); on failure the temp is left. */
static mw_status publish_tmp(const char *tmp, const char *final, const char *key, mw_error *err) {
  int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE), e = errno, linked = 0;
  if (r < 0 && (e == EINVAL || e == ENOSYS || e == ENOTSUP || e == EOPNOTSUPP)) {
    r = link(tmp, final);
    e = errno;
    linked = 1;
    if (r == 0) unlink(tmp); /* best effort: a leftover temp is invisible */
  }
  if (r == 0) return MW_OK;
  struct stat sb;
  if (e == EEXIST && stat(final, &sb) == 0 && S_ISDIR(sb.st_mode))
    return mw_err(err, MW_ERR_IO, "put_if_absent '%s': %s is a folder", key, final);
  if (e == EEXIST) return mw_err(err, MW_ERR_ALREADY_EXISTS, "put_if_absent '%s': object already exists", key);
  return sys_err(err, "put_if_absent", key, linked ? "link temp file to" : "renameat2 temp file to", final, e);
}

/* put_if_absent through tmpfile_stage + publish_tmp + the folder's fsync.
 * Returns 0 (nothing done) where tmpfile_stage cannot work. */
static int tmpfile_put_if_absent(const file_store *fs, char *final, const char *key, const mw_iov *iov,
                                 size_t n, mw_status *out_st, mw_error *err) {
  char *tmp = NULL;
  if (!tmpfile_stage(fs, final, key, iov, n, &tmp, out_st, err)) return 0;
  if (*out_st != MW_OK) return 1;
  *out_st = publish_tmp(tmp, final, key, err);
  if (*out_st != MW_OK) unlink(tmp);
  free(tmp);
  /* Visible from here on: a failed fsync is an unknown outcome. */
  if (*out_st == MW_OK && fs->fsync && fsync_parent(final) < 0)
    *out_st = visible_err(err, "put_if_absent", key, "folder", final, errno);
  return 1;
}

/* The staged put_if_absent (objstore.h): stage = tmpfile_stage (or a named
 * temp file where that cannot work), publish = publish_tmp, sync = the
 * folder's fsync. The handle is the temp's path. */
typedef struct file_staged {
  char *tmp;      /* the durable temp file */
  bool published; /* renamed away: nothing to discard */
} file_staged;

static mw_status file_stage(void *self, void **out_staged, const char *key, const void *data, size_t len,
                            mw_error *err) {
  file_store *fs = self;
  *out_staged = NULL;
  MW_TRY(check_reserved("put_if_absent", key, err));
  char *final = join(fs, key), *tmp = NULL;
  if (!final) return mw_err(err, MW_ERR_NOMEM, "put_if_absent '%s': out of memory", key);
  mw_iov one = {data, len};
  mw_status st = MW_OK;
  if (!tmpfile_stage(fs, final, key, &one, 1, &tmp, &st, err))
    st = write_temp(fs, final, key, &one, 1, "put_if_absent", &tmp, err);
  free(final);
  if (st != MW_OK) return st;
  file_staged *h = calloc(1, sizeof *h);
  if (!h) {
    unlink(tmp);
    free(tmp);
    return mw_err(err, MW_ERR_NOMEM, "put_if_absent '%s': out of memory", key);
  }
  h->tmp = tmp;
  *out_staged = h;
  return MW_OK;
}

static mw_status file_publish(void *self, void *staged, const char *key, mw_error *err) {
  file_store *fs = self;
  file_staged *h = staged;
  MW_TRY(check_reserved("put_if_absent", key, err));
  if (h->published) return mw_err(err, MW_ERR_INVALID, "publish '%s': already published", key);
  char *final = join(fs, key);
  if (!final) return mw_err(err, MW_ERR_NOMEM, "put_if_absent '%s': out of memory", key);
  mw_status st = publish_tmp(h->tmp, final, key, err);
  if (st == MW_OK) h->published = true;
  free(final);
  return st;
}

static mw_status file_sync_published(void *self, const char *key, mw_error *err) {
  file_store *fs = self;
  if (!fs->fsync) return MW_OK;
  char *final = join(fs, key);
  if (!final) return mw_err(err, MW_ERR_NOMEM, "sync '%s': out of memory", key);
  mw_status st = MW_OK;
  if (fsync_parent(final) < 0) st = visible_err(err, "put_if_absent", key, "folder", final, errno);
  free(final);
  return st;
}

static void file_staged_free(void *self, void *staged) {
  (void)self;
  file_staged *h = staged;
  if (!h->published) unlink(h->tmp);
  free(h->tmp);
  free(h);
}

static mw_status file_put_if_absent_v(void *self, const char *key, const mw_iov *iov, size_t n,
                                      mw_error *err) {
  file_store *fs = self;
  MW_TRY(check_reserved("put_if_absent", key, err));
  char *final = join(fs, key), *tmp = NULL;
  if (!final) return mw_err(err, MW_ERR_NOMEM, "put_if_absent '%s': out of memory", key);
  mw_status st = MW_OK;
  if (tmpfile_put_if_absent(fs, final, key, iov, n, &st, err)) {
    free(final);
    return st;
  }
  st = write_temp(fs, final, key, iov, n, "put_if_absent", &tmp, err);
  if (st == MW_OK) {
    int r = link(tmp, final), e = errno, linked = 1;
    if (r < 0 && (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EMLINK)) {
      /* No hard links here: an atomic no-replace rename does the same. */
      linked = 0;
      r = renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE);
      e = errno;
    }
    if (r < 0) {
      struct stat sb;
      if (e == EEXIST && stat(final, &sb) == 0 && S_ISDIR(sb.st_mode))
        st = mw_err(err, MW_ERR_IO, "put_if_absent '%s': %s is a folder", key, final);
      else if (e == EEXIST)
        st = mw_err(err, MW_ERR_ALREADY_EXISTS, "put_if_absent '%s': object already exists", key);
      else
        st = sys_err(err, "put_if_absent", key, linked ? "link temp file to" : "renameat2 temp file to",
                     final, e);
      unlink(tmp);
    } else {
      if (linked) unlink(tmp); /* best effort: a leftover temp is invisible */
      if (fs->fsync && fsync_parent(final) < 0)
        st = visible_err(err, "put_if_absent", key, "folder", final, errno);
    }
  }
  free(tmp);
  free(final);
  return st;
}

static mw_status file_put_if_absent(void *self, const char *key, const void *data, size_t len,
                                    mw_error *err) {
  mw_iov one = {data, len};
  return file_put_if_absent_v(self, key, &one, 1, err);
}

/* A get; with `pool`, an object of at most MW_SLAB_MAX bytes is read
 * into the pool's memory (*from_slab set: freed with mw_slab_free). */
static mw_status get_impl(file_store *fs, mw_slab_pool *pool, bool *from_slab, uint8_t **out_data,
                          size_t *out_len, const char *key, uint64_t offset, uint64_t length,
                          mw_error *err) {
  MW_TRY(check_reserved("get", key, err));
  char *path = join(fs, key);
  if (!path) return mw_err(err, MW_ERR_NOMEM, "get '%s': out of memory", key);
  int fd;
  do fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  mw_status st = MW_OK;
  struct stat sb;
  if (fd < 0) {
    st = (errno == ENOENT || errno == ENOTDIR)
             ? mw_err(err, MW_ERR_NOT_FOUND, "get '%s': no such object (%s)", key, path)
             : sys_err(err, "get", key, "open", path, errno);
    free(path);
    return st;
  }
  if (fstat(fd, &sb) < 0) {
    st = sys_err(err, "get", key, "fstat", path, errno);
  } else if (!S_ISREG(sb.st_mode)) {
    st = mw_err(err, MW_ERR_NOT_FOUND, "get '%s': no such object (%s is not a file)", key, path);
  } else {
    uint64_t size = (uint64_t)sb.st_size, n = 0;
    if (offset < size) n = (length < size - offset) ? length : size - offset;
    uint8_t *buf = NULL;
    if (n > SIZE_MAX) {
      st = mw_err(err, MW_ERR_NOMEM, "get '%s': %llu bytes do not fit in memory", key,
                  (unsigned long long)n);
    } else if (n && pool && n <= MW_SLAB_MAX && (buf = mw_slab_alloc(pool, (size_t)n))) {
      *from_slab = true;
    } else if (n && !(buf = mw_large_alloc((size_t)n, NULL))) {
      st = mw_err(err, MW_ERR_NOMEM, "get '%s': out of memory (%llu bytes)", key,
                  (unsigned long long)n);
    }
    size_t got = 0;
    while (st == MW_OK && got < n) {
      size_t want = (size_t)n - got;
      if (want > (1u << 30)) want = 1u << 30;
      ssize_t r = pread(fd, buf + got, want, (off_t)(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        st = sys_err(err, "get", key, "pread", path, errno);
      } else if (r == 0) {
        /* Objects are replaced by rename, never truncated in place. */
        st = mw_err(err, MW_ERR_IO, "get '%s': %s shrank while reading (at byte %llu)", key, path,
                    (unsigned long long)(offset + got));
      } else {
        got += (size_t)r;
      }
    }
    if (st == MW_OK) {
      *out_data = buf;
      *out_len = (size_t)n;
    } else if (*from_slab) {
      mw_slab_free(buf);
      *from_slab = false;
    } else {
      free(buf);
    }
  }
  close(fd);
  free(path);
  return st;
}

static mw_status file_get(void *self, uint8_t **out_data, size_t *out_len, const char *key,
                          uint64_t offset, uint64_t length, mw_error *err) {
  bool from_slab = false;
  return get_impl(self, NULL, &from_slab, out_data, out_len, key, offset, length, err);
}

static mw_status file_get_slab(void *self, mw_slab_pool *pool, uint8_t **out_data, size_t *out_len,
                               bool *out_from_slab, const char *key, mw_error *err) {
  return get_impl(self, pool, out_from_slab, out_data, out_len, key, 0, MW_OBJSTORE_TO_END, err);
}

static mw_status file_head(void *self, uint64_t *out_size, const char *key, mw_error *err) {
  file_store *fs = self;
  MW_TRY(check_reserved("head", key, err));
  char *path = join(fs, key);
  if (!path) return mw_err(err, MW_ERR_NOMEM, "head '%s': out of memory", key);
  struct stat sb;
  mw_status st = MW_OK;
  if (stat(path, &sb) < 0) {
    st = (errno == ENOENT || errno == ENOTDIR)
             ? mw_err(err, MW_ERR_NOT_FOUND, "head '%s': no such object (%s)", key, path)
             : sys_err(err, "head", key, "stat", path, errno);
  } else if (!S_ISREG(sb.st_mode)) {
    st = mw_err(err, MW_ERR_NOT_FOUND, "head '%s': no such object (%s is not a file)", key, path);
  } else {
    *out_size = (uint64_t)sb.st_size;
  }
  free(path);
  return st;
}

static mw_status file_del(void *self, const char *key, mw_error *err) {
  file_store *fs = self;
  MW_TRY(check_reserved("delete", key, err));
  char *path = join(fs, key);
  if (!path) return mw_err(err, MW_ERR_NOMEM, "delete '%s': out of memory", key);
  mw_status st = MW_OK;
  if (unlink(path) < 0) {
    /* Missing (or a folder, which is no object): nothing to delete. */
    if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
      st = sys_err(err, "delete", key, "unlink", path, errno);
  } else if (fs->fsync && fsync_parent(path) < 0) {
    /* The object is gone from view, but maybe not for good. */
    char b[128];
    st = mw_err(err, MW_ERR_IO,
                "delete '%s': fsync of the folder failed after the delete became visible (%s: %s): "
                "outcome unknown",
                key, path, errstr(errno, b, sizeof b));
  }
  free(path);
  return st;
}

/* ------------------------------------------------------------------ list */

typedef struct walk {
  const char *prefix;
  size_t plen;
  mw_objstore_list_fn fn;
  void *arg;
  int stopped;
  char *rel; /* key of the current folder + '/', growable */
  size_t rel_len, rel_cap;
  mw_error *err;
  const char *root;
  /* file_sweep_temp: visit temp files instead of objects */
  bool temp, dry;
  double min_age;
  time_t now;
  mw_objstore_temp_fn tfn;
  uint64_t count, bytes;
} walk;

static int rel_append(walk *w, const char *s, size_t n) {
  if (w->rel_len + n + 2 > w->rel_cap) {
    size_t cap = (w->rel_len + n + 2) * 2;
    char *p = realloc(w->rel, cap);
    if (!p) return -1;
    w->rel = p;
    w->rel_cap = cap;
  }
  memcpy(w->rel + w->rel_len, s, n);
  w->rel_len += n;
  w->rel[w->rel_len] = '\0';
  return 0;
}

/* Could a key under folder rel (ending in '/') start with the prefix? */
static int may_match(const walk *w) {
  size_t n = w->rel_len < w->plen ? w->rel_len : w->plen;
  return strncmp(w->rel, w->prefix, n) == 0;
}

/* Walks the open folder fd (its key prefix in w->rel); takes fd. */
static mw_status walk_dir(walk *w, int fd) {
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    return sys_err(w->err, "list", w->prefix, "opendir", w->rel_len ? w->rel : w->root, e);
  }
  mw_status st = MW_OK;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) st = sys_err(w->err, "list", w->prefix, "readdir", w->rel_len ? w->rel : w->root, errno);
      break;
    }
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    struct stat sb;
    if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue; /* deleted meanwhile */
      st = sys_err(w->err, "list", w->prefix, "stat", name, errno);
      break;
    }
    size_t saved = w->rel_len;
    if (rel_append(w, name, strlen(name)) < 0) {
      st = mw_err(w->err, MW_ERR_NOMEM, "list '%s': out of memory", w->prefix);
      break;
    }
    if (S_ISDIR(sb.st_mode)) {
      if (rel_append(w, "/", 1) < 0) {
        st = mw_err(w->err, MW_ERR_NOMEM, "list '%s': out of memory", w->prefix);
      } else if (may_match(w)) {
        int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
          st = walk_dir(w, sub);
        else if (errno != ENOENT)
          st = sys_err(w->err, "list", w->prefix, "open folder", w->rel, errno);
      }
    } else if (S_ISREG(sb.st_mode) && (strncmp(name, TMP_PREFIX, TMP_PREFIX_LEN) == 0) == w->temp &&
               w->rel_len >= w->plen && strncmp(w->rel, w->prefix, w->plen) == 0) {
      if (!w->temp) {
        if (w->fn(w->arg, w->rel, (uint64_t)sb.st_size)) w->stopped = 1;
      } else {
        double age = difftime(w->now, sb.st_mtime);
        if (age >= w->min_age) {
          if (!w->dry && unlinkat(dirfd(d), name, 0) < 0) {
            if (errno != ENOENT) st = sys_err(w->err, "sweep", w->prefix, "unlink", w->rel, errno);
          } else {
            w->count++;
            w->bytes += (uint64_t)sb.st_size;
            if (w->tfn) w->tfn(w->arg, w->rel, (uint64_t)sb.st_size, age);
          }
        }
      }
    }
    w->rel_len = saved;
    w->rel[saved] = '\0';
    if (st != MW_OK || w->stopped) break;
  }
  closedir(d);
  return st;
}

/* list, or with w->temp the temp-file sweep (counts in w), from the
 * deepest folder the prefix names in full. */
static mw_status walk_from(file_store *fs, walk *w) {
  const char *prefix = w->prefix;
  mw_error *err = w->err;
  /* Start at the deepest folder the prefix names in full ("a/b/c" -> "a/b/"). */
  const char *slash = strrchr(prefix, '/');
  size_t dl = slash ? (size_t)(slash - prefix) + 1 : 0;
  if (rel_append(w, prefix, dl) < 0) return mw_err(err, MW_ERR_NOMEM, "list '%s': out of memory", prefix);
  char *start = malloc(fs->root_len + 2 + dl);
  if (!start) {
    free(w->rel);
    return mw_err(err, MW_ERR_NOMEM, "list '%s': out of memory", prefix);
  }
  memcpy(start, fs->root, fs->root_len);
  start[fs->root_len] = '/';
  memcpy(start + fs->root_len + 1, prefix, dl);
  start[fs->root_len + 1 + dl] = '\0';
  mw_status st = MW_OK;
  int fd = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    st = walk_dir(w, fd);
  else if (errno != ENOENT && errno != ENOTDIR)
    st = sys_err(err, "list", prefix, "open folder", start, errno);
  free(start);
  free(w->rel);
  return st;
}

static mw_status file_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg,
                           mw_error *err) {
  walk w = {.prefix = prefix, .plen = strlen(prefix), .fn = fn, .arg = arg, .err = err, .root = ((file_store *)self)->root};
  return walk_from(self, &w);
}

static mw_status file_sweep_temp(void *self, const char *prefix, double min_age_s, bool dry_run,
                                 mw_objstore_temp_fn fn, void *arg, uint64_t *out_count, uint64_t *out_bytes,
                                 mw_error *err) {
  walk w = {.prefix = prefix, .plen = strlen(prefix), .arg = arg, .err = err, .root = ((file_store *)self)->root,
            .temp = true, .dry = dry_run, .min_age = min_age_s, .now = time(NULL), .tfn = fn};
  mw_status st = walk_from(self, &w);
  *out_count = w.count;
  *out_bytes = w.bytes;
  return st;
}

static void file_destroy(void *self) {
  file_store *fs = self;
  if (!fs) return;
  pthread_mutex_lock(&fs->spare_mu);
  fs->spare_stop = true;
  pthread_cond_signal(&fs->spare_cv);
  pthread_mutex_unlock(&fs->spare_mu);
  if (fs->spare_thread_started) pthread_join(fs->spare_thread, NULL);
  for (int i = 0; i < SPARE_SLOTS; i++) {
    if (fs->spare[i].fd >= 0) close(fs->spare[i].fd);
    free(fs->spare[i].dir);
  }
  pthread_mutex_destroy(&fs->spare_mu);
  pthread_cond_destroy(&fs->spare_cv);
  free(fs->root);
  free(fs);
}

static const mw_objstore_vtable file_vtable = {
    .abi_version = MW_OBJSTORE_ABI_VERSION,
    .struct_size = sizeof(mw_objstore_vtable),
    .put = file_put,
    .put_if_absent = file_put_if_absent,
    .get = file_get,
    .head = file_head,
    .list = file_list,
    .del = file_del,
    .destroy = file_destroy,
    /* Not visible-implies-durable: a linked or renamed file is visible
     * (page cache) before the fsyncs that make it durable. */
    .flags = 0,
};

mw_status mw_objstore_file_open(mw_objstore **out, const char *root, const mw_objstore_options *opts,
                                mw_error *err) {
  char *path = strdup(root);
  if (!path) return mw_err(err, MW_ERR_NOMEM, "open '%s': out of memory", root);
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') path[--n] = '\0';
  mw_status st = mkdir_p(path, 0, 1, opts->fsync, "open", root, err);
  char *abs = NULL;
  if (st == MW_OK && !(abs = realpath(path, NULL)))
    st = sys_err(err, "open", root, "realpath", path, errno);
  free(path);
  if (st != MW_OK) return st;
  struct stat sb;
  if (stat(abs, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
    st = mw_err(err, MW_ERR_IO, "open '%s': %s is not a folder", root, abs);
    free(abs);
    return st;
  }
  file_store *fs = malloc(sizeof *fs);
  if (!fs) {
    free(abs);
    return mw_err(err, MW_ERR_NOMEM, "open '%s': out of memory", root);
  }
  memset(fs, 0, sizeof *fs);
  fs->root = abs;
  fs->root_len = strlen(abs);
  fs->fsync = opts->fsync != 0;
  for (int i = 0; i < SPARE_SLOTS; i++) fs->spare[i].fd = -1;
  pthread_mutex_init(&fs->spare_mu, NULL);
  pthread_cond_init(&fs->spare_cv, NULL);
  MW_TRY(mw_objstore_new(out, &file_vtable, fs, err));
  (*out)->get_slab = file_get_slab;
  (*out)->sweep_temp = file_sweep_temp;
  (*out)->put_if_absent_v = file_put_if_absent_v;
  (*out)->stage = file_stage;
  (*out)->publish = file_publish;
  (*out)->sync_published = file_sync_published;
  (*out)->staged_free = file_staged_free;
  return MW_OK;
}
