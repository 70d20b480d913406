// A streamed XML-RPC answer (RpcMethod::stream, e.g. ul.dump of a large location table): the
// HTTP head at once, then the methodResponse in parts, each queued only once the client has
// read most of the previous ones.
//
// Each turn runs on the connection's worker: it steps the RpcStream until a chunk of
// `chunkBytes` is ready (never more than half of what the send queue has room for, plus one
// element) or `turnBudget` has passed, queues it, and asks the core to run the next turn once at most a
// quarter of tcp_max_send_queue is still queued (CoreApi::whenDrained). So an answer of any size
// reaches the client whole, the connection's queue stays under its bound (the bound that cuts
// SIP peers that stop reading), memory holds one chunk, and the worker serves other messages
// between turns.
//
// HTTP/1.1 clients get Transfer-Encoding: chunked; 1.0 clients a body that ends with the
// connection. When an answer cannot be finished (the client went away or stopped reading until
// its send timeout, the stream failed), the connection is closed without the last chunk: the
// client sees an incomplete response (Python's http.client raises IncompleteRead, curl
// reports error 18), never a complete-looking, cut document.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/module_api.h"

namespace sipsd::xmlrpc {

class ReplyStreamer : public std::enable_shared_from_this<ReplyStreamer> {
 public:
  struct Options {
    size_t chunkBytes = 64 * 1024;                       // XML per turn, at most
    std::chrono::microseconds turnBudget{2000};          // work per turn before yielding
  };

  // Answers the HTTP request in ctx with `stream`, which it takes. false, with `stream` left to
  // the caller, when the core cannot stream on this connection (not a TCP/TLS connection of a
  // running worker) or the head could not be sent: the caller then answers at once (drainRpcStream).
  static bool start(ScriptContext& ctx, std::unique_ptr<RpcStream>& stream, std::string method, Options opt);
  static bool start(ScriptContext& ctx, std::unique_ptr<RpcStream>& stream, std::string method) {
    return start(ctx, stream, std::move(method), Options{});
  }
  // Whether a streamed answer is under way on connection `connId` (of the calling worker).
  static bool active(uint64_t connId);

  ReplyStreamer(CoreApi& core, uint64_t connId, std::unique_ptr<RpcStream> stream, std::string method,
                std::string peer, bool chunked, bool keepAlive, Options opt);
  ~ReplyStreamer();
  ReplyStreamer(const ReplyStreamer&) = delete;
  ReplyStreamer& operator=(const ReplyStreamer&) = delete;

 private:
  // One turn: the next chunk, then the next turn once the client has read it.
  void turn(size_t room);
  bool scheduleNext();
  void noteTurn(std::chrono::microseconds cpu0);  // for the closing log line
  // Gives up: logs why and closes the connection without the last chunk.
  void abandon(int level, const std::string& why);

  CoreApi& core_;
  const uint64_t connId_;
  std::unique_ptr<RpcStream> stream_;
  const std::string method_;
  const std::string peer_;
  const bool chunked_;
  const bool keepAlive_;
  const Options opt_;
  bool started_ = false;  // the document's opening was written
  bool more_ = true;      // the stream has more elements
  RpcArray carry_;        // elements a step made that are not written yet
  size_t carryAt_ = 0;    // the next of them to write
  bool over_ = false;     // finished or abandoned
  uint64_t bytes_ = 0;    // body bytes queued
  uint64_t turns_ = 0;
  std::chrono::microseconds longest_{0};  // the longest turn's CPU time
  std::chrono::steady_clock::time_point began_;
};

}  // namespace sipsd::xmlrpc
