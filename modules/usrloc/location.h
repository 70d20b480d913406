// The location service: per-worker replicas, the serialization point for writes (an AoR's home
// worker in memory; Redis when db_url is set), publication of written records to every
// replica, and the expiry sweep. See location_api.h for the contract the registrar uses.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "modules/usrloc/location_api.h"
#include "modules/usrloc/location_table.h"

namespace sipsd {
class CoreApi;
class MetricsWriter;
}

namespace sipsd::usrloc {

class RedisStore;

struct LocationOptions {
  bool useDomain = false;      // AoR = user@host (else user)
  std::string dbUrl;           // "" = in memory; redis://host:port/db
  std::string nodeAddress;     // this node's SIP URI for the other nodes (cluster)
  int64_t tombstoneKeep = 60;  // s a removal is remembered (orders late writes)
  size_t maxPending = 10000;   // Redis: writes waiting for the database before 503
};

class Location : public LocationApi {
 public:
  Location();
  ~Location() override;

  LocationOptions& options() { return opts_; }
  // After params: checks them; connects to Redis (from its own thread) when db_url is set.
  [[nodiscard]] Result<void> init(CoreApi& core);
  // Per worker index, on the main thread before traffic.
  void addWorker(int worker);
  void destroy();

  std::string aorOf(std::string_view uri) const override;
  RecordPtr get(int worker, std::string_view aor) const override;
  RecordPtr getByContact(int worker, std::string_view contact, size_t& index) const override;
  void update(std::string aor, Compute compute, Done done) override;
  const std::string& nodeAddress() const override { return opts_.nodeAddress; }

  // Stores `rec` on every replica, then runs `after` (on the thread that applied it last).
  void publish(RecordPtr rec, std::function<void()> after);
  // Many records at once (a reload from Redis): one message per worker.
  void publishBatch(std::vector<RecordPtr> recs);
  // The end of a reload: makes every replica equal to what Redis holds (see
  // LocationTable::reconcile); posted after the reload's batches and changes, so it sees them.
  void reconcile(std::shared_ptr<const LocationTable::Snapshot> snap);
  // A fresh version for a write in memory.
  uint64_t nextVersion() { return ++version_; }
  int workers() const { return count_.load(std::memory_order_acquire); }
  // The calling worker's replica (RPCs run on a worker), null elsewhere.
  const LocationTable* currentTable() const;
  CoreApi* core() const { return core_; }
  bool clustered() const { return redis_ != nullptr; }
  // "connected", "connecting" ... for ul.dump (empty when in memory).
  std::string dbState() const;
  // /metrics: AoRs and live contacts (the scraping worker's replica's counts), and with
  // Redis its connection state and errors.
  void writeMetrics(MetricsWriter& w) const;

 private:
  int homeOf(std::string_view aor) const;
  void sweepAll();

  LocationOptions opts_;
  CoreApi* core_ = nullptr;
  // Sized once (kMaxWorkers) so workers already running never see it move; count_ says how
  // many exist (set when the first worker is initialised, before Redis may publish).
  static constexpr int kMaxWorkers = 1024;
  // Records a replica's sweep looks at per 100 ms tick (a fraction of a millisecond of work).
  static constexpr size_t kSweepBudget = 1000;
  std::vector<std::unique_ptr<LocationTable>> tables_;
  std::atomic<int> count_{0};
  std::atomic<uint64_t> version_{0};
  std::unique_ptr<RedisStore> redis_;
};

// Unix seconds now (bindings expire in wall-clock time: they travel between nodes).
int64_t unixNow();

}  // namespace sipsd::usrloc
