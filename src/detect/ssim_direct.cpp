#include "oiad/detect/ssim_direct.h"

#include <cmath>
#include <vector>

namespace oiad::detect {

namespace {

constexpr int kWin = 11;

struct Window {
  double g[kWin];
  Window() {
    double sum = 0;
    for (int t = 0; t < kWin; ++t) sum += (g[t] = std::exp(-double((t - 5) * (t - 5)) / (2 * 1.5 * 1.5)));
    for (double& v : g) v /= sum;
  }
};

// Mean SSIM of one channel pair over the windows wholly inside the image. `buf` holds
// 5·(h + 1)·wv doubles (wv = w - 10). Compiled for AVX-512, AVX2 and baseline x86-64; the
// loader picks the best the CPU has.
__attribute__((target_clones("avx512f", "avx2", "default"))) double ssim_channel(const float* a, const float* b, int h,
                                                                              int w, const double* g, double* buf) {
  const int wv = w - kWin + 1, hv = h - kWin + 1;
  double* hx = buf;
  double* hy = hx + h * wv;
  double* hxx = hy + h * wv;
  double* hyy = hxx + h * wv;
  double* hxy = hyy + h * wv;
  // Horizontal pass of the separable Gaussian over x, y, x², y², xy (loops ordered so the
  // innermost one runs along a row and vectorises).
  for (int r = 0; r < h; ++r) {
    const float* ar = a + r * w;
    const float* br = b + r * w;
    double* px = hx + r * wv;
    double* py = hy + r * wv;
    double* pxx = hxx + r * wv;
    double* pyy = hyy + r * wv;
    double* pxy = hxy + r * wv;
    for (int j = 0; j < wv; ++j) px[j] = py[j] = pxx[j] = pyy[j] = pxy[j] = 0;
    for (int t = 0; t < kWin; ++t) {
      const double gt = g[t];
      for (int j = 0; j < wv; ++j) {
        const double u = ar[j + t], v = br[j + t];
        px[j] += gt * u;
        py[j] += gt * v;
        pxx[j] += gt * u * u;
        pyy[j] += gt * v * v;
        pxy[j] += gt * u * v;
      }
    }
  }
  // Vertical pass and the SSIM map, summed.
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  double total = 0;
  double* acc = hxy + h * wv;  // 5 rows of wv
  double *ux = acc, *uy = acc + wv, *xx = acc + 2 * wv, *yy = acc + 3 * wv, *xy = acc + 4 * wv;
  for (int i = 0; i < hv; ++i) {
    for (int j = 0; j < wv; ++j) ux[j] = uy[j] = xx[j] = yy[j] = xy[j] = 0;
    for (int t = 0; t < kWin; ++t) {
      const double gt = g[t];
      const int o = (i + t) * wv;
      for (int j = 0; j < wv; ++j) {
        ux[j] += gt * hx[o + j];
        uy[j] += gt * hy[o + j];
        xx[j] += gt * hxx[o + j];
        yy[j] += gt * hyy[o + j];
        xy[j] += gt * hxy[o + j];
      }
    }
    for (int j = 0; j < wv; ++j) {
      const double vx = xx[j] - ux[j] * ux[j], vy = yy[j] - uy[j] * uy[j], vxy = xy[j] - ux[j] * uy[j];
      total += ((2 * ux[j] * uy[j] + c1) * (2 * vxy + c2)) / ((ux[j] * ux[j] + uy[j] * uy[j] + c1) * (vx + vy + c2));
    }
  }
  return total / double(hv * wv);
}

}  // namespace

void ssim_direct(const float* x, const int64_t* x_of, const float* y, int64_t n, int c, int h, int w, double* out) {
  static const Window win;
  const int64_t plane = int64_t(h) * w, image = plane * c;
#pragma omp parallel
  {
    std::vector<double> buf(size_t(5 * (h + 1) * (w - kWin + 1)));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + (x_of ? x_of[i] : i) * image;
      const float* yi = y + i * image;
      double s = 0;
      for (int ch = 0; ch < c; ++ch) s += ssim_channel(xi + ch * plane, yi + ch * plane, h, w, win.g, buf.data());
      out[i] = s / c;
    }
  }
}

}  // namespace oiad::detect
