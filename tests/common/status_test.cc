#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace vitals {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kOk);
  EXPECT_EQ(status.ToString(), "OK");
}

TEST(StatusTest, FactoriesSetKindAndMessage) {
  EXPECT_EQ(Status::InvalidArgument("m").ToString(), "InvalidArgument: m");
  EXPECT_EQ(Status::NotFound("m").ToString(), "NotFound: m");
  EXPECT_EQ(Status::Corruption("m").ToString(), "Corruption: m");
  EXPECT_EQ(Status::IOError("m").ToString(), "IOError: m");
  EXPECT_EQ(Status::Unavailable("m").ToString(), "Unavailable: m");
  EXPECT_EQ(Status::ResourceExhausted("m").ToString(), "ResourceExhausted: m");
  EXPECT_EQ(Status::FailedPrecondition("m").ToString(), "FailedPrecondition: m");
  EXPECT_EQ(Status::Internal("m").ToString(), "Internal: m");
}

TEST(StatusTest, ErrorIsNotOkAndKeepsMessage) {
  Status status = Status::NotFound("no such series");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(), "no such series");
}

TEST(StatusTest, WithContextPrependsToMessageAndKeepsKind) {
  Status status = Status::IOError("disk full").WithContext("writing batch 7");
  EXPECT_EQ(status.code(), Status::Code::kIOError);
  EXPECT_EQ(status.message(), "writing batch 7: disk full");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status status = Status::Ok().WithContext("writing batch 7");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.message(), "");
}

TEST(ResultTest, HoldsValue) {
  Result<int> result(42);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.status().ok());
  EXPECT_EQ(result.value(), 42);
  EXPECT_EQ(*result, 42);
}

TEST(ResultTest, HoldsError) {
  Result<int> result(Status::Unavailable("collector down"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(result.status().message(), "collector down");
}

TEST(ResultTest, ArrowReachesMembersOfValue) {
  Result<std::string> result(std::string("vitals"));
  EXPECT_EQ(result->size(), 6u);
}

TEST(ResultTest, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(7));
  std::unique_ptr<int> value = std::move(result).value();
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 7);
}

TEST(ResultDeathTest, ConstructingFromOkStatusAborts) {
  EXPECT_DEATH({ Result<int> result(Status::Ok()); }, "");
}

Status FailIf(bool fail) { return fail ? Status::Corruption("bad block") : Status::Ok(); }

Status TwoSteps(bool fail_first, int* steps_done) {
  RETURN_IF_ERROR(FailIf(fail_first));
  ++*steps_done;
  RETURN_IF_ERROR(FailIf(false));
  ++*steps_done;
  return Status::Ok();
}

TEST(ReturnIfErrorTest, ContinuesOnOk) {
  int steps = 0;
  EXPECT_TRUE(TwoSteps(false, &steps).ok());
  EXPECT_EQ(steps, 2);
}

TEST(ReturnIfErrorTest, ReturnsFirstError) {
  int steps = 0;
  Status status = TwoSteps(true, &steps);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_EQ(status.message(), "bad block");
  EXPECT_EQ(steps, 0);
}

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::InvalidArgument(std::to_string(n) + " is odd");
  return n / 2;
}

Result<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(AssignOrReturnTest, AssignsValueOnSuccess) {
  Result<int> result = Quarter(12);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 3);
}

TEST(AssignOrReturnTest, ReturnsStatusOnError) {
  Result<int> result = Quarter(6);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().ToString(), "InvalidArgument: 3 is odd");
}

Result<std::unique_ptr<int>> MakeBox(int v) { return std::make_unique<int>(v); }

Status Unbox(int* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(5));
  *out = *box;
  return Status::Ok();
}

TEST(AssignOrReturnTest, WorksWithMoveOnlyValues) {
  int out = 0;
  ASSERT_TRUE(Unbox(&out).ok());
  EXPECT_EQ(out, 5);
}

}  // namespace
}  // namespace vitals
