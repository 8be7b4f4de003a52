// A disk of limited size for the full-disk test, without mount privileges.
//
// Preloaded into the service (LD_PRELOAD), it makes the regular files in
// $ENOSPC_SHIM_DIR and its subdirectories share $ENOSPC_SHIM_CAPACITY bytes, as the files
// of a small file system do: a write that would grow a file there past what is left
// writes what fits and returns the short count, and one for which nothing is left fails
// with ENOSPC, which is what the kernel answers on a full disk. Rewriting bytes a file
// already has always succeeds, as on a real disk. Space is what the files' sizes add up
// to, so a test fills the "disk" by writing a filler file into the directory and frees it
// by removing that file. Every other file, and every other process, is untouched.
//
// Why not something else: a tmpfs needs CAP_SYS_ADMIN (CI's container has none),
// FUSE needs /dev/fuse, and RLIMIT_FSIZE answers EFBIG, which SQLite reports as an
// I/O error rather than as a full disk. This shim leaves SQLite's own code and the
// service's handling of SQLITE_FULL to run exactly as on a full disk.

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

using write_fn = ssize_t (*)(int, const void*, size_t);
using pwrite_fn = ssize_t (*)(int, const void*, size_t, off_t);
using pwrite64_fn = ssize_t (*)(int, const void*, size_t, off64_t);
using writev_fn = ssize_t (*)(int, const struct iovec*, int);

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

const char* shim_dir() {
  static const char* dir = getenv("ENOSPC_SHIM_DIR");
  return dir && *dir ? dir : nullptr;
}

long long capacity() {
  static long long bytes = [] {
    const char* v = getenv("ENOSPC_SHIM_CAPACITY");
    return v ? atoll(v) : 0LL;
  }();
  return bytes;
}

/// Whether fd is a regular file in the shim's directory or below it (the
/// RocksDB store keeps its files in a directory of the data dir).
bool in_dir(int fd) {
  const char* dir = shim_dir();
  if (!dir)
    return false;
  char link[64];
  char path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0)
    return false;
  path[n] = '\0';
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/')
    --len;
  return strncmp(path, dir, len) == 0 && path[len] == '/';
}

/// The bytes the regular files of directory `at` and its subdirectories take.
long long used_below(int at) {
  long long total = 0;
  DIR* d = fdopendir(at);
  if (!d) {
    close(at);
    return 0;
  }
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (S_ISREG(st.st_mode))
      total += st.st_size;
    else if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sub >= 0)
        total += used_below(sub);
    }
  }
  closedir(d);
  return total;
}

/// The bytes the regular files of the directory take, subdirectories included.
long long used() {
  int at = open(shim_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return at < 0 ? 0 : used_below(at);
}

/// How many of `count` bytes written at `offset` of fd fit: all of them, or fewer
/// (0: none) when they would grow the file past the capacity left.
size_t fitting(int fd, off_t offset, size_t count) {
  if (count == 0 || !in_dir(fd))
    return count;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return count;
  long long end = static_cast<long long>(offset) + static_cast<long long>(count);
  long long growth = end - st.st_size;
  if (growth <= 0)
    return count;
  long long left = capacity() - used();
  if (left >= growth)
    return count;
  long long fits = (st.st_size - static_cast<long long>(offset)) + (left > 0 ? left : 0);
  return fits <= 0 ? 0 : static_cast<size_t>(fits);
}

off_t position(int fd) {
  if (fcntl(fd, F_GETFL) & O_APPEND) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : 0;
  }
  off_t at = lseek(fd, 0, SEEK_CUR);
  return at < 0 ? 0 : at;
}

} // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t count) {
  static auto real = next<write_fn>("write");
  size_t n = fd > 2 ? fitting(fd, position(fd), count) : count;
  if (n == 0 && count > 0) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static auto real = next<pwrite_fn>("pwrite");
  size_t n = fitting(fd, offset, count);
  if (n == 0 && count > 0) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  static auto real = next<pwrite64_fn>("pwrite64");
  size_t n = fitting(fd, static_cast<off_t>(offset), count);
  if (n == 0 && count > 0) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  static auto real = next<writev_fn>("writev");
  if (fd <= 2 || !in_dir(fd))
    return real(fd, iov, iovcnt);
  size_t count = 0;
  for (int i = 0; i < iovcnt; ++i)
    count += iov[i].iov_len;
  if (count > 0 && fitting(fd, position(fd), count) < count) {
    // Rare (SQLite does not use it): refuse the whole write rather than split it.
    errno = ENOSPC;
    return -1;
  }
  return real(fd, iov, iovcnt);
}

} // extern "C"
