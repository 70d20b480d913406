// sipsd entry point: command line (SPEC §1), config loading and check, then the server.
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/version.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/config/config_loader.h"
#include "core/log.h"

#include "core/server/server_main.h"

namespace {

// Man-page style, so `sipsd -h | less` is the reference an operator needs on a server
// without the README.
void usage(FILE* out) {
  std::fprintf(out,
      "NAME\n"
      "    sipsd - SIP proxy with first-class TLS (SER/Kamailio-style configuration)\n"
      "\n"
      "SYNOPSIS\n"
      "    sipsd [-f FILE] [-c] [-E] [-D] [-L DIR]... [-w DIR] [-A NAME[=VALUE]]...\n"
      "    sipsd -V | -h\n"
      "\n"
      "DESCRIPTION\n"
      "    Runs the routing script in FILE on the listeners it names (listen=udp|tcp|tls:IP:PORT).\n"
      "    sipsd stays in the foreground and logs to stderr (or syslog with log_stderror=no).\n"
      "\n"
      "OPTIONS\n"
      "    -f FILE  config file; default etc/sipsd.cfg in the working directory, else\n"
      "             %s\n"
      "    -c       check the config (parse, load modules, fix up, load certificates), exit 0/1\n"
      "    -V       version and build features\n"
      "    -h       this help (also --help)\n"
      "    -E       log to stderr (the default; overrides log_stderror=no)\n"
      "    -D       do not fork (accepted for SER habits; sipsd never forks)\n"
      "    -L DIR   module directory, or a list DIR:DIR (like mpath=; may be repeated, searched\n"
      "             first)\n"
      "    -w DIR   working directory (-f and -L are resolved before changing to it)\n"
      "    -A NAME[=VALUE]\n"
      "             define NAME for the config preprocessor (#!ifdef NAME, #!define's value);\n"
      "             may be repeated\n"
      "\n"
      "MODULES\n"
      "    loadmodule \"NAME\", \"NAME.so\" or \"./modules/NAME/NAME.so\" searches NAME.so and\n"
      "    NAME/NAME.so in: -L DIRs, mpath=, the binary's own modules/ folder, then\n"
      "    %s\n"
      "\n"
      "SIGNALS\n"
      "    SIGTERM, SIGINT  graceful stop (listeners closed, queues flushed within 2 s), exit 0\n"
      "    SIGHUP           reload what supports it (tls: domains, certificates, keys, CRLs)\n"
      "\n"
      "EXIT STATUS\n"
      "    0 stopped cleanly or config OK; 1 config or start-up error; 2 usage error\n"
      "\n"
      "FILES\n"
      "    %s   the installed configuration\n"
      "    %s   loadable modules\n"
      "\n"
      "SEE ALSO\n"
      "    sipsctl (RPC client), sipsd-ca (certificates), the README and each module's README.md\n",
      SIPSD_CONFIG_FILE, SIPSD_MODULE_DIR, SIPSD_CONFIG_FILE, SIPSD_MODULE_DIR);
}

void version() {
  std::printf("sipsd %s\n", SIPSD_VERSION);
  std::printf("build features: TLS (%s), libevent %s, Boost %d.%d.%d, module ABI %d\n",
              OpenSSL_version(OPENSSL_VERSION), event_get_version(), BOOST_VERSION / 100000,
              BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100, sipsd::kModuleAbiVersion);
}

// -f is resolved before -w changes the directory, so `-w / -f etc/sipsd.cfg` means what it says.
std::string absolute(const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return p;
  return std::string(buf) + "/" + p;
}

// The modules built beside the binary (BUILD/modules/NAME/NAME.so, BUILD/tls/tls.so), so a
// fresh build runs etc/sipsd.cfg without -L or mpath=; then the installed module directory,
// found relative to the binary first (so `meson install --destdir` trees and relocated
// installs work) and at its configured absolute path. Searched after -L DIR.
std::vector<std::string> defaultModuleDirs() {
  std::vector<std::string> dirs;
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, size_t(n));
    std::string dir = exe.substr(0, exe.rfind('/'));
    dirs = {dir + "/modules", dir, dir + "/" + SIPSD_MODULE_DIR_FROM_BIN};
  }
  dirs.push_back(SIPSD_MODULE_DIR);
  return dirs;
}

