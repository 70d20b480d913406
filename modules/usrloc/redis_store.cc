// RedisStore: the location table in Redis, asynchronously (see redis_store.h).
#include "modules/usrloc/redis_store.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#include <charconv>
#include <chrono>

#include "core/module_api.h"
#include "modules/usrloc/location.h"
#include "modules/usrloc/record_codec.h"

namespace sipsd::usrloc {
namespace {

constexpr std::string_view kModule = "usrloc";
constexpr int kMaxTries = 5;          // compare-and-set rounds before a REGISTER gets 500
constexpr int kMaxRetryDelayMs = 2000;
constexpr int64_t kDownLogEveryS = 10;

// Compare-and-set of one AoR: writes only if the stored version is the one the new bindings
// were computed from. A fresh version comes from one cluster-wide counter that never falls
// below the writer's clock in microseconds, so versions keep growing even after a key was
// deleted or Redis lost its data (a restart without persistence): the nodes' replicas, which
// drop anything not newer than what they hold, then take the new writes.
// KEYS: aor key, counter key. ARGV: expected version, bindings, expiry ms (0 = delete),
// channel, aor, clock floor.
constexpr const char* kCasScript = R"lua(
local cur = redis.call('GET', KEYS[1])
local curv = 0
if cur then curv = tonumber(string.match(cur, '^(%d+)')) or 0 end
if curv ~= tonumber(ARGV[1]) then return {0, cur or ''} end
local v = redis.call('INCR', KEYS[2])
if v < tonumber(ARGV[6]) then
  redis.call('SET', KEYS[2], ARGV[6])
  v = tonumber(ARGV[6])
end
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.0f', v) .. '\n' .. ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[5] .. '\n' .. string.format('%.0f', v) .. '\n' .. ARGV[2])
return {1, v}
)lua";

std::string replyText(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
             ? std::string(r->str, r->len)
             : std::string();
}

// Microseconds since the epoch: the lowest version a write may get (see kCasScript).
int64_t clockFloor() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool parseU64(std::string_view s, uint64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

struct RedisStore::Conn {
  RedisStore* store = nullptr;
  redisAsyncContext* ac = nullptr;
  bool up = false;
  bool subscriber = false;
  const char* name() const { return subscriber ? "subscription" : "commands"; }
};

struct RedisStore::Job {
  std::string aor;
  LocationApi::Compute compute;
  LocationApi::Done done;
  int tries = 0;
  UpdateResult result;
};

RedisStore::RedisStore(Location& loc) : loc_(loc), cmd_(std::make_unique<Conn>()), sub_(std::make_unique<Conn>()) {
  cmd_->store = sub_->store = this;
  sub_->subscriber = true;
}

RedisStore::~RedisStore() { stop(); }

std::string RedisStore::configure(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0) return "'" + url + "' is not a redis://host:port/db URL";
  std::string_view rest = std::string_view(url).substr(scheme.size());
  std::string_view hostPort = rest.substr(0, rest.find('/'));
  std::string_view db = rest.size() > hostPort.size() ? rest.substr(hostPort.size() + 1) : std::string_view();
  std::string_view host = hostPort, portText;
  if (!hostPort.empty() && hostPort.front() == '[') {  // [v6]:port
    size_t close = hostPort.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in '" + url + "'";
    host = hostPort.substr(1, close - 1);
    if (close + 1 < hostPort.size()) {
      if (hostPort[close + 1] != ':') return "bad address in '" + url + "'";
      portText = hostPort.substr(close + 2);
    }
  } else if (size_t colon = hostPort.rfind(':'); colon != std::string_view::npos) {
    host = hostPort.substr(0, colon);
    portText = hostPort.substr(colon + 1);
  }
  if (!portText.empty()) {
    uint64_t p = 0;
    if (!parseU64(portText, p) || p == 0 || p > 65535) return "bad port in '" + url + "'";
    port_ = int(p);
  }
  if (host.empty()) return "no host in '" + url + "'";
  host_ = std::string(host);
  if (!db.empty()) {
    uint64_t d = 0;
    if (!parseU64(db, d) || d > 1000) return "bad database number in '" + url + "'";
    db_ = int(d);
  }
  prefix_ = "sipsd:location:";
  return loop_.init();
}

std::string RedisStore::state() const {
  std::string where = "redis://" + host_ + ":" + std::to_string(port_) + "/" + std::to_string(db_);
  switch (state_.load()) {
    case State::Up: return "connected to " + where;
    case State::Connecting: return "connecting to " + where;
    case State::Down: break;
  }
  return "unreachable: " + where;
}

void RedisStore::start() {
  loop_.startThread([this] {
    retryEv_ = event_new(loop_.base(), -1, 0, [](evutil_socket_t, short, void* arg) {
      static_cast<RedisStore*>(arg)->connect();
    }, this);
    connect();
  });
}

void RedisStore::stop() {
  if (stopping_.exchange(true)) return;
  loop_.post([this] {
    for (Conn* c : {cmd_.get(), sub_.get()})
      if (c->ac) {
        redisAsyncContext* ac = c->ac;
        c->ac = nullptr;
        redisAsyncFree(ac);
      }
    if (retryEv_) event_free(retryEv_);
    retryEv_ = nullptr;
    loop_.quit();
  });
  loop_.join();
}

int RedisStore::command(Conn& c, void (*cb)(redisAsyncContext*, void*, void*), void* priv,
                        const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (!c.ac) return REDIS_ERR;
  return redisAsyncCommandArgv(c.ac, cb, priv, int(argv.size()), argv.data(), lens.data());
}

void RedisStore::connect() {
  if (stopping_) return;
  if (state_.load() == State::Down) state_ = State::Connecting;
  for (Conn* c : {cmd_.get(), sub_.get()}) {
    if (c->ac) continue;
    redisAsyncContext* ac = redisAsyncConnect(host_.c_str(), port_);
    if (!ac || ac->err) {
      std::string err = ac ? ac->errstr : "out of memory";
      if (ac) redisAsyncFree(ac);
      onDisconnected(*c, err);
      return;
    }
    ac->data = c;
    c->ac = ac;
    redisLibeventAttach(ac, loop_.base());
    redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* a, int status) {
      auto* conn = static_cast<Conn*>(a->data);
      if (status != REDIS_OK) {
        conn->ac = nullptr;  // hiredis frees it after this callback
        conn->store->onDisconnected(*conn, a->errstr);
        return;
      }
      conn->store->onConnected(*conn, true, {});
    });
    redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* a, int) {
      auto* conn = static_cast<Conn*>(a->data);
      if (!conn || conn->ac != a) return;  // freed by stop()
      conn->ac = nullptr;
      conn->store->onDisconnected(*conn, a->err ? a->errstr : "connection closed");
    });
  }
}

