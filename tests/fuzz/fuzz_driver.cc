// A deterministic mutation driver for the LLVMFuzzerTestOneInput harnesses in this folder, so
// they build with the project's compiler and run under ASan+UBSan in every CI run. It takes a
// subset of libFuzzer's command line:
//   fuzz_X [-max_total_time=S] [-runs=N] [-seed=N] [-max_len=N] [-timeout=S] DIR|FILE...
// Directories are seed corpora: every seed is run first (a regression check), then mutants of
// them (bit flips, interesting bytes, deletions, repeated chunks, splices of other seeds,
// extreme numbers) until the time or run budget is spent. Files are run once each (reproduce a
// crash). SIPSD_FUZZ_SECONDS overrides -max_total_time. The same harnesses link with clang's
// -fsanitize=fuzzer for coverage-guided runs (see the README).
// A crash (sanitizer report, abort, or an input running longer than -timeout) writes the input
// to ./fuzz-crash-NAME-HASH and exits non-zero.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) void __sanitizer_set_death_callback(void (*callback)(void));

namespace {

// The input being run, for the crash handlers (which may only use async-signal-safe calls).
const uint8_t* gCurrent = nullptr;
size_t gCurrentSize = 0;
char gCrashPath[256] = "fuzz-crash";

void saveCurrent() {
  int fd = ::open(gCrashPath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  size_t off = 0;
  while (off < gCurrentSize) {
    ssize_t n = ::write(fd, gCurrent + off, gCurrentSize - off);
    if (n <= 0) break;
    off += size_t(n);
  }
  ::close(fd);
  const char msg[] = "\nfuzz: the input is saved in ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, gCrashPath, std::strlen(gCrashPath));
  (void)!::write(2, "\n", 1);
}

void onFatalSignal(int sig) {
  if (sig == SIGALRM) {
    const char msg[] = "\nfuzz: an input ran longer than -timeout (a hang)";
    (void)!::write(2, msg, sizeof msg - 1);
  }
  saveCurrent();
  ::signal(sig, SIG_DFL);
  if (sig == SIGALRM) ::_exit(70);
  ::raise(sig);
}

void sanitizerDeath() { saveCurrent(); }

void readInputs(const std::string& path, std::vector<std::string>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "fuzz: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') names.push_back(path + "/" + e->d_name);
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());  // a fixed order keeps runs reproducible
    for (const auto& n : names) readInputs(n, out);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  out.push_back(ss.str());
}

class Mutator {
 public:
  Mutator(uint64_t seed, size_t maxLen, const std::vector<std::string>& seeds)
      : rng_(seed), maxLen_(maxLen), seeds_(seeds) {}

  std::string mutate(std::string s) {
    int rounds = 1 + int(below(6));
    for (int i = 0; i < rounds; ++i) once(s);
    if (s.size() > maxLen_) s.resize(maxLen_);
    return s;
  }

 private:
  size_t below(size_t n) { return n ? size_t(rng_() % n) : 0; }

  char interesting() {
    static const char kBytes[] = {0,   '\xff', '\x7f', '\x80', '\xb6', '\xe2', '\r', '\n', ' ', '\t', ':', ';',
                                  ',', '"',    '\\',   '{',    '}',    '(',    ')',  '[',  ']', '<',  '>', '/',
                                  '=', '0',    '9',    '-',    '.',    '@',    '&',  '#',  '*', '\'', '!', '|'};
    return kBytes[below(sizeof kBytes)];
  }

