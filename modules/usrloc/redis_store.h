// The cluster store: the location table in Redis, shared by every node (db_url). Runs on its
// own thread with its own libevent loop and two hiredis async connections (commands, and a
// subscription to the change channel); workers never wait for it. Writes are compare-and-set
// Lua scripts keyed by the AoR's version, so concurrent REGISTERs on different nodes serialize
// in Redis; every write is published on the channel and each node applies it to its replicas.
// On (re)connect the node reloads the whole table and then makes its replicas equal to it
// (records deleted while it was away go). While Redis is unreachable, writes are
// answered 503 at once and the replicas keep serving what they know; it reconnects by itself.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/event/event_loop.h"
#include "modules/usrloc/location_api.h"
#include "modules/usrloc/location_table.h"

struct redisAsyncContext;
struct redisReply;
struct event;

namespace sipsd::usrloc {

class Location;

class RedisStore {
 public:
  explicit RedisStore(Location& loc);
  ~RedisStore();

  // Parses redis://host:port/db; "" or the reason it is not usable.
  std::string configure(const std::string& url);
  void start();
  void stop();
  // From any thread: queues a write (bounded), or answers 503 at once when Redis is down.
  void submit(std::string aor, LocationApi::Compute compute, LocationApi::Done done);
  std::string state() const;
  bool connected() const { return state_.load() == State::Up; }
  // Errors for /metrics: connection (lost, or a connect attempt failed), command (a read or
  // write of a REGISTER failed), queue_full (max_pending reached).
  enum class Error : size_t { Connection, Command, QueueFull, Count };
  static const char* errorName(Error e);
  uint64_t errors(Error e) const { return errors_[size_t(e)].load(std::memory_order_relaxed); }

 private:
  void count(Error e) { errors_[size_t(e)].fetch_add(1, std::memory_order_relaxed); }
  struct Job;
  struct Conn;
  enum class State : int { Down, Connecting, Up };

  void connect();
  void onConnected(Conn& c, bool ok, const std::string& err);
  void onDisconnected(Conn& c, const std::string& err);
  void scheduleReconnect();
  void resync(const std::string& cursor);
  // The reload in progress (Redis thread only; null when none): what it found, plus the
  // changes and writes applied meanwhile, so the final reconcile keeps them.
  struct Reload;
  void note(const RecordPtr& rec);
  void endReload();
  void abandonReload(const char* why);  // a page could not be read: no reconcile this time
  void onChange(std::string_view payload);
  void run(std::shared_ptr<Job> job);
  void read(std::shared_ptr<Job> job);
  void write(std::shared_ptr<Job> job, const std::string* currentText);
  void finish(const std::shared_ptr<Job>& job, UpdateOutcome out, RecordPtr publish);
  void fail(const std::shared_ptr<Job>& job, const std::string& why);
  void logDown(const std::string& why);
  // Builds a record from "VERSION\nBINDINGS" (the stored value); null on bad text.
  RecordPtr parseStored(const std::string& aor, std::string_view value, std::string& err) const;
  std::string key(const std::string& aor) const { return prefix_ + "aor:" + aor; }
  int command(Conn& c, void (*cb)(redisAsyncContext*, void*, void*), void* priv,
              const std::vector<std::string>& args);

  Location& loc_;
  std::string host_;
  int port_ = 6379;
  int db_ = 0;
  std::string prefix_ = "sipsd:location:";
  EventLoop loop_;
  std::unique_ptr<Conn> cmd_;
  std::unique_ptr<Conn> sub_;
  event* retryEv_ = nullptr;
  std::shared_ptr<Reload> reload_;
  int retryDelayMs_ = 200;
  std::atomic<State> state_{State::Down};
  std::atomic<size_t> pending_{0};
  std::atomic<int64_t> lastDownLog_{0};
  std::atomic<bool> stopping_{false};
  // Failures only (never on a REGISTER that succeeds), mostly on the Redis thread: plain atomics.
  std::atomic<uint64_t> errors_[size_t(Error::Count)] = {};
};

}  // namespace sipsd::usrloc
