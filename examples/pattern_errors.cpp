// SPDX-License-Identifier: Apache-2.0
// Errors coupled to results: stages pass Result<T> along; one place decides what a failure
// means.
#include <cstdio>
#include <string>
#include <system_error>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto urls = spindle::generate(
        done, {std::string("a.example"), std::string("bad url"), std::string("images.example")});
    auto fetched = spindle::try_map(done, urls, [](const std::string& url) {
      if (url.find(' ') != std::string::npos) {
        return spindle::Result<int>::failure(std::make_error_code(std::errc::invalid_argument));
      }
      return spindle::Result<int>(static_cast<int>(url.size()) * 100);  // a "response size"
    });
    auto sizes = spindle::route_errors(done, fetched, [](std::error_code ec) {
      std::printf("error: %s\n", ec.message().c_str());
    });
    for (int s : sizes) std::printf("response of %d bytes\n", s);
  });
}
