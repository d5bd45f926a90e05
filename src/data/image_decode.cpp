// Decoding one image file: PNG with libpng, JPEG with libjpeg(-turbo), BMP with OpenCV's
// imgcodecs. libpng and libjpeg are called directly so that a truncated or corrupt file is
// an error (OpenCV grey-fills a cut JPEG and lets both libraries print to stderr) and so
// that the pixel limit is checked before any pixel buffer is allocated.
#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// jpeglib.h needs size_t and FILE declared before it.
#include <jpeglib.h>
#include <png.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "oiad/core/error.h"
#include "oiad/data/readers.h"

namespace oiad::data {

int64_t max_image_pixels() {
  static const int64_t limit = [] {
    int64_t v = int64_t(1) << 26;
    if (const char* s = std::getenv("OIAD_MAX_IMAGE_PIXELS")) {
      char* end = nullptr;
      const long long x = std::strtoll(s, &end, 10);
      OIAD_CHECK(end != s && *end == 0 && x >= 1 && x <= (int64_t(1) << 40), "OIAD_MAX_IMAGE_PIXELS '", s,
                 "' is not a number of pixels in [1, 2^40]");
      v = x;
    }
    return v;
  }();
  return limit;
}

namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
int64_t le32s(const uint8_t* p) {
  return int64_t(int32_t(uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24)));
}

enum class Format { kPng, kJpeg, kBmp, kOther };

Format sniff(const std::vector<uint8_t>& b) {
  static const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() >= 8 && std::memcmp(b.data(), kPngSignature, 8) == 0) return Format::kPng;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::kJpeg;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return Format::kBmp;
  return Format::kOther;
}

// Width x height from a BMP header (BITMAPINFOHEADER or later; the 12-byte core header has
// 16-bit sides); -1 when the header is too short.
int64_t bmp_header_pixels(const std::vector<uint8_t>& b) {
  if (b.size() < 26) return -1;
  const uint32_t header_size = uint32_t(le32s(&b[14]));
  if (header_size == 12) return int64_t(b[18] | (b[19] << 8)) * int64_t(b[20] | (b[21] << 8));
  return std::abs(le32s(&b[18])) * std::abs(le32s(&b[22]));
}

void check_pixels(int64_t pixels, const std::string& name) {
  const int64_t limit = max_image_pixels();
  OIAD_CHECK(pixels <= limit, name, ": ", pixels, " pixels, above the limit of ", limit,
             " (set OIAD_MAX_IMAGE_PIXELS to change it)");
}

// Planar (CHW) copy of the first `channels` of each pixel of interleaved rows: `height` rows
// of `width` pixels of `src_channels` bytes, `row_stride` bytes apart.
DecodedImage from_interleaved(const uint8_t* px, int height, int width, size_t row_stride, int src_channels,
                              int channels) {
  DecodedImage d;
  d.channels = channels;
  d.height = height;
  d.width = width;
  const size_t plane = size_t(height) * size_t(width);
  d.chw.resize(size_t(channels) * plane);
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = px + size_t(y) * row_stride;
    for (int x = 0; x < width; ++x)
      for (int k = 0; k < channels; ++k) d.chw[size_t(k) * plane + size_t(y) * width + x] = row[x * src_channels + k];
  }
  return d;
}

// ---- PNG --------------------------------------------------------------------------------

