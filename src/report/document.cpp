#include "oiad/report/document.h"

#include <cmath>
#include <cstdio>

namespace oiad::report {

void Document::heading(const std::string& text, int level) { blocks_.push_back({Block::kHeading, level, text, {}, {}}); }

void Document::paragraph(const std::string& text, bool code) {
  blocks_.push_back({code ? Block::kCode : Block::kParagraph, 0, text, {}, {}});
}

void Document::bullets(const std::vector<std::string>& items) { blocks_.push_back({Block::kBullets, 0, "", items, {}}); }

void Document::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  Block b{Block::kTable, 0, "", header, rows};
  blocks_.push_back(b);
}

void Document::image(const std::string& path, const std::string& caption) {
  blocks_.push_back({Block::kImage, 0, path, {caption}, {}});
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "–";
  char b[64];
  std::snprintf(b, sizeof(b), "%.*f", digits, v);
  return b;
}

namespace {
std::string md_cell(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += "\\|";
    else if (c == '\n') o += ' ';
    else o += c;
  }
  return o;
}
}  // namespace

std::string Document::markdown() const {
  std::string o = "# " + title_ + "\n\n";
  for (const auto& b : blocks_) {
    switch (b.kind) {
      case Block::kHeading: o += std::string(size_t(std::max(1, b.level)), '#') + " " + b.text + "\n\n"; break;
      case Block::kParagraph: o += b.text + "\n\n"; break;
      case Block::kCode: o += "```\n" + b.text + "\n```\n\n"; break;
      case Block::kBullets:
        for (const auto& i : b.items) o += "- " + i + "\n";
        o += "\n";
        break;
      case Block::kTable: {
        o += "|";
        for (const auto& h : b.items) o += " " + md_cell(h) + " |";
        o += "\n|";
        for (size_t i = 0; i < b.items.size(); ++i) o += "---|";
        o += "\n";
        for (const auto& r : b.rows) {
          o += "|";
          for (const auto& c : r) o += " " + md_cell(c) + " |";
          o += "\n";
        }
        o += "\n";
        break;
      }
      case Block::kImage: o += "![" + b.items[0] + "](" + b.text + ")\n\n*" + b.items[0] + "*\n\n"; break;
    }
  }
  return o;
}

std::string Document::html() const {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title_) +
      "</title>\n<style>body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}"
      "td:first-child,th:first-child{text-align:left}th{background:#eee}pre{background:#f4f4f4;padding:.6em;"
      "overflow-x:auto}figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}</style>"
      "</head><body>\n<h1>" +
      html_escape(title_) + "</h1>\n";
  for (const auto& b : blocks_) {
    switch (b.kind) {
      case Block::kHeading: {
        const std::string h = "h" + std::to_string(std::min(6, std::max(2, b.level)));
        o += "<" + h + ">" + html_escape(b.text) + "</" + h + ">\n";
        break;
      }
      case Block::kParagraph: o += "<p>" + html_escape(b.text) + "</p>\n"; break;
      case Block::kCode: o += "<pre>" + html_escape(b.text) + "</pre>\n"; break;
      case Block::kBullets:
        o += "<ul>\n";
        for (const auto& i : b.items) o += "<li>" + html_escape(i) + "</li>\n";
        o += "</ul>\n";
        break;
      case Block::kTable:
        o += "<table><tr>";
        for (const auto& h : b.items) o += "<th>" + html_escape(h) + "</th>";
        o += "</tr>\n";
        for (const auto& r : b.rows) {
          o += "<tr>";
          for (const auto& c : r) o += "<td>" + html_escape(c) + "</td>";
          o += "</tr>\n";
        }
        o += "</table>\n";
        break;
      case Block::kImage:
        o += "<figure><img src=\"" + html_escape(b.text) + "\" alt=\"" + html_escape(b.items[0]) +
             "\"><figcaption>" + html_escape(b.items[0]) + "</figcaption></figure>\n";
        break;
    }
  }
  return o + "</body></html>\n";
}

}  // namespace oiad::report
