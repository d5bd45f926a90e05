// Probe (not built by CMake): the decoder's four transposed convolutions through oneDNN's
// deconvolution primitive (Debian libdnnl-dev 2.6.3, the oneDNN LibTorch 1.13 links), to compare
// with FastDecoder. Build and run:  g++ -O2 bench/onednn_deconv.cpp -o build/onednn_deconv -ldnnl && build/onednn_deconv 64
// Measured result: docs/performance.md ("What did not help").
#include <oneapi/dnnl/dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <vector>
using namespace dnnl;
int main(int argc, char** argv) {
  int B = argc > 1 ? atoi(argv[1]) : 64;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  int chans[5] = {64, 64, 32, 32, 1};
  int side = 2;
  std::vector<deconvolution_forward> prims;
  std::vector<std::unordered_map<int, memory>> args;
  memory::desc src_md({B, 64, 2, 2}, memory::data_type::f32, memory::format_tag::nchw);
  memory src_user(src_md, eng);
  memory cur = src_user;
  double flops = 0;
  for (int l = 0; l < 4; ++l) {
    memory::dims src = {B, chans[l], side, side}, dst = {B, chans[l + 1], 2 * side, 2 * side},
                 wei = {chans[l + 1], chans[l], 4, 4}, bia = {chans[l + 1]};
    auto src_d = memory::desc(src, memory::data_type::f32, memory::format_tag::any);
    auto dst_d = memory::desc(dst, memory::data_type::f32, l == 3 ? memory::format_tag::nchw : memory::format_tag::any);
    auto wei_d = memory::desc(wei, memory::data_type::f32, memory::format_tag::any);
    auto bia_d = memory::desc(bia, memory::data_type::f32, memory::format_tag::a);
    post_ops po;
    if (l < 3) po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    primitive_attr attr;
    attr.set_post_ops(po);
    auto pd = deconvolution_forward::primitive_desc(
        deconvolution_forward::desc(prop_kind::forward_inference, algorithm::deconvolution_direct, src_d, wei_d, bia_d,
                                    dst_d, {2, 2}, {1, 1}, {1, 1}),
        attr, eng);
    printf("layer %d impl %s\n", l, pd.impl_info_str());
    if (pd.src_desc() != cur.get_desc()) {
      memory m(pd.src_desc(), eng);
      reorder(cur, m).execute(s, cur, m);
      cur = m;
    }
    memory w(pd.weights_desc(), eng), b(pd.bias_desc(), eng), d(pd.dst_desc(), eng);
    prims.push_back(deconvolution_forward(pd));
    args.push_back({{DNNL_ARG_SRC, cur}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, d}});
    cur = d;
    flops += 2.0 * chans[l] * chans[l + 1] * 16 * side * side;
    side *= 2;
  }
  auto run = [&] { for (size_t i = 0; i < prims.size(); ++i) prims[i].execute(s, args[i]); s.wait(); };
  run();
  int calls = 0;
  auto t0 = std::chrono::steady_clock::now();
  double el = 0;
  do { run(); ++calls; el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); } while (el < 2);
  for (size_t i = 0; i < prims.size(); ++i) {
    int c = 0; auto t1 = std::chrono::steady_clock::now(); double e = 0;
    do { prims[i].execute(s, args[i]); s.wait(); ++c; e = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(); } while (e < 0.5);
    printf("  layer %zu: %.3f ms per call\n", i, 1e3 * e / c);
  }
  printf("B=%d: %.0f images/s, %.1f GFLOP/s (convT only)\n", B, calls * B / el, calls * B * flops / el / 1e9);
}
