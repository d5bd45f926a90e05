// Peak memory and time of detect::complexity (the relative rule's image complexity) on N random
// grey images of S x S at blur σ: one JSON line. Each run is its own process, so the peak
// resident size (getrusage) is this call's.
//   cmake --build build --target oiad_complexity_memory
//   build/oiad_complexity_memory 256 128 8      # N S SIGMA [THREADS (1)]
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "oiad/detect/complexity.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s N SIZE SIGMA [THREADS]\n", argv[0]);
    return 2;
  }
  const int64_t n = std::atoll(argv[1]), s = std::atoll(argv[2]);
  const double sigma = std::atof(argv[3]);
  torch::set_num_threads(argc > 4 ? std::atoi(argv[4]) : 1);
  torch::manual_seed(0);
  const auto x = torch::rand({n, 1, s, s});
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto t0 = std::chrono::steady_clock::now();
  const auto c = oiad::detect::complexity(x, oiad::detect::Metric::kSsim, sigma);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  std::printf("{\"images\": %lld, \"size\": %lld, \"sigma\": %g, \"threads\": %d, \"seconds\": %.3f, "
              "\"peak_rss_mb_before\": %.1f, \"peak_rss_mb\": %.1f, \"mean_complexity\": %.9f}\n",
              (long long)n, (long long)s, sigma, torch::get_num_threads(), secs, before.ru_maxrss / 1024.0,
              after.ru_maxrss / 1024.0, c.mean().item<double>());
  return 0;
}