// Everything the libpng callbacks touch. The functions that call setjmp hold no C++ objects
// with destructors, so a longjmp out of libpng skips none.
struct PngContext {
  const uint8_t* data = nullptr;
  size_t size = 0, pos = 0;
  char message[256] = {0};
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, channels = 0;
  size_t row_bytes = 0;
  ~PngContext() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

void png_on_error(png_structp png, png_const_charp msg) {
  auto* c = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(c->message, sizeof(c->message), "%s", msg);
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}  // ancillary-chunk trouble; pixels are fine
void png_on_read(png_structp png, png_bytep out, size_t n) {
  auto* c = static_cast<PngContext*>(png_get_io_ptr(png));
  if (n > c->size - c->pos) png_error(png, "file truncated");
  std::memcpy(out, c->data + c->pos, n);
  c->pos += n;
}

// Reads the header and sets the transforms that give 8-bit grey, grey+alpha, RGB or RGBA.
bool png_read_header(PngContext* c) {
  if (setjmp(png_jmpbuf(c->png))) return false;
  png_set_read_fn(c->png, c, png_on_read);
  png_read_info(c->png, c->info);
  c->width = png_get_image_width(c->png, c->info);
  c->height = png_get_image_height(c->png, c->info);
  c->bit_depth = png_get_bit_depth(c->png, c->info);
  if (c->bit_depth > 8) return true;  // refused by the caller
  const int type = png_get_color_type(c->png, c->info);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(c->png);
  if (type == PNG_COLOR_TYPE_GRAY && c->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(c->png);
  png_set_interlace_handling(c->png);
  png_read_update_info(c->png, c->info);
  c->channels = png_get_channels(c->png, c->info);
  c->row_bytes = png_get_rowbytes(c->png, c->info);
  return true;
}

bool png_read_pixels(PngContext* c, png_bytep* rows) {
  if (setjmp(png_jmpbuf(c->png))) return false;
  png_read_image(c->png, rows);
  png_read_end(c->png, nullptr);
  return true;
}

DecodedImage decode_png(const std::vector<uint8_t>& bytes, const std::string& name) {
  PngContext c;
  c.data = bytes.data();
  c.size = bytes.size();
  c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_on_error, png_on_warning);
  OIAD_CHECK(c.png != nullptr, name, ": cannot start the PNG decoder");
  c.info = png_create_info_struct(c.png);
  OIAD_CHECK(c.info != nullptr, name, ": cannot start the PNG decoder");
  // Sides above 2^24 are refused by libpng itself, before the pixel limit is asked.
  png_set_user_limits(c.png, 1u << 24, 1u << 24);
  OIAD_CHECK(png_read_header(&c), name, ": corrupt PNG (", c.message, ")");
  check_pixels(int64_t(c.width) * c.height, name);
  OIAD_CHECK(c.bit_depth <= 8, name, ": unsupported bit depth ", c.bit_depth, " (only 8-bit images are read)");
  OIAD_CHECK(c.channels >= 1 && c.channels <= 4 && c.row_bytes == size_t(c.width) * c.channels, name,
             ": unexpected PNG layout");
  std::vector<uint8_t> packed(c.row_bytes * c.height);
  std::vector<png_bytep> rows(c.height);
  for (png_uint_32 y = 0; y < c.height; ++y) rows[y] = packed.data() + y * c.row_bytes;
  OIAD_CHECK(png_read_pixels(&c, rows.data()), name, ": corrupt or truncated PNG (", c.message, ")");
  return from_interleaved(packed.data(), int(c.height), int(c.width), c.row_bytes, int(c.channels),
                          c.channels <= 2 ? 1 : 3);  // alpha dropped
}

// ---- JPEG -------------------------------------------------------------------------------

struct JpegContext {
  jpeg_decompress_struct info;
  jpeg_error_mgr errors;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {0};
  char warning[JMSG_LENGTH_MAX] = {0};
  bool created = false;
  ~JpegContext() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

void jpeg_on_error(j_common_ptr info) {
  auto* c = static_cast<JpegContext*>(info->client_data);
  info->err->format_message(info, c->message);
  std::longjmp(c->jump, 1);
}
// libjpeg reports corrupt data and a premature end of the file as warnings (level -1) and
// fills the rest with grey; the first one is kept and makes the image an error.
void jpeg_on_message(j_common_ptr info, int level) {
  auto* c = static_cast<JpegContext*>(info->client_data);
  if (level < 0 && c->warning[0] == 0) info->err->format_message(info, c->warning);
  if (level < 0) info->err->num_warnings++;
}
void jpeg_on_output(j_common_ptr) {}

bool jpeg_read_header_of(JpegContext* c, const uint8_t* data, size_t size) {
  if (setjmp(c->jump)) return false;
  jpeg_create_decompress(&c->info);
  c->created = true;
  c->info.client_data = c;
  jpeg_mem_src(&c->info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&c->info, TRUE);
  const J_COLOR_SPACE in = c->info.jpeg_color_space;
  if (in == JCS_CMYK || in == JCS_YCCK) return true;  // refused by the caller
  c->info.out_color_space = in == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_calc_output_dimensions(&c->info);
  return true;
}

bool jpeg_read_pixels(JpegContext* c, uint8_t* out, size_t row_bytes) {
  if (setjmp(c->jump)) return false;
  jpeg_start_decompress(&c->info);
  while (c->info.output_scanline < c->info.output_height) {
    JSAMPROW row = out + size_t(c->info.output_scanline) * row_bytes;
    if (jpeg_read_scanlines(&c->info, &row, 1) != 1) {
      std::snprintf(c->message, sizeof(c->message), "no data for row %u", c->info.output_scanline);
      return false;
    }
  }
  jpeg_finish_decompress(&c->info);
  return true;
}

DecodedImage decode_jpeg(const std::vector<uint8_t>& bytes, const std::string& name) {
  JpegContext c;
  c.info.err = jpeg_std_error(&c.errors);
  c.errors.error_exit = jpeg_on_error;
  c.errors.emit_message = jpeg_on_message;
  c.errors.output_message = jpeg_on_output;
  OIAD_CHECK(jpeg_read_header_of(&c, bytes.data(), bytes.size()), name, ": corrupt JPEG (", c.message, ")");
  const J_COLOR_SPACE in = c.info.jpeg_color_space;
  OIAD_CHECK(in != JCS_CMYK && in != JCS_YCCK, name, ": CMYK JPEG images are not supported");
  check_pixels(int64_t(c.info.output_width) * c.info.output_height, name);
  const int channels = c.info.out_color_space == JCS_GRAYSCALE ? 1 : 3;
  OIAD_CHECK(c.info.output_components == channels, name, ": unexpected JPEG layout");
  const size_t row_bytes = size_t(c.info.output_width) * channels;
  std::vector<uint8_t> packed(row_bytes * c.info.output_height);
  OIAD_CHECK(jpeg_read_pixels(&c, packed.data(), row_bytes), name, ": corrupt JPEG (", c.message, ")");
  OIAD_CHECK(c.warning[0] == 0, name, ": corrupt or truncated JPEG (", c.warning, ")");
  return from_interleaved(packed.data(), int(c.info.output_height), int(c.info.output_width), row_bytes, channels,
                          channels);
}

// ---- BMP --------------------------------------------------------------------------------

DecodedImage decode_bmp(const std::vector<uint8_t>& bytes, const std::string& name) {
  const int64_t pixels = bmp_header_pixels(bytes);
  OIAD_CHECK(pixels >= 0, name, ": corrupt BMP (header of ", bytes.size(), " bytes)");
  check_pixels(pixels, name);
  cv::Mat m;
  try {
    m = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    const std::string what = e.what();
    throw Error(name + ": cannot decode image: " + what.substr(0, what.find('\n')));
  }
  OIAD_CHECK(!m.empty(), name, ": corrupt BMP");
  OIAD_CHECK(m.depth() == CV_8U, name, ": unsupported bit depth (only 8-bit images are read)");
  check_pixels(int64_t(m.rows) * m.cols, name);
  cv::Mat rgb;
  int c = m.channels();
  if (c == 1) {
    rgb = m;
  } else if (c == 3) {
    cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB);
  } else if (c == 4) {
    cv::cvtColor(m, rgb, cv::COLOR_BGRA2RGB);
    c = 3;
  } else {
    throw Error(detail::concat(name, ": unsupported channel count ", c));
  }
  return from_interleaved(rgb.ptr<uint8_t>(0), rgb.rows, rgb.cols, rgb.step[0], c, c);
}

}  // namespace

