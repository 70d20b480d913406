// Format string splitting and the per-message join.
#include "cfg/format_string.h"

namespace sipsd::cfg {

namespace {
bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
}  // namespace

bool splitFormat(const std::string& f, const std::function<bool(const std::string&)>& isSelectRoot,
                 std::vector<FormatPiece>& out, std::string& err, size_t& errOffset) {
  FormatPiece cur;
  size_t i = 0;
  while (i < f.size()) {
    char c = f[i];
    if (c == '\\' && i + 1 < f.size() && (f[i + 1] == '$' || f[i + 1] == '@')) {
      cur.literal += f[i + 1];
      i += 2;
      continue;
    }
    const bool pv = c == '$' && i + 1 < f.size() && (identStart(f[i + 1]) || f[i + 1] == '(' || f[i + 1] == '{');
    size_t rootEnd = i + 1;
    while (rootEnd < f.size() && identChar(f[rootEnd])) ++rootEnd;
    const bool sel = c == '@' && rootEnd > i + 1 && identStart(f[i + 1]) && isSelectRoot(f.substr(i + 1, rootEnd - i - 1));
    if (!pv && !sel) {
      cur.literal += c;
      ++i;
      continue;
    }
    const size_t start = i;
    cur.hasRef = true;
    cur.offset = start;
    if (pv) {
      cur.pvar = true;
      if (!identStart(f[i + 1])) {
        err = "unsupported pseudo-variable syntax '" + f.substr(i, 2) + "' (write $name or $name(arg))";
        errOffset = i;
        return false;
      }
      cur.parts = {SelectPart{"$", -1}, SelectPart{f.substr(i + 1, rootEnd - i - 1), -1}};
      i = rootEnd;
      if (i < f.size() && f[i] == '(') {
        size_t close = f.find(')', i);
        if (close == std::string::npos) {
          err = "missing ')' after $" + cur.parts[1].name + "(";
          errOffset = i;
          return false;
        }
        cur.parts.push_back(SelectPart{f.substr(i + 1, close - i - 1), -1});
        i = close + 1;
      }
    } else {
      cur.pvar = false;
      ++i;
      // name[N] parts joined by '.', each part starting with a letter or '_'
      for (;;) {
        size_t e = i;
        while (e < f.size() && (identChar(f[e]) || f[e] == '-')) ++e;
        SelectPart part{f.substr(i, e - i), -1};
        i = e;
        if (i < f.size() && f[i] == '[') {
          size_t close = f.find(']', i);
          std::string n = close == std::string::npos ? std::string() : f.substr(i + 1, close - i - 1);
          bool digits = !n.empty() && n.size() < 9;
          for (char d : n) digits = digits && std::isdigit(static_cast<unsigned char>(d));
          if (!digits) {
            err = "expected [N] with a number in the select";
            errOffset = i;
            return false;
          }
          part.index = std::stoi(n);
          i = close + 1;
        }
        cur.parts.push_back(std::move(part));
        if (i + 1 < f.size() && f[i] == '.' && identStart(f[i + 1])) {
          ++i;
          continue;
        }
        break;
      }
    }
    cur.text = f.substr(start, i - start);
    out.push_back(std::move(cur));
    cur = FormatPiece();
  }
  if (!cur.literal.empty() || out.empty()) out.push_back(std::move(cur));
  return true;
}

SelectFn joinFormat(std::vector<std::string> literals, std::vector<SelectFn> refs) {
  return [literals = std::move(literals), refs = std::move(refs)](ScriptContext& ctx) -> Value {
    std::string text;
    for (size_t i = 0; i < literals.size(); ++i) {
      text += literals[i];
      if (i >= refs.size()) break;
      Value v = refs[i](ctx);
      if (v.isNull())
        text += "<null>";
      else if (v.isInt())
        text += std::to_string(v.num());
      else
        text += v.str();
    }
    return Value::owned(std::move(text));
  };
}

}  // namespace sipsd::cfg
