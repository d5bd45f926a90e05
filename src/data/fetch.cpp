#include "oiad/data/fetch.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"

namespace fs = std::filesystem;

namespace oiad::data {

std::vector<RemoteFile> official_release(const std::string& name) {
  auto mnist = [](const std::string& f, const std::string& sha) {
    return RemoteFile{f,
                      {"https://ossci-datasets.s3.amazonaws.com/mnist/" + f,
                       "https://storage.googleapis.com/cvdf-datasets/mnist/" + f},
                      sha};
  };
  auto fashion = [](const std::string& f, const std::string& sha) {
    return RemoteFile{f, {"https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/" + f}, sha};
  };
  if (name == "mnist")
    return {mnist("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            mnist("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            mnist("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            mnist("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")};
  if (name == "fashion-mnist")
    return {fashion("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            fashion("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            fashion("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            fashion("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5")};
  if (name == "cifar10")
    return {RemoteFile{"cifar-10-binary.tar.gz",
                       {"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"},
                       "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}};
  throw UsageError("data fetch: unknown data set '" + name + "' (expected mnist, fashion-mnist or cifar10)");
}

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

size_t write_cb(char* ptr, size_t size, size_t nmemb, void* user) {
  FILE* f = static_cast<FILE*>(user);
  return std::fwrite(ptr, size, nmemb, f) * size;
}

}  // namespace

void download_file(const std::string& url, const std::string& dest, const std::string& sha256,
                   const FetchOptions& opt) {
  static CurlGlobal global;
  const bool https = url.rfind("https://", 0) == 0;
  const bool http = url.rfind("http://", 0) == 0;
  OIAD_CHECK(https || (http && opt.allow_http), url, ": refusing to download over anything but HTTPS");
  const std::string tmp = temporary_path_for(dest);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  OIAD_CHECK(f, dest, ": cannot create ", tmp);
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  // Redirects may not downgrade to plain HTTP unless the caller allowed it.
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, opt.allow_http ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, opt.allow_http ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opt.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opt.stall_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "oiad-data-fetch/1");
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t got = 0;
  curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &got);
  const bool closed_ok = std::fclose(f) == 0;
  auto fail = [&](const std::string& why) {
    std::remove(tmp.c_str());
    throw Error(url + ": " + why);
  };
  if (rc == CURLE_HTTP_RETURNED_ERROR) fail("HTTP " + std::to_string(status));
  if (rc == CURLE_PARTIAL_FILE) fail("transfer cut off after " + std::to_string(got) + " bytes");
  if (rc != CURLE_OK) fail(std::string(errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  if (!closed_ok) fail("writing " + tmp + " failed");
  if (!sha256.empty()) {
    const std::string actual = sha256_file_hex(tmp);
    if (actual != sha256) fail("SHA-256 mismatch: got " + actual + ", expected " + sha256);
  }
  if (std::rename(tmp.c_str(), dest.c_str()) != 0) fail("cannot rename " + tmp + " to " + dest);
}

void fetch_files(const std::vector<RemoteFile>& files, const std::string& folder, const FetchOptions& opt) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  OIAD_CHECK(!ec, folder, ": cannot create folder: ", ec.message());
  for (const RemoteFile& rf : files) {
    const std::string dest = folder + "/" + rf.file_name;
    if (fs::exists(dest, ec) && sha256_file_hex(dest) == rf.sha256) {
      if (opt.verbose) std::cerr << "data fetch: " << dest << " already present (SHA-256 ok)\n";
      continue;
    }
    std::string errors;
    bool done = false;
    for (const std::string& url : rf.urls) {
      try {
        if (opt.verbose) std::cerr << "data fetch: " << url << " -> " << dest << "\n";
        download_file(url, dest, rf.sha256, opt);
        done = true;
        break;
      } catch (const Error& e) {
        errors += std::string(errors.empty() ? "" : "; ") + e.what();
      }
    }
    OIAD_CHECK(done, "data fetch: ", rf.file_name, ": every mirror failed: ", errors);
  }
}

std::string fetch_release(const std::string& name, const std::string& dir, const FetchOptions& opt) {
  const std::vector<RemoteFile> files = official_release(name);
  const std::string folder = dir + "/" + name;
  fetch_files(files, folder, opt);
  return folder;
}

}  // namespace oiad::data
