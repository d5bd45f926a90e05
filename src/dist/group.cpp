#include "oiad/dist/group.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "oiad/core/error.h"

namespace oiad::dist {

namespace {

std::chrono::milliseconds to_ms(double seconds) { return std::chrono::milliseconds(int64_t(seconds * 1000.0)); }

}  // namespace


struct Group::Impl {
  Launch launch;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  Group::Traffic traffic;

  void wait(const c10::intrusive_ptr<c10d::Work>& w, const char* what) {
    try {
      w->wait(to_ms(launch.timeout_s));
    } catch (const std::exception& e) {
      const std::string m = e.what();
      throw Error(detail::concat("rank ", launch.rank, " of ", launch.world_size, ": ", what, " failed (a rank died, or waited more than ",
                launch.timeout_s, " s): ", m.substr(0, m.find('\n'))));
    }
  }
};

Group::Group(const Launch& launch) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.launch = launch;
  c10d::TCPStoreOptions o;
  o.port = uint16_t(launch.master_port);
  o.isServer = launch.rank == 0;
  o.numWorkers = size_t(launch.world_size);
  o.waitWorkers = true;
  o.timeout = to_ms(launch.timeout_s);
  try {
    s.store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, o);
    auto options = c10d::ProcessGroupGloo::Options::create(to_ms(launch.timeout_s));
    const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(iface ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;
    s.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(s.store, launch.rank, launch.world_size, options);
  } catch (const std::exception& e) {
    const std::string m = e.what();
    throw Error(detail::concat("rank ", launch.rank, " of ", launch.world_size, ": no rendezvous with the master ", launch.master_addr,
              ":", launch.master_port, " within ", launch.timeout_s, " s: ", m.substr(0, m.find('\n'))));
  }
}

Group::~Group() = default;

int Group::rank() const { return impl_->launch.rank; }
int Group::size() const { return impl_->launch.world_size; }

std::vector<std::vector<double>> Group::all_gather(const std::vector<double>& mine) {
  Impl& s = *impl_;
  const int w = s.launch.world_size;
  // Lengths first, then every rank's values padded to the longest.
  std::vector<at::Tensor> len_in = {torch::tensor({int64_t(mine.size())}, torch::kLong)};
  std::vector<std::vector<at::Tensor>> len_out(1);
  for (int r = 0; r < w; ++r) len_out[0].push_back(torch::zeros({1}, torch::kLong));
  s.wait(s.pg->allgather(len_out, len_in), "gathering lengths");
  int64_t longest = 0;
  std::vector<int64_t> lengths;
  for (const auto& t : len_out[0]) lengths.push_back(t.item<int64_t>()), longest = std::max(longest, lengths.back());
  auto padded = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kDouble);
  if (!mine.empty()) std::copy(mine.begin(), mine.end(), padded.data_ptr<double>());
  std::vector<at::Tensor> in = {padded};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < w; ++r) out[0].push_back(torch::zeros({std::max<int64_t>(longest, 1)}, torch::kDouble));
  s.wait(s.pg->allgather(out, in), "gathering results");
  std::vector<std::vector<double>> all;
  for (int r = 0; r < w; ++r) {
    const double* p = out[0][size_t(r)].data_ptr<double>();
    all.emplace_back(p, p + lengths[size_t(r)]);
  }
  return all;
}

at::Tensor Group::all_gather_rows(const at::Tensor& rows) {
  Impl& s = *impl_;
  auto in = rows.contiguous();
  std::vector<at::Tensor> ins = {in};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < s.launch.world_size; ++r) out[0].push_back(torch::empty_like(in));
  s.wait(s.pg->allgather(out, ins), "gathering rows");
  return torch::cat(out[0], 0);
}

void Group::all_reduce_mean(const std::vector<at::Tensor>& tensors) {
  all_reduce_sum(tensors);
  for (const auto& t : tensors) t.detach().div_(double(impl_->launch.world_size));
}

void Group::all_reduce_sum(const std::vector<at::Tensor>& tensors) {
  Impl& s = *impl_;
  if (tensors.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<at::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}));
  std::vector<at::Tensor> bucket = {torch::cat(flat)};
  s.wait(s.pg->allreduce(bucket), "all-reduce");
  int64_t at = 0;
  for (const auto& t : tensors) {
    const int64_t n = t.numel();
    t.detach().copy_(bucket[0].slice(0, at, at + n).view(t.sizes()));
    at += n;
  }
  s.traffic.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.traffic.calls += 1;
  s.traffic.bytes += bucket[0].numel() * int64_t(bucket[0].element_size());
}

void Group::broadcast(const std::vector<at::Tensor>& tensors, int root) {
  Impl& s = *impl_;
  for (const auto& t : tensors) {
    std::vector<at::Tensor> one = {t.detach().contiguous()};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    s.wait(s.pg->broadcast(one, o), "broadcast");
    if (!t.is_contiguous()) t.detach().copy_(one[0]);
  }
}

const Group::Traffic& Group::traffic() const { return impl_->traffic; }

void Group::barrier() { impl_->wait(impl_->pg->barrier(), "barrier"); }

}  // namespace oiad::dist