bool isFile(const std::string& p) { return ::access(p.c_str(), R_OK) == 0; }

// -L DIR or -L DIR:DIR...: a list separated by ':', as Kamailio's mpath. An empty entry is a
// usage error; a directory that does not exist is a warning (loadmodule then says what it searched).
bool addModuleDirs(const std::string& arg, std::vector<std::string>& dirs) {
  for (size_t b = 0;;) {
    size_t e = std::min(arg.find(':', b), arg.size());
    if (e == b) {
      std::fprintf(stderr, "sipsd: -L: empty directory in '%s' (a list is DIR:DIR)\n", arg.c_str());
      return false;
    }
    std::string dir = arg.substr(b, e - b);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      std::fprintf(stderr, "sipsd: -L: warning: no directory %s\n", dir.c_str());
    dirs.push_back(absolute(dir));
    if (e == arg.size()) return true;
    b = e + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string file = "etc/sipsd.cfg";
  bool fileGiven = false;
  bool forceStderr = false;
  bool check = false;
  std::string workDir;
  sipsd::LoadOptions options;
  int c;
  opterr = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      version();
      return 0;
    }
  }
  while ((c = ::getopt(argc, argv, "f:cVhEDL:w:A:")) != -1) {
    switch (c) {
      case 'f': file = optarg; fileGiven = true; break;
      case 'c': check = true; break;
      case 'V': version(); return 0;
      case 'h': usage(stdout); return 0;
      case 'E': forceStderr = true; break;
      case 'D': break;
      case 'L':
        if (!addModuleDirs(optarg, options.moduleDirs)) return 2;
        break;
      case 'w': workDir = optarg; break;
      case 'A': options.defines.push_back(optarg); break;
      default:
        std::fprintf(stderr, "sipsd: unknown option or missing argument: -%c\n", optopt);
        usage(stderr);
        return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "sipsd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  // Without -f: the source tree's etc/sipsd.cfg when there is one, else the installed config.
  if (!fileGiven && workDir.empty() && !isFile(file) && isFile(SIPSD_CONFIG_FILE)) file = SIPSD_CONFIG_FILE;
  if (!workDir.empty()) {
    file = absolute(file);
    if (::chdir(workDir.c_str()) != 0) {
      std::fprintf(stderr, "sipsd: cannot change to working directory %s: %s\n", workDir.c_str(), std::strerror(errno));
      return 1;
    }
  }

  for (auto& d : defaultModuleDirs()) options.moduleDirs.push_back(d);
  sipsd::ServerRunner runner;
  if (!check) runner.prepare(options);
  auto cfg = sipsd::loadConfig(file, options);
  // log_stderror=no sends the log to syslog (log_facility=, LOG_DAEMON by default), unless -E
  // asked for stderr or this is only a check.
  const bool toSyslog = !check && !forceStderr && !cfg->settings.logStderr;
  if (cfg->settings.logFacility >= 0) sipsd::logging::setFacility(cfg->settings.logFacility);
  sipsd::logging::setPrefix(cfg->settings.logPrefix);
  if (!cfg->ok()) {
    // stderr gets the readable form (the line and a caret under the column); syslog one line
    // per diagnostic.
    std::string text = cfg->diagnostics.format();
    std::fputs(text.c_str(), stderr);
    std::fprintf(stderr, "sipsd: %d error%s in %s\n", cfg->diagnostics.errorCount(),
                 cfg->diagnostics.errorCount() == 1 ? "" : "s", file.c_str());
    if (toSyslog) {
      sipsd::logging::useSyslog(true);
      for (const auto& d : cfg->diagnostics.items())
        sipsd::logging::write(sipsd::kLogErr, "core", sipsd::cfg::formatDiagnosticLine(d));
    }
    return 1;
  }
  sipsd::logging::setLevel(cfg->settings.logLevel);
  if (toSyslog) sipsd::logging::useSyslog(true);
  if (check) {
    std::fprintf(stderr, "sipsd: %s: config OK\n", file.c_str());
    return 0;
  }
  return runner.run(*cfg);
}
