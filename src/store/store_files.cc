#include "store/store_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ohfp {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::Error(ErrorCode::kStorageError, what + " " + path + ": " + std::strerror(errno),
                       {{"path", path}});
}

// Writes all of `data`, resuming after short writes and signals.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string ReconcileStampPath(const std::string& store_path) {
  return DirectoryOf(store_path) + "/reconcile.stamp";
}

Status EnsureParentDirectory(const std::string& path) {
  std::string dir = DirectoryOf(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status();
    return Status::Storage("not a directory: " + dir);
  }
  // Walk down from the root so that each missing level is created private;
  // another process creating the same level at the same time is harmless.
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("cannot create directory", prefix);
    }
  }
  return Status();
}

Status CreateFileIfMissing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", path);
  ::close(fd);
  return Status();
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoStatus("cannot sync directory", dir);
  return Status();
}

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  // One fixed temporary name: writers are serialised by the caller, and a
  // temporary left by a killed writer is simply truncated by the next one.
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  bool written = WriteAll(fd, contents.data(), contents.size());
  if (!written || ::fsync(fd) != 0) {
    Status s = ErrnoStatus("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::close(fd) != 0) return ErrnoStatus("cannot close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("cannot rename over", path);
  return SyncDirectory(DirectoryOf(path));
}

Status WriteNewFile(const std::string& path, const std::string& contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Conflict("file exists: " + path);
    return ErrnoStatus("cannot create", path);
  }
  bool written = WriteAll(fd, contents.data(), contents.size());
  if (!written || ::fsync(fd) != 0) {
    Status s = ErrnoStatus("cannot write", path);
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  if (::close(fd) != 0) return ErrnoStatus("cannot close", path);
  return SyncDirectory(DirectoryOf(path));
}

Status SyncFileAndDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoStatus("cannot sync", path);
  return SyncDirectory(DirectoryOf(path));
}

Status ReadWholeFile(const std::string& path, std::string* contents) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no such file: " + path);
    return ErrnoStatus("cannot open", path);
  }
  contents->clear();
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) contents->reserve(st.st_size);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    contents->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status();
}

}  // namespace ohfp