void RedisStore::onConnected(Conn& c, bool, const std::string&) {
  auto ready = [](redisAsyncContext* a, void* r, void*) {
    auto* conn = static_cast<Conn*>(a->data);
    auto* reply = static_cast<redisReply*>(r);
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      conn->store->loc_.core()->log(kLogErr, kModule, std::string("Redis ") + conn->name() + ": " +
                                                          (reply ? replyText(reply) : "no answer to SELECT"));
      redisAsyncDisconnect(a);
      return;
    }
    RedisStore* s = conn->store;
    if (conn->subscriber) {
      std::string channel = s->prefix_ + std::to_string(s->db_) + ":changes";
      s->command(*conn, [](redisAsyncContext* a2, void* r2, void*) {
        auto* cn = static_cast<Conn*>(a2->data);
        auto* rep = static_cast<redisReply*>(r2);
        if (!cn || !rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) return;
        std::string kind = replyText(rep->element[0]);
        if (kind == "subscribe") {
          cn->up = true;
          if (cn->store->cmd_->up) cn->store->resync("0");
        } else if (kind == "message") {
          cn->store->onChange(replyText(rep->element[2]));
        }
      }, nullptr, {"SUBSCRIBE", channel});
      return;
    }
    conn->up = true;
    if (s->sub_->up) s->resync("0");
  };
  command(c, ready, nullptr, {"SELECT", std::to_string(db_)});
}

const char* RedisStore::errorName(Error e) {
  static const char* const names[] = {"connection", "command", "queue_full"};
  return names[size_t(e)];
}

void RedisStore::onDisconnected(Conn& c, const std::string& err) {
  c.up = false;
  reload_.reset();  // the next connection reloads from the start
  if (stopping_) return;
  count(Error::Connection);
  if (state_.exchange(State::Down) == State::Up)
    loc_.core()->log(kLogErr, kModule, "lost Redis at " + host_ + ":" + std::to_string(port_) + " (" + c.name() +
                                           "): " + err +
                                           "; REGISTER is answered 503 and lookups use the bindings this node "
                                           "knows until it is back; reconnecting");
  else
    logDown(err);
  // Both connections come back together: the subscription must be live before the reload.
  // Forget it before freeing: hiredis calls no disconnect callback for a context that never
  // connected, and ours ignores contexts that are no longer current. Pending commands on it
  // get their callbacks with no reply (their REGISTERs are answered 503).
  Conn& other = &c == cmd_.get() ? *sub_ : *cmd_;
  if (other.ac) {
    other.up = false;
    redisAsyncContext* ac = other.ac;
    other.ac = nullptr;
    redisAsyncFree(ac);
  }
  scheduleReconnect();
}

