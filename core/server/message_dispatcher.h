// Per-message work on a worker thread: parse, sanity-check, run the request route or
// onreply_route, relay replies, answer malformed requests with 400.
#pragma once
#include <string_view>
#include <vector>

#include "core/script_context.h"

namespace sipsd {

class LoadedConfig;
class StatelessProxy;
struct ModuleExports;
class CoreMetrics;

class MessageDispatcher {
 public:
  MessageDispatcher(LoadedConfig& cfg, StatelessProxy& proxy);
  void onMessage(std::string_view raw, const ReceiveInfo& rcv);
  // Replies that arrive are counted by class here (metrics); null: not counted.
  void setMetrics(CoreMetrics* m) { metrics_ = m; }

 private:
  void onRequest(ScriptContext& ctx);
  void onReply(ScriptContext& ctx);
  // The headers every SIP request must have, parsed enough to build a reply (RFC 3261 §8.1.1).
  // Returns an empty string when fine, else what is wrong (becomes the 400's reason).
  static std::string checkRequest(const SipMsg& msg);
  void answerUnparseable(std::string_view raw, const ReceiveInfo& rcv, const std::string& err);
  // The core's own HTTP answer for a request the script left unanswered.
  void answerHttp(ScriptContext& ctx, int code, std::string_view reason);
  // A SIP reply on the request's stream even when its top Via cannot be parsed.
  void answerOnStream(ScriptContext& ctx, int code, const std::string& reason);

  LoadedConfig& cfg_;
  StatelessProxy& proxy_;
  // Modules' message hooks (ModuleExports::onRequestIn/onReplyIn), in load order.
  std::vector<const ModuleExports*> requestHooks_, replyHooks_;
  CoreMetrics* metrics_ = nullptr;
};

}  // namespace sipsd
