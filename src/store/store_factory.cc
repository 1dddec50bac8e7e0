#include "store/json_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace ohfp {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  if (options.type == "sqlite") {
    auto store = SqliteStore::Open(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (options.type == "json") {
    auto store = JsonStore::Open(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
  return Status::Error(ErrorCode::kConfigurationError,
                       "unknown store type '" + options.type + "' (expected sqlite or json)",
                       {{"type", options.type}});
}

}  // namespace ohfp
