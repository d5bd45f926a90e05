// Kernel set for one instruction set; included by deconv_kernels_<isa>.cpp, each compiled
// with its own -m flags, after defining:
//   OIAD_VW   floats per vector register (16 AVX-512, 8 AVX2, 4 SSE2)
//   OIAD_ACC  vector registers a tile may use for accumulators
//   OIAD_FN   the function name (impl::deconv_<isa>)
// GCC's vector extensions lower `vf` arithmetic to the target's instructions.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "oiad/detect/deconv_kernels.h"

namespace oiad::detect::kernels::impl {
namespace {

constexpr int W = OIAD_VW;
typedef float vf __attribute__((vector_size(W * 4)));

inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// Sum of the lanes, by halving (log2 W vector adds).
inline float hsum(vf v) {
#if OIAD_VW == 16
  typedef float v8 __attribute__((vector_size(32)));
  const v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif OIAD_VW == 8
  const vf a = v;
#endif
#if OIAD_VW >= 8
  typedef float v4 __attribute__((vector_size(16)));
  const v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#else
  const vf b = v;
#endif
  typedef float v2 __attribute__((vector_size(8)));
  const v2 c = __builtin_shufflevector(b, b, 0, 1) + __builtin_shufflevector(b, b, 2, 3);
  return c[0] + c[1];
}

// Input offsets and kernel taps: output pixel (2m + p, 2n + q) reads input rows m + kOffset[p][a]
// (a = 0, 1) with kernel row kKernel[p][a]; the same for columns (fast_decoder.h).
constexpr int kOffset[2][2] = {{0, -1}, {1, 0}};

struct Geometry {
  int64_t nb;
  int side, cin, cout;
  int64_t in_row, in_img;    // floats per padded input row / image
  int64_t out_row, out_img;  // same for the padded output; or per channel-first row / image
  bool out_padded;
  // Input address of interior pixel (b, m, n) and output address of its phase-(p, q) pixel.
  const float* in_at(const float* in, int64_t b, int64_t m, int64_t n) const {
    return in + b * in_img + (m + 1) * in_row + (n + 1) * cin;
  }
  float* out_at(float* out, int64_t b, int64_t m, int64_t n, int p, int q) const {
    const int64_t y = 2 * m + p, x = 2 * n + q;
    return out_padded ? out + b * out_img + (y + 1) * out_row + (x + 1) * cout : out + b * out_img + y * out_row + x;
  }
};

// Walks the pixels (b, m, n) in order without divisions.
struct Cursor {
  int64_t b = 0, m = 0, n = 0;
  int side;
  explicit Cursor(int s) : side(s) {}
  void next() {
    if (++n == side) {
      n = 0;
      if (++m == side) m = 0, ++b;
    }
  }
};

// R pixels x V vectors of output channels (cout = V·W), one phase. `w` is that phase's
// [tap][cin][cout] block, toff[t] the input offset of tap t from a pixel's address.
template <int V, int R>
inline void tile(const Geometry& g, const float* const* src, float* const* dst, const float* w, const int64_t* toff,
                 const float* bias, bool relu) {
  vf acc[R][V];
  for (int v = 0; v < V; ++v) {
    const vf b = load(bias + v * W);
    for (int r = 0; r < R; ++r) acc[r][v] = b;
  }
  const int cin = g.cin;
  for (int t = 0; t < 4; ++t) {
    const float* wt = w + int64_t(t) * cin * V * W;
    const float* a[R];
    for (int r = 0; r < R; ++r) a[r] = src[r] + toff[t];
    for (int c = 0; c < cin; ++c) {
      vf wv[V];
      for (int v = 0; v < V; ++v) wv[v] = load(wt + (int64_t(c) * V + v) * W);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float s = a[r][c];
        for (int v = 0; v < V; ++v) acc[r][v] += s * wv[v];
      }
    }
  }
  const vf zero = {};
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      vf x = acc[r][v];
      if (relu) x = x > zero ? x : zero;
      store(dst[r] + v * W, x);
    }
}

template <int V>
void phase_tiles(const Geometry& g, const float* in, float* out, const float* w, const int64_t* toff, const float* bias,
                 bool relu, int p, int q) {
  constexpr int R = std::max(1, std::min(8, OIAD_ACC / V));
  const int64_t pixels = g.nb * g.side * g.side;
  const float* src[R];
  float* dst[R];
  Cursor at(g.side);
  int64_t i = 0;
  for (; i + R <= pixels; i += R) {
    for (int r = 0; r < R; ++r, at.next())
      src[r] = g.in_at(in, at.b, at.m, at.n), dst[r] = g.out_at(out, at.b, at.m, at.n, p, q);
    tile<V, R>(g, src, dst, w, toff, bias, relu);
  }
  for (; i < pixels; ++i, at.next()) {
    src[0] = g.in_at(in, at.b, at.m, at.n), dst[0] = g.out_at(out, at.b, at.m, at.n, p, q);
    tile<V, 1>(g, src, dst, w, toff, bias, relu);
  }
}