void RedisStore::scheduleReconnect() {
  if (!retryEv_ || stopping_) return;
  if (evtimer_pending(retryEv_, nullptr)) return;
  timeval tv{retryDelayMs_ / 1000, (retryDelayMs_ % 1000) * 1000};
  evtimer_add(retryEv_, &tv);
  retryDelayMs_ = std::min(retryDelayMs_ * 2, kMaxRetryDelayMs);
}

void RedisStore::logDown(const std::string& why) {
  int64_t now = unixNow();
  int64_t last = lastDownLog_.load();
  if (now - last < kDownLogEveryS || !lastDownLog_.compare_exchange_strong(last, now)) return;
  loc_.core()->log(kLogErr, kModule, "Redis at " + host_ + ":" + std::to_string(port_) + " is unreachable: " + why +
                                         "; REGISTER is answered 503 until it is back (retrying)");
}

RecordPtr RedisStore::parseStored(const std::string& aor, std::string_view value, std::string& err) const {
  size_t nl = value.find('\n');
  uint64_t version = 0;
  if (nl == std::string_view::npos || !parseU64(value.substr(0, nl), version)) {
    err = "no version";
    return nullptr;
  }
  auto b = RecordCodec::decode(value.substr(nl + 1), err);
  if (!b) return nullptr;
  auto rec = std::make_shared<AorRecord>();
  rec->aor = aor;
  rec->version = version;
  rec->bindings = std::move(*b);
  rec->written = unixNow();
  return rec;
}

struct RedisStore::Reload {
  // Keys view the records' own AoR strings (records are immutable and held here).
  std::shared_ptr<LocationTable::Snapshot> snap = std::make_shared<LocationTable::Snapshot>();
  bool scanned = false;  // the SCAN reached cursor 0
  int pending = 0;       // MGETs not answered yet
};

void RedisStore::note(const RecordPtr& rec) {
  if (!reload_) return;
  // The newest version seen wins: a change published while the reload ran may be read before
  // or after the MGET that saw the older value (two connections).
  auto [it, added] = reload_->snap->emplace(std::string_view(rec->aor), rec);
  if (added || it->second->version >= rec->version) return;
  reload_->snap->erase(it);  // the key views the old record's string
  reload_->snap->emplace(std::string_view(rec->aor), rec);
}

void RedisStore::endReload() {
  // Posted to each worker after the reload's batches and the changes applied meanwhile (all
  // come from this thread, and a worker runs its posts in order), so the replicas hold them.
  std::shared_ptr<const LocationTable::Snapshot> snap = std::move(reload_->snap);
  reload_.reset();
  loc_.reconcile(std::move(snap));
}

void RedisStore::abandonReload(const char* why) {
  // A page is missing: reconciling against what was read would drop bindings Redis still holds,
  // and noting changes for a reload that never ends would grow without bound. The replica keeps
  // what it has (bindings deleted elsewhere meanwhile stay until they expire); the next
  // connection reloads from the start.
  reload_.reset();
  loc_.core()->log(kLogWarn, kModule, std::string("loading the location table from Redis stopped: ") + why +
                                          "; the table is not reconciled until the next connection");
}

