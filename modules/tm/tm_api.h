// The interface tm offers other modules (CoreApi::moduleApi("tm", "tm")): sl's send_reply()
// and sl_reply_error() answer statefully when the request has a transaction.
#pragma once
#include <string_view>

#include "core/script_context.h"

namespace sipsd::tm {

struct TmApi {
  // t_reply(code, reason) when ctx's request has a transaction (t_newtran(), t_relay()):
  // its result; 0 when it has none (the caller answers statelessly).
  int (*replyIfTransaction)(ScriptContext& ctx, int code, std::string_view reason);
  // Whether tm has sent the final answer to ctx's request (e.g. t_relay() failed at once).
  bool (*answered)(ScriptContext& ctx);
};

}  // namespace sipsd::tm
