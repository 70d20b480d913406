// ACME HTTP-01 answers (RFC 8555 §8.3): GET /.well-known/acme-challenge/TOKEN is served from
// WEBROOT/.well-known/acme-challenge/TOKEN, the layout certbot --webroot and lego
// --http.webroot write. A token is 1..255 characters of the base64url alphabet and nothing else,
// so no request can name a file outside that directory ('/', '.', '%' never pass), and the
// final file is opened without following a symlink.
#pragma once
#include <string>
#include <string_view>

namespace sipsd {
struct ScriptContext;
namespace http {

class AcmeChallenge {
 public:
  static constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

  // True when `token` is a well-formed ACME token.
  static bool validToken(std::string_view token);
  // Answers the request in `ctx` when its path is under kPrefix: 200 with the file, 404 when
  // there is no such token, 405 for methods other than GET/HEAD. Returns false (nothing sent)
  // for any other path or a message that is not HTTP. `err` gets a reason to log, if any.
  static bool serve(ScriptContext& ctx, const std::string& webroot, std::string& err);
};

}  // namespace http
}  // namespace sipsd