int64_t image_header_pixels(const std::vector<uint8_t>& b) {
  const size_t n = b.size();
  switch (sniff(b)) {
    case Format::kPng:
      // Sides are 32-bit: their product can exceed int64 (2^32 x 2^32); saturate instead.
      return n >= 24 ? int64_t(std::min<uint64_t>(uint64_t(be32(&b[16])) * be32(&b[20]), uint64_t(INT64_MAX))) : -1;
    case Format::kBmp:
      return bmp_header_pixels(b);
    case Format::kJpeg: {
      size_t i = 2;  // markers: FF xx, then a 2-byte length, until the first start-of-frame
      while (i + 9 < n) {
        if (b[i] != 0xFF) return -1;
        const uint8_t marker = b[i + 1];
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
          return int64_t(be16(&b[i + 5])) * be16(&b[i + 7]);
        i += 2 + be16(&b[i + 2]);
      }
      return -1;
    }
    case Format::kOther:
      break;
  }
  return -1;
}

DecodedImage decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  OIAD_CHECK(!bytes.empty(), name, ": empty image file");
  // The size the header states, before the decoder reads further (a PNG's other chunks, a
  // JPEG's tables): a huge image is refused even when the rest of the file is cut.
  const int64_t stated = image_header_pixels(bytes);
  if (stated >= 0) check_pixels(stated, name);
  switch (sniff(bytes)) {
    case Format::kPng:
      return decode_png(bytes, name);
    case Format::kJpeg:
      return decode_jpeg(bytes, name);
    case Format::kBmp:
      return decode_bmp(bytes, name);
    case Format::kOther:
      break;
  }
  throw Error(name + ": not a PNG, JPEG or BMP file (by its first bytes)");
}

}  // namespace oiad::data
