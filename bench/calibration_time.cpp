// Times make_calibration (which stores every VAL image's one-sided score) and single-image
// one_sided_score calls on random VAL values: N images, K codes.
//   cmake --build build --target oiad_calibration_time
//   build/oiad_calibration_time 5000 20
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include "oiad/detect/calibration.h"
using namespace oiad::detect;
int main(int argc, char** argv) {
  const size_t n = std::atoi(argv[1]), k = std::atoi(argv[2]);
  std::mt19937 g(1); std::normal_distribution<double> d;
  ConsistencyTable v(n, k);
  for (size_t i = 0; i < n; ++i) for (int m = 0; m < kNumMetrics; ++m) for (size_t j = 0; j < k; ++j) v.at(i, Metric(m), j) = d(g);
  std::vector<int> codes(k); for (size_t i = 0; i < k; ++i) codes[i] = int(i);
  auto t0 = std::chrono::steady_clock::now();
  Calibration c = make_calibration(codes, v, 0.4);
  auto t1 = std::chrono::steady_clock::now();
  double s = 0; for (size_t i = 0; i < n; ++i) s += c.one_sided_score(Metric::kSsim, v.of(i, Metric::kSsim));
  auto t2 = std::chrono::steady_clock::now();
  std::printf("n %zu k %zu make_calibration %.3f s, %zu one_sided_score calls %.3f s (%g)\n", n, k,
    std::chrono::duration<double>(t1 - t0).count(), n, std::chrono::duration<double>(t2 - t1).count(), s);
}
