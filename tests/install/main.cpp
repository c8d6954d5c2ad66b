// SPDX-License-Identifier: Apache-2.0
// Downstream consumer used by tools/check_install.sh: must build against the installed
// headers and library only.
#include <spindle/spindle.hpp>

int main() {
  spindle::Runtime rt;
  return rt.block_on([] { return 0; });
}
