// Location: replicas, serialization points and publication (see location.h).
#include "modules/usrloc/location.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "core/metrics/metrics_writer.h"
#include "core/module_api.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"
#include "modules/usrloc/redis_store.h"

namespace sipsd::usrloc {

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

// Counts the replicas that still have to apply a record; the last one runs `after`.
struct Fanout {
  std::atomic<int> left;
  std::function<void()> after;
  Fanout(int n, std::function<void()> a) : left(n), after(std::move(a)) {}
  void arrive() {
    if (left.fetch_sub(1) == 1 && after) after();
  }
};

}  // namespace

Location::Location() : tables_(kMaxWorkers) {}
Location::~Location() = default;

Result<void> Location::init(CoreApi& core) {
  core_ = &core;
  if (!opts_.dbUrl.empty()) {
    if (opts_.nodeAddress.empty())
      return fail("db_url is set but node_address is not: the other nodes route this node's phones through "
                  "it (e.g. modparam(\"usrloc\", \"node_address\", \"sip:10.0.0.1:5060\"))");
    redis_ = std::make_unique<RedisStore>(*this);
    std::string err = redis_->configure(opts_.dbUrl);
    if (!err.empty()) return fail("db_url: " + err);
  }
  // Expired bindings go away by themselves: each replica sweeps its own table on its thread,
  // a slice every tick (kSweepBudget records per 100 ms, so 10,000 a second), never the whole
  // table at once: with 100,000 bindings a whole sweep would stall the worker ~20 ms.
  core.addTimer(std::chrono::milliseconds(100), [this] { sweepAll(); });
  core.addMetricsProvider("usrloc", [this](MetricsWriter& w) { writeMetrics(w); });
  return {};
}

void Location::writeMetrics(MetricsWriter& w) const {
  // Scrapes run on a worker, whose replica is complete and keeps its counts as records come
  // and go: read them there, without a lock and without walking the table.
  if (const LocationTable* t = currentTable()) {
    LocationTable::LiveCounts c = t->live(unixNow());
    w.family("sipsd_usrloc_aors", "gauge", "Addresses of record with at least one live contact.");
    w.sample("sipsd_usrloc_aors", {}, c.aors);
    w.family("sipsd_usrloc_contacts", "gauge", "Registered contacts that have not expired (every node of a cluster).");
    w.sample("sipsd_usrloc_contacts", {}, c.contacts);
  }
  if (!redis_) return;
  w.family("sipsd_usrloc_redis_connected", "gauge", "1 while the Redis connection (db_url) is up and loaded, else 0.");
  w.sample("sipsd_usrloc_redis_connected", {}, int64_t(redis_->connected() ? 1 : 0));
  w.family("sipsd_usrloc_redis_errors_total", "counter",
           "Redis failures: connection (lost, or a connect attempt failed), command (a REGISTER's read or write "
           "failed), queue_full (max_pending writes waiting).");
  for (size_t e = 0; e < size_t(RedisStore::Error::Count); ++e)
    w.sample("sipsd_usrloc_redis_errors_total", {{"kind", RedisStore::errorName(RedisStore::Error(e))}},
             redis_->errors(RedisStore::Error(e)));
}

void Location::addWorker(int worker) {
  if (worker != 0 || count_.load() != 0) return;
  // All at once, on the first call: the engine runs by now and knows how many workers it has.
  int n = std::min(std::max(core_->workerCount(), 1), kMaxWorkers);
  // The contact index serves requests other nodes route here: only with a node_address.
  const bool byContact = !opts_.nodeAddress.empty();
  for (int w = 0; w < n; ++w) tables_[size_t(w)] = std::make_unique<LocationTable>(byContact);
  count_.store(n, std::memory_order_release);
  if (redis_) redis_->start();
}

void Location::destroy() {
  if (redis_) redis_->stop();
}

std::string Location::dbState() const { return redis_ ? redis_->state() : std::string(); }

void Location::sweepAll() {
  int64_t now = unixNow();
  for (int w = 0; w < workers(); ++w) {
    LocationTable* t = tables_[size_t(w)].get();
    core_->postToWorker(w, [t, now, keep = opts_.tombstoneKeep] { t->sweepSome(now, keep, kSweepBudget); });
  }
}

