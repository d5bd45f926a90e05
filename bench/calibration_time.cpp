// Times make_calibration (which stores every VAL image's one-sided score) and single-image
// one_sided_score calls on random VAL values: N images, K codes.
//   g++ -O2 -std=c++17 -Iinclude bench/calibration_time.cpp build/liboiad.a -o /tmp/calibration_time
//   /tmp/calibration_time 5000 20
#include <chrono>
#include <cstdio>
#include <random>
#include "oiad/detect/calibration.h"
using namespace oiad::detect;
int main(int argc, char** argv) {
  const size_t n = std::atoi(argv[1]), k = std::atoi(argv[2]);
  std::mt19937 g(1); std::normal_distribution<double> d;
  std::vector<std::vector<std::vector<double>>> v(n, std::vector<std::vector<double>>(kNumMetrics, std::vector<double>(k)));
  for (auto& a : v) for (auto& b : a) for (auto& c : b) c = d(g);
  std::vector<int> codes(k); for (size_t i = 0; i < k; ++i) codes[i] = int(i);
  auto t0 = std::chrono::steady_clock::now();
  Calibration c = make_calibration(codes, v, 0.4);
  auto t1 = std::chrono::steady_clock::now();
  double s = 0; for (auto& a : v) s += c.one_sided_score(Metric::kSsim, a[2]);
  auto t2 = std::chrono::steady_clock::now();
  std::printf("n %zu k %zu make_calibration %.3f s, %zu one_sided_score calls %.3f s (%g)\n", n, k,
    std::chrono::duration<double>(t1 - t0).count(), n, std::chrono::duration<double>(t2 - t1).count(), s);
}
