// usrloc-lookup-bench: the in-process cost of a location lookup as the table grows.
//
// Fills one LocationTable (a worker's replica, as sipsd's usrloc holds it) per size with one
// binding per AoR, shaped like the registrar stores them, then times lookups of AoRs drawn
// uniformly at random from the whole table (so the records are not in cache the way one hot
// AoR would be) and the expiry sweep every worker runs once a second. The sizes are
// interleaved round by round so a burst of load from elsewhere on the machine hits them all
// alike; the figures are medians over the rounds. "cluster" adds the contact-index probe that
// lookup() makes first on a node with a node_address (usrloc with Redis). The sweep is timed twice: over the whole
// table (what every worker did once a second before) and one tick's slice (what it does now).
// So are the /metrics gauges (live AoRs and contacts): a walk of the table (what every scrape
// did before) and the counts the replica keeps (what a scrape reads now).
//
//   usrloc-lookup-bench [--sizes 1000,10000,100000,1000000] [--rounds 7] [--lookups 200000] [--json]
//
// Exit 1 when a lookup did not find its AoR (every AoR looked up is registered) or the kept
// counts differ from the walk.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "modules/usrloc/location_table.h"

using sipsd::usrloc::AorRecord;
using sipsd::usrloc::Binding;
using sipsd::usrloc::LocationTable;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kNow = 1'800'000'000;  // unix seconds the bench pretends it is
constexpr size_t kBatch = 64;            // lookups per clock reading (a reading costs ~20 ns)
volatile uint64_t gSink = 0;
constexpr size_t kSweepBudget = 1000;    // usrloc's Location::kSweepBudget

struct Options {
  std::vector<size_t> sizes{1000, 10000, 100000, 1000000};
  int rounds = 7;
  size_t lookups = 200000;  // per size and round
  bool json = false;
};

bool parseSizes(const char* text, std::vector<size_t>& out) {
  out.clear();
  std::string_view s(text);
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    size_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size() || v == 0) return false;
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return !out.empty();
}

int parseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--json") {
      o.json = true;
    } else if (a == "--sizes" && v) {
      if (!parseSizes(v, o.sizes)) {
        std::fprintf(stderr, "--sizes: expected numbers > 0 separated by commas, got '%s'\n", v);
        return 2;
      }
      ++i;
    } else if (a == "--rounds" && v) {
      o.rounds = std::atoi(v);
      if (o.rounds < 1) {
        std::fprintf(stderr, "--rounds: expected a number >= 1, got '%s'\n", v);
        return 2;
      }
      ++i;
    } else if (a == "--lookups" && v) {
      o.lookups = size_t(std::strtoull(v, nullptr, 10));
      if (o.lookups < kBatch) {
        std::fprintf(stderr, "--lookups: expected a number >= %zu, got '%s'\n", kBatch, v);
        return 2;
      }
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: usrloc-lookup-bench [--sizes N,N,...] [--rounds R] [--lookups L] [--json]\n"
                   "unknown or incomplete option '%s'\n",
                   argv[i]);
      return 2;
    }
  }
  return 0;
}

// The AoR key of user i, as aorOf() makes it from sip:u<i>@example.com (use_domain 0).
std::string_view aorKey(size_t i, char (&buf)[24]) {
  buf[0] = 'u';
  auto end = std::to_chars(buf + 1, buf + sizeof buf, i).ptr;
  return {buf, size_t(end - buf)};
}

// One binding as save() stores it for a sipp REGISTER over UDP.
std::shared_ptr<AorRecord> makeRecord(size_t i, uint64_t version) {
  char buf[24];
  auto r = std::make_shared<AorRecord>();
  r->aor = aorKey(i, buf);
  r->version = version;
  r->written = kNow;
  Binding b;
  b.contact = "sip:" + r->aor + "@127.0.0.1:" + std::to_string(5060 + i % 50000);
  b.expires = kNow + 3600;
  b.callId = std::to_string(i) + "-4242@127.0.0.1";
  b.cseq = 1;
  b.proto = "udp";
  b.source = "127.0.0.1:" + std::to_string(5060 + i % 50000);
  b.updated = kNow;
  r->bindings.push_back(std::move(b));
  return r;
}

