// ReplyStreamer: a methodResponse written in parts as the client reads it (see reply_streamer.h).
#include "modules/xmlrpc/reply_streamer.h"

#include <cstdio>
#include <ctime>
#include <exception>
#include <unordered_set>

#include "core/parser/parse_util.h"
#include "core/proxy/http_reply_builder.h"
#include "core/script_context.h"
#include "modules/xmlrpc/xmlrpc_writer.h"

namespace sipsd::xmlrpc {

namespace {

constexpr std::string_view kModule = "xmlrpc";

// Connections of this worker thread with a streamed answer under way.
std::unordered_set<uint64_t>& activeSet() {
  thread_local std::unordered_set<uint64_t> set;
  return set;
}

// CPU time of the calling thread: what a turn costs the worker, without the time the machine
// gave to other processes meanwhile (for the closing log line).
std::chrono::microseconds threadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::microseconds(int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

// One HTTP/1.1 chunk (RFC 9112 §7.1); `last` adds the zero-length chunk that ends the body.
std::string chunk(const std::string& data, bool last) {
  std::string out;
  out.reserve(data.size() + 24);
  if (!data.empty()) {
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    out.append(size, size_t(n));
    out += data;
    out += "\r\n";
  }
  if (last) out += "0\r\n\r\n";
  return out;
}

}  // namespace

bool ReplyStreamer::active(uint64_t connId) { return activeSet().count(connId) != 0; }

bool ReplyStreamer::start(ScriptContext& ctx, std::unique_ptr<RpcStream>& stream, std::string method, Options opt) {
  const SipMsg& req = ctx.msg;
  if (!req.isHttp() || ctx.rcv.connId == 0 || ctx.core.currentWorker() < 0) return false;
  const bool http10 = parse::ieq(req.version, "HTTP/1.0");
  const bool keep = !http10 && httpKeepAlive(req);
  std::string peer = std::string(protoName(ctx.rcv.proto)) + ":" + ctx.rcv.src.str();
  auto s = std::make_shared<ReplyStreamer>(ctx.core, ctx.rcv.connId, std::move(stream), std::move(method),
                                           std::move(peer), !http10, keep, opt);
  // The first turn is scheduled before the head is sent: a core that cannot stream says so
  // here, while the caller can still answer the usual way.
  if (!ctx.core.whenDrained(ctx.rcv.connId, [s](size_t room) { s->turn(room); })) {
    s->over_ = true;
    stream = std::move(s->stream_);
    return false;
  }
  HttpResponse head;
  head.code = 200;
  head.reason = "OK";
  head.contentType = "text/xml; charset=utf-8";
  head.keepAlive = keep;
  head.http10Peer = http10;
  head.streamed = true;
  if (!ctx.core.sendReply(ctx, buildHttpResponse(head))) {
    s->over_ = true;  // the scheduled turn finds it over and does nothing
    stream = std::move(s->stream_);
    return false;
  }
  ctx.replied = true;
  activeSet().insert(ctx.rcv.connId);
  return true;
}

ReplyStreamer::ReplyStreamer(CoreApi& core, uint64_t connId, std::unique_ptr<RpcStream> stream, std::string method,
                             std::string peer, bool chunked, bool keepAlive, Options opt)
    : core_(core),
      connId_(connId),
      stream_(std::move(stream)),
      method_(std::move(method)),
      peer_(std::move(peer)),
      chunked_(chunked),
      keepAlive_(keepAlive),
      opt_(opt),
      began_(std::chrono::steady_clock::now()) {}

ReplyStreamer::~ReplyStreamer() {
  // Dropped unfinished: its connection closed while it waited for the client to read.
  if (started_ && !over_ && core_.logLevel() >= kLogInfo)
    core_.log(kLogInfo, kModule, method_ + " to " + peer_ + ": the connection closed before the answer was complete (" +
                                     std::to_string(bytes_) + " bytes sent)");
  activeSet().erase(connId_);
}

void ReplyStreamer::turn(size_t room) {
  if (over_) return;
  const auto t0 = std::chrono::steady_clock::now();
  const auto cpu0 = threadCpu();
  const size_t target = std::max<size_t>(1, std::min(opt_.chunkBytes, room / 2));
  std::string body;
  bool finished = false;
  try {
    if (!started_) {
      body = responseStructOpen();
      for (const auto& [name, v] : stream_->head()) appendMember(body, name, v);
      body += "<member><name>";
      appendEscaped(body, stream_->arrayName());
      body += "</name><value><array><data>";
      started_ = true;
    }
    // Elements are written one by one up to the target; what a step made beyond it waits for
    // the next turn, so a chunk exceeds the target by one element at most.
    for (;;) {
      while (carryAt_ < carry_.size() && body.size() < target) appendValue(body, carry_[carryAt_++]);
      if (carryAt_ < carry_.size()) break;
      carry_.clear();
      carryAt_ = 0;
      if (!more_ || body.size() >= target || std::chrono::steady_clock::now() - t0 >= opt_.turnBudget) break;
      more_ = stream_->step(carry_);
    }
    if (!more_ && carry_.empty()) {
      finished = true;
      body += "</data></array></value></member>";
      for (const auto& [name, v] : stream_->tail()) appendMember(body, name, v);
      body += responseStructClose();
    }
  } catch (const std::exception& e) {
    abandon(kLogErr, std::string("failed: ") + e.what());
    return;
  } catch (...) {
    abandon(kLogErr, "failed");
    return;
  }
  noteTurn(cpu0);
  // A turn that only walked the table has nothing to send (and an empty chunk would end the body).
  if (!body.empty() || finished) {
    bytes_ += body.size();
    std::string wire = chunked_ ? chunk(body, finished) : std::move(body);
    if (!core_.sendOnConnection(connId_, std::move(wire))) {
      abandon(kLogInfo, "the connection closed");
      return;
    }
  }
  if (!finished) {
    if (!scheduleNext()) abandon(kLogInfo, "the connection closed");
    return;
  }
  over_ = true;
  activeSet().erase(connId_);
  if (!keepAlive_) core_.closeConnectionById(connId_);  // after the queued answer is flushed
  if (core_.logLevel() >= kLogInfo) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began_);
    core_.log(kLogInfo, kModule, method_ + " to " + peer_ + ": " + std::to_string(bytes_) + " bytes streamed in " +
                                     std::to_string(ms.count()) + " ms, " + std::to_string(turns_) +
                                     " turns, the longest " + std::to_string(longest_.count()) + " us of CPU");
  }
}

void ReplyStreamer::noteTurn(std::chrono::microseconds cpu0) {
  ++turns_;
  auto us = threadCpu() - cpu0;
  if (us > longest_) longest_ = us;
}

bool ReplyStreamer::scheduleNext() {
  return core_.whenDrained(connId_, [self = shared_from_this()](size_t room) { self->turn(room); });
}

void ReplyStreamer::abandon(int level, const std::string& why) {
  over_ = true;
  activeSet().erase(connId_);
  core_.log(level, kModule, method_ + " to " + peer_ + ": answer abandoned after " + std::to_string(bytes_) +
                                " bytes (" + why + "); closing the connection without the end of the answer");
  core_.closeConnectionById(connId_);
}

}  // namespace sipsd::xmlrpc