  void once(std::string& s) {
    switch (below(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[below(s.size())] ^= char(1u << below(8));
        break;
      case 1:  // overwrite a byte with an interesting one
        if (!s.empty()) s[below(s.size())] = interesting();
        break;
      case 2:  // insert an interesting byte
        s.insert(s.begin() + long(below(s.size() + 1)), interesting());
        break;
      case 3: {  // delete a range
        if (s.empty()) break;
        size_t at = below(s.size());
        s.erase(at, 1 + below(std::min<size_t>(s.size() - at, below(2) ? 16 : s.size())));
        break;
      }
      case 4: {  // repeat a chunk many times (deep nesting, long lists, huge headers)
        if (s.empty()) break;
        size_t at = below(s.size());
        std::string chunk = s.substr(at, 1 + below(std::min<size_t>(s.size() - at, 32)));
        size_t times = 1 + below(below(4) == 0 ? 2000 : 8);
        std::string rep;
        for (size_t i = 0; i < times && rep.size() < maxLen_; ++i) rep += chunk;
        s.insert(below(s.size() + 1), rep);
        break;
      }
      case 5: {  // splice in a piece of another seed
        const std::string& o = seeds_[below(seeds_.size())];
        if (o.empty()) break;
        size_t at = below(o.size());
        s.insert(below(s.size() + 1), o.substr(at, 1 + below(std::min<size_t>(o.size() - at, 64))));
        break;
      }
      case 6: {  // an extreme number in place of a digit run
        static const char* kNumbers[] = {"0", "-1", "65536", "4294967296", "2147483648", "-2147483649",
                                         "99999999999999999999", "18446744073709551616", "1e9", "00000000000000001"};
        size_t at = s.find_first_of("0123456789", below(s.size() + 1));
        if (at == std::string::npos) break;
        size_t end = s.find_first_not_of("0123456789", at);
        s.replace(at, (end == std::string::npos ? s.size() : end) - at, kNumbers[below(std::size(kNumbers))]);
        break;
      }
      case 7:  // cut the tail
        if (!s.empty()) s.resize(below(s.size()));
        break;
      default: {  // duplicate a line (another header, another statement)
        size_t at = s.find('\n', below(s.size() + 1));
        if (at == std::string::npos) break;
        size_t from = s.rfind('\n', at ? at - 1 : 0);
        from = from == std::string::npos ? 0 : from + 1;
        s.insert(at + 1, s.substr(from, at + 1 - from));
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  size_t maxLen_;
  const std::vector<std::string>& seeds_;
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  double maxSeconds = 10;
  uint64_t maxRuns = UINT64_MAX;
  uint64_t seed = 1;
  size_t maxLen = 65536;
  unsigned timeout = 10;
  std::vector<std::string> corpus, files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&](const char* name) { return std::strtoull(a.c_str() + std::strlen(name), nullptr, 10); };
    if (a.rfind("-max_total_time=", 0) == 0) maxSeconds = double(num("-max_total_time="));
    else if (a.rfind("-runs=", 0) == 0) maxRuns = num("-runs=");
    else if (a.rfind("-seed=", 0) == 0) seed = num("-seed=");
    else if (a.rfind("-max_len=", 0) == 0) maxLen = num("-max_len=");
    else if (a.rfind("-timeout=", 0) == 0) timeout = unsigned(num("-timeout="));
    else if (a.rfind("-", 0) == 0) std::fprintf(stderr, "fuzz: ignoring %s\n", a.c_str());
    else {
      struct stat st {};
      (::stat(a.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? files : corpus).push_back(a);
    }
  }
  if (const char* env = std::getenv("SIPSD_FUZZ_SECONDS")) maxSeconds = std::atof(env);
  std::string name = argv[0];
  name = name.substr(name.rfind('/') + 1);

  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(sanitizerDeath);
  ::signal(SIGABRT, onFatalSignal);
  ::signal(SIGALRM, onFatalSignal);
  if (!__sanitizer_set_death_callback) {  // without ASan, which reports these itself
    ::signal(SIGSEGV, onFatalSignal);
    ::signal(SIGBUS, onFatalSignal);
    ::signal(SIGFPE, onFatalSignal);
  }

  auto runOne = [&](const std::string& input) {
    std::snprintf(gCrashPath, sizeof gCrashPath, "fuzz-crash-%s-%016llx", name.c_str(),
                  static_cast<unsigned long long>(fnv1a(input)));
    gCurrent = reinterpret_cast<const uint8_t*>(input.data());
    gCurrentSize = input.size();
    ::alarm(timeout);
    LLVMFuzzerTestOneInput(gCurrent, gCurrentSize);
    ::alarm(0);
  };

  std::vector<std::string> inputs;
  for (const auto& f : files) readInputs(f, inputs);
  if (!files.empty()) {
    for (const auto& in : inputs) runOne(in);
    std::fprintf(stderr, "fuzz: %s: ran %zu input(s)\n", name.c_str(), inputs.size());
    return 0;
  }
  std::vector<std::string> seeds;
  for (const auto& d : corpus) readInputs(d, seeds);
  if (seeds.empty()) seeds.emplace_back();
  const auto start = std::chrono::steady_clock::now();
  uint64_t runs = 0;
  for (const auto& s : seeds) {
    runOne(s);
    ++runs;
  }
  // Mutants are kept now and then so mutations stack beyond one round.
  std::vector<std::string> pool = seeds;
  Mutator mutator(seed, maxLen, seeds);
  std::mt19937_64 pick(seed ^ 0x9e3779b97f4a7c15ull);
  size_t maxSeen = 0;
  while (runs < maxRuns) {
    if ((runs & 63) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= maxSeconds)
      break;
    std::string m = mutator.mutate(pool[pick() % pool.size()]);
    maxSeen = std::max(maxSeen, m.size());
    runOne(m);
    ++runs;
    if (pick() % 64 == 0) {
      if (pool.size() < 4096) pool.push_back(std::move(m));
      else pool[seeds.size() + pick() % (pool.size() - seeds.size())] = std::move(m);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "fuzz: %s: %llu runs in %.1f s (%zu seeds, largest input %zu bytes, seed %llu), no crash\n",
               name.c_str(), static_cast<unsigned long long>(runs), secs, seeds.size(), maxSeen,
               static_cast<unsigned long long>(seed));
  return 0;
}
