#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vitals::agent {

// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 metadata and leveldb's
// log: Crc32c("123456789") == 0xE3069283. Uses the SSE 4.2 instruction where
// the CPU has it (a spooled batch of 20 KB in about 2 µs instead of 40 µs).
// `crc` continues a checksum over data that came before: Crc32c(b, Crc32c(a))
// == Crc32c(a + b). Thread-safe.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace vitals::agent
