#include "modules/http/acme_challenge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/script_context.h"
#include "modules/http/http_response.h"

namespace sipsd::http {
namespace {

constexpr size_t kMaxFile = 8192;  // a key authorization is ~90 bytes

std::string_view pathOf(std::string_view target) {
  auto q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

}  // namespace

bool AcmeChallenge::validToken(std::string_view t) {
  if (t.empty() || t.size() > 255) return false;
  for (char c : t) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool AcmeChallenge::serve(ScriptContext& ctx, const std::string& webroot, std::string& err) {
  if (!ctx.msg.isHttp()) return false;
  std::string_view path = pathOf(ctx.msg.ruri);
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  if (ctx.msg.method != "GET" && ctx.msg.method != "HEAD") {
    reply(ctx, 405, "Method Not Allowed", "text/plain", "ACME challenges are read with GET\n");
    return true;
  }
  std::string_view token = path.substr(kPrefix.size());
  if (!validToken(token)) {
    err = "refused ACME challenge path '" + std::string(path.substr(0, 300)) + "' (not a token)";
    reply(ctx, 404, "Not Found", "text/plain", "no such challenge\n");
    return true;
  }
  std::string file = webroot + std::string(kPrefix) + std::string(token);
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT) err = "ACME challenge " + file + ": " + std::strerror(errno);
    reply(ctx, 404, "Not Found", "text/plain", "no such challenge\n");
    return true;
  }
  struct stat st {};
  std::string body;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && size_t(st.st_size) <= kMaxFile;
  if (ok) {
    body.resize(size_t(st.st_size));
    ssize_t n = ::read(fd, body.data(), body.size());
    ok = n == ssize_t(body.size());
  }
  ::close(fd);
  if (!ok) {
    err = "ACME challenge " + file + " is not a small regular file";
    reply(ctx, 404, "Not Found", "text/plain", "no such challenge\n");
    return true;
  }
  if (std::string e = reply(ctx, 200, "OK", "text/plain", body); !e.empty()) err = e;
  return true;
}

}  // namespace sipsd::http
