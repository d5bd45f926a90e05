// oiad: image anomaly detection with disentanglement learning (OIAD).
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "commands.h"
#include "oiad/core/build_info.h"
#include "oiad/core/error.h"
#include "oiad/core/runtime.h"
#include "oiad/version.h"

namespace oiad::cli {
void print_json_line(const std::string& json_text) { std::cout << json_text << std::endl; }
namespace {
dist::Launch the_launch;
}
const dist::Launch& launch() { return the_launch; }

namespace {
std::vector<const CLI::App*>& distributed_list() {
  static std::vector<const CLI::App*> commands;
  return commands;
}
}  // namespace

void allow_distributed(CLI::App* command) { distributed_list().push_back(command); }
const std::vector<const CLI::App*>& distributed_commands() { return distributed_list(); }
}  // namespace oiad::cli

namespace {
std::string first_line(const char* what) {
  const std::string s = what;
  return s.substr(0, s.find('\n'));
}
}  // namespace

int main(int argc, char** argv) {
  oiad::maybe_reexec_for_fast_blas(argv);
  // Decoding thousands of morphs allocates and frees large activation buffers in a loop;
  // glibc would mmap/munmap each one (page faults dominated scoring time). Keep freed
  // memory in the heap instead.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"oiad: one-for-all image anomaly detection with disentanglement learning"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("oiad ") + OIAD_VERSION + " (commit " + oiad::build_commit() + ")");
  int threads = 0;
  app.add_option("--threads", threads,
                 "threads for LibTorch and OpenBLAS (default: $OMP_NUM_THREADS if set, else every core)")
      ->check(CLI::NonNegativeNumber);
  oiad::dist::LaunchFlags dist_flags;
  app.add_option("--rank", dist_flags.rank, "this process's rank in a distributed run (default: $RANK or $SLURM_PROCID)");
  app.add_option("--world-size", dist_flags.world_size,
                 "processes in a distributed run (default: $WORLD_SIZE or $SLURM_NTASKS, else 1)");
  app.add_option("--master", dist_flags.master,
                 "HOST[:PORT] of rank 0's rendezvous store (default: $MASTER_ADDR:$MASTER_PORT, 127.0.0.1:29500)");
  app.add_option("--dist-timeout", dist_flags.timeout_s,
                 "seconds a rank waits for the others (rendezvous and each exchange; default 300)");
  oiad::cli::Runner run;
  oiad::cli::add_data_command(app, run);
  oiad::cli::add_train_command(app, run);
  oiad::cli::add_model_command(app, run);
  oiad::cli::add_calibrate_command(app, run);
  oiad::cli::add_score_command(app, run);
  oiad::cli::add_evaluate_command(app, run);
  oiad::cli::add_find_command(app, run);
  oiad::cli::add_inspect_command(app, run);
  oiad::cli::add_compare_command(app, run);
  oiad::cli::add_bench_command(app, run);
  oiad::cli::add_serve_command(app, run);
  std::string command_line = "oiad";
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  oiad::cli::add_experiment_command(app, run, command_line);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "oiad: " << e.what() << " (see oiad --help)" << std::endl;
    return 2;
  }
  try {
    // Far more threads than cores only slows LibTorch and OpenBLAS down (and OpenBLAS can
    // loop when it cannot get memory for them).
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    OIAD_CHECK_USAGE(threads <= 8 * cores, "--threads ", threads, ": at most ", 8 * cores, " (8 x ", cores,
                     " cores)");
    // Launchers that start several processes on one machine (torchrun,
    // scripts/launch_local.sh) share the cores out through OMP_NUM_THREADS.
    if (threads == 0)
      if (const char* omp = std::getenv("OMP_NUM_THREADS")) threads = std::max(0, std::atoi(omp));
    oiad::set_num_threads(std::min(threads, 8 * cores));
    oiad::cli::the_launch = oiad::dist::resolve_launch(dist_flags);
    const CLI::App* command = app.get_subcommands().empty() ? nullptr : app.get_subcommands()[0];
    const auto& allowed = oiad::cli::distributed_commands();
    if (oiad::cli::the_launch.distributed() && std::find(allowed.begin(), allowed.end(), command) == allowed.end()) {
      std::string names;
      for (size_t i = 0; i < allowed.size(); ++i)
        names += (i == 0 ? "" : i + 1 == allowed.size() ? " and " : ", ") + ("`" + allowed[i]->get_name() + "`");
      throw oiad::UsageError(oiad::detail::concat("oiad ", command ? command->get_name() : "",
                                                  " runs as one process; of the commands, ", names,
                                                  " run distributed (world size ", oiad::cli::the_launch.world_size,
                                                  " from ", oiad::cli::the_launch.source, ")"));
    }
    const int status = run ? run() : 0;
    // Results go to stdout: a write that failed (a full disk, a closed pipe) is an error.
    std::cout.flush();
    OIAD_CHECK(std::cout.good(), "writing the result to standard output failed");
    return status;
  } catch (const oiad::UsageError& e) {
    std::cerr << "oiad: " << first_line(e.what()) << std::endl;
    return 2;
  } catch (const std::exception& e) {
    // One line: LibTorch's errors carry a backtrace after the message.
    std::cerr << "oiad: " << first_line(e.what()) << std::endl;
    return 1;
  }
}
