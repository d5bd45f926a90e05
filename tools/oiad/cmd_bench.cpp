// oiad bench: throughput of this machine for the pieces OIAD spends its time in, measured in
// one run so that they can be read as ratios (e.g. the decoder's FLOP rate against sgemm's).
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cli_images.h"
#include "commands.h"
#include "oiad/core/runtime.h"
#include "oiad/detect/detector.h"
#include "oiad/detect/fast_decoder.h"
#include "oiad/detect/pipeline.h"
#include "oiad/model/networks.h"
#include "oiad/train/trainer.h"

namespace oiad::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs fn repeatedly for at least `min_seconds` (after one warm-up call); returns calls/s.
template <typename Fn>
double rate(Fn fn, double min_seconds) {
  fn();
  int calls = 0;
  const auto t0 = Clock::now();
  do {
    fn();
    ++calls;
  } while (seconds_since(t0) < min_seconds);
  return calls / seconds_since(t0);
}

// FLOPs of one decoder forward pass (multiply-adds count 2): dense layers and transposed
// convolutions, 2·C_in·C_out·k²·H_in·W_in each.
double decoder_flops(const model::ModelConfig& c) {
  const double base = model::base_side(c.input_size);
  double f = 2.0 * c.latent_dim * c.decoder_dense + 2.0 * c.decoder_dense * 64 * base * base;
  std::vector<int> chans(size_t(model::extra_stages(c.input_size)), 64);
  for (int ch : {64, 64, 32, 32, c.channels}) chans.push_back(ch);
  double side = base;
  for (size_t l = 0; l + 1 < chans.size(); ++l) {
    f += 2.0 * chans[l] * chans[l + 1] * 16 * side * side;
    side *= 2;
  }
  return f;
}

nlohmann::json bench_model(int channels, bool quick) {
  const double t = quick ? 0.5 : 2.0;
  model::ModelConfig cfg = model::ModelConfig::defaults(model::ModelKind::kDetectorVae, channels, 32);
  torch::manual_seed(0);
  model::DetectorVae net(cfg);
  nlohmann::json j = {{"channels", channels}, {"input_size", cfg.input_size}, {"latent_dim", cfg.latent_dim}};

  // Training: images/s of the full Detector-VAE step (VAE + discriminator).
  auto images = torch::rand({quick ? 512 : 2048, channels, 32, 32});
  train::TrainOptions o;
  o.epochs = 2;
  o.verbose = false;
  train::TrainState st;
  train::train_model(net, images, o, st);
  j["train_images_per_s"] = st.history.back().images_per_s;

  // Decoding: morphs/s at the detector's decode batch, through the fast path the detector
  // uses and through LibTorch's own modules (the reference), in the same run.
  net->eval();
  torch::NoGradGuard ng;
  const int batch = detect::DetectorOptions().decode_batch;
  auto z = torch::randn({batch, cfg.latent_dim});
  const detect::FastDecoder fast(net->decoder);
  const double calls = rate([&] { model::output_to_image(fast.forward(z), cfg.reconstruction); }, t);
  const double ref_calls = rate([&] { net->decode(z); }, t);
  j["decode_batch"] = batch;
  j["decode_images_per_s"] = calls * batch;
  j["decode_gflops"] = calls * batch * decoder_flops(cfg) / 1e9;
  j["decode_reference_images_per_s"] = ref_calls * batch;
  j["decode_reference_gflops"] = ref_calls * batch * decoder_flops(cfg) / 1e9;
  j["decode_speedup_over_reference"] = calls / ref_calls;

  // Scoring: images/s of structure consistency (all metrics) at each preset; the paper
  // preset also through the reference decoder.
  auto val = torch::rand({64, channels, 32, 32});
  auto x = torch::rand({quick ? 4 : 16, channels, 32, 32});
  // "default" as a user gets it (duplicate codes merged at calibration: how many remain
  // depends on the model, and on this briefly trained model of random images it may be
  // very few); "default_every_code" without merging (the slowest case of the preset).
  for (const char* preset : {"default", "default_every_code", "paper", "paper_reference"}) {
    detect::DetectorOptions o =
        detect::preset_options(detect::parse_preset(std::string(preset).substr(0, std::string(preset).find('_'))));
    o.fast_decoder = std::string(preset) != "paper_reference";
    if (std::string(preset) == "default_every_code") o.duplicate_tolerance = 0;
    detect::Detector det(net, o);
    // As a user gets it: merging duplicate codes needs the VAL consistencies, so a preset
    // that merges is calibrated; the others only need the normal ranges (calibrating the
    // paper presets would score 64 VAL images at up to 4,000 morphs each for nothing).
    if (o.duplicate_tolerance > 0)
      det.calibrate(val, 0.4);
    else
      det.fit_normal_range(val);
    j["score_images_per_s"][preset] = rate([&] { det.structure_consistency(x); }, t) * double(x.size(0));
    j["score_codes"][preset] = det.codes().size();
  }
  j["score_default_over_paper"] =
      j["score_images_per_s"]["default"].get<double>() / j["score_images_per_s"]["paper"].get<double>();
  j["score_default_every_code_over_paper"] =
      j["score_images_per_s"]["default_every_code"].get<double>() / j["score_images_per_s"]["paper"].get<double>();
  return j;
}