std::string Location::aorOf(std::string_view uri) const {
  SipUri u;
  std::string err;
  std::string withScheme;
  if (!parseUri(uri, u, err)) {
    // The RPCs take "alice@example.com" as well as "sip:alice@example.com".
    withScheme = "sip:" + std::string(uri);
    if (!parseUri(withScheme, u, err)) return {};
  }
  if (u.scheme == SipUri::Scheme::Tel) return std::string(u.user);
  if (u.user.empty()) return {};
  std::string aor(u.user);
  if (opts_.useDomain) {
    aor += '@';
    for (char c : u.host) aor += parse::lower(c);
  }
  return aor;
}

RecordPtr Location::get(int worker, std::string_view aor) const {
  if (worker < 0 || worker >= workers()) return nullptr;
  return tables_[size_t(worker)]->get(aor);
}

RecordPtr Location::getByContact(int worker, std::string_view contact, size_t& index) const {
  if (worker < 0 || worker >= workers()) return nullptr;
  return tables_[size_t(worker)]->getByContact(contact, opts_.nodeAddress, index);
}

const LocationTable* Location::currentTable() const {
  int w = core_ ? core_->currentWorker() : -1;
  return w >= 0 && w < workers() ? tables_[size_t(w)].get() : nullptr;
}

int Location::homeOf(std::string_view aor) const {
  return int(std::hash<std::string_view>()(aor) % size_t(workers()));
}

void Location::update(std::string aor, Compute compute, Done done) {
  if (redis_) {
    redis_->submit(std::move(aor), std::move(compute), std::move(done));
    return;
  }
  if (workers() == 0) {
    done(UpdateOutcome{500, "Server Internal Error", {}, nullptr});
    return;
  }
  int home = homeOf(aor);
  // The home worker is the only writer of the AoR: its replica is current for it, and a write
  // computed there cannot race another write of the same AoR.
  auto job = [this, home, aor = std::move(aor), compute = std::move(compute), done = std::move(done)]() {
    RecordPtr cur = tables_[size_t(home)]->get(aor);
    UpdateResult r = compute(cur.get());
    if (!r.write) {
      done(UpdateOutcome{r.code, std::move(r.reason), std::move(r.extraHeaders), std::move(cur)});
      return;
    }
    auto rec = std::make_shared<AorRecord>();
    rec->aor = aor;
    rec->version = nextVersion();
    rec->bindings = std::move(r.bindings);
    rec->written = unixNow();
    RecordPtr stored = rec;
    UpdateOutcome out{r.code, std::move(r.reason), std::move(r.extraHeaders), rec->bindings.empty() ? nullptr : stored};
    publish(std::move(stored), [done, out = std::move(out)] { done(out); });
  };
  if (core_->currentWorker() == home)
    job();
  else
    core_->postToWorker(home, std::move(job));  // false only while stopping: nothing answers then
}

void Location::publish(RecordPtr rec, std::function<void()> after) {
  int n = workers();
  auto fan = std::make_shared<Fanout>(n, std::move(after));
  int self = core_->currentWorker();
  for (int w = 0; w < n; ++w) {
    LocationTable* t = tables_[size_t(w)].get();
    if (w == self) continue;
    core_->postToWorker(w, [t, rec, fan] {
      t->apply(rec);
      fan->arrive();
    });
  }
  if (self >= 0 && self < n) {
    tables_[size_t(self)]->apply(rec);
    fan->arrive();
  }
}

}  // namespace sipsd::usrloc

namespace sipsd::usrloc {

void Location::publishBatch(std::vector<RecordPtr> recs) {
  if (recs.empty()) return;
  auto shared = std::make_shared<const std::vector<RecordPtr>>(std::move(recs));
  for (int w = 0; w < workers(); ++w) {
    LocationTable* t = tables_[size_t(w)].get();
    core_->postToWorker(w, [t, shared] {
      for (const RecordPtr& r : *shared) t->apply(r);
    });
  }
}

void Location::reconcile(std::shared_ptr<const LocationTable::Snapshot> snap) {
  for (int w = 0; w < workers(); ++w) {
    LocationTable* t = tables_[size_t(w)].get();
    core_->postToWorker(w, [this, t, w, snap] {
      size_t removed = t->reconcile(*snap);
      // Every replica gets the same answer: one of them says it (tests wait for this line).
      if (w == 0)
        core_->log(kLogNotice, "usrloc",
                   "reloaded the location table from Redis: " + std::to_string(snap->size()) + " AoRs, " +
                       std::to_string(removed) + " no longer in Redis removed");
    });
  }
}

}  // namespace sipsd::usrloc
