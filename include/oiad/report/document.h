// A small report document written both as Markdown and as a self-contained HTML page
// (the same blocks, so the two never disagree). No LibTorch.
#pragma once

#include <string>
#include <vector>

namespace oiad::report {

class Document {
 public:
  explicit Document(std::string title) : title_(std::move(title)) {}
  void heading(const std::string& text, int level = 2);
  /// Plain text; `code` makes it a preformatted block (commands).
  void paragraph(const std::string& text, bool code = false);
  void bullets(const std::vector<std::string>& items);
  /// A table; cells are plain text.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  /// An image file, relative to the document's folder.
  void image(const std::string& path, const std::string& caption);

  std::string markdown() const;
  std::string html() const;

 private:
  struct Block {
    enum Kind { kHeading, kParagraph, kCode, kBullets, kTable, kImage } kind;
    int level = 0;
    std::string text;
    std::vector<std::string> items;
    std::vector<std::vector<std::string>> rows;
  };
  std::string title_;
  std::vector<Block> blocks_;
};

/// Escapes &, <, >, " for HTML.
std::string html_escape(const std::string& s);

/// A number with `digits` decimals, or "–" for NaN.
std::string fixed(double v, int digits = 3);

}  // namespace oiad::report