void RedisStore::resync(const std::string& cursor) {
  if (cursor == "0") {
    state_ = State::Up;
    retryDelayMs_ = 200;
    reload_ = std::make_shared<Reload>();
    loc_.core()->log(kLogNotice, kModule, "connected to Redis at " + host_ + ":" + std::to_string(port_) + " db " +
                                              std::to_string(db_) + "; loading the location table");
  }
  auto* cur = new std::shared_ptr<Reload>(reload_);
  int rc = command(*cmd_, [](redisAsyncContext* a, void* r, void* priv) {
    std::unique_ptr<std::shared_ptr<Reload>> rl(static_cast<std::shared_ptr<Reload>*>(priv));
    auto* conn = static_cast<Conn*>(a->data);
    auto* reply = static_cast<redisReply*>(r);
    if (!conn || !reply) return;  // no reply: the connection is going, onDisconnected ends the reload
    RedisStore* s = conn->store;
    if (s->reload_ != *rl) return;  // a reload the connection lost
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return s->abandonReload("SCAN failed");
    std::string next = replyText(reply->element[0]);
    const redisReply* keys = reply->element[1];
    std::vector<std::string> mget{"MGET"};
    for (size_t i = 0; i < keys->elements; ++i) mget.push_back(replyText(keys->element[i]));
    if (next == "0") s->reload_->scanned = true;
    if (mget.size() > 1) {
      struct Page {
        std::vector<std::string> keys;
        std::shared_ptr<Reload> reload;
      };
      auto* page = new Page{std::vector<std::string>(mget.begin() + 1, mget.end()), s->reload_};
      int rc2 = s->command(*conn, [](redisAsyncContext* a2, void* r2, void* p2) {
        std::unique_ptr<Page> pg(static_cast<Page*>(p2));
        auto* cn = static_cast<Conn*>(a2->data);
        auto* rep = static_cast<redisReply*>(r2);
        if (!cn || !rep) return;
        RedisStore* st = cn->store;
        if (st->reload_ != pg->reload) return;
        if (rep->type != REDIS_REPLY_ARRAY) return st->abandonReload("MGET failed");
        std::vector<RecordPtr> recs;
        std::string aorPrefix = st->prefix_ + "aor:";
        for (size_t i = 0; i < rep->elements && i < pg->keys.size(); ++i) {
          if (rep->element[i]->type != REDIS_REPLY_STRING) continue;  // expired meanwhile
          std::string aor = pg->keys[i].substr(aorPrefix.size());
          std::string err;
          if (RecordPtr rec = st->parseStored(aor, replyText(rep->element[i]), err)) {
            st->note(rec);
            recs.push_back(std::move(rec));
          } else {
            st->loc_.core()->log(kLogWarn, kModule, "skipping " + pg->keys[i] + " in Redis: " + err);
          }
        }
        st->loc_.publishBatch(std::move(recs));
        if (--st->reload_->pending == 0 && st->reload_->scanned) st->endReload();
      }, page, mget);
      if (rc2 != REDIS_OK) {
        delete page;
        return s->abandonReload("MGET not sent");
      }
      ++s->reload_->pending;
    }
    if (next != "0")
      s->resync(next);
    else if (s->reload_->pending == 0)
      s->endReload();
  }, cur, {"SCAN", cursor, "MATCH", prefix_ + "aor:*", "COUNT", "1000"});
  if (rc != REDIS_OK) {
    delete cur;
    abandonReload("SCAN not sent");
  }
}

void RedisStore::onChange(std::string_view payload) {
  size_t a = payload.find('\n');
  if (a == std::string_view::npos) return;
  std::string aor(payload.substr(0, a));
  std::string err;
  RecordPtr rec = parseStored(aor, payload.substr(a + 1), err);
  if (!rec) {
    loc_.core()->log(kLogWarn, kModule, "ignoring a malformed change for " + aor + ": " + err);
    return;
  }
  note(rec);
  loc_.publish(std::move(rec), nullptr);
}

void RedisStore::submit(std::string aor, LocationApi::Compute compute, LocationApi::Done done) {
  if (state_.load() != State::Up) {
    logDown("not connected");  // the reason was logged when the connection went down
    done(UpdateOutcome{503, "Service Unavailable", "Retry-After: 5\r\n", nullptr});
    return;
  }
  if (pending_.fetch_add(1) >= loc_.options().maxPending) {
    pending_.fetch_sub(1);
    count(Error::QueueFull);
    loc_.core()->log(kLogWarn, kModule, "Redis write queue full (" + std::to_string(loc_.options().maxPending) +
                                            " pending); answering 503");
    done(UpdateOutcome{503, "Service Unavailable", "Retry-After: 5\r\n", nullptr});
    return;
  }
  auto job = std::make_shared<Job>();
  job->aor = std::move(aor);
  job->compute = std::move(compute);
  job->done = std::move(done);
  loop_.post([this, job] { run(job); });
}

void RedisStore::run(std::shared_ptr<Job> job) {
  if (!cmd_->up) {
    fail(job, "not connected");
    return;
  }
  read(std::move(job));
}

void RedisStore::fail(const std::shared_ptr<Job>& job, const std::string& why) {
  count(Error::Command);
  logDown(why);
  pending_.fetch_sub(1);
  job->done(UpdateOutcome{503, "Service Unavailable", "Retry-After: 5\r\n", nullptr});
}

void RedisStore::finish(const std::shared_ptr<Job>& job, UpdateOutcome out, RecordPtr rec) {
  pending_.fetch_sub(1);
  if (!rec) {
    job->done(out);
    return;
  }
  note(rec);
  loc_.publish(std::move(rec), [done = job->done, out = std::move(out)] { done(out); });
}

