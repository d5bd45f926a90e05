// One libFuzzer binary per target: OIAD_FUZZ_TARGET names it (targets.h).
#include <cstddef>
#include <cstdint>

#include "targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  oiad::fuzz::set_fuzzing_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  oiad::fuzz::OIAD_FUZZ_TARGET(data, size);
  return 0;
}