// Small or odd cout (the last layer has 1 or 3): per output pixel, vector dot products over
// cin. P pixels at a time, so that P·CO independent accumulator chains hide the FMA
// latency; each input vector is loaded once for all CO channels. `w` is the phase's
// [cout][tap][cin] block. CO = 0: any cout (runtime loop, one channel at a time).
template <int CO, int P>
inline void dot_group(const Geometry& g, const float* const* src, float* const* dst, const float* w,
                      const int64_t* toff, const float* bias, bool relu, int o0, int64_t ostride) {
  constexpr int kCo = CO > 0 ? CO : 1;
  const int cin = g.cin, cvec = cin / W * W;
  vf acc[P][kCo] = {};
  float tail[P][kCo];
  for (int r = 0; r < P; ++r)
    for (int o = 0; o < kCo; ++o) tail[r][o] = bias[o0 + o];
  for (int t = 0; t < 4; ++t) {
    for (int c = 0; c < cvec; c += W) {
      vf wv[kCo];
      for (int o = 0; o < kCo; ++o) wv[o] = load(w + (int64_t(o0 + o) * 4 + t) * cin + c);
      for (int r = 0; r < P; ++r) {
        const vf av = load(src[r] + toff[t] + c);
        for (int o = 0; o < kCo; ++o) acc[r][o] += av * wv[o];
      }
    }
    for (int c = cvec; c < cin; ++c)
      for (int r = 0; r < P; ++r)
        for (int o = 0; o < kCo; ++o) tail[r][o] += src[r][toff[t] + c] * w[(int64_t(o0 + o) * 4 + t) * cin + c];
  }
  for (int r = 0; r < P; ++r)
    for (int o = 0; o < kCo; ++o) {
      float x = hsum(acc[r][o]) + tail[r][o];
      if (relu) x = std::max(x, 0.0f);
      dst[r][(o0 + o) * ostride] = x;
    }
}

template <int CO>
void phase_dots(const Geometry& g, const float* in, float* out, const float* w, const int64_t* toff, const float* bias,
                bool relu, int p, int q) {
  constexpr int P = CO > 0 ? std::max(1, 8 / CO) : 4;
  const int64_t pixels = g.nb * g.side * g.side;
  const int64_t ostride = g.out_padded ? 1 : int64_t(g.out_row) * 2 * g.side;  // between output channels
  const float* src[P];
  float* dst[P];
  Cursor at(g.side);
  int64_t i = 0;
  auto run = [&](auto group_size) {
    constexpr int n = decltype(group_size)::value;
    if constexpr (CO > 0) {
      dot_group<CO, n>(g, src, dst, w, toff, bias, relu, 0, ostride);
    } else {
      for (int o = 0; o < g.cout; ++o) dot_group<0, n>(g, src, dst, w, toff, bias, relu, o, ostride);
    }
  };
  for (; i + P <= pixels; i += P) {
    for (int r = 0; r < P; ++r, at.next())
      src[r] = g.in_at(in, at.b, at.m, at.n), dst[r] = g.out_at(out, at.b, at.m, at.n, p, q);
    run(std::integral_constant<int, P>());
  }
  for (; i < pixels; ++i, at.next()) {
    src[0] = g.in_at(in, at.b, at.m, at.n), dst[0] = g.out_at(out, at.b, at.m, at.n, p, q);
    run(std::integral_constant<int, 1>());
  }
}

}  // namespace

void OIAD_FN(const DeconvWeights& w, const float* in, int64_t nb, int side, bool relu, float* out, bool out_padded) {
  Geometry g;
  g.nb = nb, g.side = side, g.cin = w.cin, g.cout = w.cout, g.out_padded = out_padded;
  g.in_row = int64_t(side + 2) * w.cin, g.in_img = (side + 2) * g.in_row;
  if (out_padded)
    g.out_row = int64_t(2 * side + 2) * w.cout, g.out_img = (2 * side + 2) * g.out_row;
  else
    g.out_row = 2 * side, g.out_img = int64_t(w.cout) * 4 * side * side;
  const int64_t block = int64_t(4) * w.cin * w.cout;  // one phase's weights
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 2; ++q) {
      int64_t toff[4];
      for (int a = 0; a < 2; ++a)
        for (int c = 0; c < 2; ++c) toff[a * 2 + c] = kOffset[p][a] * g.in_row + kOffset[q][c] * int64_t(w.cin);
      const float* pw = w.phase.data() + (p * 2 + q) * block;
      const float* dw = w.dot.data() + (p * 2 + q) * block;
      const float* b = w.bias.data();
      switch (out_padded && w.cout % W == 0 ? w.cout / W : 0) {  // tiles store channels-last
        case 1: phase_tiles<1>(g, in, out, pw, toff, b, relu, p, q); break;
        case 2: phase_tiles<2>(g, in, out, pw, toff, b, relu, p, q); break;
        case 4: phase_tiles<4>(g, in, out, pw, toff, b, relu, p, q); break;
        case 8: phase_tiles<8>(g, in, out, pw, toff, b, relu, p, q); break;
        default:
          switch (w.cout) {
            case 1: phase_dots<1>(g, in, out, dw, toff, b, relu, p, q); break;
            case 2: phase_dots<2>(g, in, out, dw, toff, b, relu, p, q); break;
            case 3: phase_dots<3>(g, in, out, dw, toff, b, relu, p, q); break;
            default: phase_dots<0>(g, in, out, dw, toff, b, relu, p, q);
          }
      }
    }
}

}  // namespace oiad::detect::kernels::impl
