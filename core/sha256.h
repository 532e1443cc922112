// SHA-256 through OpenSSL EVP. Plain C++17, no PostgreSQL headers.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace tinv {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest sha256(std::string_view data);

// Lowercase hex of the SHA-256 of `data` (64 characters).
std::string sha256_hex(std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string to_hex(const unsigned char* data, size_t len);

}  // namespace tinv