void RedisStore::read(std::shared_ptr<Job> job) {
  auto* priv = new std::shared_ptr<Job>(job);
  int rc = command(*cmd_, [](redisAsyncContext* a, void* r, void* p) {
    std::unique_ptr<std::shared_ptr<Job>> j(static_cast<std::shared_ptr<Job>*>(p));
    auto* conn = static_cast<Conn*>(a->data);
    auto* reply = static_cast<redisReply*>(r);
    RedisStore* s = conn ? conn->store : nullptr;
    if (!s) return;
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
      s->fail(*j, reply ? replyText(reply) : "connection lost");
      return;
    }
    std::string text = replyText(reply);
    s->write(*j, reply->type == REDIS_REPLY_NIL ? nullptr : &text);
  }, priv, {"GET", key(job->aor)});
  if (rc != REDIS_OK) {
    delete priv;
    fail(job, "not connected");
  }
}

// `currentText`: the stored value the bindings are computed from (null: none stored).
void RedisStore::write(std::shared_ptr<Job> job, const std::string* currentText) {
  RecordPtr cur;
  if (currentText) {
    std::string err;
    cur = parseStored(job->aor, *currentText, err);
    if (!cur) {
      loc_.core()->log(kLogErr, kModule, "stored bindings of " + job->aor + " are unreadable (" + err +
                                             "); they will be replaced");
      auto blank = std::make_shared<AorRecord>();
      blank->aor = job->aor;
      size_t nl = currentText->find('\n');
      uint64_t v = 0;
      if (nl != std::string::npos) parseU64(std::string_view(*currentText).substr(0, nl), v);
      blank->version = v;
      cur = blank;
    }
  }
  // Expired bindings are not part of the current state (Redis keeps the key until the last one).
  AorRecord live;
  const AorRecord* base = nullptr;
  if (cur) {
    live.aor = cur->aor;
    live.version = cur->version;
    int64_t now = unixNow();
    for (const Binding& b : cur->bindings)
      if (b.expires > now) live.bindings.push_back(b);
    base = live.bindings.empty() ? nullptr : &live;
  }
  UpdateResult r = job->compute(base);
  if (!r.write) {
    RecordPtr shown = base ? std::make_shared<AorRecord>(live) : nullptr;
    finish(job, UpdateOutcome{r.code, r.reason, r.extraHeaders, std::move(shown)}, nullptr);
    return;
  }
  uint64_t expect = cur ? cur->version : 0;
  std::string text = RecordCodec::encode(r.bindings);
  int64_t last = RecordCodec::lastExpiry(r.bindings);
  job->result = std::move(r);
  auto* priv = new std::shared_ptr<Job>(job);
  std::string channel = prefix_ + std::to_string(db_) + ":changes";
  int rc = command(*cmd_, [](redisAsyncContext* a, void* rp, void* p) {
    std::unique_ptr<std::shared_ptr<Job>> j(static_cast<std::shared_ptr<Job>*>(p));
    auto* conn = static_cast<Conn*>(a->data);
    auto* reply = static_cast<redisReply*>(rp);
    RedisStore* s = conn ? conn->store : nullptr;
    if (!s) return;
    const std::shared_ptr<Job>& job2 = *j;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
      s->fail(job2, reply ? "write failed: " + replyText(reply) : "connection lost");
      return;
    }
    if (reply->element[0]->integer == 0) {
      // Another node wrote this AoR meanwhile: compute again from what it stored.
      if (++job2->tries >= kMaxTries) {
        s->pending_.fetch_sub(1);
        s->count(Error::Command);
        s->loc_.core()->log(kLogWarn, kModule, "REGISTER for " + job2->aor + " lost " + std::to_string(kMaxTries) +
                                                   " write races in a row; answering 500");
        job2->done(UpdateOutcome{500, "Server Internal Error", {}, nullptr});
        return;
      }
      std::string now = replyText(reply->element[1]);
      s->write(job2, now.empty() ? nullptr : &now);
      return;
    }
    auto rec = std::make_shared<AorRecord>();
    rec->aor = job2->aor;
    rec->version = uint64_t(reply->element[1]->integer);
    rec->bindings = std::move(job2->result.bindings);
    rec->written = unixNow();
    UpdateOutcome out{job2->result.code, job2->result.reason, job2->result.extraHeaders,
                      rec->bindings.empty() ? nullptr : RecordPtr(rec)};
    s->finish(job2, std::move(out), rec);
  }, priv, {"EVAL", kCasScript, "2", key(job->aor), prefix_ + "seq", std::to_string(expect), text,
            std::to_string(last > 0 ? last * 1000 : 0), channel, job->aor, std::to_string(clockFloor())});
  if (rc != REDIS_OK) {
    delete priv;
    fail(job, "not connected");
  }
}

}  // namespace sipsd::usrloc
