#include "store/migration.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "store/store_testing.h"

namespace ohfp {
namespace {

using store_testing::FileStoreOptions;
using store_testing::MakeMachine;
using store_testing::MakeRequest;
using store_testing::MakeReturn;
using store_testing::ScratchDir;

struct MigrationCase {
  std::string from;
  std::string to;
  int64_t batch_size;
  int requests;  // acquisitions; a return is added for every fifth
};

void PrintTo(const MigrationCase& c, std::ostream* os) {
  *os << c.from << "_to_" << c.to << "_batch" << c.batch_size;
}

std::unique_ptr<Store> OpenOrDie(const StoreOptions& o) {
  auto store = OpenStore(o);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// Records with every field set and varied, so a field dropped or confused on
// the way shows up in the comparison.
StoreChange SampleState(int acquisitions) {
  StoreChange c;
  for (int i = 0; i < acquisitions; ++i) {
    std::string n = std::to_string(i);
    Request r = MakeRequest("req-" + n, "tmpl-" + std::to_string(i % 3), 1 + i % 4,
                            static_cast<RequestState>(i % 5), 1000 + i / 2);
    r.message = "message " + n;
    r.handles = {{"reservation_ids", {"r-" + n}}, {"attempt", i}};
    r.launch_attempts = i % 3;
    r.completed_at = i % 2 == 0 ? 0 : 5000 + i;
    c.requests.push_back(r);
    for (int k = 0; k <= i % 2; ++k) {
      Machine m = MakeMachine("i-" + n + "-" + std::to_string(k), r.request_id, r.template_id,
                              k == 0 ? "running" : "terminated");
      m.private_ip = "10.0." + std::to_string(i % 256) + "." + std::to_string(k);
      m.price_type = i % 2 == 0 ? "spot" : "ondemand";
      c.machines.push_back(m);
    }
    if (i % 5 == 4) {
      c.requests.push_back(MakeReturn("ret-" + n, {"i-" + n + "-0"}, 2000 + i));
      c.machines.back().return_request_id = "ret-" + n;
    }
  }
  return c;
}

class MigrationTest : public ::testing::TestWithParam<MigrationCase> {
 protected:
  ScratchDir dir_;
};

TEST_P(MigrationTest, CopiesEveryRecordAndValidates) {
  const MigrationCase& c = GetParam();
  StoreOptions from_options = FileStoreOptions(c.from, dir_.path() + "/from");
  StoreOptions to_options = FileStoreOptions(c.to, dir_.path() + "/to");
  auto source = OpenOrDie(from_options);
  auto target = OpenOrDie(to_options);
  ASSERT_TRUE(source && target);
  StoreChange state = SampleState(c.requests);
  ASSERT_TRUE(source->Commit(state).ok());

  auto report =
      MigrateStore(*source, *target, {.batch_size = c.batch_size, .validate_after = true});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->requests, static_cast<int64_t>(state.requests.size()));
  EXPECT_EQ(report->machines, static_cast<int64_t>(state.machines.size()));
  EXPECT_EQ(report->records_migrated, report->requests + report->machines);
  EXPECT_TRUE(report->validated);
  EXPECT_GE(report->duration_seconds, 0);

  // Checked here independently of the migration's own validation.
  target.reset();
  target = OpenOrDie(to_options);
  EXPECT_EQ(*target->ScanRequests("", 0), *source->ScanRequests("", 0));
  EXPECT_EQ(*target->ScanMachines("", 0), *source->ScanMachines("", 0));
  for (const char* t : {"tmpl-0", "tmpl-1", "tmpl-2"}) {
    EXPECT_EQ(*target->HeldCount(t), *source->HeldCount(t)) << t;
  }

  // A second run (e.g. after an interruption) upserts the same records.
  auto again = MigrateStore(*source, *target, {.batch_size = c.batch_size, .validate_after = true});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*target->CountRequests(), report->requests);
}

INSTANTIATE_TEST_SUITE_P(Directions, MigrationTest,
                         ::testing::Values(MigrationCase{"json", "sqlite", 1, 24},
                                           MigrationCase{"json", "sqlite", 100, 260},
                                           MigrationCase{"sqlite", "json", 1, 24},
                                           MigrationCase{"sqlite", "json", 100, 260}),
                         [](const ::testing::TestParamInfo<MigrationCase>& info) {
                           return info.param.from + "_to_" + info.param.to + "_batch" +
                                  std::to_string(info.param.batch_size);
                         });

TEST(MigrationValidationTest, ReportsATargetThatDiffers) {
  ScratchDir dir;
  auto source = OpenOrDie(FileStoreOptions("json", dir.path() + "/from"));
  auto target = OpenOrDie(FileStoreOptions("sqlite", dir.path() + "/to"));
  ASSERT_TRUE(source->Commit(SampleState(10)).ok());

  // A record only the target holds makes the stores differ.
  ASSERT_TRUE(target->Commit({{MakeRequest("req-extra", "t", 1)}, {}}).ok());
  auto report = MigrateStore(*source, *target, {.batch_size = 3, .validate_after = true});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(report.status().details()["target_requests"], 13);

  // Without validation the copy itself succeeds and says it was not checked.
  auto unchecked = MigrateStore(*source, *target, {.batch_size = 3});
  ASSERT_TRUE(unchecked.ok());
  EXPECT_FALSE(unchecked->validated);
}

TEST(MigrationValidationTest, RefusesANonPositiveBatchSize) {
  ScratchDir dir;
  auto source = OpenOrDie(FileStoreOptions("json", dir.path() + "/from"));
  auto target = OpenOrDie(FileStoreOptions("sqlite", dir.path() + "/to"));
  EXPECT_EQ(MigrateStore(*source, *target, {.batch_size = 0}).status().code(),
            ErrorCode::kInvalidRequest);
}

class BackupTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BackupTest, WritesAPrivateConsistentCopyUnderANewName) {
  ScratchDir dir;
  StoreOptions options = FileStoreOptions(GetParam(), dir.path());
  auto store = OpenOrDie(options);
  ASSERT_TRUE(store->Commit(SampleState(12)).ok());

  std::string first, second;
  Status s = BackupStoreFile(options, &first);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(BackupStoreFile(options, &second).ok());
  EXPECT_NE(first, second);
  EXPECT_EQ(first.rfind(options.path + ".backup-", 0), 0u) << first;
  struct stat st;
  ASSERT_EQ(::stat(first.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // Changes after the backup are not in it; everything before is.
  ASSERT_TRUE(store->Commit({{MakeRequest("req-later", "t", 1)}, {}}).ok());
  StoreOptions copy = options;
  copy.path = first;
  auto restored = OpenOrDie(copy);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(*restored->CountRequests(), *store->CountRequests() - 1);
  EXPECT_EQ(*restored->ScanMachines("", 0), *store->ScanMachines("", 0));
}

TEST_P(BackupTest, FailsForAMissingStore) {
  ScratchDir dir;
  StoreOptions options = FileStoreOptions(GetParam(), dir.path());
  std::string path;
  EXPECT_EQ(BackupStoreFile(options, &path).code(), ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(options.path));
}

INSTANTIATE_TEST_SUITE_P(Types, BackupTest, ::testing::Values("sqlite", "json"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ohfp
