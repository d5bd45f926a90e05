#include "oiad/detect/ssim_direct.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace oiad::detect {

namespace {

constexpr int kWin = kSsimWindow;

struct Window {
  double g[kWin];
  Window() {
    double sum = 0;
    for (int t = 0; t < kWin; ++t) sum += (g[t] = std::exp(-double((t - 5) * (t - 5)) / (2 * 1.5 * 1.5)));
    for (double& v : g) v /= sum;
  }
};

// Separable Gaussian (valid windows) of the n maps src[0..n): horizontal pass into `tmp`
// (n·h·wv), vertical pass into dst[k] (hv·wv each). With `square`, map k = 1 is src[0]²,
// map 2 is src[0]·src[1]: the maps are built from the pixel rows on the fly. Loops are
// ordered so the innermost runs along a row and vectorises.
//
// Per channel pair SSIM needs five blurred maps: x, y, x², y², xy. The x maps are the same
// for every morph of one image, so they are computed once per image (`XStats`) and only
// the three y maps per morph.
__attribute__((target_clones("avx512f", "avx2", "default"))) void blur_x_stats(const float* a, int h, int w,
                                                                            const double* g, double* tmp,
                                                                            double* ux, double* uxx) {
  const int wv = w - kWin + 1, hv = h - kWin + 1;
  double* hx = tmp;
  double* hxx = tmp + h * wv;
  for (int r = 0; r < h; ++r) {
    const float* ar = a + r * w;
    double* px = hx + r * wv;
    double* pxx = hxx + r * wv;
    for (int j = 0; j < wv; ++j) px[j] = pxx[j] = 0;
    for (int t = 0; t < kWin; ++t) {
      const double gt = g[t];
      for (int j = 0; j < wv; ++j) {
        const double u = ar[j + t];
        px[j] += gt * u;
        pxx[j] += gt * u * u;
      }
    }
  }
  for (int i = 0; i < hv; ++i) {
    double* ox = ux + i * wv;
    double* oxx = uxx + i * wv;
    for (int j = 0; j < wv; ++j) ox[j] = oxx[j] = 0;
    for (int t = 0; t < kWin; ++t) {
      const double gt = g[t];
      const int o = (i + t) * wv;
      for (int j = 0; j < wv; ++j) {
        ox[j] += gt * hx[o + j];
        oxx[j] += gt * hxx[o + j];
      }
    }
  }
}

// Mean SSIM of one channel pair over the windows wholly inside the image, given x's blurred
// maps ux, uxx (hv·wv). `tmp` holds 3·h·wv + 4·wv doubles. With `map` (hv·wv), adds
// weight · (1 - SSIM) of every window to it. Compiled for AVX-512, AVX2 and baseline x86-64;
// the loader picks the best the CPU has.
__attribute__((target_clones("avx512f", "avx2", "default"))) double ssim_channel(const float* a, const float* b, int h,
                                                                              int w, const double* g,
                                                                              const double* ux_map,
                                                                              const double* uxx_map, double* tmp,
                                                                              float* map, double weight) {
  const int wv = w - kWin + 1, hv = h - kWin + 1;
  double* hy = tmp;
  double* hyy = hy + h * wv;
  double* hxy = hyy + h * wv;
  for (int r = 0; r < h; ++r) {
    const float* ar = a + r * w;
    const float* br = b + r * w;
    double* py = hy + r * wv;
    double* pyy = hyy + r * wv;
    double* pxy = hxy + r * wv;
    for (int j = 0; j < wv; ++j) py[j] = pyy[j] = pxy[j] = 0;
    for (int t = 0; t < kWin; ++t) {
      const double gt = g[t];
      for (int j = 0; j < wv; ++j) {
        const double u = ar[j + t], v = br[j + t];
        py[j] += gt * v;
        pyy[j] += gt * v * v;
        pxy[j] += gt * u * v;
      }
    }
  }
  // Vertical pass and the SSIM map, summed.
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  double total = 0;
  double* acc = hxy + h * wv;  // 4 rows of wv
  double *uy = acc, *yy = acc + wv, *xy = acc + 2 * wv, *srow = acc + 3 * wv;
  for (int i = 0; i < hv; ++i) {
    for (int j = 0; j < wv; ++j) uy[j] = yy[j] = xy[j] = 0;
    for (int t = 0; t < kWin; ++t) {
      const double gt = g[t];
      const int o = (i + t) * wv;
      for (int j = 0; j < wv; ++j) {
        uy[j] += gt * hy[o + j];
        yy[j] += gt * hyy[o + j];
        xy[j] += gt * hxy[o + j];
      }
    }
    const double* ux = ux_map + i * wv;
    const double* xx = uxx_map + i * wv;
    // The row's SSIM values first (a loop without stores to the map vectorises), then their
    // sum and, when asked, the map.
    for (int j = 0; j < wv; ++j) {
      const double vx = xx[j] - ux[j] * ux[j], vy = yy[j] - uy[j] * uy[j], vxy = xy[j] - ux[j] * uy[j];
      srow[j] = ((2 * ux[j] * uy[j] + c1) * (2 * vxy + c2)) / ((ux[j] * ux[j] + uy[j] * uy[j] + c1) * (vx + vy + c2));
    }
    for (int j = 0; j < wv; ++j) total += srow[j];
    if (map) {
      float* mrow = map + i * wv;
      for (int j = 0; j < wv; ++j) mrow[j] += float(weight * (1.0 - srow[j]));
    }
  }
  return total / double(hv * wv);
}

}  // namespace

void ssim_direct(const float* x, const int64_t* x_of, const float* y, int64_t n, int c, int h, int w, double* out,
                 float* maps) {
  static const Window win;
  const int64_t plane = int64_t(h) * w, image = plane * c;
  const int wv = w - kWin + 1, hv = h - kWin + 1;
  const size_t stats = size_t(hv) * wv;
#pragma omp parallel
  {
    std::vector<double> tmp(size_t((3 * h + 4) * wv));
    // x's blurred maps (ux, uxx per channel) for the last x image seen by this thread:
    // consecutive pairs usually share it (the morphs of one image).
    std::vector<double> xstats(2 * stats * size_t(c));
    const float* cached = nullptr;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + (x_of ? x_of[i] : i) * image;
      const float* yi = y + i * image;
      if (xi != cached) {
        for (int ch = 0; ch < c; ++ch)
          blur_x_stats(xi + ch * plane, h, w, win.g, tmp.data(), xstats.data() + 2 * stats * size_t(ch),
                       xstats.data() + 2 * stats * size_t(ch) + stats);
        cached = xi;
      }
      double s = 0;
      float* map = maps ? maps + size_t(i) * stats : nullptr;
      if (map) std::fill(map, map + stats, 0.0f);
      for (int ch = 0; ch < c; ++ch) {
        const double* ux = xstats.data() + 2 * stats * size_t(ch);
        s += ssim_channel(xi + ch * plane, yi + ch * plane, h, w, win.g, ux, ux + stats, tmp.data(), map, 1.0 / c);
      }
      out[i] = s / c;
    }
  }
}

}  // namespace oiad::detect
