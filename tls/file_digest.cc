// SHA-256 fingerprints of the files and directories a domain set reads.
#include "tls/file_digest.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "tls/ossl_ptr.h"

namespace sipsd::tls {
namespace {

void addBytes(EVP_MD_CTX* md, const std::string& s) {
  EVP_DigestUpdate(md, s.data(), s.size());
  unsigned char sep = 0;
  EVP_DigestUpdate(md, &sep, 1);
}

void addFile(EVP_MD_CTX* md, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    addBytes(md, "\x01missing:" + path);
    return;
  }
  addBytes(md, "file:" + path);
  char buf[16384];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(md, buf, n);
  std::fclose(f);
}

void addPath(EVP_MD_CTX* md, const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    addBytes(md, "\x01missing:" + path);
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    addFile(md, path);
    return;
  }
  addBytes(md, "dir:" + path);
  for (const auto& n : sortedDirEntries(path)) {
    std::string full = path + "/" + n;
    struct stat es{};
    if (::stat(full.c_str(), &es) == 0 && S_ISREG(es.st_mode)) addFile(md, full);
  }
}

}  // namespace

std::vector<std::string> sortedDirEntries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string digestPaths(const std::vector<std::string>& paths) {
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return {};
  for (const auto& p : paths) addPath(md.get(), p);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(md.get(), out, &len);
  static const char hex[] = "0123456789abcdef";
  std::string r;
  r.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    r += hex[out[i] >> 4];
    r += hex[out[i] & 15];
  }
  return r;
}

}  // namespace sipsd::tls
