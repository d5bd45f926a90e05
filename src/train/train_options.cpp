#include "oiad/train/train_options.h"

namespace oiad::train {

void check_options(const TrainOptions& o, const std::string& what, const std::string& prefix) {
  spec::kEpochs.check(o.epochs, what, prefix);
  spec::kBatchSize.check(o.batch_size, what, prefix);
  spec::kLr.check(o.lr, what, prefix);
  spec::kDiscLr.check(o.disc_lr, what, prefix);
  spec::kKlWarmup.check(o.kl_warmup_epochs, what, prefix);
}

}  // namespace oiad::train
