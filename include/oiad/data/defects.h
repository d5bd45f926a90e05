// Synthetic local defects for the defects protocol: a normal image with one small seeded
// change (a scratch, an erased patch, a stain, a patch pasted from another image), and the
// mask of the pixels the change touched.
//
// Layout: images are (C, H, W) uint8, pixel (c, y, x) at chw[(c * H + y) * W + x]; masks are
// (H, W) uint8, 1 where the defect lies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oiad::data {

/// The documented defect families. Sizes are fractions of the image's shorter side s.
enum class DefectFamily {
  /// A straight line 1 pixel wide (2 pixels when s >= 64) between two random points at least
  /// 0.3 s apart, at most 0.6 s long; all channels set to 255 or to 0 (bright or dark, even
  /// odds).
  kScratch,
  /// An axis-aligned square of side 0.15-0.25 s, centred on a pixel of the image's own
  /// content (a pixel unlike the background, when there is one), filled with the
  /// background: the median of the border pixels, per channel.
  kErase,
  /// A blurred blob: a Gaussian weight of sd 0.06-0.10 s (0.8 at its centre, which lies in
  /// the middle 60% of the image) blends each pixel towards 255 or 0, whichever is farther
  /// from it (per channel); the mask is where the weight exceeds 0.1.
  kStain,
  /// A square of side 0.2-0.3 s copied from a random place of another image (the donor) to a
  /// random place of this one.
  kPaste,
};

/// "scratch", "erase", "stain", "paste": the allowed values of every --defects option.
const std::vector<std::string>& defect_family_names();
DefectFamily parse_defect_family(const std::string& name);  ///< UsageError for another name
std::string defect_family_name(DefectFamily f);

/// Applies one defect of `family` to `chw` in place, drawn from `seed` (the same seed gives
/// the same defect); `donor` (an image of the same shape) is used by kPaste only. Returns
/// the mask. Throws Error for an image smaller than 8 x 8 or a paste without a donor.
std::vector<uint8_t> apply_defect(uint8_t* chw, int channels, int height, int width, DefectFamily family,
                                  uint64_t seed, const uint8_t* donor = nullptr);

}  // namespace oiad::data
