// File system steps the file-based stores share: private directories and
// files, and making a rename durable.
#pragma once

#include <string>

#include "core/status.h"

namespace ohfp {

/// Creates every missing directory above `path` with mode 0700.
Status EnsureParentDirectory(const std::string& path);

/// Creates `path` as an empty file with mode 0600 unless it exists.
Status CreateFileIfMissing(const std::string& path);

/// The directory part of `path` ("." when it has none).
std::string DirectoryOf(const std::string& path);

/// The stamp beside the store at `store_path` that spaces out the periodic
/// stray-instance check a Host Factory status poll runs (src/cli/app.cc).
std::string ReconcileStampPath(const std::string& store_path);

/// Flushes the directory `dir` so that a rename inside it survives power loss.
Status SyncDirectory(const std::string& dir);

/// Writes `contents` to `path` atomically and durably: a temporary file in the
/// same directory is written, synced and renamed over `path`, then the
/// directory is synced. The caller serialises writers of `path`.
Status WriteFileAtomically(const std::string& path, const std::string& contents);

/// Creates `path` (which must not exist: kConflict if it does) with mode 0600
/// holding `contents`, and makes it durable.
Status WriteNewFile(const std::string& path, const std::string& contents);

/// Syncs the file `path` and its directory.
Status SyncFileAndDirectory(const std::string& path);

/// Reads the whole of `path` into `contents`; kNotFound if it does not exist.
Status ReadWholeFile(const std::string& path, std::string* contents);

}  // namespace ohfp