// Scoring on a trained model, as its users get it: images/s of score_images (blocks of 64,
// every metric) on up to 256 of its test images (64 with --quick), with its stored
// calibration, paired in the same run with the `paper` preset (N = 100, every code; the
// normal range fitted on the model's VAL part, which is all the timing needs).
nlohmann::json bench_trained_model(const std::string& path, bool quick) {
  const double t = quick ? 0.5 : 2.0;
  detect::CalibratedDetector d = detect::load_detector(path, true);
  const ImageSelection test = select_images(d.model, "", "test", quick ? 64 : 256);
  const torch::Tensor x = selection_input(d.model, test, false, "test images");
  nlohmann::json j = {{"model", path}, {"images", x.size(0)}, {"scorer", detect::scorer_name(d.scorer)}};
  if (d.single_score()) {
    // One forward pass per image: nothing to compare with a preset.
    j["score_images_per_s"] = rate([&] { detect::score(d, x); }, t) * double(x.size(0));
    return j;
  }
  const detect::DecisionRule r = d.calibration.default_decision();
  const double level = r.rule == detect::Rule::kPaper ? r.alpha : r.fpr;
  auto& stored = j["stored_calibration"];
  stored = {{"preset", detect::preset_name(d.detector->options().preset)},
            {"morphs", d.detector->options().morphs},
            {"codes_scored", d.calibration.codes.size()}};
  stored["score_images_per_s"] =
      rate([&] { detect::score_images(d, x, detect::kDefaultMetric, level, detect::kCalibrationBlock, {}, r.rule); }, t) *
      double(x.size(0));
  detect::Detector paper(d.model.net, detect::preset_options(detect::Preset::kPaper));
  const ImageSelection val = select_images(d.model, "", "val", 0);
  paper.fit_normal_range(selection_input(d.model, val, false, "VAL images"));
  auto& p = j["paper"];
  p = {{"preset", "paper"}, {"morphs", paper.options().morphs}, {"codes_scored", paper.codes().size()}};
  p["score_images_per_s"] = rate(
                                [&] {
                                  const int64_t block = detect::kCalibrationBlock;
                                  for (int64_t a = 0; a < x.size(0); a += block)
                                    paper.structure_consistency(x.slice(0, a, std::min(x.size(0), a + block)));
                                },
                                t) *
                            double(x.size(0));
  j["stored_over_paper"] = stored["score_images_per_s"].get<double>() / p["score_images_per_s"].get<double>();
  return j;
}

void run_bench(bool quick, const std::string& model_path) {
  nlohmann::json j = {{"threads", num_threads()}, {"blas_core", blas_core_name()}};
  if (!model_path.empty()) {
    // A trained model's scoring only: the machine's own measurements run without --model.
    j["trained_model"] = bench_trained_model(model_path, quick);
    print_json_line(j.dump());
    return;
  }
  const int64_t n = 2048;
  auto a = torch::rand({n, n}), b = torch::rand({n, n});
  j["sgemm_gflops"] = rate([&] { torch::mm(a, b); }, quick ? 0.5 : 2.0) * 2.0 * double(n * n * n) / 1e9;
  j["mnist_size"] = bench_model(1, quick);
  j["cifar_size"] = bench_model(3, quick);
  for (const char* k : {"mnist_size", "cifar_size"})
    j[k]["decode_fraction_of_sgemm"] = j[k]["decode_gflops"].get<double>() / j["sgemm_gflops"].get<double>();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  j["peak_rss_mb"] = double(ru.ru_maxrss) / 1024.0;
  print_json_line(j.dump());
}

}  // namespace

void add_bench_command(CLI::App& app, Runner& run) {
  auto quick = std::make_shared<bool>(false);
  auto model = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("bench", "measure sgemm, training, decoding and scoring throughput (JSON)");
  c->add_flag("--quick", *quick, "shorter measurements");
  c->add_option("--model", *model,
                "instead, score a trained, calibrated model's test images: its stored calibration against the "
                "paper preset");
  c->callback([&run, quick, model] { run = [quick, model] { run_bench(*quick, *model); return 0; }; });
}

}  // namespace oiad::cli
