// What only the JSON back end promises: its file layout, refusal of damaged
// files without resetting them, and the lock discipline.

#include "store/json_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "store/store_testing.h"

namespace ohfp {
namespace {

using store_testing::FileStoreOptions;
using store_testing::MakeMachine;
using store_testing::MakeRequest;
using store_testing::ScratchDir;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
}

class JsonStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = FileStoreOptions("json", dir_.path());
    auto store = OpenStore(options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  ScratchDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_F(JsonStoreTest, KeepsRecordsKeyedByIdUnderAVersion) {
  ASSERT_TRUE(
      store_->Commit({{MakeRequest("req-1", "t", 2)}, {MakeMachine("i-1", "req-1", "t")}}).ok());
  nlohmann::json doc = nlohmann::json::parse(Slurp(options_.path));
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["requests"]["req-1"]["machine_count"], 2);
  EXPECT_EQ(doc["requests"]["req-1"]["state"], "pending");
  EXPECT_EQ(doc["requests"]["req-1"]["kind"], "acquire");
  EXPECT_EQ(doc["machines"]["i-1"]["request_id"], "req-1");
  EXPECT_FALSE(std::filesystem::exists(options_.path + ".tmp"));
}

TEST_F(JsonStoreTest, ANewStoreIsAValidEmptyFile) {
  nlohmann::json doc = nlohmann::json::parse(Slurp(options_.path));
  EXPECT_EQ(doc, (nlohmann::json{{"version", 1},
                                 {"requests", nlohmann::json::object()},
                                 {"machines", nlohmann::json::object()}}));
}

TEST_F(JsonStoreTest, ReportsUnreadableJsonAndNeverResetsIt) {
  ASSERT_TRUE(store_->Commit({{MakeRequest("req-1", "t", 2)}, {}}).ok());
  const std::string damaged = "{\"version\": 1, \"requests\": {\"req-1\": ";
  Spit(options_.path, damaged);

  EXPECT_EQ(store_->GetRequests({"req-1"}).status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(store_->Commit({{MakeRequest("req-2", "t", 1)}, {}}).code(), ErrorCode::kStorageError);
  EXPECT_EQ(store_->CreateAcquireRequest(MakeRequest("req-3", "t", 1), -1).code(),
            ErrorCode::kStorageError);
  auto reopened = OpenStore(options_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(Slurp(options_.path), damaged);
}

TEST_F(JsonStoreTest, ReportsAnEmptyFile) {
  Spit(options_.path, "");
  EXPECT_EQ(store_->CountRequests().status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(OpenStore(options_).status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(Slurp(options_.path), "");
}

TEST_F(JsonStoreTest, ReportsAnUnknownVersionOrABadRecord) {
  Spit(options_.path, R"({"version": 2, "requests": {}, "machines": {}})");
  EXPECT_EQ(store_->CountRequests().status().code(), ErrorCode::kStorageError);
  Spit(options_.path,
       R"({"version": 1, "requests": {"req-1": {"request_id": "req-1", "state": "odd"}},
           "machines": {}})");
  EXPECT_EQ(store_->CountRequests().status().code(), ErrorCode::kStorageError);
  Spit(options_.path,
       R"({"version": 1, "requests": {"req-1": {"request_id": "req-2"}}, "machines": {}})");
  EXPECT_EQ(store_->CountRequests().status().code(), ErrorCode::kStorageError);
}

TEST_F(JsonStoreTest, WritersWaitForTheLockOnlyAsLongAsTheBusyTimeout) {
  StoreOptions quick = options_;
  quick.busy_timeout_ms = 100;
  auto store = OpenStore(quick);
  ASSERT_TRUE(store.ok());
  int fd = ::open((options_.path + ".lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);

  ASSERT_EQ(::flock(fd, LOCK_SH), 0);  // a reader in another process
  EXPECT_TRUE((*store)->CountRequests().ok());
  Status s = (*store)->Commit({{MakeRequest("req-1", "t", 1)}, {}});
  EXPECT_EQ(s.code(), ErrorCode::kStorageError) << s.ToString();

  ASSERT_EQ(::flock(fd, LOCK_EX), 0);  // a writer in another process
  EXPECT_EQ((*store)->CountRequests().status().code(), ErrorCode::kStorageError);

  ASSERT_EQ(::flock(fd, LOCK_UN), 0);
  ::close(fd);
  EXPECT_TRUE((*store)->Commit({{MakeRequest("req-1", "t", 1)}, {}}).ok());
  EXPECT_EQ(*(*store)->CountRequests(), 1);
}

}  // namespace
}  // namespace ohfp
