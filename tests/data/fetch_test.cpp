// data fetch against a local HTTP server on 127.0.0.1 (the test's own thread).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/fetch.h"
#include "test_util.h"

namespace oiad::data {
namespace {

// Serves GET /<name>: 200 with the body, or, for names starting with "cut", a Content-Length
// larger than the bytes sent before closing; anything else 404.
class LocalServer {
 public:
  explicit LocalServer(std::map<std::string, std::string> files) : files_(std::move(files)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd_, 8) != 0)
      throw std::runtime_error("cannot listen");
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LocalServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& name) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, size_t(n));
      }
      const size_t s = req.find(' ') + 2, e = req.find(' ', s);
      const std::string name = req.substr(s, e - s);
      std::string resp;
      auto it = files_.find(name);
      if (it == files_.end()) {
        resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
      } else if (name.rfind("cut", 0) == 0) {
        resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(it->second.size() * 2) +
               "\r\nConnection: close\r\n\r\n" + it->second;
      } else {
        resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(it->second.size()) +
               "\r\nConnection: close\r\n\r\n" + it->second;
      }
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::map<std::string, std::string> files_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

FetchOptions local() {
  FetchOptions o;
  o.allow_http = true;
  o.verbose = false;
  o.stall_timeout_seconds = 5;
  return o;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++n;
  return n;
}

const std::string kBody = "hello, oiad\n";

// A good file arrives whole with its checksum verified.
TEST(Fetch, DownloadsAndVerifies) {
  LocalServer srv({{"a.bin", kBody}});
  test::TempDir d;
  download_file(srv.url("a.bin"), d.file("a.bin"), sha256_hex(kBody.data(), kBody.size()), local());
  EXPECT_EQ(test::read_text(d.file("a.bin")), kBody);
  EXPECT_EQ(files_in(d.path()), 1u);
}

// A wrong checksum leaves no file, and an existing file of that name untouched.
TEST(Fetch, WrongChecksumLeavesNothing) {
  LocalServer srv({{"a.bin", kBody}});
  test::TempDir d;
  try {
    download_file(srv.url("a.bin"), d.file("a.bin"), std::string(64, '0'), local());
    FAIL() << "accepted a wrong checksum";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SHA-256 mismatch"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_in(d.path()), 0u);
  test::write_bytes(d.file("a.bin"), {'o', 'l', 'd'});
  EXPECT_THROW(download_file(srv.url("a.bin"), d.file("a.bin"), std::string(64, '0'), local()), Error);
  EXPECT_EQ(test::read_text(d.file("a.bin")), "old");
  EXPECT_EQ(files_in(d.path()), 1u);
}

// A transfer cut off before Content-Length is reported and leaves no partial file.
TEST(Fetch, CutOffTransfer) {
  LocalServer srv({{"cut.bin", kBody}});
  test::TempDir d;
  try {
    download_file(srv.url("cut.bin"), d.file("cut.bin"), "", local());
    FAIL() << "accepted a cut-off transfer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut off"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_in(d.path()), 0u);
}

// 404 is an error naming the URL; plain HTTP is refused unless allowed.
TEST(Fetch, NotFoundAndHttpsOnly) {
  LocalServer srv({});
  test::TempDir d;
  try {
    download_file(srv.url("nope"), d.file("nope"), "", local());
    FAIL() << "accepted a 404";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(srv.url("nope")), std::string::npos);
  }
  EXPECT_EQ(files_in(d.path()), 0u);
  FetchOptions strict = local();
  strict.allow_http = false;
  EXPECT_THROW(download_file(srv.url("nope"), d.file("nope"), "", strict), Error);
}

// fetch_files tries mirrors in order and skips files already present with the right checksum.
TEST(Fetch, MirrorsAndSkip) {
  LocalServer srv({{"a.bin", kBody}});
  test::TempDir d;
  const std::string sha = sha256_hex(kBody.data(), kBody.size());
  std::vector<RemoteFile> files = {{"a.bin", {srv.url("missing"), srv.url("a.bin")}, sha}};
  fetch_files(files, d.file("set"), local());
  EXPECT_EQ(test::read_text(d.file("set/a.bin")), kBody);
  std::vector<RemoteFile> gone = {{"a.bin", {srv.url("missing")}, sha}};
  EXPECT_NO_THROW(fetch_files(gone, d.file("set"), local()));  // already there
  std::vector<RemoteFile> absent = {{"b.bin", {srv.url("missing")}, sha}};
  EXPECT_THROW(fetch_files(absent, d.file("set"), local()), Error);
}

// The official releases are listed with HTTPS mirrors and 64-hex-digit checksums.
TEST(Fetch, OfficialReleasesAreHttps) {
  for (const char* n : {"mnist", "fashion-mnist", "cifar10"}) {
    for (const RemoteFile& f : official_release(n)) {
      EXPECT_EQ(f.sha256.size(), 64u);
      for (const auto& u : f.urls) EXPECT_EQ(u.rfind("https://", 0), 0u) << u;
    }
  }
  EXPECT_THROW(official_release("imagenet"), UsageError);
}

}  // namespace
}  // namespace oiad::data