struct Result {
  std::vector<double> p50, p99;  // ns per lookup, one value per round
  std::vector<double> clusterP50; // the same with the contact-index probe a node_address adds
  std::vector<double> sweepUs;   // a full sweep that drops nothing, one value per round
  std::vector<double> sliceUs;   // one tick's sweep (sweepSome, the budget usrloc uses)
  std::vector<double> walkUs;    // the gauges by a walk of the table
  std::vector<double> countsNs;  // the gauges from the replica's counts (LocationTable::live)
  uint64_t found = 0, missed = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// One round of lookups on `t`: batch means of ns per lookup, and their p50/p99. cluster: as on a
// node with a node_address, lookup() first asks the contact index whether the R-URI is the
// contact of one of its own bindings (for an AoR's R-URI it is not).
void lookupRound(const LocationTable& t, size_t n, size_t lookups, bool cluster, std::mt19937_64& rng,
                 Result& res) {
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> batches;
  batches.reserve(lookups / kBatch);
  std::vector<size_t> ids(kBatch);
  uint64_t sink = 0;
  for (size_t done = 0; done + kBatch <= lookups; done += kBatch) {
    for (size_t& id : ids) id = pick(rng);  // drawn outside the timed part
    auto t0 = Clock::now();
    for (size_t id : ids) {
      char buf[24];
      std::string_view aor = aorKey(id, buf);
      if (cluster) {
        char ruri[48] = "sip:";
        std::memcpy(ruri + 4, aor.data(), aor.size());
        std::memcpy(ruri + 4 + aor.size(), "@example.com", 12);
        size_t idx = 0;
        if (t.getByContact(std::string_view(ruri, 16 + aor.size()), std::string(), idx)) ++res.missed;
      }
      // What lookup() does with the table: find the record, read its live contacts.
      sipsd::usrloc::RecordPtr rec = t.get(aor);
      if (!rec) {
        ++res.missed;
        continue;
      }
      for (const Binding& b : rec->bindings)
        if (b.expires > kNow) sink += b.contact.size();
      ++res.found;
    }
    auto t1 = Clock::now();
    batches.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / double(kBatch));
  }
  gSink = gSink + sink;  // the reads must happen
  std::sort(batches.begin(), batches.end());
  if (cluster) {
    res.clusterP50.push_back(batches[batches.size() / 2]);
    return;
  }
  res.p50.push_back(batches[batches.size() / 2]);
  res.p99.push_back(batches[std::min(batches.size() - 1, batches.size() * 99 / 100)]);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (int rc = parseOptions(argc, argv, opt)) return rc;

  std::vector<std::unique_ptr<LocationTable>> tables;
  std::vector<double> fillMs;
  for (size_t n : opt.sizes) {
    auto t = std::make_unique<LocationTable>();
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) t->apply(makeRecord(i, i + 1));
    fillMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    tables.push_back(std::move(t));
  }

  std::vector<Result> results(opt.sizes.size());
  std::mt19937_64 rng(12);
  for (int round = 0; round < opt.rounds; ++round) {
    // Rotate the order each round so no size always runs first (after the others' cache use).
    for (size_t k = 0; k < opt.sizes.size(); ++k) {
      size_t s = (k + size_t(round)) % opt.sizes.size();
      lookupRound(*tables[s], opt.sizes[s], opt.lookups, false, rng, results[s]);
      lookupRound(*tables[s], opt.sizes[s], opt.lookups, true, rng, results[s]);
      auto t0 = Clock::now();
      size_t dropped = tables[s]->sweep(kNow, 60);
      results[s].sweepUs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      t0 = Clock::now();
      dropped += tables[s]->sweepSome(kNow, 60, kSweepBudget);
      results[s].sliceUs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (dropped != 0) results[s].missed += dropped;  // nothing has expired: a drop is a bug
      // The gauges, as a scrape counted them before (a walk) and reads them now.
      t0 = Clock::now();
      uint64_t aors = 0, contacts = 0;
      tables[s]->forEach([&](const sipsd::usrloc::RecordPtr& r) {
        uint64_t live = 0;
        for (const Binding& b : r->bindings) live += b.expires > kNow;
        contacts += live;
        aors += live != 0;
      });
      results[s].walkUs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      t0 = Clock::now();
      LocationTable::LiveCounts c = tables[s]->live(kNow);
      results[s].countsNs.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
      if (c.aors != aors || c.contacts != contacts || aors != opt.sizes[s]) ++results[s].missed;
    }
  }

  bool ok = true;
  const double base = median(results[0].p50);
  if (opt.json) std::printf("{\"rounds\":%d,\"lookups\":%zu,\"sizes\":[", opt.rounds, opt.lookups);
  else
    std::printf("%10s %10s %14s %14s %12s %15s %14s %14s %14s %15s %8s\n", "bindings", "fill ms", "lookup p50 ns",
                "lookup p99 ns", "p50 / first", "cluster p50 ns", "full sweep us", "tick sweep us", "gauge walk us",
                "gauge counts ns", "missed");
  for (size_t s = 0; s < opt.sizes.size(); ++s) {
    const Result& r = results[s];
    double p50 = median(r.p50), p99 = median(r.p99), sweep = median(r.sweepUs), slice = median(r.sliceUs);
    double cluster = median(r.clusterP50), walk = median(r.walkUs), counts = median(r.countsNs);
    ok = ok && r.missed == 0 && r.found > 0;
    if (opt.json)
      std::printf("%s{\"bindings\":%zu,\"fill_ms\":%.1f,\"p50_ns\":%.1f,\"p99_ns\":%.1f,\"ratio_p50\":%.2f,"
                  "\"cluster_p50_ns\":%.1f,\"full_sweep_us\":%.1f,\"tick_sweep_us\":%.1f,\"gauge_walk_us\":%.1f,"
                  "\"gauge_counts_ns\":%.1f,\"found\":%llu,\"missed\":%llu}",
                  s ? "," : "", opt.sizes[s], fillMs[s], p50, p99, base > 0 ? p50 / base : 0, cluster, sweep, slice,
                  walk, counts, (unsigned long long)r.found, (unsigned long long)r.missed);
    else
      std::printf("%10zu %10.1f %14.1f %14.1f %12.2f %15.1f %14.1f %14.1f %14.1f %15.1f %8llu\n", opt.sizes[s],
                  fillMs[s], p50, p99, base > 0 ? p50 / base : 0, cluster, sweep, slice, walk, counts,
                  (unsigned long long)r.missed);
  }
  if (opt.json) std::printf("]}\n");
  if (!ok) std::fprintf(stderr, "usrloc-lookup-bench: some lookups did not find their AoR, or the counts were wrong\n");
  return ok ? 0 : 1;
}
